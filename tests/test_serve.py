"""serve.py as a user runs it: the real server in its own process on a free loopback port, with a
tiny real weight, driven over HTTP. Answers are checked against the predictor, main.py and
explain.py."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading

import numpy as np
import pandas as pd
import pytest
import requests

from kobert_news.config import TOPICS
from tests.conftest import KOBERT_HOME, ROOT, needs_kobert
from tests.served import TIMEOUT, Served, explanation_in_flight, wait_for

pytestmark = needs_kobert
SAMPLE = os.path.join(ROOT, 'data', 'sample.csv')
LONG_BODY = '국회는 오늘 본회의를 열고 내년도 예산안을 처리했다. ' * 2000  # far past max_len tokens


def stopped_counts(log):
    m = re.search(r'stopped: (\d+) requests accepted, (\d+) answered, (\d+) dropped', log)
    assert m, log
    return tuple(int(x) for x in m.groups())


@pytest.fixture(scope='module')
def server(tiny_weight):
    s = Served(tiny_weight, '--max_batch', 8, '--max_wait_ms', 50, '--max_articles', 40, '--max_body_kb', 512,
               '--max_explain_articles', 4, '--max_explain_steps', 200)
    yield s
    code, log = s.stop()
    assert code == 0, log
    assert 'Traceback' not in log, log


@pytest.fixture(scope='module')
def pipeline(tiny_weight, kobert_home):
    from kobert_news.pipeline import Pipeline
    from kobert_news.options import PredictConfig
    return Pipeline.load(PredictConfig(gluon_weight_path=tiny_weight, kobert_dir=kobert_home))


def expected(pipeline, articles):
    return pipeline.predict(pipeline.articles_frame(articles), 'the articles')


def assert_same(answer, articles, pipeline):
    """The JSON predictions equal the predictor's for the same articles: topics, order, and
    probabilities to 1e-5."""
    pred = expected(pipeline, articles)
    assert len(answer) == len(articles)
    for got, text, probs in zip(answer, pred.texts, pred.probs):
        if not text:
            assert got['topic'] is None and got['reason'] == 'no text for mode 3'
            continue
        order = np.argsort(-probs, kind='stable')
        assert got['topic'] == TOPICS[order[0]]
        assert abs(got['probability'] - probs[order[0]]) < 1e-5
        for entry, j in zip(got['top_k'], order):
            assert entry['topic'] == TOPICS[j] and abs(entry['probability'] - probs[j]) < 1e-5


def sample_articles():
    df = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    return [{'title': t, 'body': b} for t, b in zip(df['title'], df['cleanBody'])]


# ---------------------------------------------------------------- health, info, docs

def test_health_is_503_until_the_model_is_ready(server):
    first = server.first_health
    assert first.status_code == 503 and first.json()['status'] == 'loading'
    assert first.headers['Retry-After'].isdigit()
    r = requests.get(server.url('/health'), timeout=TIMEOUT)
    assert r.status_code == 200 and r.json() == {'status': 'ready'}


def test_info_describes_the_weight(server, tiny_weight):
    from kobert_gluon.weights import weight_md5
    info = requests.get(server.url('/info'), timeout=TIMEOUT).json()
    assert info['md5'] == weight_md5(tiny_weight)
    assert info['topics'] == list(TOPICS) and info['mode'] == 3 and info['max_len'] == 64
    assert info['precision'] == 'fp32' and info['config']['name'] == 'tiny'
    assert info['serving']['max_batch'] == 8 and info['serving']['max_articles'] == 40


def test_api_docs_work_offline(server):
    spec = requests.get(server.url('/openapi.json'), timeout=TIMEOUT).json()
    assert {'/predict', '/predict/csv', '/explain', '/health', '/info'} <= set(spec['paths'])
    html = requests.get(server.url('/docs'), timeout=TIMEOUT).text
    assets = re.findall(r'''(?:src|href)=["']([^"']+\.(?:js|css))["']''', html)
    assert len(assets) == 2 and not any(a.startswith(('http:', 'https:', '//')) for a in assets), assets
    for asset in assets:
        r = requests.get(server.url(asset), timeout=TIMEOUT)
        assert r.status_code == 200 and len(r.content) > 10000


# ---------------------------------------------------------------- answers

def test_concurrent_requests_are_batched_and_answered_in_order(server, pipeline):
    articles = sample_articles()
    requests_ = [articles[i:i + 1 + i % 3] for i in range(0, 24, 2)]  # 12 requests of 1-3 articles
    requests_[3] = requests_[3] + [{'title': '', 'body': '  '},  # no text, and a text far past max_len
                                   {'title': '대통령 신년 기자회견', 'body': LONG_BODY}]
    before = server.stats()
    answers = [None] * len(requests_)
    start = threading.Barrier(len(requests_))

    def send(i):
        start.wait(TIMEOUT)
        answers[i] = server.post({'articles': requests_[i], 'top_k': 3})

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests_))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    for sent, r in zip(requests_, answers):
        assert r.status_code == 200, r.text
        body = r.json()
        assert body['model']['precision'] == 'fp32' and body['model']['mode'] == 3
        assert_same(body['predictions'], sent, pipeline)
    after = server.stats()
    assert after['answered'] - before['answered'] == len(requests_)
    assert after['batches'] - before['batches'] < len(requests_)  # requests shared batches


def test_article_without_text_gets_null_topic(server):
    r = server.post({'articles': [{'title': '손흥민 시즌 10호골'}, {'title': ' ', 'body': None}]})
    first, second = r.json()['predictions']
    assert first['topic'] in TOPICS and len(first['top_k']) == 1
    assert second == {'topic': None, 'probability': None, 'top_k': [], 'cluster': None,
                      'reason': 'no text for mode 3'}


# ---------------------------------------------------------------- bad input

def assert_error(r, status, *phrases):
    assert r.status_code == status, r.text
    body = r.json()
    assert 'Traceback' not in r.text and isinstance(body['error'], str)
    for phrase in phrases:
        assert phrase in body['error'], body
    return body


def test_body_over_the_limit_is_413(server):
    big = {'articles': [{'title': '가' * 200000}]}  # 600 KB of UTF-8 > 512 KiB
    assert_error(server.post(big), 413, 'over the limit', '--max_body_kb')
    chunks = (b'{"articles": [{"title": "' + b'a' * 65536 for _ in range(10))  # chunked: no Content-Length
    assert_error(requests.post(server.url('/predict'), data=chunks, timeout=TIMEOUT,
                               headers={'Content-Type': 'application/json'}), 413, 'over the limit')
    assert server.post({'articles': [{'title': '경제'}]}).status_code == 200


def test_too_many_articles_is_413(server):
    assert_error(server.post({'articles': [{'title': '경제'}] * 41}), 413, '41 articles', 'limit is 40')


@pytest.mark.parametrize('payload, field', [
    ('{"articles": [{"title": ', 'body'),
    ([{'title': 'a'}], 'body'),
    ({}, 'articles'),
    ({'articles': 'x'}, 'articles'),
    ({'articles': []}, 'articles'),
    ({'articles': [{'title': 5}]}, 'articles.0.title'),
    ({'articles': [{'title': 'a'}, {'body': ['b']}]}, 'articles.1.body'),
    ({'articles': [{'headline': 'a'}]}, 'articles.0.headline'),
    ({'articles': [{'title': 'a'}], 'top_k': '3'}, 'top_k'),
    ({'articles': [{'title': 'a'}], 'top_k': 0}, 'top_k'),
    ({'articles': [{'title': 'a'}], 'top_k': 9}, 'top_k'),
])
def test_malformed_or_mistyped_json_is_422_naming_the_field(server, payload, field):
    data = payload if isinstance(payload, str) else json.dumps(payload)
    r = requests.post(server.url('/predict'), data=data.encode('utf-8'), timeout=TIMEOUT,
                      headers={'Content-Type': 'application/json'})
    body = assert_error(r, 422, field)
    assert body['field'] == field and body['error'].startswith(field + ': ')


def test_body_not_sent_as_json_is_422_saying_so(server):
    r = requests.post(server.url('/predict'), data='{"articles": [{"title": "a"}]}', timeout=TIMEOUT,
                      headers={'Content-Type': 'application/x-www-form-urlencoded'})
    assert_error(r, 422, 'Content-Type: application/json')


# ---------------------------------------------------------------- CSV

def test_csv_upload_equals_main_py_output(server, tiny_weight, tmp_path, call):
    df = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    df.loc[3, ['title', 'cleanBody']] = ''  # a row without text: kept, unclassified
    df.loc[5, 'cleanBody'] = LONG_BODY
    for encoding, top_k in (('utf-8', None), ('cp949', 3)):
        src = tmp_path / ('news-%s.csv' % encoding)
        df.to_csv(str(src), index=False, encoding=encoding)
        out = tmp_path / ('main-%s.csv' % encoding)
        flags = ['--top_k', top_k] if top_k else []
        r = call('predict', '--gluon_weight_path', tiny_weight, '--data_path', src, '--save_path', out, *flags)
        assert r.returncode == 0, r.stderr
        with open(str(src), 'rb') as f:
            got = requests.post(server.url('/predict/csv'), files={'file': ('뉴스.csv', f, 'text/csv')},
                                params={'top_k': top_k} if top_k else {}, timeout=TIMEOUT)
        assert got.status_code == 200, got.text
        assert got.headers['content-type'].startswith('text/csv')
        assert got.content == out.read_bytes()


def test_bad_csv_uploads_are_422(server, tmp_path):
    def upload(content, name='news.csv'):
        return requests.post(server.url('/predict/csv'), files={'file': (name, content, 'text/csv')}, timeout=TIMEOUT)

    assert_error(upload(b''), 422, 'news.csv is empty')
    assert_error(upload('headline\n경제\n'.encode('utf-8')), 422, 'headline', 'title')
    assert_error(upload(b'title,cleanBody\n,\n'), 422, 'no row of news.csv has text')
    assert_error(upload(bytes(range(256)) * 8), 422, 'news.csv')
    assert_error(requests.post(server.url('/predict/csv'), timeout=TIMEOUT), 422, 'file')


# ---------------------------------------------------------------- /explain

def test_explain_equals_explain_py(server, tiny_weight, tmp_path, call):
    """/explain answers what explain.py --format json writes for the same articles: the same words,
    attributions, probabilities; a row without text kept, with its reason."""
    df = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False).head(3)
    df.loc[1, ['title', 'cleanBody']] = ''
    src, out = tmp_path / 'in.csv', tmp_path / 'why.json'
    df.to_csv(str(src), index=False)
    articles = [{'title': t, 'body': b} for t, b in zip(df['title'], df['cleanBody'])]
    for target in (None, 'economy'):
        flags = ['--target', target] if target else []
        r = call('explain', '--gluon_weight_path', tiny_weight, '--data_path', src, '--save_path', out, '--steps', 8,
                 *flags)
        assert r.returncode == 0, r.stderr
        expected = json.loads(out.read_text(encoding='utf-8'))
        got = server.post(dict({'articles': articles, 'steps': 8}, **({'target': target} if target else {})),
                          path='/explain')
        assert got.status_code == 200, got.text
        body = got.json()
        assert body['steps'] == 8 and body['model']['mode'] == 3
        assert [e['words'] for e in body['explanations']] == [e['words'] for e in expected]
        assert body['explanations'][1]['topic'] is None and body['explanations'][1]['reason'] == 'no text for mode 3'
        for e, x in zip(body['explanations'], expected):
            assert (e['topic'], e['target'], e['text'], e['words_read']) == (x['topic'], x['target'], x['text'],
                                                                             x['words_read'])
            if x['topic'] is not None:  # equal here; float32 rounding allowed for other thread counts
                assert e['attributions'] == pytest.approx(x['attributions'], rel=1e-6, abs=1e-9)
                assert e['probabilities'] == pytest.approx(x['probabilities'], rel=1e-6)
                assert (e['target'] == 'economy') == (target == 'economy')


@pytest.mark.parametrize('payload, status, field, phrase', [
    ({'articles': [{'title': '경제'}], 'target': 'weather'}, 422, 'target', 'Input should be'),
    ({'articles': [{'title': '경제'}], 'steps': 0}, 422, 'steps', 'greater than or equal to 1'),
    ({'articles': [{'title': '경제'}], 'steps': 1001}, 422, 'steps', 'less than or equal to 1000'),
    ({'articles': [{'title': '경제'}], 'steps': 201}, 422, 'steps', 'at most 200 on this server'),
    ({'articles': [{'title': '경제'}], 'steps': '8'}, 422, 'steps', 'valid integer'),
    ({'articles': [{'title': '경제'}], 'baseline': 'mask'}, 422, 'baseline', 'Extra inputs'),
    ({'articles': []}, 422, 'articles', 'at least 1'),
    ({'articles': [{'title': '경제'}] * 5}, 413, None, '5 articles to explain in one request; the limit is 4'),
])
def test_explain_bad_requests(server, payload, status, field, phrase):
    body = assert_error(server.post(payload, path='/explain'), status, phrase)
    assert body.get('field') == field


def test_one_explanation_at_a_time_and_a_gone_client_stops_it(server):
    """A long explanation in flight: another is refused with 503 and Retry-After, /predict is still
    answered (between two of its articles), and when its client leaves it stops after the article
    in progress."""
    before = server.stats()
    with explanation_in_flight(server, articles=4, steps=200):
        busy = server.post({'articles': [{'title': '경제'}], 'steps': 2}, path='/explain')
        assert_error(busy, 503, 'busy with another explanation')
        assert busy.headers['Retry-After'].isdigit()
        assert server.post({'articles': [{'title': '경제'}]}).status_code == 200
        assert server.info()['explaining']
    after = server.stats()
    # Jobs: the predict, and the articles the model took up before the client left: not all 4.
    assert after['accepted'] - before['accepted'] - 1 < 4
    ok = server.post({'articles': [{'title': '경제'}], 'steps': 2}, path='/explain')
    assert ok.status_code == 200 and ok.json()['explanations'][0]['topic'] in TOPICS


# ---------------------------------------------------------------- queue, disconnects, shutdown

def test_full_queue_is_503_and_a_gone_client_is_dropped(tiny_weight):
    """The worker waits 2.5 s to fill a batch, so the queue (2 requests) fills deterministically."""
    s = Served(tiny_weight, '--max_queue', 2, '--max_wait_ms', 2500, '--max_batch', 64)
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
        with socket.create_connection(('127.0.0.1', int(s.base.rsplit(':', 1)[1])), timeout=TIMEOUT) as sock:
            sock.sendall(b'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
                         b'Content-Length: %d\r\n\r\n%s' % (len(body), body))
            wait_for(lambda: s.stats()['accepted'] == before['accepted'] + 1)
        wait_for(lambda: s.stats().get('dropped', 0) == 1)
        after = s.stats()
        assert (after['batches'], after['items']) == (before['batches'], before['items'])
        assert s.post({'articles': [{'title': '경제'}]}).status_code == 200

        # Requests still being read count too: 2 x --max_queue + --max_batch of them at most.
        port = int(s.base.rsplit(':', 1)[1])
        slow = [socket.create_connection(('127.0.0.1', port), timeout=TIMEOUT) for _ in range(2 * 2 + 64)]
        for sock in slow:
            sock.sendall(b'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{')
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


def test_sigterm_under_load_loses_no_accepted_request(tiny_weight, pipeline):
    s = Served(tiny_weight, '--max_batch', 8)
    articles = sample_articles()
    answered, sent_for, stop = [], {}, threading.Event()
    lock = threading.Lock()

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

    threads = [threading.Thread(target=client, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    wait_for(lambda: len(answered) >= 30)
    stop.set()
    s.proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join(TIMEOUT)
    code, log = s.stop()
    assert code == 0, log
    assert all(r.status_code == 200 for _, r in answered), [r.text for _, r in answered if r.status_code != 200]
    accepted, done, dropped = stopped_counts(log)
    assert accepted == done == len(answered) and dropped == 0
    for mine, r in answered:
        assert_same(r.json()['predictions'], mine, pipeline)


# ---------------------------------------------------------------- precisions: the same numbers as main.py

@pytest.mark.parametrize('precision', ['int8', 'bf16'])
def test_reduced_precision_answers_equal_main_py(precision, tiny_weight, tmp_path, call):
    from kobert_gluon.precision import effective
    if effective(precision) != precision:
        pytest.skip('this CPU has no %s support' % precision)
    cache = tmp_path / 'cache'
    out = tmp_path / 'main.csv'
    common = ['--precision', precision, '--calib_path', SAMPLE, '--cache_dir', cache]
    r = call('predict', '--gluon_weight_path', tiny_weight, '--data_path', SAMPLE, '--save_path', out, *common)
    assert r.returncode == 0, r.stderr
    main_out = pd.read_csv(str(out), encoding='utf-8-sig')
    s = Served(tiny_weight, *common)
    try:
        assert requests.get(s.url('/info'), timeout=TIMEOUT).json()['precision'] == precision
        got = s.post({'articles': sample_articles()}).json()['predictions']
        assert [g['topic'] for g in got] == main_out['predicted'].tolist()
        assert np.abs(np.array([g['probability'] for g in got]) - main_out['probability'].values).max() < 1e-5
        with open(SAMPLE, 'rb') as f:
            csv = requests.post(s.url('/predict/csv'), files={'file': ('sample.csv', f)}, timeout=TIMEOUT)
        assert csv.content == out.read_bytes()
    finally:
        code, log = s.stop()
    assert code == 0, log


# ---------------------------------------------------------------- the command line

def test_command_line_errors_are_one_line(call, tiny_weight, tmp_path):
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        cases = [(['--port', 70000], '--port must be at most 65535'),
                 (['--max_batch', 0], '--max_batch must be at least 1'),
                 (['--gluon_weight_path', tmp_path / 'none.pth'], 'no weight file'),
                 (['--gluon_weight_path', tiny_weight, '--calib_path', tmp_path / 'none.csv'], 'no such CSV'),
                 (['--gluon_weight_path', tiny_weight, '--port', port], 'cannot listen on 127.0.0.1:%d' % port)]
        for args, phrase in cases:
            r = call('serve', *args)
            assert r.returncode == 2 and r.stderr.startswith('error: ') and phrase in r.stderr, r.stderr
            assert 'Traceback' not in r.stderr


def test_a_weight_that_fails_to_load_stops_the_server_with_one_error_line(tmp_path):
    bad = tmp_path / 'broken.params'
    bad.write_bytes(b'\x12\x01' + bytes(range(256)) * 4)
    r = subprocess.run([sys.executable, os.path.join(ROOT, 'serve.py'), '--port', '0', '--gluon_weight_path', bad],
                       cwd=ROOT, env=dict(os.environ, KOBERT_HOME=KOBERT_HOME), capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr
    assert r.stderr.rstrip().splitlines()[-1].startswith('error: '), r.stderr
