"""Shared fixtures: KoBERT's real vocabulary (skipped when absent) and a tiny real weight."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), 'shared')
PAIR = ('tokenizer_78b3253a26.model', 'kobertvocab_f38b8a4d6d.json')


def _kobert_home():
    for d in (os.environ.get('KOBERT_HOME'), os.path.join(SHARED, 'kobert')):
        if d and all(os.path.isfile(os.path.join(d, n)) for n in PAIR):
            return os.path.abspath(d)
    return None


KOBERT_HOME = _kobert_home()
YNAT = os.path.join(SHARED, 'data', 'ynat', 'ynat_headlines.csv')
needs_kobert = pytest.mark.skipif(KOBERT_HOME is None, reason=(
    "KoBERT's vocabulary (%s) is in neither $KOBERT_HOME nor ../shared/kobert" % ' + '.join(PAIR)))
needs_ynat = pytest.mark.skipif(not os.path.isfile(YNAT), reason='../shared/data/ynat is absent')


@pytest.fixture(scope='session')
def kobert_home():
    if KOBERT_HOME is None:
        pytest.skip("KoBERT's vocabulary is absent")
    return KOBERT_HOME


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
