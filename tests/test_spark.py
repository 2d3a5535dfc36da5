"""spark_predict.py on a real Spark in local mode: the same topics as main.py for every row, the
encodings and multi-line bodies main.py reads, one pipeline per Python worker, and an output that
is complete, each row once, after a job killed midway is run again. One JVM for the in-process
tests (a module-scoped session), one for the killed job."""
import glob
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from kobert_news.options import PredictConfig
from tests.conftest import KOBERT_HOME, ROOT, YNAT

pytestmark = pytest.mark.skipif(not os.path.isfile(YNAT), reason='../shared/data/ynat is absent')
BODY = '첫 줄, "인용"이 있는 본문\n둘째 줄'  # commas, doubled quotes and a line break inside one field


def headlines(n):
    """n real headlines with an id, a body spanning two lines on every fifth row, and rows without text."""
    df = pd.read_csv(YNAT)[['title', 'category']]
    df = df.iloc[np.arange(n) % len(df)].reset_index(drop=True)
    df.insert(0, 'id', ['a%05d' % i for i in range(n)])
    df['cleanBody'] = [BODY if i % 5 == 0 else '' for i in range(n)]
    df.loc[[3, 17], 'title'] = ''
    return df


def read_parts(folder, fmt='csv'):
    parts = sorted(glob.glob(os.path.join(str(folder), 'part-*')))
    if fmt == 'parquet':
        return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    return pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False, encoding='utf-8-sig') for p in parts],
                     ignore_index=True)


def snapshot(folder):
    """Every file under folder (relative name -> bytes)."""
    return {os.path.relpath(os.path.join(d, n), str(folder)): open(os.path.join(d, n), 'rb').read()
            for d, _, names in os.walk(str(folder)) for n in names}


def assert_main_pys_format(folder, main_csv):
    """Each part file is in main.py's CSV format: its .csv name, UTF-8 with a BOM, then main.py's
    header line, and probabilities with 6 decimals."""
    header = open(str(main_csv), 'rb').read().split(b'\n', 1)[0] + b'\n'
    parts = sorted(glob.glob(os.path.join(str(folder), 'part-*')))
    assert parts and all(p.endswith('.csv') for p in parts), parts
    for part in parts:
        assert open(part, 'rb').read(len(header)) == header, part
    probabilities = read_parts(folder)['probability']
    assert probabilities[probabilities != ''].str.fullmatch(r'0\.\d{6}|1\.000000').all()


def assert_same_as_main(got, expected):
    """Every row once, the input's columns untouched, main.py's topics, its probabilities to 1e-5."""
    assert len(got) == len(expected) and got['id'].is_unique and set(got['id']) == set(expected['id'])
    got = got.set_index('id').loc[expected['id']].reset_index()
    for column in ('title', 'category', 'cleanBody'):
        assert got[column].fillna('').tolist() == expected[column].fillna('').tolist()
    assert got['predicted'].fillna('').tolist() == expected['predicted'].fillna('').tolist()
    has = expected['predicted'].fillna('') != ''
    assert (~has).sum() == 2 and got['probability'][~has].replace('', np.nan).isna().all()
    np.testing.assert_allclose(got['probability'][has].astype(float), expected['probability'][has].astype(float),
                               atol=1e-5)


@pytest.fixture(scope='module')
def spark():
    from kobert_news.config import UserError
    from kobert_news.spark import engine
    try:
        engine.check_java()
    except UserError as e:
        pytest.skip(str(e))
    os.environ.setdefault('KOBERT_HOME', KOBERT_HOME or '')
    session = engine.session('local[2]')
    yield session
    session.stop()


@pytest.fixture(scope='module')
def inputs(tmp_path_factory, kobert_home):
    """600 rows as UTF-8 with BOM and as CP949, and main.py's output for them."""
    from kobert_news.cli.predict import predict_csv
    folder = tmp_path_factory.mktemp('spark')
    df = headlines(600)
    bom, cp949, expected = folder / 'bom.csv', folder / 'cp949.csv', folder / 'main.csv'
    df.to_csv(bom, index=False, encoding='utf-8-sig')
    df.to_csv(cp949, index=False, encoding='cp949')
    predict_csv(PredictConfig(data_path=str(bom), save_path=str(expected), kobert_dir=kobert_home))
    return bom, cp949, pd.read_csv(str(expected), encoding='utf-8-sig', dtype=str, keep_default_na=False)


def test_spark_gives_main_pys_topics_once_per_row(spark, inputs, tmp_path, kobert_home):
    from kobert_news.spark import classify
    bom, cp949, expected = inputs
    out = tmp_path / 'csv'
    counts = classify(PredictConfig(kobert_dir=kobert_home), str(bom), str(out), partitions=4, batch_rows=64,
                      spark=spark)
    assert (out / '_SUCCESS').exists() and counts['parts'] == 4
    assert counts['rows'] == 600 and counts['unclassified'] == 2
    # one pipeline per Python worker (local[2]: two at most), kept across batches and tasks
    assert 1 <= counts['loads'] <= 2 and counts['batches'] >= 12
    assert_same_as_main(read_parts(out), expected)
    assert_main_pys_format(out, bom.parent / 'main.csv')

    out = tmp_path / 'parquet'
    counts = classify(PredictConfig(kobert_dir=kobert_home), str(cp949), str(out), fmt='parquet', spark=spark)
    got = read_parts(out, 'parquet')
    assert got['probability'].dtype == np.float64 and got['predicted'].isna().sum() == 2
    assert_same_as_main(got, expected)
    assert counts['loads'] == 0  # the workers kept their pipelines from the first job


