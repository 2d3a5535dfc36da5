"""The deploy suite's fixtures (run by .venv-deploy's Python 3.12: no MXNet here). The legacy side runs
as a user runs it, in its own processes: .venv's Python makes a tiny weight, kobert-news export --to onnx makes
its export folder (with .venv-hf's torch), and main.py gives the Gluon engine's output to compare with."""
import os
import subprocess

import pytest

from tests.conftest import KOBERT_HOME, NO_KOBERT, ROOT, YNAT

LEGACY = os.path.join(ROOT, '.venv', 'bin', 'python')
DEFAULT_WEIGHT = os.path.join(ROOT, 'weights', 'kobert-news-small-ynat.pth')
TIMEOUT = 1800  # seconds: a busy machine, and a first make env or make hf-env


def _make(target, *variables):
    r = subprocess.run(['make', target] + list(variables), cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT,
                       env=dict(os.environ, KOBERT_HOME=KOBERT_HOME or ''))
    if r.returncode:
        pytest.fail('make %s failed:\n%s' % (target, (r.stdout + r.stderr)[-3000:]))
    return r.stdout + r.stderr


def legacy(*args, cwd=ROOT, check=True):
    """.venv's Python (3.7, MXNet) on args, with KoBERT's vocabulary."""
    env = dict(os.environ, KOBERT_HOME=KOBERT_HOME or '')
    r = subprocess.run([LEGACY] + [str(a) for a in args], cwd=str(cwd), env=env, capture_output=True, text=True,
                       timeout=TIMEOUT)
    if check:
        assert r.returncode == 0, r.stderr[-3000:]
    return r


@pytest.fixture(scope='session')
def legacy_side():
    """The legacy environments, built by make when missing or stale (no-ops otherwise): .venv for the
    weight, main.py and kobert-news export, .venv-hf for the ONNX export."""
    if KOBERT_HOME is None:
        pytest.skip(NO_KOBERT)
    _make('env')
    if not os.environ.get('KOBERT_HF_VENV'):
        _make('hf-env')
    return LEGACY


def export(weight, folder, *flags):
    legacy('-m', 'kobert_news', 'export', '--gluon_weight_path', weight, '--to', 'onnx', '--output_dir', folder, *flags)
    return str(folder)


@pytest.fixture(scope='session')
def tiny(legacy_side, tmp_path_factory):
    """(weight, export folder with --int8): a random tiny mode-3 weight (max_len 64), as training writes one."""
    return tiny_export(tmp_path_factory.mktemp('tiny'), '--int8', seed=5)


def make_default_export(folder):
    """make default-export EXPORT_DIR=folder (what make serve runs first): its output."""
    return _make('default-export', 'EXPORT_DIR=%s' % folder)


@pytest.fixture(scope='session')
def default_export(legacy_side, tmp_path_factory):
    """The shipped weight's export folder, fp32 and int8, as make serve makes it when it is missing."""
    folder = tmp_path_factory.mktemp('default') / 'onnx'
    assert 'exported' in make_default_export(folder)
    return str(folder)


@pytest.fixture(scope='session')
def ynat():
    if not os.path.isfile(YNAT):
        pytest.skip('../shared/data/ynat is absent')
    return YNAT


def tiny_export(base, *flags, **weight):
    """(weight, export folder) of a random tiny weight made as training writes one (make_weight's options)."""
    path = str(base / 'tiny.params')
    legacy('-c', 'from kobert_gluon.tokenizer import KoBERTTokenizer\nfrom tests.conftest import make_weight\n'
                 'make_weight(%r, KoBERTTokenizer.load(), **%r)' % (path, weight))
    return path, export(path, base / 'onnx', *flags)


@pytest.fixture(scope='session')
def titles(legacy_side, tmp_path_factory):
    """(weight, export folder): a tiny mode-2 (title only) weight whose description says it never saw
    entertain, as the default weight's does."""
    return tiny_export(tmp_path_factory.mktemp('titles'), mode=2, untrained_topics=['entertain'])


@pytest.fixture(scope='session')
def long_reader(legacy_side, tmp_path_factory):
    """The export folder of a tiny weight that reads 512 tokens: a long article's explanation takes
    seconds (one run per word read), long enough to be seen in progress."""
    return tiny_export(tmp_path_factory.mktemp('long'), max_len=512, seed=6)[1]
