"""Training: the recipe learns, runs are seeded and resumable, bad input leaves nothing behind."""
import json
import os
import signal
import subprocess
import sys
import time

import mxnet as mx
import numpy as np
import pandas as pd
import pytest

from kobert_base.errors import UserError
from kobert_base.topics import TOPICS
from kobert_base.options import DataOptions, TrainOptions
from tests.conftest import KOBERT_HOME, ROOT, YNAT, needs_ynat, run_main

SAMPLE = os.path.join(ROOT, 'data', 'sample.csv')
ROOT_PATH = __import__('pathlib').Path(ROOT)
TINY = ['--model', 'tiny', '--log_interval', '5', '--num_buckets', '2']


def run_train(*args, **kw):
    env = dict(os.environ, KOBERT_HOME=KOBERT_HOME or '')
    cmd = [sys.executable, os.path.join(ROOT, 'train.py')] + [str(a) for a in args]
    if kw.get('background'):
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def metrics(run_dir):
    with open(os.path.join(str(run_dir), 'metrics.json')) as f:
        return [{k: v for k, v in m.items() if k != 'seconds'} for m in json.load(f)]


@pytest.fixture(scope='module')
def ynat_subset(tmp_path_factory):
    """Real headlines of three topics: 200 per topic."""
    if not os.path.isfile(YNAT):
        pytest.skip('../shared/data/ynat is absent')
    df = pd.read_csv(YNAT)
    df = pd.concat([df[df.category == t].head(200) for t in ('sport', 'it', 'politics')])
    path = tmp_path_factory.mktemp('ynat') / 'three_topics.csv'
    df.to_csv(path, index=False)
    return str(path)


@needs_ynat
def test_loss_falls_and_accuracy_beats_chance(tmp_path, ynat_subset, kobert_home, call):
    out = tmp_path / 'run'
    r = call('train', '--data_path', ynat_subset, '--output_dir', out, '--epochs', 8, '--lr', '3e-4',
             '--accumulate', 1, '--batch_size', 16, '--max_len', 32, '--patience', 0, *TINY)
    assert r.returncode == 0, r.stderr
    m = metrics(out)
    assert len(m) == 8
    assert m[-1]['loss'] < 0.7 * m[0]['loss']
    best = json.load(open(str(out / 'best.json')))
    assert best['eval_accuracy'] > 0.6  # three topics: chance is 1/3
    assert best['eval_accuracy'] == max(e['eval_accuracy'] for e in m)
    assert '[Epoch 1 Batch 5/' in (out / 'log.txt').read_text(encoding='utf-8')
    pred = pd.read_csv(str(out / 'predictions.csv'), encoding='utf-8-sig')
    assert len(pred) == 180 and set(pred['category']) == {'sport', 'it', 'politics'}
    assert abs((pred['category'] == pred['predicted']).mean() - best['eval_accuracy']) < 1e-9
    meta = json.load(open(str(out / 'model.json'), encoding='utf-8'))
    assert meta['topics'] == list(TOPICS) and meta['mode'] == 2 and meta['max_len'] == 32
    assert meta['best_epoch'] == best['best_epoch']
    # what the weight never saw: its engines and the page say so
    assert meta['untrained_topics'] == [t for t in TOPICS if t not in ('sport', 'it', 'politics')]
    r = call('predict', '--gluon_weight_path', out / 'model.params', '--data_path', SAMPLE)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 24


def test_same_seed_same_metrics(tmp_path, kobert_home, call):
    args = ('--data_path', SAMPLE, '--test_size', 0.34, '--epochs', 2, '--accumulate', 2, '--lr', '5e-4') + tuple(TINY)
    for n, s in (('a', 1), ('b', 1), ('c', 2)):
        assert call('train', *args, '--output_dir', tmp_path / n, '--seed', s).returncode == 0
    assert metrics(tmp_path / 'a') == metrics(tmp_path / 'b')
    assert metrics(tmp_path / 'a') != metrics(tmp_path / 'c')


