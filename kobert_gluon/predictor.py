"""Batched inference: sort by length, pad each batch to its longest text, softmax."""
import os

import gluonnlp as nlp
import mxnet as mx
import numpy as np
from tqdm import tqdm

from config import CLUSTER_MODES, UserError, default_cache_dir
from kobert_gluon import model as model_lib
from kobert_gluon.fused import fuse_attention
from kobert_gluon.tokenizer import KoBERTTokenizer, same_vocab


class Predictor:
    """Topic probabilities for texts, with the weight's own topics, vocabulary and clusters."""

    # Batch lengths are rounded up to a multiple of this, so the hybridized graph meets a
    # handful of shapes instead of one per length.
    ROUND_TO = 8

    def __init__(self, net, tokenizer, topics, max_len=128, batch_size=32, ctx=mx.cpu(), inference=True,
                 mode=None, clusters=None, weight_path=None, cache_dir=None):
        """inference: the net is the predictor's own: its attention is fused (kobert_gluon.fused)
        and it is hybridized; the trainer passes False, as its net goes on training.
        clusters (modes 4, 5): (encoder, centroids, cache_dir) to place new articles;
        weight_path and cache_dir: where int8 models of this weight are kept."""
        self.net = net
        self.tokenizer = tokenizer
        self.topics = list(topics)
        self.max_len = max_len
        self.batch_size = batch_size
        self.ctx = ctx
        self.mode = mode
        self.clusters = clusters
        self.weight_path = weight_path
        self.meta = {}  # from_weight: the weight's description
        self.cache_dir = cache_dir
        self._pad = nlp.data.batchify.Pad(axis=0, pad_val=tokenizer.pad_id, ret_length=True,
                                          dtype='float32', round_to=self.ROUND_TO)
        if inference:
            fuse_attention(net)
            net.hybridize(static_alloc=True, static_shape=True)

    @classmethod
    def from_weight(cls, weight_path, kobert_dir=None, max_len=None, batch_size=32, ctx=mx.cpu(), cache_dir=None):
        net, meta = model_lib.load(weight_path, ctx=ctx)
        tokenizer = KoBERTTokenizer.load(kobert_dir)
        check_vocab(meta, tokenizer, weight_path)
        max_len = max_len or meta['max_len']
        limit = meta['config']['max_length']
        if not 2 < max_len <= limit:
            raise UserError('max_len must be between 3 and %d for this weight' % limit)
        clusters = None
        if meta['mode'] in CLUSTER_MODES:
            from preprocess.clusters import get_encoder
            encoder = get_encoder(meta['clusters']['encoder'])
            if encoder.key != meta['clusters']['encoder_key']:
                raise UserError('%s was clustered with %s; the encoder here is %s, which places articles '
                                'differently' % (weight_path, meta['clusters']['encoder_key'], encoder.key))
            clusters = (encoder, model_lib.load_centroids(weight_path, meta), cache_dir)
        predictor = cls(net, tokenizer, meta['topics'], max_len, batch_size, ctx, mode=meta['mode'],
                        clusters=clusters, weight_path=weight_path, cache_dir=cache_dir)
        predictor.meta = meta
        return predictor

    def set_precision(self, precision, calib_texts=()):
        """fp32, bf16 or int8, prepared on texts like those to predict (as predict_articles takes
        them): int8 is calibrated on a sample covering their lengths, placed in the weight's clusters
        for modes 4 and 5. Returns the precision in effect (fp32 on a CPU without bf16 or VNNI)."""
        from kobert_gluon import precision as prec
        precision = prec.effective(precision)
        if precision != 'fp32':
            texts = list(calib_texts)
            if not texts:
                raise UserError('%s needs sample texts to prepare the model on' % precision)
            sample = prec.calibration_sample(texts, [len(x) for x in self.encode(texts)])
            clusters = None
            if self.mode in CLUSTER_MODES:  # calibrate on what the model will see: placed articles
                sample, clusters = self.place(sample)
            batches = []
            for rows, tokens, lengths in self.batches(sample):
                batch = [tokens, mx.nd.zeros_like(tokens), lengths]
                if self.mode == 5:
                    batch.append(mx.nd.array(np.asarray(clusters)[rows], ctx=self.ctx))
                batches.append(batch)
            if precision == 'bf16':
                self.net(*batches[0])  # AMP converts the graph of a hybridized net that has run
                self.net = prec.to_bf16(self.net)
            elif self.weight_path:  # a weight file: keep the quantized model for the next run
                from kobert_gluon.files import md5sum  # only here: hashing a kobert file takes a second
                seen = sample if self.mode != 5 else ['%d %s' % (c, t) for c, t in zip(clusters, sample)]
                self.net = prec.cached_int8(prec.int8_key(md5sum(self.weight_path), self.max_len, seen),
                                            os.path.join(self.cache_dir, 'int8') if self.cache_dir
                                            else default_cache_dir('int8'),
                                            lambda: prec.to_int8(self.net, batches), len(batches[0]))
            else:
                self.net = prec.to_int8(self.net, batches)
        self.precision = precision
        return precision

    def text_mode(self, requested=None):
        """The mode to build input text with: the weight's, or another of modes 1-3 for a 1-3
        weight (a mode-4/5 weight needs its clusters)."""
        if requested is None or requested == self.mode:
            return self.mode
        if self.mode in CLUSTER_MODES or requested in CLUSTER_MODES:
            raise UserError('this weight was trained in mode %d; it cannot read mode %d input' % (self.mode, requested))
        return requested

    def processor(self, columns, mode=None):
        """The NewsProcessor that builds this weight's input text from a CSV (see text_mode)."""
        from preprocess import NewsProcessor
        return NewsProcessor(self.text_mode(mode), columns, self.topics, self.meta.get('base_mode', 3))

    def encode(self, texts):
        return [self.tokenizer.encode(t, self.max_len) for t in texts]

    def place(self, texts):
        """Modes 4 and 5: (model texts, cluster ids) of articles, from the saved centroids."""
        from preprocess.clusters import assign, embed, with_cluster
        encoder, centroids, cache_dir = self.clusters
        ids = assign(embed(encoder, list(texts), cache_dir), centroids)
        return (with_cluster(texts, ids) if self.mode == 4 else list(texts)), ids

    def predict_articles(self, texts, progress=False):
        """(probabilities, cluster ids or None) for articles' mode text; modes 4 and 5 place the
        articles in the weight's clusters here."""
        if self.mode in CLUSTER_MODES:
            texts, ids = self.place(texts)
            return self.predict_proba(texts, progress, clusters=ids if self.mode == 5 else None), ids
        return self.predict_proba(texts, progress), None

    def batches(self, texts, progress=False):
        """(rows, tokens, valid_length) per batch: texts sorted by length, each batch padded to its
        longest; rows are the batch's positions in texts."""
        ids = self.encode(texts)
        order = np.argsort([len(x) for x in ids], kind='stable')
        starts = range(0, len(order), self.batch_size)
        for start in tqdm(starts, desc='predict', unit='batch', disable=None if progress else True):
            rows = order[start:start + self.batch_size]
            tokens, lengths = self._pad([ids[i] for i in rows])
            yield rows, tokens.as_in_context(self.ctx), lengths.astype('float32').as_in_context(self.ctx)

    def predict_proba(self, texts, progress=False, clusters=None):
        """(len(texts), topics) probabilities of model texts, in the order given; clusters: the
        cluster id of each text (mode 5)."""
        probs = np.zeros((len(texts), len(self.topics)), dtype=np.float32)
        for rows, tokens, lengths in self.batches(texts, progress):
            extra = [] if clusters is None else [mx.nd.array(np.asarray(clusters)[rows], ctx=self.ctx)]
            out = self.net(tokens, mx.nd.zeros_like(tokens), lengths, *extra)
            probs[rows] = mx.nd.softmax(out, axis=-1).asnumpy()
        return probs


def check_vocab(meta, tokenizer, weight_path):
    """Refuse a vocabulary other than the one the weight was trained with."""
    size = meta['config']['vocab_size']
    if len(tokenizer.vocab) != size:
        raise UserError('%s needs a vocabulary of %d tokens; %s has %d'
                        % (weight_path, size, '+'.join(tokenizer.names), len(tokenizer.vocab)))
    if not same_vocab(meta.get('vocab'), tokenizer.vocab):
        raise UserError('%s was trained with vocabulary %s; the one found (%s) maps tokens to other ids'
                        % (weight_path, '+'.join(meta['vocab']['files']), '+'.join(tokenizer.names)))