def test_bad_input_and_outputs_fail_cleanly(spark, inputs, tmp_path, call):
    bom = str(inputs[0])

    def fails(*args):
        r = call('spark_predict', *args)
        assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr
        errors = [l for l in r.stderr.splitlines() if l.startswith('error: ')]
        assert len(errors) == 1, r.stderr
        return errors[0]

    assert 'no CSV file at --input' in fails('--input', tmp_path / 'none' / '*.csv', '--output', tmp_path / 'o')
    assert "choose from 'csv', 'parquet'" in fails('--input', bom, '--output', tmp_path / 'o', '--format', 'html')
    headlines(20).drop(columns=['title']).to_csv(tmp_path / 'notitle.csv', index=False)
    assert 'mode 2 reads column(s) title' in fails('--input', tmp_path / 'notitle.csv', '--output', tmp_path / 'o')
    calib = fails('--input', bom, '--output', tmp_path / 'o', '--precision', 'int8', '--calib_path',
                  tmp_path / 'notitle.csv')
    assert '--calib_path' in calib and 'notitle.csv' in calib
    assert 'which the project needs' in fails('--input', bom, '--output', os.path.join(ROOT, 'weights', 'x'))
    mine = tmp_path / 'mine'
    mine.mkdir()
    (mine / 'notes.txt').write_text('keep me')
    assert 'not a Spark output (notes.txt)' in fails('--input', bom, '--output', mine, '--overwrite')
    assert (mine / 'notes.txt').read_text() == 'keep me'
    done = tmp_path / 'done'
    done.mkdir()
    (done / '_SUCCESS').write_text('')
    (done / 'part-00000-x.csv').write_text('id\n')
    assert 'holds a finished output: pass --overwrite' in fails('--input', bom, '--output', done)
    assert 'is inside --output' in fails('--input', done / 'part-00000-x.csv', '--output', done, '--overwrite')
    for url in ('file://%s' % done, 'file://%s/' % done):  # the same folder as a URL
        assert 'is inside --output' in fails('--input', done / 'part-00000-x.csv', '--output', url, '--overwrite')
    assert 'which the project needs' in fails('--input', bom, '--output', 'file://' + os.path.join(ROOT, 'weights'))
    assert (done / 'part-00000-x.csv').read_text() == 'id\n'
    assert not (tmp_path / 'o').exists()


def test_without_java_one_error_line(tmp_path):
    env = dict(os.environ, PATH=os.path.dirname(sys.executable), JAVA_HOME='')
    r = subprocess.run([sys.executable, os.path.join(ROOT, 'spark_predict.py'), '--input', YNAT, '--output',
                        tmp_path / 'o'], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        'error: Spark needs Java 8, 11 or 17, and none was found (no java on PATH, and JAVA_HOME is not set): '
        'install one, e.g. apt-get install openjdk-17-jre-headless']


def start_and_kill(cmd, env, out):
    """Start the job in its own process group; kill the whole group (driver, JVM, Python workers) once
    a task has committed its part file into the job's temporary folder beside out."""
    staging = out.parent / ('.%s.incomplete' % out.name)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None and not glob.glob(str(staging / '_temporary/0/task_*')):
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL and glob.glob(str(staging / '_temporary/0/task_*')), \
        'the job ended before a task had committed'


def test_a_killed_job_run_again_gives_each_row_once(tmp_path, kobert_home):
    """A job killed once a task has committed publishes nothing; the same command run again writes
    every row once. Then an --overwrite job killed midway leaves the finished output as it was, and
    run again replaces it, each new row once, with nothing of the job's own left beside it."""
    data, out = tmp_path / 'in.csv', tmp_path / 'out'
    headlines(600).to_csv(data, index=False)
    cmd = [sys.executable, os.path.join(ROOT, 'spark_predict.py'), '--input', str(data), '--output', str(out),
           '--master', 'local[2]', '--partitions', '6', '--batch_rows', '25']
    env = dict(os.environ, KOBERT_HOME=kobert_home)
    start_and_kill(cmd, env, out)
    assert not out.exists()

    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert 'an interrupted job' in r.stderr
    got = read_parts(out)
    assert len(got) == 600 and got['id'].is_unique and (out / '_SUCCESS').exists()
    assert sorted(os.listdir(str(tmp_path))) == ['in.csv', 'out']

    old = snapshot(out)
    again = headlines(400)
    again['id'] = 'b' + again['id']
    again.to_csv(data, index=False)
    start_and_kill(cmd + ['--overwrite'], env, out)
    assert snapshot(out) == old  # the finished output, untouched

    r = subprocess.run(cmd + ['--overwrite'], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    got = read_parts(out)
    assert len(got) == 400 and got['id'].is_unique and set(got['id']) == set(again['id'])
    assert sorted(os.listdir(str(tmp_path))) == ['in.csv', 'out'] and (out / '_SUCCESS').exists()
