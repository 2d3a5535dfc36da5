"""Shared by the export and import tests: the second environment (.venv-hf) and calls into it."""
import json
import os
import subprocess

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT, YNAT

TORCH_WORKER = os.path.join(ROOT, 'kobert_gluon', 'export', 'torch_worker.py')


@pytest.fixture(scope='session')
def hf_python():
    """.venv-hf's Python, built by `make hf-env` when missing or stale (a no-op otherwise)."""
    r = subprocess.run(['make', 'hf-env'], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    if r.returncode:
        if 'Python >= 3.10 is needed' in r.stdout + r.stderr:
            pytest.skip('no Python >= 3.10 on this machine for .venv-hf')
        pytest.fail('make hf-env failed:\n' + (r.stdout + r.stderr)[-3000:])
    return os.path.join(ROOT, '.venv-hf', 'bin', 'python')


def torch_worker(python, *args):
    r = subprocess.run([python, TORCH_WORKER] + [str(a) for a in args], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def hf_predict(python, tmp_path, model_dir, texts, onnx=(), clusters=None):
    """{'torch': probabilities from transformers (when the folder has its weights), and for each
    ONNX file, by name, onnxruntime's}: the exported folder read as a user would."""
    src, out = tmp_path / 'texts.json', tmp_path / 'probs.npz'
    src.write_text(json.dumps(list(texts), ensure_ascii=False), encoding='utf-8')
    args = ['predict', model_dir, src, out]
    for path in onnx:
        args += ['--onnx', path]
    if clusters is not None:
        (tmp_path / 'clusters.json').write_text(json.dumps([int(c) for c in clusters]))
        args += ['--clusters', tmp_path / 'clusters.json']
    torch_worker(python, *args)
    with np.load(str(out)) as f:
        return dict(f)


def to_onnx(python, hf_dir):
    """model.onnx in the transformers folder itself, as kobert-news export --to onnx makes it."""
    path = os.path.join(hf_dir, 'model.onnx')
    torch_worker(python, 'onnx', hf_dir, path)
    return path


def hf_tokenize(python, tmp_path, model_dir, texts):
    src = tmp_path / 'tokenize.json'
    src.write_text(json.dumps(list(texts), ensure_ascii=False), encoding='utf-8')
    return json.loads(torch_worker(python, 'tokenize', model_dir, src))


def ynat_titles():
    if not os.path.isfile(YNAT):
        pytest.skip('../shared/data/ynat is absent')
    return list(pd.read_csv(YNAT)['title'])
