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
    from kobert_news.config import MODEL_CONFIGS, TOPICS
    from kobert_gluon import model
    mx.random.seed(seed)
    topics = list(topics or TOPICS)
    k = 4 if mode in (4, 5) else 0
    net = model.build_classifier(MODEL_CONFIGS[config], len(topics), num_clusters=k if mode == 5 else 0)
    meta = {'config': MODEL_CONFIGS[config].to_dict(), 'topics': topics, 'mode': mode, 'max_len': max_len,
            'dropout': 0.1, 'vocab': tokenizer.info()}
    if k:
        meta['clusters'] = {'k': k, 'encoder': 'use', 'encoder_key': 'use-m3-0.2.1'}
    model.save(net, str(path), meta)
    return str(path)


@pytest.fixture(scope='session')
def tiny_weight(tmp_path_factory, tokenizer):
    return make_weight(tmp_path_factory.mktemp('weight') / 'tiny.params', tokenizer)


def run_script(script, *args, cwd=ROOT, env_extra=None, timeout=600):
    """A root script as a user runs it, in its own process: for exit codes, signals and restarts."""
    env = dict(os.environ)
    if KOBERT_HOME:
        env['KOBERT_HOME'] = KOBERT_HOME
    env.update(env_extra or {})
    return subprocess.run([sys.executable, os.path.join(ROOT, script)] + [str(a) for a in args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def run_main(*args, **kw):
    return run_script('main.py', *args, **kw)


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def call(capsys):
    """A command's cli() in this process, as the user would run it: call('predict', '--data_path', ...)
    -> Result(returncode, stdout, stderr)."""
    import importlib

    def run(command, *args):
        if KOBERT_HOME:
            os.environ.setdefault('KOBERT_HOME', KOBERT_HOME)
        capsys.readouterr()
        module = importlib.import_module('kobert_news.cli.' + command)
        code = module.cli([str(a) for a in args])
        out, err = capsys.readouterr()
        return Result(code, out, err)
    return run
