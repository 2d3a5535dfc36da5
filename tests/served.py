"""serve.py as a user runs it, for the server's and the page's tests: the real server in its own
process on a free loopback port, with a real weight, driven over HTTP."""
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import requests

from tests.conftest import KOBERT_HOME, ROOT

TIMEOUT = 60  # seconds for any one HTTP exchange or process step


class Served:
    """serve.py in a subprocess on port 0; `first_health` is /health asked the moment it listens."""

    def __init__(self, weight, *args):
        env = dict(os.environ, KOBERT_HOME=KOBERT_HOME)
        command = [sys.executable, os.path.join(ROOT, 'serve.py'), '--port', '0', '--gluon_weight_path', weight]
        self.proc = subprocess.Popen(command + [str(a) for a in args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = []
        for line in self.proc.stderr:
            self.lines.append(line)
            m = re.search(r'listening on http://127\.0\.0\.1:(\d+)', line)
            if m:
                self.base = 'http://127.0.0.1:%s' % m.group(1)
                self.port = int(m.group(1))
                break
        else:
            raise AssertionError('serve.py did not start:\n' + ''.join(self.lines))
        self.first_health = requests.get(self.url('/health'), timeout=TIMEOUT)
        self._reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stderr), daemon=True)
        self._reader.start()
        deadline = time.time() + 120
        while requests.get(self.url('/health'), timeout=TIMEOUT).status_code != 200:
            assert self.proc.poll() is None and time.time() < deadline, ''.join(self.lines)
            time.sleep(0.05)

    def url(self, path):
        return self.base + path

    def post(self, payload, path='/predict', **kw):
        return requests.post(self.url(path), json=payload, timeout=TIMEOUT, **kw)

    def info(self):
        return requests.get(self.url('/info'), timeout=TIMEOUT).json()

    def stats(self):
        return self.info()['stats']

    def stop(self, sig=signal.SIGTERM):
        """(exit status, everything it wrote on stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=TIMEOUT)
        self._reader.join(TIMEOUT)
        return code, ''.join(self.lines)


def wait_for(condition, seconds=TIMEOUT):
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, 'timed out'
        time.sleep(0.02)


@contextlib.contextmanager
def explanation_in_flight(server, articles=4, steps=200):
    """A long /explain from a client that leaves at the end of the block: within it the server is
    busy explaining; after it, it is not (it stops after the article in progress)."""
    article = {'title': '국회 예산안 처리', 'body': '국회는 오늘 본회의를 열고 내년도 예산안을 처리했다. ' * 40}
    body = json.dumps({'articles': [article] * articles, 'steps': steps}).encode('utf-8')
    with socket.create_connection(('127.0.0.1', server.port), timeout=TIMEOUT) as sock:
        sock.sendall(b'POST /explain HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n'
                     b'Content-Length: %d\r\n\r\n%s' % (len(body), body))
        wait_for(lambda: server.info()['explaining'])
        yield
    wait_for(lambda: not server.info()['explaining'])


@contextlib.contextmanager
def serving(weight, *args):
    """A Served for the block, stopped after it: it must exit 0 without a traceback."""
    s = Served(weight, *args)
    yield s
    code, log = s.stop()
    assert code == 0 and 'Traceback' not in log, log
