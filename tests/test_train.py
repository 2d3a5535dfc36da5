"""Training: the recipe learns, runs are seeded and resumable, bad input leaves nothing behind."""
import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from config import TOPICS, TrainConfig, UserError
from tests.conftest import KOBERT_HOME, ROOT, YNAT, needs_ynat, run_main

SAMPLE = os.path.join(ROOT, 'data', 'sample.csv')
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
def test_loss_falls_and_accuracy_beats_chance(tmp_path, ynat_subset, kobert_home):
    out = tmp_path / 'run'
    r = run_train('--data_path', ynat_subset, '--output_dir', out, '--epochs', 8, '--lr', '3e-4',
                  '--accumulate', 1, '--batch_size', 16, '--max_len', 32, '--patience', 0, *TINY)
    assert r.returncode == 0, r.stderr
    m = metrics(out)
    assert len(m) == 8
    assert m[-1]['loss'] < 0.7 * m[0]['loss']
    best = json.load(open(str(out / 'best.json')))
    assert best['eval_accuracy'] > 0.6  # three topics: chance is 1/3
    assert best['eval_accuracy'] == max(e['eval_accuracy'] for e in m)
    assert '[Epoch 1 Batch 5/' in (out / 'log.txt').read_text(encoding='utf-8')
    # The run directory is what main.py needs: the best weight with its description.
    pred = pd.read_csv(str(out / 'predictions.csv'), encoding='utf-8-sig')
    assert len(pred) == 180 and set(pred['category']) == {'sport', 'it', 'politics'}
    assert abs((pred['category'] == pred['predicted']).mean() - best['eval_accuracy']) < 1e-9
    meta = json.load(open(str(out / 'model.json'), encoding='utf-8'))
    assert meta['topics'] == list(TOPICS) and meta['mode'] == 2 and meta['max_len'] == 32
    assert meta['best_epoch'] == best['best_epoch']
    r = run_main('--gluon_weight_path', out / 'model.params', '--data_path', SAMPLE)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 24


def test_same_seed_same_metrics(tmp_path, kobert_home):
    args = ('--data_path', SAMPLE, '--test_size', 0.34, '--epochs', 2, '--accumulate', 2, '--lr', '5e-4') + tuple(TINY)
    runs = [run_train(*args, '--output_dir', tmp_path / n, '--seed', s) for n, s in (('a', 1), ('b', 1), ('c', 2))]
    for r in runs:
        assert r.returncode == 0, r.stderr
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


def test_bad_input_leaves_no_run_directory(tmp_path, kobert_home):
    out = tmp_path / 'run'
    r = run_train('--data_path', tmp_path / 'missing.csv', '--output_dir', out, *TINY)
    assert r.returncode == 2 and 'no such CSV file' in r.stderr and 'Traceback' not in r.stderr
    bad = tmp_path / 'bad.csv'
    pd.read_csv(SAMPLE).assign(category=['sport'] * 23 + ['weather']).to_csv(bad, index=False)
    r = run_train('--data_path', bad, '--output_dir', out, *TINY)
    assert r.returncode == 2 and "line 25: unknown category 'weather'" in r.stderr
    r = run_train('--data_path', SAMPLE, '--output_dir', out, '--model', 'tiny', '--pretrained', 'kobert')
    assert r.returncode == 2 and 'fits only --model kobert' in r.stderr
    assert not out.exists()
    r = run_train('--data_path', SAMPLE, '--output_dir', out, '--epochs', 0)
    assert r.returncode == 2 and 'epochs must be at least 1' in r.stderr


def test_used_output_dir_with_other_settings_is_refused(tmp_path, kobert_home):
    out = tmp_path / 'run'
    args = ('--data_path', SAMPLE, '--epochs', 1, '--output_dir', out) + tuple(TINY)
    assert run_train(*args).returncode == 0
    r = run_train(*args[:-2], '--num_buckets', 3)
    assert r.returncode == 2 and 'already holds another run' in r.stderr
    r = run_train(*args, '--overwrite')
    assert r.returncode == 0, r.stderr


def test_experiment_files(tmp_path):
    import train
    names = sorted(f[:-5] for f in os.listdir(os.path.join(ROOT, 'experiments')) if f.endswith('.json'))
    assert ['exp%d' % i for i in range(1, 8)] == [n for n in names if n in ['exp%d' % i for i in range(1, 8)]]
    seen_modes = set()
    for name in names:
        cfg, _ = train.parse_args(['--config', os.path.join(ROOT, 'experiments', name + '.json')])
        assert cfg.model == 'kobert' and cfg.pretrained == 'kobert'
        seen_modes.add(cfg.mode)
    assert {1, 2, 3} <= seen_modes
    exp2, _ = train.parse_args(['--config', os.path.join(ROOT, 'experiments', 'exp2'), '--epochs', '3'])
    assert exp2.patience == 0 and exp2.epochs == 3 and exp2.mode == 1  # flags override the file
    with pytest.raises(SystemExit):
        train.parse_args(['--config', str(tmp_path / 'nope.json')])


def test_experiment_runs_end_to_end_on_a_tiny_model(tmp_path, kobert_home):
    out = tmp_path / 'exp7'
    r = run_train('--config', os.path.join(ROOT, 'experiments', 'exp7.json'), '--data_path', SAMPLE,
                  '--test_size', 0.34, '--epochs', 1, '--pretrained', 'none', '--output_dir', out, *TINY)
    assert r.returncode == 0, r.stderr
    assert json.load(open(str(out / 'train_config.json')))['mode'] == 3
    assert json.load(open(str(out / 'model.json')))['mode'] == 3


def test_lr_schedule():
    from kobert_gluon.trainer import lr_at
    lrs = [lr_at(s, 100, 10, 1.0) for s in range(0, 101)]
    assert lrs[0] == 0 and lrs[10] == 1.0 and lrs[5] == 0.5 and lrs[100] == 0.0
    assert abs(lrs[55] - 0.5) < 1e-9


def test_split_is_stratified_and_fixed():
    from preprocess import load_data
    cfg = TrainConfig(data_path=SAMPLE, test_size=0.34, mode=3)
    tr, tr_y, ev, ev_y = load_data(cfg)
    tr2, _, ev2, _ = load_data(cfg)
    assert ev['line'].tolist() == ev2['line'].tolist()
    assert len(ev) == 9 and sorted(set(ev_y)) == list(range(8))
    assert not set(tr['line']) & set(ev['line'])
    with pytest.raises(UserError, match='cannot split'):
        load_data(TrainConfig(data_path=SAMPLE, test_size=0.1))


def test_mask_tokens_keeps_cls_and_sep():
    import numpy as np
    from kobert_gluon.trainer import mask_tokens
    ids = np.arange(10, 210, dtype=np.int32)
    ids[0], ids[-1] = 2, 3
    np.random.seed(0)
    out = mask_tokens(ids, 0.2, 4)
    assert out[0] == 2 and out[-1] == 3 and out.dtype == ids.dtype
    assert 20 < int((out == 4).sum()) < 60 and ((out == 4) | (out == ids)).all()
    assert mask_tokens(ids, 0.0, 4) is ids


def test_lsa_embeddings_put_cooccurring_tokens_together(tokenizer):
    import numpy as np
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
