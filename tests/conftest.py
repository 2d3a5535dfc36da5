"""Shared fixtures: KoBERT's real vocabulary (fetched once, or skipped when absent) and a tiny real weight."""
import os
import subprocess
import sys

import pytest

from config import UserError
from kobert_gluon import files

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), 'shared')
PAIR = (files.SP_MODEL, files.VOCAB_JSON)
FETCH_TIMEOUT = 10  # seconds: a hub that does not answer sooner counts as unreachable, the tests skip


def _has(d, names):
    return bool(d) and all(os.path.isfile(os.path.join(d, n)) for n in names)


def locate_kobert(dirs, url_base=None, timeout=FETCH_TIMEOUT):
    """(folder, None) for the first of dirs holding either KoBERT set (the v0.1 pair or the
    .spiece); else the .spiece downloaded as main.py does it (files.fetch: the hub or
    $KOBERT_HUB_URL, into $KOBERT_HOME or ~/kobert) and its folder; offline, (None, why)."""
    for d in dirs:
        if _has(d, PAIR) or _has(d, [files.SPIECE]):
            return os.path.abspath(d), None
    try:
        return os.path.dirname(files.fetch(files.SPIECE, url_base=url_base, timeout=timeout)), None
    except UserError as e:
        return None, str(e)


SEARCHED = [os.environ.get('KOBERT_HOME'), os.path.join(SHARED, 'kobert'),
            os.path.join(os.path.expanduser('~'), 'kobert')]
# Resolved once, when the suite is collected: the skip marks below need it, and it is the one try.
KOBERT_HOME, FETCH_ERROR = locate_kobert(SEARCHED)
KOBERT_PAIR = next((os.path.abspath(d) for d in SEARCHED if _has(d, PAIR)), None)
YNAT = os.path.join(SHARED, 'data', 'ynat', 'ynat_headlines.csv')

NO_KOBERT = ('no KoBERT vocabulary (the v0.1 pair or the .spiece) in $KOBERT_HOME, ../shared/kobert or ~/kobert, '
             'and %s' % FETCH_ERROR)
NO_PAIR = ("needs KoBERT's v0.1 pair (%s), which no hub serves, in $KOBERT_HOME or ../shared/kobert%s"
           % (' + '.join(PAIR), '; only the .spiece is found' if KOBERT_HOME else ''))
needs_kobert = pytest.mark.skipif(KOBERT_HOME is None, reason=NO_KOBERT)
needs_kobert_pair = pytest.mark.skipif(KOBERT_PAIR is None, reason=NO_PAIR)
needs_ynat = pytest.mark.skipif(not os.path.isfile(YNAT), reason='../shared/data/ynat is absent')


@pytest.fixture(scope='session')
def kobert_home():
    """A folder with either KoBERT set."""
    if KOBERT_HOME is None:
        pytest.skip(NO_KOBERT)
    return KOBERT_HOME


@pytest.fixture(scope='session')
def kobert_pair():
    """A folder with KoBERT's v0.1 pair, for tests about those very files."""
    if KOBERT_PAIR is None:
        pytest.skip(NO_PAIR)
    return KOBERT_PAIR


@pytest.fixture(scope='session')
def tokenizer(kobert_home):
    from kobert_gluon.tokenizer import KoBERTTokenizer
    return KoBERTTokenizer.load(kobert_home)


def make_weight(path, tokenizer, config='tiny', mode=3, max_len=64, seed=0, topics=None):
    """A real (randomly initialised) weight file with its meta, as training writes it."""
    import mxnet as mx
    from config import MODEL_CONFIGS, TOPICS
    from kobert_gluon import model
    mx.random.seed(seed)
    topics = list(topics or TOPICS)
    net = model.build_classifier(MODEL_CONFIGS[config], len(topics))
    model.save(net, str(path), {'config': MODEL_CONFIGS[config].to_dict(), 'topics': topics,
                                'mode': mode, 'max_len': max_len, 'dropout': 0.1,
                                'vocab': tokenizer.info()})
    return str(path)


@pytest.fixture(scope='session')
def tiny_weight(tmp_path_factory, tokenizer):
    return make_weight(tmp_path_factory.mktemp('weight') / 'tiny.params', tokenizer)


def run_main(*args, cwd=ROOT, env_extra=None):
    """main.py as a user runs it, in its own process."""
    env = dict(os.environ)
    if KOBERT_HOME:
        env['KOBERT_HOME'] = KOBERT_HOME
    env.update(env_extra or {})
    return subprocess.run([sys.executable, os.path.join(ROOT, 'main.py')] + [str(a) for a in args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
