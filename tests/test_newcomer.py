"""What a newcomer meets following the README: errors that name the flag and the fix, quiet logs,
progress on every wait, defaults that keep the committed record as it is."""
import glob
import logging
import os
import subprocess

import pandas as pd

from tests.conftest import ROOT

SAMPLE = os.path.join(ROOT, 'data', 'sample.csv')
TINY = ['--model', 'tiny', '--num_buckets', '2']


def test_errors_name_the_file_or_flag_and_the_fix(tmp_path, tiny_weight, call, kobert_home):
    titles = tmp_path / 'titles.csv'
    pd.read_csv(SAMPLE)[['title', 'category']].to_csv(titles, index=False)
    r = call('train', '--data_path', titles, '--mode', 3, '--output_dir', tmp_path / 'r', *TINY)
    assert r.returncode == 2 and 'pass --mode 2' in r.stderr and str(titles) in r.stderr
    r = call('train', '--data_path', titles, '--mode', 5, '--output_dir', tmp_path / 'r', *TINY)
    assert r.returncode == 2 and 'pass --base_mode 2' in r.stderr
    r = call('baseline', '--data_path', titles, '--mode', 3)
    assert r.returncode == 2 and 'pass --mode 2' in r.stderr
    r = call('cluster_report', '--data_path', titles)
    assert r.returncode == 2 and 'pass --mode 2' in r.stderr
    r = call('train', '--config', os.path.join(ROOT, 'configs', 'exp6.json'), '--model', 'tiny',
             '--data_path', SAMPLE, '--output_dir', tmp_path / 'r')
    assert r.returncode == 2 and '--pretrained none' in r.stderr
    bad_calib = tmp_path / 'calib.csv'
    bad_calib.write_text('headline\n제목\n', encoding='utf-8')
    r = call('predict', '--gluon_weight_path', tiny_weight, '--data_path', SAMPLE, '--precision', 'int8',
             '--calib_path', bad_calib)
    assert r.returncode == 2 and '--calib_path %s' % bad_calib in r.stderr
    assert not (tmp_path / 'r').exists()


def test_logs_hold_no_known_noise(tmp_path, call, kobert_home):
    r = call('train', '--data_path', SAMPLE, '--test_size', 0.34, '--epochs', 2, '--output_dir', tmp_path / 'r',
             '--num_buckets', 8, '--model', 'tiny')  # more buckets than lengths: GluonNLP warns of empty ones
    assert r.returncode == 0, r.stderr
    assert 'Some buckets are empty' not in r.stderr and 'Warning' not in r.stderr
    r = call('record', '--runs', tmp_path / 'r', '--output_dir', tmp_path / 'rec', '--tsne_samples', 9)
    assert r.returncode == 0, r.stderr
    assert 'FutureWarning' not in r.stderr and 't-SNE of 9 embeddings' in r.stderr


def test_record_writes_to_the_users_folder_by_default(tmp_path, call, kobert_home, monkeypatch):
    run = tmp_path / 'r'
    assert call('train', '--data_path', SAMPLE, '--test_size', 0.34, '--epochs', 1, '--output_dir', run,
                *TINY).returncode == 0
    committed = {n: os.path.getmtime(os.path.join(ROOT, 'experiments', n)) for n in ('exp.md', 'exp_metric.md')}
    monkeypatch.chdir(str(tmp_path))
    r = call('record', '--runs', run, '--no_tsne')
    assert r.returncode == 0, r.stderr
    assert (tmp_path / 'runs' / 'record' / 'exp.md').exists()
    assert committed == {n: os.path.getmtime(os.path.join(ROOT, 'experiments', n)) for n in committed}


def test_progress_logs_a_line_when_stderr_is_not_a_terminal(caplog):
    from kobert_base.progress import Progress
    with caplog.at_level(logging.INFO, logger='kobert_news'):
        for _ in Progress(range(3), desc='classify', unit='rows', log_every=0.0):
            pass
    assert 'classify: 3 of 3 rows' in caplog.text


def test_make_default_weight_says_where_the_headlines_go(tmp_path):
    r = subprocess.run(['make', '-s', 'default-weight', 'YNAT=%s' % (tmp_path / 'none.csv')], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode != 0 and 'make default-weight YNAT=path/to/ynat_headlines.csv' in r.stdout + r.stderr


def test_each_readme_flag_table_lists_a_flag_once():
    """A flag listed twice in one table (main.py's had --chunk_rows twice) reads as two flags: in the
    README and in every page of docs/."""
    tables = []
    for page in [os.path.join(ROOT, 'README.md')] + sorted(glob.glob(os.path.join(ROOT, 'docs', '*.md'))):
        with open(page, encoding='utf-8') as f:
            tables += [(page, b) for b in f.read().split('\n\n') if b.lstrip().startswith('| flag |')]
    assert len(tables) >= 4
    for page, table in tables:
        flags = [flag.strip() for row in table.splitlines()[2:] for flag in row.split('|')[1].replace('`', '').split(',')]
        assert len(flags) == len(set(flags)), (os.path.relpath(page, ROOT), sorted(f for f in flags if flags.count(f) > 1))
