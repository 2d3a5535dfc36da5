"""Every command the README and docs/ show, run as a reader runs it: from a folder holding their CSVs
(the sample articles, KLUE-YNAT headlines) and a run's weight (runs/x/model.params), with this checkout's
environments beside it. Servers start one at a time on a free loopback port (the pages' 8000 and
8080 become that port), and the pages' curl lines are sent to each.

A page names the reader's own files with placeholders (W: a weight, D or export/: an export folder);
here they are the folder's. The pages train at real size (KoBERT's body, 20 epochs): here each
training line runs as shown with a tiny configuration added after it. A few lines are not run here:
those another test runs (RUN_ELSEWHERE, or the README's test for a line both show), and those NOT_RUN
gives a reason for (another machine, a GPU, a real-size benchmark); every other line is run, and a
NOT_RUN pattern that matches no line fails the test, so that the list stays what the pages show."""
import csv
import json
import os
import re
import shlex
import shutil
import subprocess
import time
import urllib.request

import pytest

from tests.conftest import KOBERT_HOME, ROOT, YNAT
from tests.deploy.spark_cluster import free_port
from tests.test_docs import README, pages, read, shell_lines

TIMEOUT = 900  # seconds for one command: a busy machine, the export's torch, int8 calibration
RUN_ELSEWHERE = {
    'make test': 'this suite is what it runs',
    'make serve': 'tests/deploy/test_make_serve.py runs it',
    'make deploy-env': 'make test builds .venv-deploy before this suite runs in it',
    'make hf-env': "the suite's legacy_side fixture runs it (unless $KOBERT_HF_VENV names another environment)",
}
# The pages' placeholders for the reader's own files, and the reader folder's files in their place.
PLACEHOLDERS = ((r'--gluon_weight_path W(?=\s|$)', '--gluon_weight_path runs/x/model.params'),
                (r'--model_dir (D|export/)(?=\s|$)', '--model_dir out/onnx'))
TINY_TRAINING = '--model small --pretrained none --epochs 1 --max_len 32 --overwrite'
CLUSTER = ("a cluster's machines and HDFS; tests/deploy/test_spark.py runs the same job on a standalone cluster "
           'on loopback')
MAKE_ENV = "make env's recipe: make test builds .venv with these steps (test_the_environment_lines_are_the_makefiles)"
WHEEL = ('tests/test_wheel.py builds the wheel and installs it into a fresh venv; make check-pythons installs it '
         'with [serve] on each Python 3.10-3.13')
NOT_RUN = (  # (a pattern of whole lines, from their start; why they are not run here)
    (r'^(\.venv/bin/)?python bench/', 'a benchmark: real-size runs are benchmarks, never tests (bench/README.md '
     'has their output; tests/test_docs.py checks their flags)'),
    (r'^\.venv/bin/python train\.py .*--gpus ', 'needs GPUs; --cpu_contexts takes the same path on CPU '
     'contexts (tests/test_distributed.py)'),
    (r'^(export )?DMLC_', "another machine's addresses; kobert-news launch starts the same roles on one "
     'machine (its line is run)'),
    (r'^python3\.12 -m venv env && ', CLUSTER),
    (r'^export PYSPARK_', CLUSTER),
    (r'^spark-submit --master spark://<host>:', CLUSTER),
    (r'^spark-submit --master spark://127\.0\.0\.1:<port> ', 'a template of what tests/deploy/test_spark.py '
     'runs on its loopback cluster'),
    (r'^conda env create ', MAKE_ENV),
    (r'^python3\.7 -m venv \.venv ', MAKE_ENV),
    (r'^pip install --no-deps --ignore-requires-python ', MAKE_ENV),
    (r'^make wheel$', WHEEL),
    (r'^pip install "?dist/', WHEEL),
    (r'^make record ', "writes this checkout's committed experiments/: the kobert-news record line runs the "
     'same command into runs/record'),
)

def reader_folder(folder):
    """A reader's folder: news.csv (the sample articles), a run's weight, and this checkout's
    environments, main.py and train.py."""
    if shutil.which('curl') is None:
        pytest.skip('curl is not installed')
    for name in ('.venv', '.venv-deploy', 'main.py', 'train.py', 'configs'):
        os.symlink(os.path.join(ROOT, name), str(folder / name))
    shutil.copy(os.path.join(ROOT, 'data', 'sample.csv'), str(folder / 'news.csv'))
    (folder / 'runs' / 'x').mkdir(parents=True)
    for ext, name in (('.pth', 'model.params'), ('.json', 'model.json')):
        shutil.copy(os.path.join(ROOT, 'weights', 'kobert-news-small-ynat' + ext), str(folder / 'runs' / 'x' / name))
    return folder


