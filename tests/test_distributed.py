"""Training on several devices and processes: the batch split across contexts, MXNet's parameter
server on 127.0.0.1 started by the launcher, and failures that stop every process."""
import dataclasses
import fcntl
import json
import os
import subprocess
import sys
import time

import mxnet as mx
import numpy as np
import pandas as pd
import pytest

from kobert_base.architectures import ARCHITECTURES
from kobert_base.options import TrainOptions
from tests.conftest import KOBERT_HOME, ROOT, YNAT, needs_ynat

SAMPLE = os.path.join(ROOT, 'data', 'sample.csv')
TINY = ('--model', 'tiny', '--num_buckets', '2', '--log_interval', '1000')
# Three topics of real headlines, a recipe that learns them in a few epochs of the tiny model.
RECIPE = ('--epochs', '6', '--lr', '3e-4', '--accumulate', '1', '--batch_size', '8', '--max_len', '32',
          '--patience', '0', '--embed_init', 'lsa') + TINY


def env(**extra):
    return dict(os.environ, KOBERT_HOME=KOBERT_HOME or '', **extra)


def train(*args):
    """train.py started in its own process, on one thread (as each of two workers gets on two cores)."""
    return subprocess.Popen([sys.executable, os.path.join(ROOT, 'train.py')] + [str(a) for a in args], cwd=ROOT,
                            env=env(OMP_NUM_THREADS='1'), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


def launch(*args, workers=2, timeout=600, background=False):
    cmd = [sys.executable, '-m', 'kobert_news', 'launch', '--workers', str(workers), '--',
           'train.py'] + [str(a) for a in args]
    if background:
        return subprocess.Popen(cmd, cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=timeout)


def metrics(run_dir):
    with open(os.path.join(str(run_dir), 'metrics.json')) as f:
        return json.load(f)


def test_a_batch_split_across_contexts_has_the_whole_batch_gradient(tokenizer):
    """Split over cpu(0), cpu(1) (and more contexts than rows), the summed gradient is the whole batch's;
    after the update every context holds the same parameters, those of one context."""
    from mxnet import gluon
    from kobert_gluon import model
    from kobert_gluon.devices import Devices
    from kobert_gluon.epochs import Loop
    from kobert_gluon.recipe import apply_update
    cfg = TrainOptions(data_path=SAMPLE, model='tiny', dropout=0.0, lr=1e-3)
    no_dropout = dataclasses.replace(ARCHITECTURES['tiny'], dropout=0.0)
    texts = ['손흥민 시즌 10호골', '한국은행 기준금리 동결', '국회 본회의 통과', '삼성전자 반도체 양산', '영화제 개막']
    ids = [tokenizer.encode(t, 16) for t in texts]
    x = mx.nd.array([list(i) + [1] * (16 - len(i)) for i in ids])
    inputs = [x, mx.nd.zeros_like(x), mx.nd.array([len(i) for i in ids])]
    label = mx.nd.array([3, 1, 5, 4, 6])
    results = {}
    layouts = {1: Devices(), 2: Devices([mx.cpu(0), mx.cpu(1)]), 7: Devices([mx.cpu(i) for i in range(7)]),
               -1: Devices([mx.cpu(1)])}  # -1: one context other than the default CPU, as one GPU is
    for n, devices in layouts.items():
        mx.random.seed(5)
        net = model.build_classifier(no_dropout, 8, dropout=0.0, ctx=devices.ctx)
        loop = Loop(cfg, None, net, tokenizer, {}, None, '', devices=devices)
        outs, _, _, counted = loop._forward_backward(inputs, label, 5, 1.0, gluon.loss.SoftmaxCrossEntropyLoss())
        assert counted == 5 and len(outs) == min(abs(n), 5) and devices.plain == (n == 1)
        grads = [sum(g.asnumpy() for g in p.list_grad()) for p in loop.params]  # in the nets' common order
        apply_update(loop.trainer, loop.params, 1, 1.0)
        copies = [[d.asnumpy() for d in p.list_data()] for p in loop.params]
        assert all(np.array_equal(c[0], other) for c in copies for other in c[1:])
        results[n] = grads, [c[0] for c in copies]
    for n in (2, 7, -1):
        for a, b in zip(results[n][0], results[1][0]):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
        for a, b in zip(results[n][1], results[1][1]):  # bertadam scales steps up: 1% of lr 1e-3
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_device_options_fail_cleanly(tmp_path, call):
    out = tmp_path / 'run'
    for flags, message in ((('--gpus', 'a,b'), '--gpus must be GPU ids separated by commas'),
                           (('--gpus', '0,0'), '--gpus must name distinct GPU ids'),
                           (('--gpus', '0', '--cpu_contexts', '2'), 'give one of them'),
                           (('--cpu_contexts', '0'), '--cpu_contexts must be at least 1'),
                           (('--kvstore', 'dist_async'), "invalid choice: 'dist_async'"),
                           (('--kvstore', 'dist_sync', '--folds', '3'), '--folds runs in one process'),
                           (('--kvstore', 'dist_sync'), "needs the parameter server's environment"),
                           (('--gpus', '0'), 'this MXNet sees 0 GPU(s)')):
        r = call('train', '--data_path', SAMPLE, '--output_dir', out, *TINY, *flags)
        assert r.returncode == 2 and r.stderr.startswith('error: ') and message in r.stderr, (flags, r.stderr)
        assert 'Traceback' not in r.stderr
    assert not out.exists()
    r = call('launch', '--workers', '2', '--', 'train.py', '--data_path', SAMPLE)
    assert r.returncode == 2 and 'must train with --kvstore dist_sync' in r.stderr


def test_a_run_resumes_on_other_devices(tmp_path, kobert_home, call):
    """Devices are not part of a run's settings: a run (even one saved before these options existed)
    resumes on two CPU contexts."""
    out = tmp_path / 'run'
    args = ('--data_path', SAMPLE, '--test_size', '0.34', '--epochs', '2', '--output_dir', out) + TINY
    assert call('train', *args).returncode == 0
    config = json.load(open(str(out / 'train_config.json')))
    for key in ('gpus', 'cpu_contexts', 'kvstore'):
        del config[key]
    json.dump(config, open(str(out / 'train_config.json'), 'w'))
    state = json.load(open(str(out / 'checkpoints' / 'state.json')))
    state.update(epoch=1, finished=False, history=state['history'][:1], best_epoch=1, bad_epochs=0,
                 best=state['history'][0]['eval_accuracy'])
    json.dump(state, open(str(out / 'checkpoints' / 'state.json'), 'w'))
    os.rename(str(out / 'checkpoints' / 'epoch-2.states'), str(out / 'checkpoints' / 'epoch-1.states'))
    r = call('train', *args, '--cpu_contexts', '2')
    assert r.returncode == 0, r.stderr
    assert 'resumed from epoch 1' in r.stderr and [m['epoch'] for m in metrics(out)] == [1, 2]


def test_a_worker_that_fails_stops_the_others(tmp_path, kobert_home):
    """Worker 0 fails after joining (the run folder is locked by another process): it leaves at
    once instead of waiting for worker 1, and the launcher stops everything."""
    out = tmp_path / 'run'
    out.mkdir()
    with open(str(out / '.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        tic = time.time()
        r = launch('--data_path', SAMPLE, '--output_dir', out, '--epochs', 1, '--kvstore', 'dist_sync', *TINY,
                   timeout=300)
    assert r.returncode == 2, r.stderr
    assert 'error: another train.py is running in %s' % out in r.stderr
    assert 'stopping the others' in r.stderr and time.time() - tic < 120


@pytest.fixture(scope='module')
def three_topics(tmp_path_factory):
    """150 real headlines of each of three topics."""
    if not os.path.isfile(YNAT):
        pytest.skip('../shared/data/ynat is absent')
    df = pd.read_csv(YNAT)
    path = tmp_path_factory.mktemp('ynat') / 'three.csv'
    pd.concat([df[df.category == t].head(150) for t in ('sport', 'it', 'politics')]).to_csv(path, index=False)
    return str(path)


@needs_ynat
def test_two_workers_learn_as_one_process_does(tmp_path, three_topics, kobert_home):
    """dist_sync with two workers on 127.0.0.1: the same schedule of global steps, every worker in
    step, only worker 0 writing, and a final accuracy within the spread of one process's three seeds.
    main.py then classifies with its weight."""
    runs = {seed: train('--data_path', three_topics, '--output_dir', tmp_path / ('seed%d' % seed), '--seed', seed,
                        *RECIPE) for seed in (1, 2, 3)}  # side by side: one thread each
    for seed, proc in runs.items():
        assert proc.wait(timeout=600) == 0, proc.stderr.read()
    single = {seed: metrics(tmp_path / ('seed%d' % seed)) for seed in runs}
    dist = tmp_path / 'dist'
    r = launch('--data_path', three_topics, '--output_dir', dist, '--seed', 1, '--kvstore', 'dist_sync', *RECIPE)
    assert r.returncode == 0, r.stderr
    assert 'worker 0 of 2' in r.stderr and 'worker 1 of 2' in r.stderr
    assert 'all 2 workers end with the same parameters' in (dist / 'log.txt').read_text(encoding='utf-8')
    assert sorted(os.listdir(str(dist))) == sorted(os.listdir(str(tmp_path / 'seed1')))
    assert len(r.stdout.strip().splitlines()) == 1  # worker 0's summary; the others print none
    ran = metrics(dist)
    assert [m['lr'] for m in ran] == [m['lr'] for m in single[1]]  # the same global steps
    finals = [single[s][-1]['eval_accuracy'] for s in single]
    slack = 4 / 135  # four of the evaluation's 135 headlines
    assert min(finals) - slack <= ran[-1]['eval_accuracy'] <= max(finals) + slack, (ran[-1], finals)
    assert ran[-1]['eval_accuracy'] > 0.55 and ran[-1]['loss'] < 0.8 * ran[0]['loss']

    out = tmp_path / 'predicted.csv'
    r = subprocess.run([sys.executable, os.path.join(ROOT, 'main.py'), '--gluon_weight_path', dist / 'model.params',
                        '--data_path', SAMPLE, '--save_path', out], cwd=ROOT, env=env(), capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert len(pd.read_csv(str(out), encoding='utf-8-sig')) == 24