def test_killed_run_resumes_to_the_same_metrics(tmp_path, kobert_home):
    data = tmp_path / 'data.csv'
    pd.concat([pd.read_csv(SAMPLE)] * 20).to_csv(data, index=False)  # long enough epochs to kill in
    args = ('--data_path', data, '--epochs', 4, '--patience', 0, '--lr', '3e-4') + tuple(TINY)
    r = run_train(*args, '--output_dir', tmp_path / 'whole')
    assert r.returncode == 0, r.stderr

    out = tmp_path / 'killed'
    state = out / 'checkpoints' / 'state.json'
    proc = run_train(*args, '--output_dir', out, background=True)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if state.exists() and json.loads(state.read_text())['epoch'] >= 2:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, 'the run ended before it could be killed'
    killed_at = json.loads(state.read_text())
    assert killed_at['epoch'] in (2, 3) and not killed_at.get('finished')
    assert not (out / 'model.params').exists()

    r = run_train(*args, '--output_dir', out)
    assert r.returncode == 0, r.stderr
    assert 'resumed from epoch %d' % killed_at['epoch'] in r.stderr
    assert metrics(out) == metrics(tmp_path / 'whole')
    r = run_train(*args, '--output_dir', out)
    assert r.returncode == 2 and 'finished run' in r.stderr

    # A kill between the last state.json and best.json: the next run derives the rest again.
    os.remove(str(out / 'best.json'))
    os.remove(str(out / 'metrics.json'))
    r = run_train(*args, '--output_dir', out)
    assert r.returncode == 0, r.stderr
    assert json.load(open(str(out / 'best.json')))['best_epoch'] >= 1 and metrics(out) == metrics(tmp_path / 'whole')


def test_a_second_run_on_a_busy_folder_is_refused(tmp_path, kobert_home):
    data = tmp_path / 'data.csv'
    pd.concat([pd.read_csv(SAMPLE)] * 20).to_csv(data, index=False)
    out = tmp_path / 'run'
    args = ('--data_path', data, '--epochs', 200, '--patience', 0, '--output_dir', out) + tuple(TINY)
    first = run_train(*args, background=True)
    try:
        deadline = time.time() + 300
        while not (out / 'checkpoints' / 'state.json').exists() and time.time() < deadline:
            assert first.poll() is None, first.communicate()[1]
            time.sleep(0.05)
        second = run_train(*args, '--overwrite')
        assert first.poll() is None, 'the first run ended before the second could meet it'
    finally:
        first.kill()
        first.wait()
    assert second.returncode == 2 and 'another train.py is running in' in second.stderr, second.stderr
    assert (out / 'checkpoints' / 'state.json').exists()  # the second removed nothing


def test_resume_refuses_changed_data(tmp_path, kobert_home, call):
    data = tmp_path / 'data.csv'
    pd.read_csv(SAMPLE).to_csv(data, index=False)
    args = ('--data_path', data, '--test_size', 0.34, '--epochs', 2, '--output_dir', tmp_path / 'run') + tuple(TINY)
    assert call('train', *args).returncode == 0
    state = json.load(open(str(tmp_path / 'run' / 'checkpoints' / 'state.json')))
    state.update(epoch=1, finished=False)  # as if killed after epoch 1
    json.dump(state, open(str(tmp_path / 'run' / 'checkpoints' / 'state.json'), 'w'))
    pd.read_csv(SAMPLE).assign(title=lambda d: d['title'] + ' 속보').to_csv(data, index=False)
    r = call('train', *args)
    assert r.returncode == 2 and 'was trained on other data' in r.stderr