@pytest.fixture(scope='module')
def reader(legacy_side, tmp_path_factory):
    return reader_folder(tmp_path_factory.mktemp('reader'))


def environment(folder, line=''):
    """KoBERT's vocabulary, and in a reader's folder a cache of its own and a bare kobert-news: the deploy
    path's when the line reads an export folder or runs Spark, else the reproduction's."""
    env = dict(os.environ, KOBERT_HOME=KOBERT_HOME or '')
    if str(folder) != ROOT:
        deploy = '--model_dir' in line or re.search(r'kobert-news spark\b', line)
        bin_dir = os.path.join(str(folder), '.venv-deploy' if deploy else '.venv', 'bin')
        env.update(XDG_CACHE_HOME=os.path.join(str(folder), 'cache'), PATH=bin_dir + os.pathsep + env['PATH'])
    return env


def run(line, cwd):
    r = subprocess.run(line, shell=True, cwd=str(cwd), env=environment(cwd, line), capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert r.returncode == 0, '%s\n%s' % (line, (r.stdout + r.stderr)[-3000:])
    return r.stdout


def healthy(port, proc):
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        assert proc.poll() is None, 'the server exited with %s' % proc.returncode
        try:
            with urllib.request.urlopen('http://127.0.0.1:%d/health' % port, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError('no /health 200 on port %d within %d s' % (port, TIMEOUT))


def check_answer(line, out, folder):
    """What each curl line shows: a prediction per article (top_k of them when asked), or main.py's CSV."""
    if '/predict/csv' in line:
        text = (folder / 'predicted.csv').read_text(encoding='utf-8-sig')
        sent = re.search(r'file=@(\S+)', line).group(1)
        with open(str(folder / sent), encoding='utf-8-sig') as f:
            articles = len(list(csv.reader(f))) - 1
        header, rows = text.splitlines()[0], text.splitlines()[1:]
        assert header.endswith('predicted,probability') and len(rows) == articles, text[:300]
    else:
        answer = json.loads(out)
        assert len(answer['predictions']) == line.count('"title"'), answer
        assert all(p['topic'] for p in answer['predictions'])
        k = re.search(r'"top_k": (\d+)', line)
        assert all(len(p.get('top_k') or [None]) == (int(k.group(1)) if k else 1) for p in answer['predictions'])


def serve_and_ask(servers, curls, folder):
    """Start each server line on a free port and send it every curl line."""
    for server in servers:
        port = free_port()
        words = shlex.split(server)
        if '--port' in words:
            words[words.index('--port') + 1] = str(port)
        else:
            words += ['--port', str(port)]
        proc = subprocess.Popen(words, cwd=str(folder), env=environment(folder), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            healthy(port, proc)
            for curl in curls:
                line = re.sub(r'localhost:(8000|8080)\b', 'localhost:%d' % port, curl)
                check_answer(line, run(line, folder), folder)
        finally:
            proc.terminate()
            assert proc.wait(timeout=60) == 0, server


def is_server(line):
    return re.search(r'kobert-news serve\b', line) is not None


def test_every_command_of_the_readme_runs(reader):
    lines = list(shell_lines(read(README)))
    servers = [l for l in lines if is_server(l)]
    curls = [l for l in lines if l.startswith('curl ')]
    ran = []
    for line in lines:
        if line in servers or line in curls or line in RUN_ELSEWHERE:
            continue
        out = run(line, ROOT if line.startswith('make ') else reader)
        if 'main.py' in line and '--save_path' not in line:
            assert len([l for l in out.splitlines() if l.startswith('Predicted news topic:')]) == 24, out
        ran.append(line)
    assert (reader / 'predicted.csv').is_file() and (reader / 'out' / 'onnx' / 'model_int8.onnx').is_file()
    assert servers and curls
    serve_and_ask(servers, curls, reader)
    elsewhere = [l for l in lines if l in RUN_ELSEWHERE]
    assert sorted(set(ran + servers + curls + elsewhere)) == sorted(set(lines))  # nothing shown was left out


# --- docs/ ------------------------------------------------------------------------------------------------

# The pages in the order a reader who tries them all goes: a run before it is evaluated, an export before
# it is served.
DOCS_ORDER = ('training', 'evaluation', 'export', 'deploy', 'explanations', 'reliability', 'python-api', 'serving',
              'precision', 'scaling', 'environment')


def not_run(line):
    """The NOT_RUN pattern the line matches, or None."""
    return next((pattern for pattern, _ in NOT_RUN if re.search(pattern, line)), None)

def as_run_here(line):
    """The line with the reader's files in place of the page's placeholders, and a tiny configuration
    after a training line."""
    for pattern, file in PLACEHOLDERS:
        line = re.sub(pattern, file, line)
    if re.search(r'\btrain\.py\b', line):
        line += ' ' + TINY_TRAINING
    return line


@pytest.fixture(scope='module')
def docs_reader(legacy_side, tmp_path_factory):
    """The reader's folder for docs/: news.csv holds the sample articles and 60 KLUE-YNAT headlines (five or
    more of most topics, for --folds 5), train.csv and test.csv the sample articles split in two,
    headlines.csv 100 other headlines and new.csv the sample articles; runs/default is a tiny run on
    headlines where make default-weight writes its run."""
    if not os.path.isfile(YNAT):
        pytest.skip('../shared/data/ynat is absent')
    folder = reader_folder(tmp_path_factory.mktemp('docs'))
    with open(os.path.join(ROOT, 'data', 'sample.csv'), encoding='utf-8-sig') as f:
        header, *articles = list(csv.reader(f))
    with open(YNAT, encoding='utf-8-sig') as f:
        headlines = [(r['title'], r['category']) for r in csv.DictReader(f)]
    tables = {'news.csv': [header] + articles + [[t, '', c] for t, c in headlines[:60]],
              'train.csv': [header] + articles[0::2], 'test.csv': [header] + articles[1::2],
              'headlines.csv': [['title', 'category']] + [list(h) for h in headlines[60:160]],
              'new.csv': [header] + articles}
    for name, rows in tables.items():
        with open(str(folder / name), 'w', encoding='utf-8', newline='') as f:
            csv.writer(f).writerows(rows)
    (folder / 'archive').mkdir()
    shutil.copy(str(folder / 'new.csv'), str(folder / 'archive' / '2024-01.csv'))
    run(as_run_here('.venv/bin/python train.py --data_path headlines.csv --mode 2 --output_dir runs/default'), folder)
    return folder


def test_the_docs_are_in_the_readers_order():
    named = {os.path.splitext(os.path.basename(p))[0] for p in pages()[1:] if list(shell_lines(read(p)))}
    assert named == set(DOCS_ORDER)


def test_every_command_of_the_docs_runs(reader, docs_reader):
    """Each line of docs/ runs here, or the README's test runs it, or another test, or NOT_RUN says why not."""
    readme = set(shell_lines(read(README)))
    lines = [l for name in DOCS_ORDER for l in shell_lines(read(os.path.join(ROOT, 'docs', name + '.md')))]
    not_run_patterns = {not_run(l) for l in lines} - {None}
    to_run = [l for l in lines if l not in readme and l not in RUN_ELSEWHERE and not not_run(l)]
    for line in to_run:
        if not is_server(line) and not line.startswith('curl '):
            run(as_run_here(line), docs_reader)
    for kind, path in (('a run', 'runs/exp1/model.params'), ('a run', 'runs/exp2/model.params'),
                       ('the record', 'runs/record'), ('an export', 'out/hf/model.safetensors'),
                       ('an explanation', 'why.html'), ('Spark', 'topics'), ('Spark', 'topics-2024')):
        assert (docs_reader / path).exists(), '%s: no %s' % (kind, path)
    servers = [l for l in lines if is_server(l)]
    curls = [l for l in lines if l.startswith('curl ')]
    assert curls and servers, 'the docs show a curl line and a server to send it to'
    # Each server line of docs/ alone, and the first one (which the README shows too) for the curl lines.
    serve_and_ask([as_run_here(l) for l in servers if l in to_run] or servers[:1], curls, docs_reader)
    stale = [pattern for pattern, _ in NOT_RUN if pattern not in not_run_patterns]
    assert not stale, 'NOT_RUN patterns that match no line of the docs: %s' % stale

def test_the_environment_lines_are_the_makefiles():
    """environment.md's install lines are not run: make env runs the same steps. Each package or file they
    install is one make env installs."""
    with open(os.path.join(ROOT, 'Makefile'), encoding='utf-8') as f:
        makefile = f.read()
    recipe = re.search(r'^\$\(STAMP\):.*?\n\n', makefile, re.M | re.S).group(0)
    shown = list(shell_lines(read(os.path.join(ROOT, 'docs', 'environment.md'))))
    installed = re.findall(r'(?:-r |-e )(\S+)|([\w-]+==[\d.]+)', ' '.join(shown))
    assert installed
    for req, pin in installed:
        thing = req or pin
        assert re.search(r'(-r |-e )%s(?=\s)' % re.escape(thing), recipe) or (pin and ':= ' + pin in makefile), \
            '%s: not what make env installs' % thing
