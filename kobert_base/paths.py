"""Where files live and what they hold: the package's page and data, a checkout's weights/, the
default weight, the caches, and file digests."""
import hashlib
import logging
import os

from kobert_base.errors import UserError

log = logging.getLogger('kobert_news.paths')

# The kobert_news package, beside this one (in a checkout and in site-packages alike).
PACKAGE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'kobert_news')
# The page to try the classifier (index.html, app.js, style.css), served by the web app.
WEB_DIR = os.path.join(PACKAGE_DIR, 'web')
# A source checkout: the folder above the package (weights/, data/ and the root scripts are there).
CHECKOUT_DIR = os.path.dirname(PACKAGE_DIR)
# The original's weight file name; in a checkout, weights/ is where its README says to put it.
ORIGINAL_WEIGHT = 'ko-news-clf-gluon-weight.pth'
# The shipped default (weights/README.md); the wheel carries it as kobert_news/weights/.
DEFAULT_WEIGHT = 'kobert-news-small-ynat.pth'
SAMPLE_CSV = 'sample.csv'


def weights_dirs():
    """The wheel's package data, then a checkout's weights/."""
    return [os.path.join(PACKAGE_DIR, 'weights'), os.path.join(CHECKOUT_DIR, 'weights')]


def default_weight():
    """(path, why): the original's weight where its README says to put it, else the shipped default."""
    for folder in ('weights', os.path.join(CHECKOUT_DIR, 'weights')):
        path = os.path.join(folder, ORIGINAL_WEIGHT)
        if os.path.isfile(path):
            return path, "the original's weight"
    for folder in weights_dirs():
        path = os.path.join(folder, DEFAULT_WEIGHT)
        if os.path.isfile(path):
            return path, 'the default weight'
    return None, 'no weight: neither %s nor the default %s was found' % (ORIGINAL_WEIGHT, DEFAULT_WEIGHT)


def resolve_weight(path=None):
    """The weight to use: the one given, else the original's (where its README says) or the default."""
    if path:
        if not os.path.isfile(path):
            raise UserError('no weight file at %s (check --gluon_weight_path)' % path)
        return path
    found, why = default_weight()
    if found is None:
        raise UserError('%s: pass --gluon_weight_path, or train one with train.py' % why)
    log.info('weight: %s (%s)', found, why)
    return found


def sample_csv():
    """The 24 sample articles (data/sample.csv of a checkout, or the wheel's copy)."""
    for folder in (os.path.join(PACKAGE_DIR, 'data'), os.path.join(CHECKOUT_DIR, 'data')):
        path = os.path.join(folder, SAMPLE_CSV)
        if os.path.isfile(path):
            return path
    return None


def cache_root():
    root = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(root, 'kobert-news')


def default_cache_dir(kind, cache_dir=None):
    """<cache_dir>/<kind>, by default ~/.cache/kobert-news/<kind>: sentence embeddings, int8 models."""
    return os.path.join(cache_dir or cache_root(), kind)


def file_digest(path, algorithm='md5', chunk=1 << 20):
    """Hex digest of a file, read in chunks (a kobert params file is 369 MB)."""
    h = hashlib.new(algorithm)
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            h.update(block)
    return h.hexdigest()
