"""What every engine reads the same way: the text mode and max_len off a weight's description,
how much of a long text to tokenize, the nearest cluster, and articles placed in their clusters
before the model reads them (ArticleReader). No MXNet here: the ONNX Runtime engine uses it too."""
import numpy as np

from kobert_base.errors import UserError
from kobert_base.modes import CLUSTER_MODES

# Long articles are tokenized from a prefix (a whole 100,000-character article is wasted
# work): first this many characters per token wanted, cut at a space, grown until it is enough.
CHARS_PER_TOKEN = 4
MAX_WORD_CHARS = 64


def text_mode(meta, requested=None):
    """The mode to build input text with: the weight's (for the original's weight, the body, as its
    main.py read), or another of modes 1-3 for a 1-3 weight (a mode-4/5 weight needs its clusters)."""
    own = meta.get('input_mode', meta['mode'])
    if requested is None or requested == own:
        return own
    if meta['mode'] in CLUSTER_MODES or requested in CLUSTER_MODES:
        raise UserError('this weight was trained in mode %d; it cannot read mode %d input: leave out --mode'
                        % (meta['mode'], requested))
    return requested


def weight_max_len(meta, requested=None):
    """The max_len to read texts at: the one asked for, within the weight's positions, else the weight's."""
    max_len = requested or meta['max_len']
    if not 2 < max_len <= meta['config']['max_length']:
        raise UserError('--max_len must be between 3 and %d for this weight' % meta['config']['max_length'])
    return max_len


def prefixes(text, need):
    """The prefixes of text to tokenize in turn until one gives `need` tokens; the last is text itself.
    A prefix that ends at a space keeps every word before it whole, so its tokens are the full
    text's first tokens. A stretch without spaces longer than MAX_WORD_CHARS per token wanted is
    cut inside the word: a sentencepiece piece is at most 16 characters, so what is read depends on
    max_len, never on the input's length."""
    limit = need * CHARS_PER_TOKEN
    while len(text) > limit:
        cut = text.rfind(' ', 0, limit)
        if cut > 0 or limit >= need * MAX_WORD_CHARS:
            yield text[:cut if cut > 0 else limit]
        limit *= 4
    yield text


def assign(vectors, centroids):
    """Index of the nearest centroid (Euclidean, as k-means) for each row."""
    d = (vectors ** 2).sum(1)[:, None] - 2 * vectors @ centroids.T + (centroids ** 2).sum(1)[None, :]
    return d.argmin(axis=1).astype(np.int32)


class ArticleReader:
    """How every engine reads articles' mode text: modes 4 and 5 place each article in the weight's
    clusters first. An engine gives ``mode``, ``placer`` (modes 4 and 5: ``place(texts)`` -> cluster
    ids) and ``predict_proba(texts, progress, clusters)``."""

    def place(self, texts):
        """Modes 4 and 5: (model texts, cluster ids) of articles, from the weight's centroids."""
        from preprocess.processor import with_cluster
        ids = self.placer.place(texts)
        return (with_cluster(texts, ids) if self.mode == 4 else list(texts)), ids

    def predict_articles(self, texts, progress=False):
        """(probabilities, cluster ids or None) for articles' mode text."""
        if self.mode in CLUSTER_MODES:
            model_texts, ids = self.place(texts)
            return self.predict_proba(model_texts, progress, clusters=ids if self.mode == 5 else None), ids
        return self.predict_proba(texts, progress), None
