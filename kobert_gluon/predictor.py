"""Batched inference: topic probabilities for texts, with a weight's topics, vocabulary and clusters."""
import logging
import os

import mxnet as mx
import numpy as np

from kobert_gluon import clusters as clusters_lib
from kobert_gluon import int8
from kobert_gluon import model as model_lib
from kobert_gluon import precision as prec
from kobert_gluon.batching import Batcher
from kobert_gluon.fused import fuse_attention
from kobert_gluon.tokenizer import KoBERTTokenizer, same_vocab
from kobert_base.errors import UserError
from kobert_base.modes import CLUSTER_MODES
from kobert_base.paths import default_cache_dir
from preprocess.reading import ArticleReader, text_mode, weight_max_len  # noqa: F401 (text_mode: imported from here too)
from preprocess import NewsProcessor

log = logging.getLogger('kobert_news.predictor')


def inference_net(weight_path, ctx=mx.cpu()):
    """(net, meta): the weight's own inference graph, fused (kobert_gluon.fused) and hybridized."""
    net, meta = model_lib.load(weight_path, ctx=ctx)
    fuse_attention(net)
    net.hybridize(static_alloc=True, static_shape=True)
    return net, meta


class Predictor(ArticleReader):
    """Topic probabilities for texts. The net is used as given: Predictor.from_weight builds its own
    inference graph; the trainer passes its training net, which stays as it is."""

    def __init__(self, net, tokenizer, topics, max_len=128, batch_size=32, ctx=mx.cpu(), meta=None,
                 placer=None):
        """meta: the weight's description (mode, clusters); placer (modes 4, 5): texts -> cluster ids."""
        self.net = net
        self.tokenizer = tokenizer
        self.topics = list(topics)
        self.max_len = max_len
        self.ctx = ctx
        self.meta = meta or {}
        self.untrained_topics = list(self.meta.get('untrained_topics', []))
        self.mode = self.meta.get('mode')
        self.untrained_topics = list(self.meta.get('untrained_topics', []))  # [] for an older description
        self.placer = placer
        self.precision = 'fp32'
        self.weight_path = self.cache_dir = None
        self.batcher = Batcher(tokenizer, max_len, batch_size, ctx)

    @classmethod
    def from_weight(cls, weight_path, kobert_dir=None, max_len=None, batch_size=32, ctx=mx.cpu(), cache_dir=None,
                    precision='fp32', calib_texts=()):
        """The predictor of a weight file, at a precision (int8 and bf16 are prepared on calib_texts:
        articles' text in the weight's mode, as predict_articles takes them). An int8 model in the
        cache is loaded alone: no fp32 graph is built and no fp32 weight read."""
        meta = model_lib.read_meta(weight_path)
        tokenizer = KoBERTTokenizer.load(kobert_dir)
        check_vocab(meta, tokenizer, weight_path)
        max_len = weight_max_len(meta, max_len)
        placer = None
        if meta['mode'] in CLUSTER_MODES:
            placer = ClusterPlacer(meta, weight_path, kobert_dir, cache_dir)
        predictor = cls(None, tokenizer, meta['topics'], max_len, batch_size, ctx, meta=meta, placer=placer)
        predictor.weight_path, predictor.cache_dir = weight_path, cache_dir
        precision = prec.effective(precision)
        if precision != 'int8':  # int8 builds the fp32 net only if it has to quantize
            predictor.net, _ = inference_net(weight_path, ctx)
        predictor.set_precision(precision, calib_texts, build_fp32=lambda: inference_net(weight_path, ctx)[0])
        return predictor

    def describe(self):
        """What the model is, in file names (the weight file and its md5): for the server's answers,
        which never show a path."""
        from kobert_gluon.weights import weight_md5
        return {'engine': 'gluon', 'weight': os.path.basename(self.weight_path), 'md5': weight_md5(self.weight_path)}

    def set_precision(self, precision, calib_texts=(), build_fp32=None):
        """fp32, bf16 or int8 of the fp32 net held, prepared on texts like those to predict (as
        predict_articles takes them): int8 is calibrated on a sample covering their lengths, placed
        in the weight's clusters for modes 4 and 5, and the fp32 net is let go (with no net held,
        build_fp32() makes one if quantizing is needed). Returns the precision in effect (fp32 on a
        CPU without bf16 or VNNI)."""
        precision = prec.effective(precision)
        if precision != 'fp32':
            batches, seen = self._calibration(precision, calib_texts)
            if precision == 'bf16':
                self.net(*batches[0])  # AMP converts the graph of a hybridized net that has run
                self.net = prec.to_bf16(self.net)
            else:
                if self.net is not None:
                    held = [self.net]  # handed over, so that nothing here keeps the fp32 net alive
                    self.net = None
                    build_fp32 = held.pop
                self._to_int8(batches, seen, build_fp32)
        self.precision = precision
        return precision

    def _calibration(self, precision, texts):
        """(input batches, texts as the model sees them) of the calibration sample of texts."""
        texts = list(texts)
        if not texts:
            raise UserError('%s needs sample texts to prepare the model on' % precision)
        sample = prec.calibration_sample(texts, [len(x) for x in self.batcher.encode(texts)])
        clusters = None
        if self.mode in CLUSTER_MODES:  # calibrate on what the model will see: placed articles
            sample, clusters = self.place(sample)
        clusters = clusters if self.mode == 5 else None
        batches = [self._inputs(tokens, lengths, rows, clusters)
                   for rows, tokens, lengths in self.batcher.batches(sample)]
        seen = sample if clusters is None else ['%d %s' % (c, t) for c, t in zip(clusters, sample)]
        return batches, seen

    def _to_int8(self, batches, seen, build_fp32):
        """The int8 model: from the cache for a weight file (quantized and stored on a miss), else
        quantized now; build_fp32() is called only when quantizing."""
        if self.weight_path:
            key = int8.key(model_lib.weight_md5(self.weight_path), self.max_len, seen)
            self.net = int8.cached(key, default_cache_dir('int8', self.cache_dir), build_fp32, batches)
        else:
            self.net = int8.uncached(build_fp32, batches)
        b = self.batcher
        self.batcher = Batcher(b.tokenizer, b.max_len, b.batch_size, b.ctx, round_to=1)  # see batching.ROUND_TO

    def processor(self, args, mode=None):
        """The NewsProcessor that builds this weight's input text (see text_mode); args names the
        columns (kobert_base.options.InputArgs)."""
        return NewsProcessor.from_args(args, text_mode(self.meta, mode), self.topics, self.meta.get('base_mode', 3))

    def _inputs(self, tokens, lengths, rows, clusters=None):
        extra = [] if clusters is None else [mx.nd.array(np.asarray(clusters)[rows], ctx=self.ctx)]
        return [tokens, mx.nd.zeros_like(tokens), lengths] + extra

    def predict_proba(self, texts, progress=False, clusters=None):
        """(len(texts), topics) probabilities of model texts, in the order given; clusters: the
        cluster id of each text (mode 5)."""
        return self._run(self.batcher.batches(texts, progress), len(texts), clusters)

    def predict_ids(self, ids, clusters=None):
        """(len(ids), topics) probabilities of token id lists ([CLS] ... [SEP], at most max_len)."""
        return self._run(self.batcher.id_batches(ids), len(ids), clusters)

    def _run(self, batches, n, clusters):
        probs = np.zeros((n, len(self.topics)), dtype=np.float32)
        for rows, tokens, lengths in batches:
            out = self.net(*self._inputs(tokens, lengths, rows, clusters))
            probs[rows] = mx.nd.softmax(out, axis=-1).asnumpy()
        return probs

    def piece_ids(self, texts):
        """The token ids of each text alone, without [CLS] and [SEP]."""
        return [self.tokenizer.vocab[self.tokenizer.tokenize(t)] for t in texts]

    def special_ids(self):
        """{'cls', 'sep', 'pad', 'mask'} -> token id."""
        vocab = self.tokenizer.vocab
        return {k: vocab[getattr(vocab, name)] for k, name in
                (('cls', 'cls_token'), ('sep', 'sep_token'), ('pad', 'padding_token'), ('mask', 'mask_token'))}


