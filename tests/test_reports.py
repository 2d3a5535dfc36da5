"""kobert-news evaluate and kobert-news record on tiny runs made here."""
import json
import logging
import os
import shutil

import pandas as pd
import pytest

from kobert_base.topics import TOPICS
from kobert_base.options import TrainOptions
from tests.conftest import ROOT

SAMPLE = os.path.join(ROOT, 'data', 'sample.csv')
PNG = b'\x89PNG\r\n\x1a\n'


@pytest.fixture(scope='module')
def runs(tmp_path_factory, kobert_home):
    """Two finished tiny runs on the sample articles; one named after the original's EXP6."""
    from kobert_gluon.trainer import train
    os.environ.setdefault('KOBERT_HOME', kobert_home)
    base = tmp_path_factory.mktemp('runs')
    out = {}
    for name, mode in (('exp6', 2), ('title_body', 3)):
        cfg = TrainOptions(data_path=SAMPLE, test_size=0.34, model='tiny', mode=mode, epochs=2, lr=5e-4,
                          accumulate=1, num_buckets=2, kobert_dir=kobert_home, output_dir=str(base / name))
        train(cfg)
        out[name] = str(base / name)
    return out


def test_evaluate_run_dir(runs, tmp_path, call):
    out = tmp_path / 'eval'
    r = call('evaluate', '--run_dir', runs['exp6'], '--output_dir', out)
    assert r.returncode == 0, r.stderr
    pred = pd.read_csv(os.path.join(runs['exp6'], 'predictions.csv'), encoding='utf-8-sig')
    n, correct = len(pred), int((pred['category'] == pred['predicted']).sum())
    scores = json.load(open(str(out / 'metrics.json')))
    assert scores['n'] == n and abs(scores['accuracy'] - correct / n) < 1e-12
    cm = pd.read_csv(str(out / 'confusion_matrix.csv'), index_col=0, encoding='utf-8-sig')
    assert cm.values.sum() == n and sum(cm.at[t, t] for t in cm.index) == correct
    assert list(cm.index) == [t for t in TOPICS if t in cm.index]  # the original's topic order
    wrong = pd.read_csv(str(out / 'misclassified.csv'), encoding='utf-8-sig')
    assert len(wrong) == n - correct and (wrong['top1'] != wrong['true_topic']).all()
    assert (wrong['top1_probability'] >= wrong['top2_probability']).all()
    rep = pd.read_csv(str(out / 'classification_report.csv'), index_col=0, encoding='utf-8-sig')
    assert rep.loc['macro avg', 'support'] == n and set(pred['category']) <= set(rep.index)
    assert '| macro avg' in (out / 'classification_report.md').read_text(encoding='utf-8')
    assert (out / 'confusion_matrix.png').read_bytes()[:8] == PNG


def test_evaluate_weight_on_a_subset_of_topics(runs, tmp_path, call):
    data = tmp_path / 'three.csv'
    # Korean topic names, and columns named as the report's own (line, record) are the user's business.
    src = pd.read_csv(SAMPLE).query("category in ['sport', 'it', 'culture']")
    src.assign(category=src['category'].map({'sport': '스포츠', 'it': 'IT과학', 'culture': '생활문화'}),
               line='x', record='y').to_csv(data, index=False)
    out = tmp_path / 'eval'
    r = call('evaluate', '--gluon_weight_path', os.path.join(runs['title_body'], 'model.params'),
             '--data_path', data, '--output_dir', out)
    assert r.returncode == 0, r.stderr
    rep = pd.read_csv(str(out / 'classification_report.csv'), index_col=0, encoding='utf-8-sig')
    wrong = pd.read_csv(str(out / 'misclassified.csv'), encoding='utf-8-sig')
    # Rows: the topics in the data or in the predictions (correct ones are data topics), no others.
    assert set(rep.index) - {'macro avg', 'weighted avg'} == set(wrong['top1']) | {'sport', 'it', 'culture'}
    assert json.load(open(str(out / 'metrics.json')))['n'] == 9
    assert set(wrong['record_']) <= set(range(1, 10)) and set(wrong['line']) == {'x'}


