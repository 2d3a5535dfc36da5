"""Sentence embeddings from a trained weight: its BERT body's token outputs, mean-pooled."""
import mxnet as mx
import numpy as np

from kobert_gluon.predictor import Predictor


def mean_pooled(weight_path, texts, batch_size=64):
    """(len(texts), units) float32: the average of each text's token vectors ([CLS]/[SEP] included)."""
    p = Predictor.from_weight(weight_path, batch_size=batch_size)
    out = np.zeros((len(texts), p.meta['config']['units']), dtype=np.float32)
    for rows, tokens, lengths in p.batches(texts):
        seq, _ = p.net.bert(tokens, mx.nd.zeros_like(tokens), lengths)
        valid = lengths.asnumpy()
        mask = np.arange(tokens.shape[1])[None, :] < valid[:, None]
        out[rows] = (seq.asnumpy() * mask[:, :, None]).sum(axis=1) / valid[:, None]
    return out
