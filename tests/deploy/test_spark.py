"""The Spark job on the deploy path (ONNX Runtime on an export folder), on a real Spark: in local
mode, the batch command's topics for every row, in its CSV format, the encodings and multi-line
bodies it reads, one ONNX Runtime session per Python worker, clean errors, and an output that is
complete, each row once, after a killed job is run again (with --overwrite: the old output kept
until then); through spark-submit on a standalone cluster of 2 workers on loopback, the export
folder shipped with the job or read from a shared path. One JVM for the in-process tests (a
module-scoped session), one per command run in its own process."""
import glob
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from kobert_base.options import PredictOptions
from tests.conftest import ROOT, YNAT

pytestmark = pytest.mark.skipif(not os.path.isfile(YNAT), reason='../shared/data/ynat is absent')
BODY = '첫 줄, "인용"이 있는 본문\n둘째 줄'  # commas, doubled quotes and a line break inside one field
SCRIPT = os.path.join(ROOT, 'kobert_news', 'cli', 'spark_predict.py')  # the file spark-submit runs
COMMAND = [sys.executable, '-m', 'kobert_news', 'spark']
TIMEOUT = 600  # seconds for one job in its own process: a busy machine


def headlines(n, prefix='a'):
    """n real headlines with an id, a body spanning two lines on every fifth row, and rows without text."""
    df = pd.read_csv(YNAT)[['title', 'category']]
    df = df.iloc[np.arange(n) % len(df)].reset_index(drop=True)
    df.insert(0, 'id', ['%s%05d' % (prefix, i) for i in range(n)])
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


def assert_same_as_batch(got, expected, atol=1e-5, same_topics=1.0):
    """Every row once, the input's columns untouched, the batch command's topics and probabilities
    (int8: at least a share same_topics of its topics, its probabilities to atol, see the caller)."""
    assert len(got) == len(expected) and got['id'].is_unique and set(got['id']) == set(expected['id'])
    got = got.set_index('id').loc[expected['id']].reset_index()
    for column in ('title', 'category', 'cleanBody'):
        assert got[column].fillna('').tolist() == expected[column].fillna('').tolist()
    has = expected['predicted'].fillna('') != ''
    assert (got['predicted'].fillna('') != '').tolist() == has.tolist()
    assert (got['predicted'][has] == expected['predicted'][has]).mean() >= same_topics
    assert (~has).sum() == 2 and (got['probability'][~has].fillna('') == '').all()
    np.testing.assert_allclose(got['probability'][has].astype(float), expected['probability'][has].astype(float),
                               atol=atol)


def assert_batch_format(folder, batch_csv):
    """Each part file is in the batch command's (main.py's) CSV format: a .csv name, UTF-8 with a BOM,
    the same header line, probabilities with 6 decimals."""
    header = open(str(batch_csv), 'rb').read().split(b'\n', 1)[0] + b'\n'
    parts = sorted(glob.glob(os.path.join(str(folder), 'part-*')))
    assert parts and all(p.endswith('.csv') for p in parts), parts
    for part in parts:
        assert open(part, 'rb').read(len(header)) == header, part
    probabilities = read_parts(folder)['probability']
    assert probabilities[probabilities != ''].str.fullmatch(r'0\.\d{6}|1\.000000').all()


@pytest.fixture(scope='module')
def spark():
    from kobert_base.errors import UserError
    from kobert_news.spark import engine
    try:
        engine.check_java()
    except UserError as e:
        pytest.skip(str(e))
    session = engine.session('local[2]')
    yield session
    session.stop()


@pytest.fixture(scope='module')
def inputs(tmp_path_factory, default_export):
    """600 rows as UTF-8 with BOM and as CP949, and the batch command's output for them."""
    from kobert_news.cli.predict import predict_csv
    folder = tmp_path_factory.mktemp('spark')
    df = headlines(600)
    bom, cp949, expected = folder / 'bom.csv', folder / 'cp949.csv', folder / 'batch.csv'
    df.to_csv(bom, index=False, encoding='utf-8-sig')
    df.to_csv(cp949, index=False, encoding='cp949')
    predict_csv(PredictOptions(model_dir=default_export, data_path=str(bom), save_path=str(expected)))
    return bom, cp949, pd.read_csv(str(expected), encoding='utf-8-sig', dtype=str, keep_default_na=False)


