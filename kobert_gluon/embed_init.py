"""Word embeddings for training from scratch, from the training texts alone (no pretraining).

LSA: each token is described by the texts it occurs in (TF-IDF weighted token x text matrix),
and a truncated SVD keeps the `units` strongest directions. Tokens that share texts, and so
topics, start close together; tokens absent from the training texts keep their random start.
"""
import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import svds


def lsa_embeddings(samples, vocab_size, units, std=0.02, seed=0):
    """(vocab_size, units) float32 rows scaled to `std`, and a mask of the tokens seen."""
    rows, cols = [], []
    for j, ids in enumerate(samples):
        for t in set(int(i) for i in ids[1:-1]):  # without [CLS]/[SEP]
            rows.append(t)
            cols.append(j)
    counts = sp.csr_matrix((np.ones(len(rows), dtype=np.float64), (rows, cols)),
                           shape=(vocab_size, len(samples)))
    df = np.asarray(counts.sum(axis=1)).ravel()
    seen = df > 0
    idf = np.log((1 + len(samples)) / (1 + df)) + 1
    weighted = sp.diags(idf) @ counts
    k = min(units, min(weighted.shape) - 1)
    v0 = np.random.RandomState(seed).uniform(-1, 1, min(weighted.shape))
    u, s, _ = svds(weighted, k=k, v0=v0)
    vectors = np.zeros((vocab_size, units))
    vectors[:, :k] = u * np.sqrt(s)
    vectors[seen] /= vectors[seen].std() / std
    return vectors.astype(np.float32), seen