def test_bad_input_leaves_no_run_directory(tmp_path, kobert_home, call):
    out = tmp_path / 'run'
    r = call('train', '--data_path', tmp_path / 'missing.csv', '--output_dir', out, *TINY)
    assert r.returncode == 2 and 'no such CSV file' in r.stderr and 'Traceback' not in r.stderr
    bad = tmp_path / 'bad.csv'
    pd.read_csv(SAMPLE).assign(category=['sport'] * 23 + ['weather']).to_csv(bad, index=False)
    r = call('train', '--data_path', bad, '--output_dir', out, *TINY)
    assert r.returncode == 2 and "record 24 of %s: unknown topic 'weather'" % bad in r.stderr
    r = call('train', '--data_path', SAMPLE, '--output_dir', out, '--model', 'tiny', '--pretrained', 'kobert')
    assert r.returncode == 2 and 'fits only --model kobert' in r.stderr and '--pretrained none' in r.stderr
    for flags, message in ((('--epochs', 0), '--epochs must be at least 1'),
                           (('--max_len', 1), '--max_len must be at least 3'),
                           (('--max_len', 1000), '--max_len must be at most 512'),
                           (('--dropout', 1), '--dropout must be below 1.0'),
                           (('--lr', 'nan'), '--lr must be a finite number'),
                           (('--lr=-1e-3',), '--lr must be above 0.0'),
                           (('--epsilon', 0), '--epsilon must be above 0.0'),
                           (('--clusters', 0), '--clusters must be at least 2'),
                           (('--token_dropout', 2), '--token_dropout must be below 1.0'),
                           (('--warmup_ratio', 5), '--warmup_ratio must be below 1.0'),
                           (('--max_grad_norm=-1',), '--max_grad_norm must be above 0.0'),
                           (('--patience=-1',), '--patience must be at least 0')):
        r = call('train', '--data_path', SAMPLE, '--output_dir', out, *flags)
        assert r.returncode == 2 and r.stderr.startswith('error: %s, not ' % message), r.stderr
        assert len(r.stderr.splitlines()) == 1
    assert not out.exists()


def test_overwrite_clears_only_a_run_and_only_its_files(tmp_path, kobert_home, call):
    """--overwrite never deletes what is not a run's (the audit emptied a folder with notes.txt)."""
    mine = tmp_path / 'mine'
    (mine / 'sub').mkdir(parents=True)
    (mine / 'notes.txt').write_text('keep me')
    (mine / 'sub' / 'data.csv').write_text('a,b\n1,2\n')
    r = call('train', '--data_path', SAMPLE, '--output_dir', mine, '--overwrite', '--epochs', 1, *TINY)
    assert r.returncode == 2 and 'holds files but no training run' in r.stderr and '--overwrite' not in r.stderr
    assert (mine / 'notes.txt').read_text() == 'keep me' and (mine / 'sub' / 'data.csv').exists()
    assert sorted(os.listdir(str(mine))) == ['notes.txt', 'sub']

    run = tmp_path / 'run'
    args = ('--data_path', SAMPLE, '--test_size', 0.34, '--epochs', 1, '--output_dir', run) + tuple(TINY)
    assert call('train', *args).returncode == 0
    (run / 'my_notes.txt').write_text('mine')
    r = call('train', *args[:-2], '--num_buckets', 3)
    assert r.returncode == 2 and 'already holds a run with other settings' in r.stderr
    r = call('train', *args, '--overwrite')
    assert r.returncode == 0, r.stderr
    assert (run / 'my_notes.txt').read_text() == 'mine'


def test_dropout_zero_keeps_the_originals_keys(tmp_path, kobert_home, call):
    out = tmp_path / 'run'
    r = call('train', '--data_path', SAMPLE, '--test_size', 0.34, '--epochs', 1, '--dropout', 0, '--output_dir', out,
             *TINY)
    assert r.returncode == 0, r.stderr
    keys = set(mx.nd.load(str(out / 'model.params')))
    assert {'classifier.1.weight', 'classifier.1.bias'} <= keys and not any(k.startswith('classifier.0') for k in keys)


def _tiny_cfg(tmp_path, **kw):
    values = dict(data_path=SAMPLE, test_size=0.34, model='tiny', epochs=2, accumulate=2, batch_size=4,
                  num_buckets=1, lr=1e-3, warmup_ratio=0.0, output_dir=str(tmp_path / 'run'), dropout=0.0)
    values.update(kw)
    return TrainOptions(**values)


