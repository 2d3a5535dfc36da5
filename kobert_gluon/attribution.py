"""Why this topic: integrated gradients from the words of an article to a topic's logit.

Computed on the plain fp32 graph of a weight (kobert_gluon.model.load; the predictor's fused graph
is for speed only), with autograd, on the output of the word embedding: the baseline keeps [CLS]
and [SEP] and puts the [PAD] (or [MASK]) embedding at every other position, so the cluster vector
of mode 5 and the position and token-type embeddings are the same at both ends of the path. The
path integral is a Gauss-Legendre rule over --steps points, evaluated in batches. Attributions are
per KoBERT piece, summed back to the text's whitespace-separated words.
"""
import contextlib
import threading
from dataclasses import dataclass

import mxnet as mx
import numpy as np
from mxnet import autograd

from kobert_gluon import model as model_lib
from kobert_gluon.predictor import ClusterPlacer, check_vocab, weight_max_len
from kobert_base.progress import Progress
from kobert_gluon.tokenizer import KoBERTTokenizer
from kobert_base.errors import UserError
from kobert_base.explanations import EXPLAIN_BASELINES, EXPLAIN_MAX_STEPS, EXPLAIN_STEPS, no_text, target_id
from kobert_base.modes import CLUSTER_MODES
from preprocess import with_cluster


def word_pieces(tokenizer, text, limit):
    """(words, pieces of each word read): the words are text.split(); the pieces, those of the
    first `limit` pieces of the text, word by word. BERTSPTokenizer splits on whitespace and
    punctuation first and gives each split its own pieces, so a word's pieces are those of the
    word alone ('합니다.' -> '▁합니다', '▁', '.'), and their concatenation is the text's tokenization.
    Words past the limit are not read: fewer piece lists than words."""
    words, pieces, total = text.split(), [], 0
    for word in words:
        if total >= limit:
            break
        own = tokenizer.tokenize(word)[:limit - total]
        pieces.append(own)
        total += len(own)
    return words, pieces


@dataclass
class Explanation:
    """One article: its words, each word's attribution to the target topic, and the model's view."""
    text: str
    words: list
    attributions: np.ndarray  # per word (0 for words past max_len)
    pieces: list              # (piece, attribution) per piece read, [CLS] and [SEP] left out
    probs: np.ndarray         # topic probabilities at the input
    target: int               # topic id explained
    delta: float              # target logit at the input minus at the baseline
    words_read: int

    @property
    def completeness_error(self):
        """|sum of attributions - logit change| / |logit change|: 0 for an exact integral."""
        gap = abs(float(self.attributions.sum()) - self.delta)
        return gap / abs(self.delta) if self.delta else gap

    def to_dict(self, topics):
        """JSON-ready: what kobert-news explain --format json writes and the server's /explain answers."""
        best = int(np.argmax(self.probs))
        return {'text': self.text, 'topic': topics[best], 'probability': float(self.probs[best]),
                'target': topics[self.target], 'probabilities': {t: float(p) for t, p in zip(topics, self.probs)},
                'words': list(self.words), 'attributions': [float(a) for a in self.attributions],
                'words_read': self.words_read, 'logit_change': self.delta,
                'completeness_error': self.completeness_error}


@contextlib.contextmanager
def word_embeddings(net, value):
    """Within the block, net reads `value` as the output of its word embedding, and gradients flow
    back to it: both BERTClassifier and mode 5's ClusterBERTClassifier call bert.word_embed, whose
    forward is shadowed here for this instance only."""
    embed = net.bert.word_embed
    embed.forward = lambda ids: value
    try:
        yield
    finally:
        del embed.forward


