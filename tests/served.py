"""The server as a user runs it, for the server's and the page's tests: the real server in its own
process on a free loopback port, driven over HTTP. On an export folder it is the deploy server
(`kobert-news serve --model_dir D`, ONNX Runtime: the deploy suite, tests/deploy); on a weight file
kobert-news serve (MXNet: the legacy suite)."""
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


def command(model):
    """The server's command line for a model: an export folder or a weight file."""
    if os.path.isdir(str(model)):
        return [sys.executable, '-m', 'kobert_news', 'serve', '--port', '0', '--model_dir', str(model)]
    return [sys.executable, '-m', 'kobert_news', 'serve', '--port', '0', '--gluon_weight_path', str(model)]


class Served:
    """The server of a model (an export folder or a weight file) in a subprocess on port 0;
    `first_health` is /health asked the moment it listens."""

    def __init__(self, model, *args):
        env = dict(os.environ, KOBERT_HOME=KOBERT_HOME or '')
        self.proc = subprocess.Popen(command(model) + [str(a) for a in args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
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
            self.proc.kill()
            raise AssertionError('the server did not start:\n' + ''.join(self.lines))
        self.first_health = requests.get(self.url('/health'), timeout=TIMEOUT)
        self._reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stderr), daemon=True)
        self._reader.start()
        deadline = time.time() + 120
        while requests.get(self.url('/health'), timeout=TIMEOUT).status_code != 200:
            if self.proc.poll() is not None or time.time() > deadline:
                self.proc.kill()
                raise AssertionError('the server did not get ready:\n' + ''.join(self.lines))
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
def explanation_in_flight(server, articles=4, steps=200, sentences=40):
    """A long /explain (articles of `sentences` sentences) from a client that leaves at the end of
    the block: within it the server is busy explaining; after it, it is not (it stops after the
    article in progress)."""
    article = {'title': '국회 예산안 처리', 'body': '국회는 오늘 본회의를 열고 내년도 예산안을 처리했다. ' * sentences}
    body = json.dumps({'articles': [article] * articles, 'steps': steps}).encode('utf-8')
    with socket.create_connection(('127.0.0.1', server.port), timeout=TIMEOUT) as sock:
        sock.sendall(b'POST /explain HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n'
                     b'Content-Length: %d\r\n\r\n%s' % (len(body), body))
        wait_for(lambda: server.info()['explaining'])
        yield
    wait_for(lambda: not server.info()['explaining'])


@contextlib.contextmanager
def serving(model, *args):
    """A Served for the block, stopped after it (also when the block fails): it must exit 0 without a
    traceback."""
    s = Served(model, *args)
    try:
        yield s
    finally:
        code, log = s.stop()
    assert code == 0 and 'Traceback' not in log, log


# ---------------------------------------------------------------- what the server tests share

SAMPLE = os.path.join(ROOT, 'data', 'sample.csv')
LONG_BODY = '국회는 오늘 본회의를 열고 내년도 예산안을 처리했다. ' * 2000  # far past max_len tokens
STALLED = b'POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{'


def stopped_counts(log):
    """(accepted, answered, dropped) from the stop line, which must add up: every accepted request
    was answered, failed or dropped."""
    m = re.search(r'stopped: (\d+) requests accepted: (\d+) answered, (\d+) failed, (\d+) dropped', log)
    assert m, log
    accepted, answered, failed, dropped = (int(x) for x in m.groups())
    assert accepted == answered + failed + dropped, m.group(0)
    return accepted, answered, dropped


def raw(server, data=b''):
    """A client socket to the server that has sent data (bytes) and nothing more."""
    sock = socket.create_connection(('127.0.0.1', server.port), timeout=TIMEOUT)
    if data:
        sock.sendall(data)
    return sock


def read_all(sock):
    """What the server sends until it closes the connection."""
    got = b''
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return got
        got += chunk


def assert_error(r, status, *phrases):
    assert r.status_code == status, r.text
    body = r.json()
    assert 'Traceback' not in r.text and isinstance(body['error'], str)
    for phrase in phrases:
        assert phrase in body['error'], body
    return body


def sample_articles():
    import pandas as pd
    df = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    return [{'title': t, 'body': b} for t, b in zip(df['title'], df['cleanBody'])]


def assert_same(answer, articles, pipeline, tol=1e-5):
    """The JSON predictions equal the pipeline's for the same articles: topics, order, and
    probabilities to tol."""
    import numpy as np
    pred = pipeline.predict(pipeline.articles_frame(articles), 'the articles')
    assert len(answer) == len(articles)
    for got, text, probs in zip(answer, pred.texts, pred.probs):
        if not text:
            assert got['topic'] is None and got['reason'] == 'no text for mode %d' % pipeline.processor.mode
            continue
        order = np.argsort(-probs, kind='stable')
        assert got['topic'] == pipeline.topics[order[0]]
        assert abs(got['probability'] - probs[order[0]]) < tol
        for entry, j in zip(got['top_k'], order):
            assert entry['topic'] == pipeline.topics[j] and abs(entry['probability'] - probs[j]) < tol


def concurrently(server, bodies, path='/predict'):
    """The answers to bodies, each posted by its own client, all at once."""
    answers = [None] * len(bodies)
    start = threading.Barrier(len(bodies))

    def send(i):
        start.wait(TIMEOUT)
        answers[i] = server.post(bodies[i], path=path)
    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    return answers


def sigterm_under_load(s, pipeline, clients=6):
    """SIGTERM while `clients` clients keep sending 1-2 articles each: the server exits 0, every
    request it accepted is answered (the stop line adds up), and every answer is the pipeline's."""
    articles = sample_articles()
    answered, stop, lock = [], threading.Event(), threading.Lock()

    def client(k):
        session = requests.Session()
        for n in range(400):  # bounded; the server going away ends it sooner
            mine = articles[(k * 5 + n) % 24:(k * 5 + n) % 24 + 1 + n % 2]
            try:
                r = session.post(s.url('/predict'), json={'articles': mine, 'top_k': 2}, timeout=TIMEOUT)
            except requests.ConnectionError:
                if stop.is_set():
                    return
                session = requests.Session()
                continue
            with lock:
                answered.append((mine, r))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(answered) >= 30)
    finally:
        stop.set()
        s.proc.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(TIMEOUT)
        code, log = s.stop()
    assert code == 0 and 'Traceback' not in log, log
    assert all(r.status_code == 200 for _, r in answered), [r.text for _, r in answered if r.status_code != 200]
    accepted, done, dropped = stopped_counts(log)
    assert accepted == done == len(answered) and dropped == 0
    for mine, r in answered:
        assert_same(r.json()['predictions'], mine, pipeline)
