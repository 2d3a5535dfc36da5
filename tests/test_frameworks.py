"""bench/train_hf.py: GluonNLP's optimizer and the project's recipe in PyTorch, checked against the
Gluon side; and a smoke run of the comparison driver."""
import json
import os
import subprocess
import sys

import mxnet as mx
import numpy as np
from gluonnlp.optimizer import BERTAdam

from tests.conftest import ROOT, YNAT
from tests.hf_helpers import hf_python, ynat_titles  # noqa: F401 (fixture)

# Three BertAdam updates of two tensors (one with weight decay), printed as JSON.
TORCH_STEPS = '''
import json, sys, torch
sys.path.insert(0, sys.argv[1])
from train_hf import BertAdam, lr_at
w = [torch.tensor(x, dtype=torch.float32) for x in json.loads(sys.argv[2])]
grads = json.loads(sys.argv[3])
opt = BertAdam([{'params': [w[0]], 'weight_decay': 0.01}, {'params': [w[1]]}], lr=1e-3, eps=1e-9)
for g in grads:
    for p, x in zip(w, g):
        p.grad = torch.tensor(x, dtype=torch.float32)
    opt.step()
print(json.dumps({'w': [p.tolist() for p in w], 'lr': [lr_at(k, 10, 3, 1.0) for k in range(10)]}))
'''


def test_bert_adam_equals_gluonnlp(hf_python):
    rng = np.random.RandomState(0)
    w = [rng.randn(3, 4).astype(np.float32), rng.randn(4).astype(np.float32)]
    grads = [[rng.randn(*x.shape).astype(np.float32) for x in w] for _ in range(3)]
    r = subprocess.run([hf_python, '-c', TORCH_STEPS, os.path.join(ROOT, 'bench'), json.dumps([x.tolist() for x in w]),
                        json.dumps([[g.tolist() for g in step] for step in grads])], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    opt = BERTAdam(learning_rate=1e-3, epsilon=1e-9, wd=0.01)
    opt.set_wd_mult({0: 1.0, 1: 0.0})  # the project: no decay on biases and LayerNorm
    weights = [mx.nd.array(x) for x in w]
    states = [opt.create_state(i, x) for i, x in enumerate(weights)]
    for step in grads:
        for i, (x, g) in enumerate(zip(weights, step)):
            opt.update(i, x, mx.nd.array(g), states[i])
    for mine, theirs in zip(got['w'], weights):
        assert np.allclose(mine, theirs.asnumpy(), rtol=1e-5, atol=1e-7)
    from kobert_gluon.recipe import lr_at
    assert got['lr'] == [lr_at(k, 10, 3, 1.0) for k in range(10)] and got['lr'][0] == 0.0


def test_comparison_smoke_run(tmp_path, hf_python, kobert_home):
    """Both trainers on 120 headlines for one epoch, tiny configuration: the table is written."""
    ynat_titles()  # skips without the data
    out = tmp_path / 'frameworks.md'
    r = subprocess.run([sys.executable, os.path.join(ROOT, 'bench', 'compare_frameworks.py'), '--data_path', YNAT, '--rows', '120',
                        '--epochs', '1', '--seeds', '7', '--model', 'tiny', '--max_len', '32', '--output', str(out),
                        '--work_dir', str(tmp_path / 'work'), '--kobert_dir', kobert_home],
                       cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    text = out.read_text(encoding='utf-8')
    assert '| mxnet | 7 |' in text and '| pytorch | 7 |' in text
    with open(str(tmp_path / 'work' / 'pytorch-7' / 'best.json')) as f:
        best = json.load(f)
    assert 0 <= best['eval_accuracy'] <= 1 and best['epochs_run'] == 1