def test_spark_gives_the_batch_commands_topics_once_per_row(spark, inputs, default_export, tmp_path):
    from kobert_news.spark.job import classify
    bom, cp949, expected = inputs
    out = tmp_path / 'csv'
    counts = classify(PredictOptions(model_dir=default_export), str(bom), str(out), partitions=4, batch_rows=64,
                      spark=spark)
    assert (out / '_SUCCESS').exists() and counts['parts'] == 4
    assert counts['rows'] == 600 and counts['unclassified'] == 2
    # one ONNX Runtime session per Python worker (local[2]: two at most), kept across batches and tasks
    assert 1 <= counts['loads'] <= 2 and counts['batches'] >= 12
    assert_same_as_batch(read_parts(out), expected)
    assert_batch_format(out, bom.parent / 'batch.csv')

    link = tmp_path / 'link'  # --overwrite through a link to the finished output: the link stays
    link.symlink_to(out)
    counts = classify(PredictOptions(model_dir=default_export), str(cp949), str(link), fmt='parquet', overwrite=True,
                      spark=spark)
    assert link.is_symlink() and sorted(os.listdir(str(tmp_path))) == ['csv', 'link']
    got = read_parts(out, 'parquet')
    assert got['probability'].dtype == np.float64 and got['predicted'].isna().sum() == 2
    assert_same_as_batch(got, expected)
    assert counts['loads'] == 0  # the workers kept their sessions from the first job

    # int8: the folder's model_int8.onnx, as the batch command runs it. Its activations are quantized
    # with each forward pass's own scale, so a text's numbers move a little with the texts batched
    # beside it, and Spark's partitions batch them otherwise than the batch command's file blocks.
    from kobert_news.cli.predict import predict_csv
    batch = tmp_path / 'batch_int8.csv'
    predict_csv(PredictOptions(model_dir=default_export, precision='int8', data_path=str(bom), save_path=str(batch)))
    out = tmp_path / 'int8'
    counts = classify(PredictOptions(model_dir=default_export, precision='int8'), str(bom), str(out), spark=spark)
    assert counts['loads'] >= 1
    assert_same_as_batch(read_parts(out), pd.read_csv(str(batch), encoding='utf-8-sig', dtype=str,
                                                      keep_default_na=False), atol=0.05, same_topics=0.98)


def test_bad_input_and_outputs_fail_cleanly(spark, inputs, default_export, tmp_path, call):
    bom = str(inputs[0])

    def fails(*args, model=('--model_dir', default_export)):
        r = call('spark_predict', *(model + args))
        assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr
        errors = [l for l in r.stderr.splitlines() if l.startswith('error: ')]
        assert len(errors) == 1, r.stderr
        return errors[0]

    assert 'give --model_dir' in fails('--input', bom, '--output', tmp_path / 'o', model=())
    assert 'no export folder at' in fails('--input', bom, '--output', tmp_path / 'o',
                                          model=('--model_dir', tmp_path / 'nothing'))
    assert 'leave out --calib_path' in fails('--input', bom, '--output', tmp_path / 'o', '--calib_path', bom)
    assert "choose from 'fp32', 'int8'" in fails('--input', bom, '--output', tmp_path / 'o', '--precision', 'bf16')
    assert 'no CSV file at --input' in fails('--input', tmp_path / 'none' / '*.csv', '--output', tmp_path / 'o')
    assert "choose from 'csv', 'parquet'" in fails('--input', bom, '--output', tmp_path / 'o', '--format', 'html')
    headlines(20).drop(columns=['title']).to_csv(tmp_path / 'notitle.csv', index=False)
    assert 'mode 2 reads column(s) title' in fails('--input', tmp_path / 'notitle.csv', '--output', tmp_path / 'o')
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
    # a job stopped between moving the finished output aside and moving the new one in: put back first
    aside = tmp_path / '.moved.replaced'
    aside.mkdir()
    (aside / '_SUCCESS').write_text('')
    (aside / 'part-00000-x.csv').write_text('id\n')
    assert 'holds a finished output: pass --overwrite' in fails('--input', bom, '--output', tmp_path / 'moved')
    assert (tmp_path / 'moved' / 'part-00000-x.csv').read_text() == 'id\n' and not aside.exists()


def test_without_java_one_error_line(tmp_path, default_export):
    env = dict(os.environ, PATH=os.path.dirname(sys.executable), JAVA_HOME='')
    r = subprocess.run(COMMAND + ['--model_dir', default_export, '--input', YNAT, '--output',
                        tmp_path / 'o'], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        'error: Spark needs Java 17 or 21, and none was found (no java on PATH, and JAVA_HOME is not set): '
        'install one, e.g. apt-get install openjdk-17-jre-headless']