def test_evaluate_bad_input(tmp_path, runs, call):
    r = call('evaluate', '--run_dir', tmp_path / 'nothing' / 'run')
    assert r.returncode == 2 and r.stderr.startswith('error: ') and 'Traceback' not in r.stderr
    assert 'no model.json' in r.stderr and 'train.py' in r.stderr
    assert not (tmp_path / 'nothing').exists()  # a failed evaluation leaves no folder behind
    r = call('evaluate', '--gluon_weight_path', os.path.join(runs['exp6'], 'model.params'), '--data_path', SAMPLE)
    assert r.returncode == 2 and 'needs --data_path (labelled CSV) and --output_dir' in r.stderr
    nolabel = tmp_path / 'nolabel.csv'
    pd.read_csv(SAMPLE).drop(columns=['category']).to_csv(nolabel, index=False)
    r = call('evaluate', '--gluon_weight_path', os.path.join(runs['exp6'], 'model.params'),
             '--data_path', nolabel, '--output_dir', tmp_path / 'e')
    assert r.returncode == 2 and "has no 'category' column with the true topics" in r.stderr
    assert '--label_column' in r.stderr and not (tmp_path / 'e').exists()
    # A run's own folder is not an output folder: its metrics.json is the record's.
    before = open(os.path.join(runs['exp6'], 'metrics.json')).read()
    r = call('evaluate', '--run_dir', runs['exp6'], '--output_dir', runs['exp6'])
    assert r.returncode == 2 and 'is a file of the training run' in r.stderr
    assert open(os.path.join(runs['exp6'], 'metrics.json')).read() == before


def test_record(runs, tmp_path, call):
    out = tmp_path / 'record'
    r = call('record', '--runs', runs['exp6'], runs['title_body'], '--output_dir', out, '--tsne_samples', 9)
    assert r.returncode == 0, r.stderr
    exp = (out / 'exp.md').read_text(encoding='utf-8')
    assert '| exp6 | mode=2, batch_size=32, model=tiny (from scratch)' in exp
    # Named exp6, but not the original's EXP6 setup: its 0.8269 is not put beside it.
    assert '0.8269' not in exp and 'not comparable: ' in exp and 'model=tiny' in exp.split('not comparable: ')[1]
    assert '| title_body | mode=3,' in exp
    for name in ('exp6', 'title_body'):
        best = json.load(open(os.path.join(runs[name], 'best.json')))
        assert '%.4f | at epoch %d' % (best['eval_accuracy'], best['best_epoch']) in exp
    metric = (out / 'exp_metric.md').read_text(encoding='utf-8')
    header = [c.strip() for c in metric.splitlines()[4].split('|')[1:-1]]
    assert header[1:3] == ['exp', 'metric'] and header[-3:] == ['accuracy', 'macro avg', 'weighted avg']
    assert header[3:-3] == sorted(header[3:-3])  # topics alphabetical, as the original's table
    assert sum(1 for l in metric.splitlines() if '| exp6 ' in l) == 4
    figures = sorted(os.listdir(str(out / 'figures')))
    assert figures == ['category_distribution.png', 'confusion_exp6.png', 'confusion_title_body.png',
                       'curve_exp6.png', 'curve_title_body.png', 'metrics_by_experiment.png', 'tsne_exp6.png']
    for f in figures:
        data = (out / 'figures' / f).read_bytes()
        assert data[:8] == PNG and len(data) > 10000


def test_record_refuses_an_unfinished_run(tmp_path, runs, call):
    half = tmp_path / 'half'
    shutil.copytree(runs['exp6'], str(half))
    os.remove(str(half / 'best.json'))
    r = call('record', '--runs', half, '--output_dir', tmp_path / 'out')
    assert r.returncode == 2 and 'not a finished run directory' in r.stderr


