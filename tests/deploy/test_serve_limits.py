"""The deploy server's limits and availability (`kobert-news serve --model_dir D`, a real server on a
loopback port): huge JSON, a full queue, slow clients, SIGTERM, the command line, a damaged export
folder, and CSVs with blank lines, invisible text and wrong encodings."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from tests.conftest import ROOT
from tests.served import (SAMPLE, STALLED, TIMEOUT, Served, assert_error, raw, read_all, serving,
                          sigterm_under_load, stopped_counts, wait_for)


@pytest.fixture(scope='module')
def guarded(tiny):
    """A server with short read timeouts and a Host name of its own; default body size."""
    s = Served(tiny[1], '--read_timeout_s', 2, '--allowed_hosts', 'news.example')
    yield s
    code, log = s.stop()
    assert code == 0 and 'Traceback' not in log, log
    stopped_counts(log)


def peak_memory_kb(pid):
    with open('/proc/%d/status' % pid) as f:
        return int(re.search(r'VmHWM:\s+(\d+) kB', f.read()).group(1))


def test_a_host_name_given_is_answered(guarded):
    def health(host):
        return requests.get(guarded.url('/health'), headers={'Host': host}, timeout=TIMEOUT)
    assert health('news.example:80').status_code == 200  # named with --allowed_hosts
    assert health('evil.example').status_code == 400


def test_millions_of_empty_articles_are_refused_before_they_are_built(guarded):
    """8 MB of {} (about 2.8 million articles, under the size limit): 413 at once, the process
    barely grows, and it answers others meanwhile."""
    body = b'{"articles": [' + b','.join([b'{}'] * 2790000) + b']}'
    assert len(body) < 8 << 20
    before = peak_memory_kb(guarded.proc.pid)
    start = time.monotonic()
    r = requests.post(guarded.url('/predict'), data=body, headers={'Content-Type': 'application/json'},
                      timeout=TIMEOUT)
    took = time.monotonic() - start
    assert_error(r, 413, '--max_articles')
    assert took < 5, took  # seconds; about 0.1 s on an idle machine
    assert peak_memory_kb(guarded.proc.pid) - before < 300 << 10
    assert guarded.post({'articles': [{'title': '경제'}]}).status_code == 200


def test_slow_clients_are_cut_off(guarded):
    """--read_timeout_s 2: a client that sends nothing, or part of its headers, is disconnected; one
    that sends part of its body gets 408; the server answers others meanwhile."""
    idle, half_head = raw(guarded), raw(guarded, b'POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-')
    half_body = raw(guarded, STALLED)
    assert guarded.post({'articles': [{'title': '경제'}]}).status_code == 200
    assert read_all(idle) == b'' and read_all(half_head) == b''
    answer = read_all(half_body)
    assert answer.startswith(b'HTTP/1.1 408') and b'the request body' in answer, answer
    for sock in (idle, half_head, half_body):
        sock.close()


def test_full_queue_is_503_and_a_gone_client_is_dropped(tiny):
    """The worker waits 2.5 s to fill a batch, so the queue (2 requests) fills deterministically."""
    s = Served(tiny[1], '--max_queue', 2, '--max_wait_ms', 2500, '--max_batch', 64)
    try:
        held = [None, None]
        threads = [threading.Thread(target=lambda i=i: held.__setitem__(i, s.post({'articles': [{'title': '경제'}]})))
                   for i in range(2)]
        for t in threads:
            t.start()
        wait_for(lambda: s.stats().get('accepted', 0) == 2)
        full = s.post({'articles': [{'title': '정치'}]})
        assert_error(full, 503, 'busy')
        assert full.headers['Retry-After'].isdigit()
        for t in threads:
            t.join(TIMEOUT)
        assert [r.status_code for r in held] == [200, 200]

        # A client that sends its request and leaves: the worker drops it without running it.
        before = s.stats()
        body = json.dumps({'articles': [{'title': '떠난 손님'}]}).encode('utf-8')
        with raw(s, b'POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n'
                    b'Content-Length: %d\r\n\r\n%s' % (len(body), body)):
            wait_for(lambda: s.stats()['accepted'] == before['accepted'] + 1)
        wait_for(lambda: s.stats().get('dropped', 0) == 1)
        after = s.stats()
        assert (after['batches'], after['items']) == (before['batches'], before['items'])
        assert s.post({'articles': [{'title': '경제'}]}).status_code == 200

        # Requests still being read count too: 2 x --max_queue + --max_batch of them at most.
        slow = [raw(s, b'POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{')
                for _ in range(2 * 2 + 64)]
        wait_for(lambda: s.post({'articles': [{'title': '경제'}]}).status_code == 503)
        busy = s.post({'articles': [{'title': '경제'}]})
        assert_error(busy, 503, 'requests in progress')
        assert busy.headers['Retry-After'].isdigit()
        for sock in slow:
            sock.close()
        wait_for(lambda: s.post({'articles': [{'title': '경제'}]}).status_code == 200)
        final = s.stats()
    finally:
        code, log = s.stop(signal.SIGINT)  # Ctrl-C
    assert code == 0, log
    assert stopped_counts(log) == (final['accepted'], final['accepted'] - 1, 1)  # all answered but the gone one


def test_health_answers_while_300_clients_stall_mid_body(guarded):
    """300 clients send their headers and part of a body, then wait: /health still answers, at once."""
    stalled = []
    try:
        for _ in range(300):
            stalled.append(raw(guarded, STALLED))
        wait_for(lambda: guarded.post({'articles': [{'title': '경제'}]}).status_code == 503)  # every slot taken
        start = time.monotonic()
        health = requests.get(guarded.url('/health'), timeout=TIMEOUT)
        assert health.status_code == 200 and time.monotonic() - start < 5
    finally:
        for sock in stalled:
            sock.close()
    wait_for(lambda: guarded.post({'articles': [{'title': '경제'}]}).status_code == 200)


def test_sigterm_with_a_client_stalled_mid_body_answers_the_accepted_and_exits(tiny):
    """SIGTERM while one client has sent half a body and another's request waits for its batch
    (--max_wait_ms 3000): the waiting one is answered, the stalled one gets 503, and the server
    exits 0 within 30 s."""
    s = Served(tiny[1], '--max_wait_ms', 3000, '--max_batch', 64)
    try:
        stalled = raw(s, STALLED)
        held = {}
        thread = threading.Thread(target=lambda: held.setdefault('r', s.post({'articles': [{'title': '경제'}]})))
        thread.start()
        wait_for(lambda: s.stats()['accepted'] == 1)
        s.proc.send_signal(signal.SIGTERM)
        code = s.proc.wait(timeout=30)
        thread.join(TIMEOUT)
        answer = read_all(stalled)
    finally:
        if s.proc.poll() is None:
            s.proc.kill()
    _, log = s.stop()
    assert code == 0, log
    assert held['r'].status_code == 200
    assert answer.startswith(b'HTTP/1.1 503') and b'stopping' in answer, answer
    assert stopped_counts(log) == (1, 1, 0)


def test_sigterm_under_load_loses_no_accepted_request(tiny):
    from kobert_base.options import PredictOptions
    from kobert_news.pipeline import Pipeline
    sigterm_under_load(Served(tiny[1], '--max_batch', 8), Pipeline.load(PredictOptions(model_dir=tiny[1])))


# ---------------------------------------------------------------- the command line, damaged folders

def test_command_line_errors_are_one_line(call, tiny, tmp_path):
    folder = tmp_path / 'fp32-only'
    shutil.copytree(tiny[1], str(folder))
    os.remove(str(folder / 'model_int8.onnx'))
    with open(str(folder / 'description.json'), encoding='utf-8') as f:
        desc = json.load(f)
    desc['files'].pop('model_int8.onnx')
    with open(str(folder / 'description.json'), 'w', encoding='utf-8') as f:
        json.dump(desc, f)
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        cases = [(['--port', 70000], '--port must be at most 65535'),
                 (['--max_batch', 0], '--max_batch must be at least 1'),
                 (['--model_dir', tmp_path / 'none'], 'no export folder at'),
                 (['--model_dir', tmp_path], 'has no description.json'),
                 (['--model_dir', folder, '--precision', 'int8'], 'no model for --precision int8'),
                 (['--model_dir', tiny[1], '--precision', 'bf16'], 'no model for --precision bf16'),
                 (['--model_dir', tiny[1], '--gluon_weight_path', tiny[0]], 'give one of them'),
                 (['--gluon_weight_path', tiny[0]], 'needs MXNet'),
                 (['--model_dir', tiny[1], '--port', port], 'cannot listen on 127.0.0.1:%d' % port)]
        for args, phrase in cases:
            r = call('serve', *args)
            assert r.returncode == 2 and r.stderr.startswith('error: ') and phrase in r.stderr, (args, r.stderr)
            assert 'Traceback' not in r.stderr


def test_a_damaged_export_stops_the_server_with_one_error_line(tiny, tmp_path):
    """A byte of model.onnx changed after the export: the folder's checksum check, as the model loads,
    ends the server with one error line (exit 2)."""
    folder = str(tmp_path / 'damaged')
    shutil.copytree(tiny[1], folder)
    with open(os.path.join(folder, 'model.onnx'), 'r+b') as f:
        f.seek(4096)
        byte = f.read(1)
        f.seek(4096)
        f.write(bytes([byte[0] ^ 1]))
    r = subprocess.run([sys.executable, '-m', 'kobert_news', 'serve', '--port', '0', '--model_dir', folder],
                       cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr
    last = r.stderr.rstrip().splitlines()[-1]
    assert last.startswith('error: ') and 'model.onnx in %s is damaged' % folder in last, r.stderr


# ---------------------------------------------------------------- blank lines, invisible text, encodings

@pytest.fixture(scope='module')
def title_server(titles):
    with serving(titles[1]) as s:
        yield s


def test_csv_blank_lines_are_kept_as_the_batch_command_keeps_them(title_server, titles, tmp_path, call):
    import pandas as pd
    src, out = tmp_path / 'titles.csv', tmp_path / 'batch.csv'
    src.write_text('title\n손흥민 시즌 10호골\n\n한국은행 기준금리 동결\n\n코스피 2600 회복\n', encoding='utf-8')
    assert call('predict', '--model_dir', titles[1], '--data_path', src, '--save_path', out).returncode == 0
    with open(str(src), 'rb') as f:
        got = requests.post(title_server.url('/predict/csv'), files={'file': ('titles.csv', f, 'text/csv')},
                            timeout=TIMEOUT)
    assert got.status_code == 200, got.text
    assert got.content == out.read_bytes()
    rows = pd.read_csv(out, encoding='utf-8-sig', keep_default_na=False, skip_blank_lines=False)
    assert len(rows) == 5 and rows['predicted'][1] == rows['predicted'][3] == ''


@pytest.mark.parametrize('encoding', ['utf-16', 'rot13', 'hex'])
def test_csv_encoding_that_does_not_fit_is_422(title_server, encoding):
    with open(SAMPLE, 'rb') as f:
        got = requests.post(title_server.url('/predict/csv'), files={'file': ('news.csv', f, 'text/csv')},
                            params={'encoding': encoding}, timeout=TIMEOUT)
    assert_error(got, 422, '--encoding')


def test_invisible_title_is_no_text(title_server):
    got = title_server.post({'articles': [{'title': '\u200b\ufeff\x01'}, {'title': '\u200d \x7f\u2060'},
                                          {'title': '손흥민 시즌 10호골\u200b'}]})
    assert got.status_code == 200, got.text
    predictions = got.json()['predictions']
    assert [p['topic'] for p in predictions][:2] == [None, None] and predictions[2]['topic'] is not None
    assert predictions[0]['reason'] == 'no text for mode 2'
    assert got.json()['model']['untrained_topics'] == ['entertain']


def test_explain_and_predict_read_next_line_alike(title_server):
    """A title holding U+0085: /explain's probabilities are /predict's."""
    article = {'title': '손흥민\x85시즌 10호골\x85토트넘\x853연승'}
    predicted = title_server.post({'articles': [article], 'top_k': 8}).json()['predictions'][0]
    explained = title_server.post({'articles': [article]}, path='/explain').json()['explanations'][0]
    assert explained['words'] == ['손흥민시즌', '10호골토트넘3연승']
    for entry in predicted['top_k']:
        assert abs(explained['probabilities'][entry['topic']] - entry['probability']) < 1e-4
