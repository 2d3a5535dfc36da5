"""The package as a user installs it: a wheel built with the standard tools, installed into a fresh
Python 3.7 venv outside the repository, used from another folder."""
import glob
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pandas as pd
import pytest

from kobert_base.topics import TOPICS
from tests.conftest import KOBERT_HOME, ROOT

pytestmark = pytest.mark.skipif(KOBERT_HOME is None, reason="KoBERT's vocabulary is absent")


def _sh(cmd, cwd, timeout=900, env=None):
    r = subprocess.run(cmd, cwd=str(cwd), capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, KOBERT_HOME=KOBERT_HOME or '', **(env or {})))
    assert r.returncode == 0, '%s\n%s\n%s' % (cmd, r.stdout[-2000:], r.stderr[-4000:])
    return r


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """(venv bin folder, wheel path): the wheel of a copy of the source tree, installed with its
    pinned requirements into a new venv."""
    base = tmp_path_factory.mktemp('wheel')
    src = base / 'src'
    files = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard'], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split('\n')
    for name in filter(None, files):
        if os.path.isfile(os.path.join(ROOT, name)):
            os.makedirs(str((src / name).parent), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, name), str(src / name))
    _sh([sys.executable, '-m', 'build', '--no-isolation', '--outdir', str(base / 'dist'), str(src)], base)
    wheel = glob.glob(str(base / 'dist' / '*.whl'))[0]
    python = getattr(sys, '_base_executable', None) or sys.executable
    _sh([python, '-m', 'venv', str(base / 'venv')], base)
    _sh([str(base / 'venv' / 'bin' / 'python'), '-m', 'pip', 'install', '-q', wheel], base)
    return base / 'venv' / 'bin', wheel


def test_wheel_holds_one_package_its_weight_licence_and_attribution(installed):
    names = zipfile.ZipFile(installed[1]).namelist()
    tops = {n.split('/')[0] for n in names if not n.startswith('kobert_news-')}
    assert tops == {'kobert_base', 'kobert_news', 'kobert_gluon', 'preprocess'}
    assert 'kobert_news/weights/kobert-news-small-ynat.pth' in names
    meta = [n for n in names if n.endswith('.dist-info/METADATA')][0]
    text = zipfile.ZipFile(installed[1]).read(meta).decode('utf-8')
    requires = [l.split(':', 1)[1].replace(' ', '') for l in text.splitlines() if l.startswith('Requires-Dist:')]
    # Python 3.7: the Gluon stack, pinned exactly; 3.10-3.13: the deploy path, without it
    runtime = {r.split(';')[0] for r in requires if 'extra==' not in r and 'python_version<"3.8"' in r}
    assert {'mxnet==1.9.1', 'gluonnlp==0.10.0', 'numpy==1.21.6', 'sentencepiece==0.1.96'} <= runtime
    assert all('==' in r for r in runtime) and not any(r.startswith(('pytest', 'build')) for r in runtime)
    deploy = [r.split(';')[0] for r in requires if 'python_version>="3.10"' in r]
    assert {'onnxruntime', 'tokenizers', 'fastapi', 'starlette'} <= {re.split('[<>=!]', r)[0] for r in deploy}
    assert not [r for r in deploy if r.startswith(('mxnet', 'gluonnlp', 'torch'))]
    assert all('python_version' in r for r in requires)  # each for one of the two grounds
    assert '# kobert-news' in text  # the README is the long description
    notice = [n for n in names if n.endswith('.dist-info/NOTICE')][0]
    assert 'KLUE-YNAT' in zipfile.ZipFile(installed[1]).read(notice).decode('utf-8')


def test_console_script_from_another_folder(installed, tmp_path):
    bin_dir = installed[0]
    shutil.copy(os.path.join(ROOT, 'data', 'sample.csv'), str(tmp_path / 'news.csv'))
    kobert_news = str(bin_dir / 'kobert-news')
    r = _sh([kobert_news, 'predict', '--data_path', 'news.csv', '--save_path', 'out.csv'], tmp_path)
    out = pd.read_csv(str(tmp_path / 'out.csv'), encoding='utf-8-sig')  # relative to where the user stands
    assert len(out) == 24 and set(out['predicted']) <= set(TOPICS)
    assert 'site-packages' in r.stderr  # the default weight came with the package
    for command in ('train', 'evaluate', 'baseline', 'record', 'clusters', 'cache', 'serve', 'explain', 'export',
                    'spark', 'launch'):
        assert _sh([kobert_news, command, '--help'], tmp_path).stdout.startswith('usage: kobert-news %s' % command)
    # one command: no kobert-news-<command> scripts beside it
    assert sorted(p.name for p in bin_dir.glob('kobert-news*')) == ['kobert-news']
    _sh([kobert_news, 'export', '--to', 'hf', '--output_dir', 'hf'], tmp_path)
    assert {'config.json', 'model.safetensors', 'tokenizer.json'} <= set(os.listdir(str(tmp_path / 'hf')))


def test_python_api_and_no_stray_modules(installed, tmp_path):
    python = str(installed[0] / 'python')
    code = ('import kobert_news\n'
            'clf = kobert_news.load()\n'
            'r = clf.classify([{"title": "손흥민 시즌 10호골…토트넘 3연승 이끌어"}, {"title": ""}], top_k=3)\n'
            'print(r[0]["topic"], len(r[0]["top_k"]), r[1]["topic"])\n')
    out = _sh([python, '-c', code], tmp_path).stdout.split()
    assert out[0] in TOPICS and out[1:] == ['3', 'None']
    for name in ('config', 'main', 'train', 'evaluate', 'baseline', 'record', 'cluster_report', 'reports'):
        r = subprocess.run([python, '-c', 'import %s' % name], cwd=str(tmp_path), capture_output=True, text=True)
        assert r.returncode == 1 and 'ModuleNotFoundError' in r.stderr, name