def test_hangul_font_and_english_fallback(caplog):
    from matplotlib import ft2font
    from kobert_news.reports import figures
    family = figures.hangul_font()
    assert family, 'koreanize-matplotlib (a pinned requirement) ships NanumGothic'
    assert figures.topic_label('economy', True) == '경제 (economy)'
    with caplog.at_level(logging.WARNING, logger='kobert_news.figures'):
        assert figures.hangul_font([os.path.join(os.path.dirname(ft2font.__file__), 'mpl-data', 'fonts',
                                                 'ttf', 'DejaVuSans.ttf')]) is None
    assert 'English topic names' in caplog.text
    assert figures.topic_label('economy', False) == 'economy'


def test_seed_table_averages_runs_that_differ_only_in_seed(runs, tmp_path):
    from kobert_news.reports.experiments import RunRecord, seed_table
    other = tmp_path / 'exp6_seed7'
    shutil.copytree(runs['exp6'], str(other))
    cfg = json.load(open(str(other / 'train_config.json')))
    cfg['seed'] = 7
    json.dump(cfg, open(str(other / 'train_config.json'), 'w'))
    best = json.load(open(str(other / 'best.json')))
    best.update(eval_accuracy=0.5, best_epoch=2)
    json.dump(best, open(str(other / 'best.json'), 'w'))
    a, b = RunRecord(runs['exp6']), RunRecord(str(other))
    table = seed_table([a, b, RunRecord(runs['title_body'])])
    mean = (a.best['eval_accuracy'] + 0.5) / 2
    assert '| 42, 7 | %.4f (%.4f, 0.5000) |' % (mean, a.best['eval_accuracy']) in table
    assert seed_table([a, RunRecord(runs['title_body'])]) == ''


TRAINED_ON = 'the data this weight was trained on'


def test_evaluating_a_weight_on_its_own_training_data_is_said(tmp_path, kobert_home, call):
    """A weight's description records its training data (rows and checksum): kobert-news evaluate on that
    same data says, in one warning, that its scores do not measure accuracy on new articles."""
    from kobert_gluon.model import read_meta
    from kobert_gluon.trainer import train
    os.environ.setdefault('KOBERT_HOME', kobert_home)
    run = tmp_path / 'run'
    train(TrainOptions(data_path=SAMPLE, test_size=0, model='tiny', mode=2, epochs=1, accumulate=1, num_buckets=2,
                      kobert_dir=kobert_home, output_dir=str(run)))
    weight = str(run / 'model.params')
    assert read_meta(weight)['training_data']['rows'] == len(pd.read_csv(SAMPLE))
    r = call('evaluate', '--gluon_weight_path', weight, '--data_path', SAMPLE, '--output_dir', tmp_path / 'same')
    assert r.returncode == 0, r.stderr
    said = [l for l in r.stderr.splitlines() if TRAINED_ON in l]
    assert len(said) == 1 and said[0].startswith('warning: ') and '24 rows' in said[0], r.stderr
    other = tmp_path / 'other.csv'
    pd.read_csv(SAMPLE).head(20).to_csv(other, index=False)
    r = call('evaluate', '--gluon_weight_path', weight, '--data_path', other, '--output_dir', tmp_path / 'other')
    assert r.returncode == 0 and TRAINED_ON not in r.stderr, r.stderr


def test_the_default_weight_on_the_ynat_headlines_is_said_to_be_its_training_data(tmp_path, kobert_home, call):
    from tests.conftest import YNAT
    if not os.path.isfile(YNAT):
        pytest.skip('the KLUE-YNAT headlines are not at %s' % YNAT)
    from kobert_base.paths import DEFAULT_WEIGHT
    weight = os.path.join(ROOT, 'weights', DEFAULT_WEIGHT)
    r = call('evaluate', '--gluon_weight_path', weight, '--data_path', YNAT, '--output_dir', tmp_path / 'ynat')
    assert r.returncode == 0, r.stderr
    said = [l for l in r.stderr.splitlines() if TRAINED_ON in l]
    assert len(said) == 1 and '6108 rows' in said[0] and 'weights/README.md' in said[0], r.stderr
    r = call('evaluate', '--gluon_weight_path', weight, '--data_path', SAMPLE, '--output_dir', tmp_path / 'sample')
    assert r.returncode == 0 and TRAINED_ON not in r.stderr, r.stderr
