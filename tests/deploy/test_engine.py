"""The ONNX Runtime engine on the shipped weight's export: every YNAT headline as main.py's Gluon
engine classifies it, int8 beside fp32, the Python API, and an install with no Gluon stack."""
import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT
from tests.deploy.conftest import DEFAULT_WEIGHT, legacy


@pytest.fixture(scope='module')
def ynat_outputs(default_export, ynat, tmp_path_factory):
    """(main.py's Gluon fp32 output, the ONNX engine's fp32 and int8 frames) on all 6,108 headlines."""
    import kobert_news
    out = tmp_path_factory.mktemp('ynat') / 'gluon.csv'
    legacy('main.py', '--gluon_weight_path', DEFAULT_WEIGHT, '--data_path', ynat, '--save_path', out)
    gluon = pd.read_csv(str(out), encoding='utf-8-sig', keep_default_na=False)
    data = pd.read_csv(ynat, dtype=str, keep_default_na=False)
    frames = [kobert_news.load(model_dir=default_export, precision=p).classify_frame(data) for p in ('fp32', 'int8')]
    return gluon, frames[0], frames[1]


def test_fp32_gives_main_pys_topics_on_every_headline(ynat_outputs, default_export):
    """Topics equal on all 6,108; probabilities within 1e-4 on every headline whose tokens are the
    Gluon tokenizer's. One headline ('B→CCC') is an exact unigram tie that sentencepiece (float32
    sums) and tokenizers (float64) break differently (kobert_gluon/export/hf_tokenizer.py): other token ids."""
    gluon, fp32, _ = ynat_outputs
    assert len(fp32) == len(gluon) == 6108
    assert (fp32['predicted'] == gluon['predicted']).all()
    diff = np.abs(fp32['probability'].to_numpy() - gluon['probability'].to_numpy())
    off = list(gluon['title'][diff > 1e-4])
    assert all('CCC' in t for t in off) and len(off) <= 1, off
    assert diff.max() < 0.01


def test_int8_agrees_with_fp32_and_keeps_the_accuracy(ynat_outputs):
    _, fp32, int8 = ynat_outputs
    assert (int8['predicted'] == fp32['predicted']).mean() >= 0.99
    accuracy = [(f['predicted'] == f['category']).mean() for f in (fp32, int8)]
    assert abs(accuracy[0] - accuracy[1]) <= 0.005 and accuracy[0] > 0.9


def test_python_api_on_an_export_folder(default_export):
    import kobert_news
    clf = kobert_news.load(model_dir=default_export)
    assert clf.pipeline.engine.precision == 'fp32' and clf.pipeline.engine.untrained_topics == ['entertain']
    got = clf.classify([{'title': '손흥민 시즌 10호골…토트넘 3연승 이끌어'}, {'title': '', 'body': ''},
                        {'title': '코스피 2,600선 회복…외국인 순매수'}], top_k=3)
    assert got[0]['topic'] == 'sport' and got[2]['topic'] == 'economy' and len(got[0]['top_k']) == 3
    assert got[1]['topic'] is None and got[1]['reason'] == 'no text for mode 2'
    assert abs(sum(t['probability'] for t in got[0]['top_k']) - 1) < 0.5


def test_no_mxnet_gluonnlp_or_torch_here():
    """The deploy environment installs none of the Gluon stack, and the engine ran without it."""
    assert [m for m in ('mxnet', 'gluonnlp', 'torch', 'sklearn') if importlib.util.find_spec(m)] == []
    names = {d.metadata['Name'].lower() for d in importlib.metadata.distributions()}
    assert not names & {'mxnet', 'gluonnlp', 'torch', 'scikit-learn', 'sentencepiece'}


def pins():
    with open(os.path.join(ROOT, 'requirements-deploy.txt')) as f:
        return dict(line.strip().split('==') for line in f if line.strip() and not line.startswith('#'))


def norm(name):
    return re.sub(r'[-_.]+', '-', name).lower()


def test_the_environment_is_the_pinned_set_and_meets_setup_pys_needs():
    """Every installed package is pinned at its version in requirements-deploy.txt, and the package's
    own requirements for this Python (with the serve, spark and test extras) hold for the pins."""
    from packaging.requirements import Requirement
    pinned = {norm(k): v for k, v in pins().items()}
    installed = {norm(d.metadata['Name']): d.version for d in importlib.metadata.distributions()}
    installed.pop('kobert-news')
    installed.pop('pip', None)
    assert installed == pinned
    for extra in ('', 'serve', 'spark', 'test'):
        for line in importlib.metadata.requires('kobert-news'):
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({'extra': extra}):
                assert norm(req.name) in pinned and req.specifier.contains(pinned[norm(req.name)]), line
    from packaging.version import Version
    assert Version(pinned['starlette']) >= Version('1.3.1') and Version(pinned['h11']) >= Version('0.16.0')


def test_kobert_news_dispatches_every_front_end(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, '-m', 'kobert_news'] + list(args), cwd=str(tmp_path),
                              capture_output=True, text=True, timeout=300)
    r = run('predict', '--help')
    assert r.returncode == 0 and r.stdout.startswith('usage: kobert-news predict') and '--model_dir' in r.stdout
    for args, words in ((), 'no command'), (('nope',), "unknown command 'nope'"):
        r = run(*args)
        assert r.returncode == 2 and r.stderr.startswith('error: %s' % words) and len(r.stderr.splitlines()) == 1
    assert run('--help').stdout.count('predict') >= 2
    sample = os.path.join(ROOT, 'data', 'sample.csv')
    for args, says in ((['train', '--data_path', sample], 'Python 3.7 environment'),
                       (['baseline', '--data_path', sample], 'Python 3.7 environment'),
                       (['export', '--to', 'hf', '--output_dir', 'hf'], 'Python 3.7 environment'),
                       # explain runs here on an export folder: a weight file is what needs the Gluon stack
                       (['explain', '--data_path', sample], 'classify an export folder with --model_dir')):
        r = run(*args)  # the Gluon stack's commands: one line saying where they run
        errors = [l for l in r.stderr.splitlines() if l.startswith('error: ')]
        assert r.returncode == 2 and len(errors) == 1 and says in errors[0], r.stderr
        assert 'Traceback' not in r.stderr and os.listdir(str(tmp_path)) == []
    script = os.path.join(os.path.dirname(sys.executable), 'kobert-news')
    r = subprocess.run([script, 'cache', '--help'], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.startswith('usage: kobert-news cache')


def test_the_engines_threads_wait_passively(default_export, monkeypatch):
    """As MXNet's OpenMP threads do (kobert_gluon): spinning threads fight other busy processes for the
    cores. KOBERT_NEWS_OMP_WAIT=library keeps ONNX Runtime's own spinning, as it keeps libgomp's."""
    from kobert_news.engines.onnx import OnnxEngine

    def spinning():
        options = OnnxEngine.load(default_export, 'int8').session.get_session_options()
        return options.get_session_config_entry('session.intra_op.allow_spinning')
    monkeypatch.delenv('KOBERT_NEWS_OMP_WAIT', raising=False)
    assert spinning() == '0'
    monkeypatch.setenv('KOBERT_NEWS_OMP_WAIT', 'library')
    with pytest.raises(Exception, match='does not have configuration'):  # ONNX Runtime's default: spin
        spinning()
