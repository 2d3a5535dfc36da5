"""make serve, as the README's quick start runs it: the default weight's export made only when it is
missing (or cut short), then the deploy server on it, stopped by SIGTERM with exit status 0."""
import os
import re
import signal
import subprocess

import requests

from tests.conftest import KOBERT_HOME, ROOT
from tests.deploy.conftest import make_default_export
from tests.served import TIMEOUT, wait_for


def test_the_export_is_made_once_and_redone_when_cut_short(default_export):
    """The fixture made it (make default-export into a missing folder). Again: nothing is done. Without
    description.json, which an export writes last: it is made again, over the files already there."""
    description = os.path.join(default_export, 'description.json')
    before = os.stat(description).st_mtime_ns
    assert 'Nothing to be done' in make_default_export(default_export)
    assert os.stat(description).st_mtime_ns == before
    os.remove(description)
    assert 'exported' in make_default_export(default_export)
    import kobert_news
    clf = kobert_news.load(model_dir=default_export, precision='int8')  # every file checked against it
    assert clf.classify([{'title': '손흥민 시즌 10호골…토트넘 3연승 이끌어'}])[0]['topic'] == 'sport'


def child(pid):
    """The one child process of pid (make's: the server its recipe execs)."""
    with open('/proc/%d/task/%d/children' % (pid, pid)) as f:
        found = f.read().split()
    return int(found[0]) if len(found) == 1 else None


def test_make_serve_serves_the_export(default_export):
    proc = subprocess.Popen(['make', 'serve', 'EXPORT_DIR=%s' % default_export, 'SERVE_FLAGS=--port 0'], cwd=ROOT,
                            env=dict(os.environ, KOBERT_HOME=KOBERT_HOME or ''), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            m = re.search(r'listening on (http://127\.0\.0\.1:\d+)', line)
            if m:
                break
        assert m, ''.join(lines)
        base = m.group(1)
        wait_for(lambda: requests.get(base + '/health', timeout=TIMEOUT).status_code == 200, 120)
        got = requests.post(base + '/predict', json={'articles': [{'title': '코스피 2,600선 회복…외국인 순매수'}]},
                            timeout=TIMEOUT).json()
        assert got['model']['engine'] == 'onnx' and got['model']['weight'] == 'kobert-news-small-ynat.pth'
        assert got['predictions'][0]['topic'] == 'economy'
        server = child(proc.pid)
        assert server is not None
        os.kill(server, signal.SIGTERM)
        assert proc.wait(timeout=TIMEOUT) == 0
        lines += proc.stdout.readlines()
        assert re.search(r'stopped: 1 requests accepted: 1 answered', ''.join(lines)), ''.join(lines)
    finally:
        if proc.poll() is None:  # make and the server: their own process group
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=TIMEOUT)