def test_each_update_uses_the_rate_of_its_step(tmp_path, kobert_home):
    """Update k runs at lr_at(k - 1), through the real epoch loop: the first at the start of the
    schedule, none at 0; a single update without warmup runs at the full rate and learns."""
    from kobert_gluon.recipe import lr_at
    from kobert_gluon.trainer import fit
    from preprocess import load_data
    cfg = _tiny_cfg(tmp_path, warmup_ratio=0.25)
    seen = []
    train, evaluation = load_data(cfg)
    fit(cfg, train, evaluation, on_update=lambda step, lr: seen.append((step, lr)))
    steps = 2 * -(-(-(-len(train) // 4)) // 2)  # 2 epochs x ceil(batches / 2)
    total, warmup = steps, int(steps * 0.25)
    assert [s for s, _ in seen] == list(range(1, steps + 1))
    assert [lr for _, lr in seen] == [lr_at(k - 1, total, warmup, 1e-3) for k in range(1, steps + 1)]
    assert all(lr > 0 for _, lr in seen[1:])

    one = _tiny_cfg(tmp_path, epochs=1, accumulate=100, output_dir=str(tmp_path / 'one'))
    rates = []
    fit(one, train, evaluation, on_update=lambda step, lr: rates.append(lr))
    assert rates == [1e-3]


def _params_and_batches(tokenizer, dropout=0.0):
    from kobert_gluon import model
    from kobert_base.architectures import ARCHITECTURES
    mx.random.seed(5)
    net = model.build_classifier(ARCHITECTURES['tiny'], 8, dropout=dropout)
    texts = ['손흥민 시즌 10호골', '한국은행 기준금리 동결', '국회 본회의 통과', '삼성전자 반도체 양산']
    ids = mx.nd.array([list(tokenizer.encode(t, 8)) + [1] * (8 - len(tokenizer.encode(t, 8))) for t in texts])
    valid = mx.nd.array([len(tokenizer.encode(t, 8)) for t in texts])
    labels = mx.nd.array([3, 1, 5, 4])
    return net, ids, valid, labels


def test_accumulated_window_gradient_equals_the_whole_window_and_is_clipped(tokenizer):
    from mxnet import autograd, gluon
    from kobert_gluon.recipe import apply_update, make_trainer
    net, ids, valid, labels = _params_and_batches(tokenizer)
    cfg = _tiny_cfg(ROOT_PATH, lr=1e-3)
    trainer, params = make_trainer(net, cfg)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    for part in (slice(0, 2), slice(2, 4)):  # two batches of 2, accumulated
        with autograd.record(train_mode=False):  # no dropout: both ways see the same function
            loss = loss_fn(net(ids[part], mx.nd.zeros_like(ids[part]), valid[part]), labels[part]).mean()
        loss.backward()
    accumulated = {p.name: p.grad().asnumpy() / 2 for p in params}
    for p in params:
        p.zero_grad()
    with autograd.record(train_mode=False):  # the whole window at once
        loss = loss_fn(net(ids, mx.nd.zeros_like(ids), valid), labels).mean()
    loss.backward()
    for p in params:
        np.testing.assert_allclose(accumulated[p.name], p.grad().asnumpy(), rtol=1e-4, atol=1e-6)
        p.grad()[:] *= 2  # back to the sum of two batch means, as accumulation leaves it

    norm = float(np.sqrt(sum((p.grad().asnumpy().astype(np.float64) ** 2).sum() for p in params)))
    before = {p.name: p.data().asnumpy().copy() for p in params}
    grads = {p.name: p.grad().asnumpy().copy() for p in params}
    trainer.allreduce_grads()
    from gluonnlp.utils import clip_grad_global_norm
    clip_grad_global_norm(params, norm / 10)  # clipping acts on the accumulated gradient
    clipped = float(np.sqrt(sum((p.grad().asnumpy().astype(np.float64) ** 2).sum() for p in params)))
    assert abs(clipped - norm / 10) < 1e-3 * norm
    for p in params:
        p.grad()[:] = mx.nd.array(grads[p.name])
    assert abs(apply_update(trainer, params, 2, norm / 10) - norm) < 1e-3 * norm
    assert any(not np.array_equal(before[p.name], p.data().asnumpy()) for p in params)
    assert all(not p.grad().asnumpy().any() for p in params)  # zeroed for the next window


def test_weight_decay_skips_layernorm_and_biases(tokenizer):
    from kobert_gluon.recipe import apply_update, make_trainer
    from mxnet import autograd
    net, ids, valid, _ = _params_and_batches(tokenizer)
    trainer, params = make_trainer(net, _tiny_cfg(ROOT_PATH, weight_decay=0.1, lr=1e-2))
    with autograd.record():
        zero = net(ids, mx.nd.zeros_like(ids), valid).sum() * 0
    zero.backward()
    by_name = {p.name: p for p in params}
    decayed = [n for n, p in by_name.items() if p.wd_mult]
    assert decayed and all(not n.endswith(('gamma', 'beta', 'bias')) for n in decayed)
    assert {n for n in by_name if n.endswith(('gamma', 'beta', 'bias'))} == set(by_name) - set(decayed)
    before = {n: p.data().asnumpy().copy() for n, p in by_name.items()}
    trainer.set_learning_rate(1e-2)
    apply_update(trainer, params, 1, 1.0)  # zero gradients: only weight decay moves a parameter
    for n, p in by_name.items():
        moved = not np.array_equal(before[n], p.data().asnumpy())
        assert moved == (n in decayed), n


def test_experiment_files(tmp_path):
    from kobert_news.cli.common import parse
    from kobert_base.options import OverwriteArgs as TrainControl
    folder = os.path.join(ROOT, 'configs')
    names = sorted(f[:-5] for f in os.listdir(folder) if f.endswith('.json'))
    assert ['exp%d' % i for i in range(1, 8)] == [n for n in names if n in ['exp%d' % i for i in range(1, 8)]]
    seen_modes = set()
    for name in names:
        cfg, _ = parse('', [TrainOptions, TrainControl], ['--config', os.path.join(folder, name + '.json'),
                                                          '--data_path', SAMPLE], file_flag='config')
        assert cfg.model == 'kobert' and cfg.pretrained == 'kobert'
        seen_modes.add(cfg.mode)
    assert {1, 2, 3} <= seen_modes
    exp2, _ = parse('', [TrainOptions, TrainControl], ['--config', os.path.join(folder, 'exp2.json'), '--epochs', '3',
                                                      '--data_path', SAMPLE], file_flag='config')
    assert exp2.patience == 0 and exp2.epochs == 3 and exp2.mode == 1  # flags override the file
    with pytest.raises(UserError, match='cannot read options file'):
        parse('', [TrainOptions], ['--config', str(tmp_path / 'nope.json')], file_flag='config')


def test_experiment_runs_end_to_end_on_a_tiny_model(tmp_path, kobert_home, call):
    out = tmp_path / 'exp7'
    r = call('train', '--config', os.path.join(ROOT, 'configs', 'exp7.json'), '--data_path', SAMPLE,
             '--test_size', 0.34, '--epochs', 1, '--pretrained', 'none', '--output_dir', out, *TINY)
    assert r.returncode == 0, r.stderr
    assert json.load(open(str(out / 'train_config.json')))['mode'] == 3
    assert json.load(open(str(out / 'model.json')))['mode'] == 3


def test_lr_schedule():
    from kobert_gluon.recipe import lr_at
    lrs = [lr_at(s, 100, 10, 1.0) for s in range(0, 101)]
    assert lrs[0] == 0 and lrs[10] == 1.0 and lrs[5] == 0.5 and lrs[100] == 0.0
    assert abs(lrs[55] - 0.5) < 1e-9


def test_split_is_stratified_and_fixed():
    from preprocess import load_data
    cfg = DataOptions(data_path=SAMPLE, test_size=0.34, mode=3)
    tr, ev = load_data(cfg)
    _, ev2 = load_data(cfg)
    assert ev.records.tolist() == ev2.records.tolist()
    assert len(ev) == 9 and sorted(set(ev.labels)) == list(range(8))
    assert not set(tr.records) & set(ev.records)
    with pytest.raises(UserError, match='cannot split'):
        load_data(DataOptions(data_path=SAMPLE, test_size=0.1, mode=2))


def test_one_topic_and_unseen_topics_are_said(tmp_path, kobert_home, call):
    one = tmp_path / 'one.csv'
    pd.read_csv(SAMPLE).assign(category='sport').to_csv(one, index=False)
    r = call('train', '--data_path', one, '--eval_path', SAMPLE, '--epochs', 1, '--output_dir', tmp_path / 'r', *TINY)
    assert r.returncode == 0, r.stderr
    assert 'has one topic only (sport)' in r.stderr
    assert 'the evaluation data has topic(s) absent from the training data: international' in r.stderr
    # The weight's description records the topics it never saw; main.py says so, once.
    meta = json.load(open(str(tmp_path / 'r' / 'model.json'), encoding='utf-8'))
    assert meta['untrained_topics'] == [t for t in TOPICS if t != 'sport']
    r = call('predict', '--gluon_weight_path', tmp_path / 'r' / 'model.params', '--data_path', SAMPLE)
    said = [line for line in r.stderr.splitlines() if 'cannot predict' in line]
    assert r.returncode == 0 and len(said) == 1 and 'never trained on international (세계), economy' in said[0]


def test_korean_topic_names_and_a_line_column(tmp_path, kobert_home, call):
    from kobert_base.topics import TOPICS_KO
    data = tmp_path / 'ko.csv'
    src = pd.read_csv(SAMPLE)
    src.assign(category=[TOPICS_KO[t] for t in src['category']], line=range(len(src))).to_csv(data, index=False)
    r = call('train', '--data_path', data, '--test_size', 0.34, '--epochs', 1, '--output_dir', tmp_path / 'r', *TINY)
    assert r.returncode == 0, r.stderr
    pred = pd.read_csv(str(tmp_path / 'r' / 'predictions.csv'), encoding='utf-8-sig')
    assert set(pred['category']) == set(TOPICS)


def test_cross_validation_trains_on_all_rows_for_the_best_epoch(tmp_path, kobert_home, call):
    data = tmp_path / 'data.csv'
    pd.concat([pd.read_csv(SAMPLE)] * 2).to_csv(data, index=False)
    out = tmp_path / 'cv'
    r = call('train', '--data_path', data, '--folds', 2, '--epochs', 2, '--output_dir', out, '--lr', '5e-4', *TINY)
    assert r.returncode == 0, r.stderr
    cv = json.load(open(str(out / 'cv.json')))
    assert cv['folds'] == 2 and cv['rows'] == 48 and len(cv['per_epoch']) == 2
    best = max(cv['per_epoch'], key=lambda e: e['accuracy_mean'])
    assert cv['best_epoch'] == best['epoch'] and cv['accuracy_mean'] == best['accuracy_mean']
    oof = pd.read_csv(str(out / 'oof_predictions.csv'), encoding='utf-8-sig')
    assert sorted(oof['record']) == list(range(1, 49)) and set(oof['fold']) == {1, 2}
    final = json.load(open(str(out / 'final' / 'train_config.json')))
    assert final['test_size'] == 0 and final['stop_epoch'] == cv['best_epoch']
    assert len(metrics(out / 'final')) == cv['best_epoch']
    r = call('baseline', '--data_path', data, '--folds', 2)
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)['eval_accuracy']) == 2


def test_mask_tokens_keeps_cls_and_sep():
    from kobert_gluon.recipe import mask_tokens
    ids = np.arange(10, 210, dtype=np.int32)
    ids[0], ids[-1] = 2, 3
    np.random.seed(0)
    out = mask_tokens(ids, 0.2, 4)
    assert out[0] == 2 and out[-1] == 3 and out.dtype == ids.dtype
    assert 20 < int((out == 4).sum()) < 60 and ((out == 4) | (out == ids)).all()
    assert mask_tokens(ids, 0.0, 4) is ids


def test_lsa_embeddings_put_cooccurring_tokens_together(tokenizer):
    from kobert_gluon.embed_init import lsa_embeddings
    texts = ['축구 대표팀 감독 선임', '축구 대표팀 월드컵 예선', '대표팀 감독 축구 훈련',
             '코스피 주가 상승 마감', '주가 하락 코스피 외국인', '코스피 주가 반도체'] * 5
    samples = [tokenizer.encode(t, 32) for t in texts]
    vectors, seen = lsa_embeddings(samples, len(tokenizer.vocab), 16)
    assert vectors.shape == (8002, 16) and abs(vectors[seen].std() - 0.02) < 1e-6
    assert not seen[tokenizer.vocab['[CLS]']] and not vectors[~seen].any()

    def sim(a, b):
        u, v = vectors[tokenizer.vocab[a]], vectors[tokenizer.vocab[b]]
        return float(u @ v / np.linalg.norm(u) / np.linalg.norm(v))
    assert sim('▁축구', '▁감독') > sim('▁축구', '▁주가') + 0.5
    assert sim('▁코스피', '▁주가') > sim('▁코스피', '▁감독') + 0.5
