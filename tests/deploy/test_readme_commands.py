"""Every command of the README's shell blocks, run as a reader runs it: from a folder holding their
news.csv (the sample articles) and a run's weight (runs/x/model.params), with this checkout's
environments beside it. Servers start one at a time on a free loopback port (the README's 8000 and
8080 become that port), and the README's curl lines are sent to each. make test is what CI runs
(this suite), and make serve has its own test (test_make_serve.py)."""
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

from tests.conftest import KOBERT_HOME, NO_KOBERT, ROOT
from tests.test_docs import README, read, shell_lines

TIMEOUT = 900  # seconds for one command: a busy machine, the export's torch, int8 calibration
RUN_ELSEWHERE = {'make test': 'this suite is what it runs', 'make serve': 'tests/deploy/test_make_serve.py runs it'}


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def reader(legacy_side, tmp_path_factory):
    """The reader's folder: their CSV, a run's weight, and this checkout's environments and main.py."""
    if shutil.which('curl') is None:
        pytest.skip('curl is not installed')
    folder = tmp_path_factory.mktemp('reader')
    for name in ('.venv', '.venv-deploy', 'main.py'):
        os.symlink(os.path.join(ROOT, name), str(folder / name))
    shutil.copy(os.path.join(ROOT, 'data', 'sample.csv'), str(folder / 'news.csv'))
    (folder / 'runs' / 'x').mkdir(parents=True)
    for ext, name in (('.pth', 'model.params'), ('.json', 'model.json')):
        shutil.copy(os.path.join(ROOT, 'weights', 'kobert-news-small-ynat' + ext), str(folder / 'runs' / 'x' / name))
    return folder


def run(line, cwd):
    env = dict(os.environ, KOBERT_HOME=KOBERT_HOME or '')
    r = subprocess.run(line, shell=True, cwd=str(cwd), env=env, capture_output=True, text=True, timeout=TIMEOUT)
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
    """What each curl line of the README shows: a prediction per article, or main.py's CSV."""
    if '/predict/csv' in line:
        text = (folder / 'predicted.csv').read_text(encoding='utf-8-sig')
        header, rows = text.splitlines()[0], text.splitlines()[1:]
        assert header.endswith('predicted,probability') and len(rows) == 24, text[:300]
    else:
        answer = json.loads(out)
        assert len(answer['predictions']) == line.count('"title"'), answer
        assert all(p['topic'] for p in answer['predictions'])


def test_every_command_of_the_readme_runs(reader):
    lines = list(shell_lines(read(README)))
    servers = [l for l in lines if re.search(r'kobert-news serve\b', l)]
    curls = [l for l in lines if l.startswith('curl ')]
    ran = []
    for line in lines:
        if line in servers or line in curls:
            continue
        if line in RUN_ELSEWHERE:
            continue
        cwd = ROOT if line.startswith('make ') else reader
        out = run(line, cwd)
        if 'main.py' in line and '--save_path' not in line:
            assert len([l for l in out.splitlines() if l.startswith('Predicted news topic:')]) == 24, out
        ran.append(line)
    assert (reader / 'predicted.csv').is_file() and (reader / 'out' / 'onnx' / 'model_int8.onnx').is_file()
    assert servers and curls
    for server in servers:
        port = free_port()
        words = shlex.split(server)
        if '--port' in words:
            words[words.index('--port') + 1] = str(port)
        else:
            words += ['--port', str(port)]
        proc = subprocess.Popen(words, cwd=str(reader), env=dict(os.environ, KOBERT_HOME=KOBERT_HOME or ''),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            healthy(port, proc)
            for curl in curls:
                line = re.sub(r'localhost:8000\b', 'localhost:%d' % port, curl)
                check_answer(line, run(line, reader), reader)
        finally:
            proc.terminate()
            assert proc.wait(timeout=60) == 0, server
    elsewhere = [l for l in lines if l in RUN_ELSEWHERE]
    assert sorted(set(ran + servers + curls + elsewhere)) == sorted(set(lines))  # nothing shown was left out