def test_without_pyspark_one_error_line(tmp_path, default_export):
    """A Python without pyspark (the Gluon stack's 3.7 has none) is told where the job runs."""
    code = ('import sys; sys.modules["pyspark"] = None  # an install without pyspark\n'
            'from kobert_news.cli.spark_predict import entry; sys.exit(entry())')
    r = subprocess.run([sys.executable, '-c', code, '--model_dir', default_export, '--input', YNAT, '--output',
                        tmp_path / 'o'], capture_output=True, text=True, timeout=120)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith('error: the Spark job needs pyspark'), r.stderr
    assert 'make deploy-env' in lines[0] and not (tmp_path / 'o').exists()


def start_and_kill(cmd, out):
    """Start the job in its own process group; kill the whole group (driver, JVM, Python workers) once
    a task has committed its part file into the job's temporary folder beside out."""
    staging = out.parent / ('.%s.incomplete' % out.name)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.time() + TIMEOUT
        while time.time() < deadline and proc.poll() is None and not glob.glob(str(staging / '_temporary/0/task_*')):
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL and glob.glob(str(staging / '_temporary/0/task_*')), \
        'the job ended before a task had committed'


def test_a_killed_job_run_again_gives_each_row_once(tmp_path, default_export):
    """A job killed once a task has committed publishes nothing; the same command run again writes
    every row once. Then an --overwrite job killed midway leaves the finished output as it was, and
    run again replaces it, each new row once, with nothing of the job's own left beside it."""
    data, out = tmp_path / 'in.csv', tmp_path / 'out'
    headlines(600).to_csv(data, index=False)
    cmd = COMMAND + ['--model_dir', default_export, '--input', str(data), '--output', str(out),
           '--master', 'local[2]', '--partitions', '6', '--batch_rows', '10']
    start_and_kill(cmd, out)
    assert not out.exists()

    r = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert 'an interrupted job' in r.stderr
    got = read_parts(out)
    assert len(got) == 600 and got['id'].is_unique and (out / '_SUCCESS').exists()
    assert sorted(os.listdir(str(tmp_path))) == ['in.csv', 'out']

    old = snapshot(out)
    headlines(400, 'b').to_csv(data, index=False)
    start_and_kill(cmd + ['--overwrite'], out)
    assert snapshot(out) == old  # the finished output, untouched

    r = subprocess.run(cmd + ['--overwrite'], capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    got = read_parts(out)
    assert len(got) == 400 and got['id'].is_unique and set(got['id']) == set(headlines(400, 'b')['id'])
    assert sorted(os.listdir(str(tmp_path))) == ['in.csv', 'out'] and (out / '_SUCCESS').exists()


@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    """A standalone cluster on loopback: a master and 2 workers of 1 core each."""
    from kobert_base.errors import UserError
    from kobert_news.spark import engine
    from tests.deploy.spark_cluster import Cluster
    try:
        engine.check_java()
    except UserError as e:
        pytest.skip(str(e))
    found = Cluster(tmp_path_factory.mktemp('cluster'))
    try:
        yield found.start()
    finally:
        found.stop()


@pytest.mark.parametrize('shared', [False, True], ids=['shipped', 'shared_path'])
def test_spark_submit_on_a_standalone_cluster(cluster, inputs, default_export, tmp_path, shared):
    """The README's spark-submit line on 2 workers: every row once, the batch command's topics. The
    export folder travels with the job (unpacked in each executor's folder) or, with --shared_model,
    is read where it is."""
    bom, _, expected = inputs
    out = tmp_path / 'out'
    spark_submit = os.path.join(os.path.dirname(sys.executable), 'spark-submit')
    cmd = [spark_submit, '--master', cluster.url, '--conf', 'spark.executor.memory=512m', SCRIPT,
           '--model_dir', default_export, '--input', str(bom), '--output', str(out), '--partitions', '4']
    r = subprocess.run(cmd + (['--shared_model'] if shared else []), env=cluster.env, cwd=str(tmp_path),
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr[-5000:]
    assert_same_as_batch(read_parts(out), expected)
    apps = sorted(glob.glob(os.path.join(cluster.folder, 'work', 'app-*')))
    executors = glob.glob(os.path.join(apps[-1], '*', ''))
    assert len(executors) == 2  # one executor on each worker
    unpacked = [glob.glob(os.path.join(e, 'kobert-news-model-*', 'model.onnx')) for e in executors]
    assert [bool(u) for u in unpacked] == [not shared] * 2, unpacked