class ClusterPlacer:
    """Modes 4 and 5: places articles in the weight's clusters with the encoder it was clustered with."""

    def __init__(self, meta, weight_path, kobert_dir=None, cache_dir=None):
        self.encoder = clusters_lib.get_encoder(meta['clusters']['encoder'], kobert_dir)
        if self.encoder.key != meta['clusters']['encoder_key']:
            raise UserError('%s was clustered with %s; the encoder here is %s, which places articles '
                            'differently' % (weight_path, meta['clusters']['encoder_key'], self.encoder.key))
        self.centroids = model_lib.load_centroids(weight_path, meta)
        self.cache_dir, self.weight_path = cache_dir, weight_path

    def place(self, texts):
        vectors = clusters_lib.embed(self.encoder, list(texts), self.cache_dir)
        if vectors.shape[1] != self.centroids.shape[1]:
            raise UserError('%s holds %d-dimensional centroids; the %s encoder gives %d dimensions'
                            % (model_lib.centroids_path(self.weight_path), self.centroids.shape[1],
                               self.encoder.key, vectors.shape[1]))
        return clusters_lib.assign(vectors, self.centroids)


def check_vocab(meta, tokenizer, weight_path):
    """Refuse a vocabulary other than the one the weight was trained with."""
    size = meta['config']['vocab_size']
    if len(tokenizer.vocab) != size:
        raise UserError('%s needs a vocabulary of %d tokens; %s has %d'
                        % (weight_path, size, '+'.join(tokenizer.names), len(tokenizer.vocab)))
    if not same_vocab(meta.get('vocab'), tokenizer.vocab):
        raise UserError('%s was trained with vocabulary %s; the one found (%s) maps tokens to other ids'
                        % (weight_path, '+'.join(meta['vocab']['files']), '+'.join(tokenizer.names)))