class IntegratedGradients:
    """Integrated gradients for one weight. One explanation runs at a time (the word-embedding
    swap is the net's state), so a server may share an IntegratedGradients between threads."""

    def __init__(self, net, tokenizer, meta, max_len, batch_size=32, placer=None, ctx=mx.cpu()):
        """net: the plain graph from kobert_gluon.model.load (not hybridized); batch_size: path
        points per forward pass; placer (modes 4, 5): texts -> cluster ids."""
        if net._active:
            raise ValueError('integrated gradients need the plain graph, not a hybridized one')
        self.net, self.tokenizer, self.meta, self.max_len = net, tokenizer, meta, max_len
        self.topics, self.mode = list(meta['topics']), meta['mode']
        self.batch_size, self.placer, self.ctx = batch_size, placer, ctx
        self._lock = threading.Lock()

    @classmethod
    def from_weight(cls, weight_path, kobert_dir=None, max_len=None, batch_size=32, cache_dir=None, ctx=mx.cpu()):
        meta = model_lib.read_meta(weight_path)
        tokenizer = KoBERTTokenizer.load(kobert_dir)
        check_vocab(meta, tokenizer, weight_path)
        placer = ClusterPlacer(meta, weight_path, kobert_dir, cache_dir) if meta['mode'] in CLUSTER_MODES else None
        net, _ = model_lib.load(weight_path, ctx)
        return cls(net, tokenizer, meta, weight_max_len(meta, max_len), batch_size, placer, ctx)

    @classmethod
    def from_predictor(cls, predictor):
        """The IntegratedGradients of a Predictor's weight, sharing its tokenizer, max_len and cluster placer."""
        if not predictor.weight_path:
            raise ValueError('the predictor has no weight file to load the plain graph from')
        net, _ = model_lib.load(predictor.weight_path, predictor.ctx)
        return cls(net, predictor.tokenizer, predictor.meta, predictor.max_len, predictor.batcher.batch_size,
                   predictor.placer, predictor.ctx)

    def topic_id(self, topic):
        return target_id(self.topics, topic)

    def explain(self, texts, target=None, steps=EXPLAIN_STEPS, baseline=EXPLAIN_BASELINES[0], progress=False):
        """An Explanation per article text (the mode's text, as Predictor.predict_articles takes it),
        None for ''. target: a topic name, by default each article's predicted topic."""
        if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= EXPLAIN_MAX_STEPS:
            raise UserError('steps must be an integer from 1 to %d, not %r' % (EXPLAIN_MAX_STEPS, steps))
        if baseline not in EXPLAIN_BASELINES:
            raise UserError('baseline must be one of %s, not %r' % (', '.join(EXPLAIN_BASELINES), baseline))
        target_id = self.topic_id(target)
        texts = list(texts)
        rows = [i for i, t in enumerate(texts) if t]
        model_texts, clusters = [texts[i] for i in rows], [None] * len(rows)
        if self.mode in CLUSTER_MODES and rows:
            ids = self.placer.place(model_texts)
            model_texts = with_cluster(model_texts, ids) if self.mode == 4 else model_texts
            clusters = [int(c) for c in ids] if self.mode == 5 else clusters
        out = [None] * len(texts)
        vocab = self.tokenizer.vocab
        base_id = vocab[vocab.padding_token if baseline == 'pad' else vocab.mask_token]
        with self._lock:
            for i, text, cluster in zip(rows, model_texts, Progress(clusters, desc='explain', unit='article')
                                        if progress else clusters):
                out[i] = self._explain_one(text, cluster, target_id, steps, base_id)
        return out

    def results(self, texts, target=None, steps=EXPLAIN_STEPS, baseline=EXPLAIN_BASELINES[0], progress=False,
                text_mode=None):
        """JSON-ready objects, one per text; a row without text says so, naming text_mode (the mode
        its text was built for, by default the weight's)."""
        return [e.to_dict(self.topics) if e else no_text(text_mode or self.mode)
                for e in self.explain(texts, target, steps, baseline, progress)]

    # ------------------------------------------------------------ the integral

    def _explain_one(self, text, cluster, target, steps, base_id):
        words, pieces = word_pieces(self.tokenizer, text, self.max_len - 2)
        vocab = self.tokenizer.vocab
        flat = [p for own in pieces for p in own]
        ids = mx.nd.array([[vocab[vocab.cls_token]] + vocab[flat] + [vocab[vocab.sep_token]]], ctx=self.ctx)
        length = ids.shape[1]
        embed = self.net.bert.word_embed(ids)                               # (1, L, C)
        inner = (mx.nd.arange(length, ctx=self.ctx) > 0) * (mx.nd.arange(length, ctx=self.ctx) < length - 1)
        inner = inner.reshape((1, -1, 1))
        base = mx.nd.where(inner.broadcast_like(embed),
                           self.net.bert.word_embed(mx.nd.full((1, length), base_id, ctx=self.ctx)), embed)
        ends = self._logits(mx.nd.concat(embed, base, dim=0), cluster).asnumpy()  # input, baseline
        probs = _softmax(ends[0])
        if target is None:
            target = int(np.argmax(probs))
        grads = self._path_gradient(embed, base, cluster, target, steps)
        per_piece = ((embed - base)[0] * grads).sum(axis=-1).asnumpy()[1:-1]
        per_word = np.zeros(len(words), dtype=np.float64)
        start = 0
        for w, own in enumerate(pieces):
            per_word[w] = per_piece[start:start + len(own)].sum()
            start += len(own)
        return Explanation(text, words, per_word, list(zip(flat, per_piece.tolist())), probs, target,
                           float(ends[0, target] - ends[1, target]), len(pieces))

    def _path_gradient(self, embed, base, cluster, target, steps):
        """The weighted sum over the path's points of d logit[target] / d embedding: (L, C)."""
        nodes, weights = np.polynomial.legendre.leggauss(steps)  # on [-1, 1]; moved to [0, 1]
        alphas, weights = (nodes + 1) / 2, weights / 2
        total = mx.nd.zeros(embed.shape[1:], ctx=self.ctx)
        for start in range(0, steps, self.batch_size):
            a = mx.nd.array(alphas[start:start + self.batch_size], ctx=self.ctx).reshape((-1, 1, 1))
            w = mx.nd.array(weights[start:start + self.batch_size], ctx=self.ctx).reshape((-1, 1, 1))
            points = mx.nd.broadcast_add(base, mx.nd.broadcast_mul(a, embed - base))
            points.attach_grad()
            with autograd.record(train_mode=False):
                picked = self._logits(points, cluster)[:, target].sum()
            picked.backward()
            total += mx.nd.broadcast_mul(points.grad, w).sum(axis=0)
        return total

    def _logits(self, embeddings, cluster):
        """The net's logits for word-embedding outputs (n, L, C) of one article (no padding)."""
        n, length = embeddings.shape[:2]
        ids = mx.nd.zeros((n, length), ctx=self.ctx)  # read only for its shape: the embeddings are given
        extra = [] if self.mode != 5 else [mx.nd.full((n,), cluster, ctx=self.ctx)]
        with word_embeddings(self.net, embeddings):
            return self.net(ids, mx.nd.zeros_like(ids), mx.nd.full((n,), length, ctx=self.ctx), *extra)


def _softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()
