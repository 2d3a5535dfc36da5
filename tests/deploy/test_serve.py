"""The deploy server as a user runs it: `kobert-news serve --model_dir D` (ONNX Runtime, no MXNet) in
its own process on a free loopback port, on a tiny real export, driven over HTTP. Answers are
checked against the batch command (the same pipeline in this process, and `kobert-news predict`'s
file byte for byte), main.py (to 1e-4) and `kobert-news explain`."""
import hashlib
import json
import os
import re
import socket
import threading
import time

import numpy as np
import pandas as pd
import pytest
import requests

from tests.conftest import ROOT
from tests.deploy.conftest import legacy
from tests.deploy.test_batch import assert_same_output
from tests.served import (LONG_BODY, SAMPLE, TIMEOUT, Served, assert_error, assert_same, concurrently,
                          explanation_in_flight, sample_articles, serving, stopped_counts)


@pytest.fixture(scope='module')
def server(tiny):
    s = Served(tiny[1], '--max_batch', 8, '--max_wait_ms', 50, '--max_articles', 40, '--max_body_kb', 512,
               '--max_explain_articles', 4, '--max_explain_steps', 200)
    yield s
    code, log = s.stop()
    assert code == 0 and 'Traceback' not in log, log
    stopped_counts(log)


@pytest.fixture(scope='module')
def pipeline(tiny):
    """The batch command's pipeline on the same export folder, in this process."""
    from kobert_base.options import PredictOptions
    from kobert_news.pipeline import Pipeline
    return Pipeline.load(PredictOptions(model_dir=tiny[1]))


def described(folder):
    with open(os.path.join(folder, 'description.json'), encoding='utf-8') as f:
        return json.load(f)


# ---------------------------------------------------------------- health, info, docs

def test_health_is_503_until_the_model_is_ready(server):
    first = server.first_health
    assert first.status_code == 503 and first.json()['status'] == 'loading'
    assert first.headers['Retry-After'].isdigit()
    r = requests.get(server.url('/health'), timeout=TIMEOUT)
    assert r.status_code == 200 and r.json() == {'status': 'ready'}


def test_info_describes_the_model_from_the_engine(server, tiny):
    """/info names the export's files (never a path), the weight it came from and its md5."""
    text = requests.get(server.url('/info'), timeout=TIMEOUT).text
    info = json.loads(text)
    with open(tiny[0], 'rb') as f:
        md5 = hashlib.md5(f.read()).hexdigest()
    assert (info['engine'], info['weight'], info['md5']) == ('onnx', 'tiny.params', md5)
    assert (info['model_dir'], info['model_file']) == ('onnx', 'model.onnx')
    assert info['topics'] == described(tiny[1])['topics'] and info['mode'] == 3 and info['max_len'] == 64
    assert info['precision'] == 'fp32' and info['config']['name'] == 'tiny' and info['explain_method'] == 'occlusion'
    assert info['serving']['max_batch'] == 8 and info['serving']['max_articles'] == 40
    assert info['untrained_topics'] == []  # the tiny weight's description names none
    assert os.path.dirname(tiny[1]) not in text and ROOT not in text
    assert not re.search(r'"/[a-z]', text), text  # no absolute path of this machine


def test_only_the_servers_own_host_names_are_answered(server, tiny):
    def health(s, host):
        return requests.get(s.url('/health'), headers={'Host': host}, timeout=TIMEOUT)
    for host in ('127.0.0.1:%d' % server.port, 'localhost:%d' % server.port, 'LOCALHOST', '[::1]:8000',
                 '10.1.2.3', socket.gethostname()):
        assert health(server, host).status_code == 200, host
    for host in ('evil.example', 'evil.example:%d' % server.port, 'news.example', '127.0.0.1.evil.example'):
        assert_error(health(server, host), 400, 'Host', '--allowed_hosts')
    r = requests.post(server.url('/predict'), json={'articles': [{'title': '경제'}]}, timeout=TIMEOUT,
                      headers={'Host': 'evil.example'})
    assert_error(r, 400, 'evil.example')


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
    """12 clients at once, 1-3 articles each (one without text, one far past max_len): each answer is
    the batch command's pipeline's for its own articles, and requests shared batches."""
    articles = sample_articles()
    sent = [articles[i:i + 1 + i % 3] for i in range(0, 24, 2)]
    sent[3] = sent[3] + [{'title': '', 'body': '  '}, {'title': '대통령 신년 기자회견', 'body': LONG_BODY}]
    before = server.stats()
    answers = concurrently(server, [{'articles': a, 'top_k': 3} for a in sent])
    for mine, r in zip(sent, answers):
        assert r.status_code == 200, r.text
        body = r.json()
        assert body['model']['precision'] == 'fp32' and body['model']['engine'] == 'onnx'
        assert_same(body['predictions'], mine, pipeline)
    after = server.stats()
    assert after['answered'] - before['answered'] == len(sent)
    assert after['batches'] - before['batches'] < len(sent)  # requests shared batches


def test_article_without_text_gets_null_topic(server, pipeline):
    r = server.post({'articles': [{'title': '손흥민 시즌 10호골'}, {'title': ' ', 'body': None}]})
    first, second = r.json()['predictions']
    assert first['topic'] in pipeline.topics and len(first['top_k']) == 1
    assert second == {'topic': None, 'probability': None, 'top_k': [], 'cluster': None,
                      'reason': 'no text for mode 3'}


def test_a_server_sent_only_articles_never_loads_pandas(tiny):
    """Articles in, topics and explanations out: no pandas in the process (75 MB with pyarrow: the
    server's peak memory, bench/README.md); the first CSV loads it."""
    def pandas_loaded(s):
        with open('/proc/%d/maps' % s.proc.pid) as f:
            return '/pandas/' in f.read()
    with serving(tiny[1]) as s:
        assert s.post({'articles': sample_articles()}).status_code == 200
        assert s.post({'articles': [{'title': '경제'}]}, path='/explain').status_code == 200
        assert not pandas_loaded(s)
        with open(SAMPLE, 'rb') as f:
            assert requests.post(s.url('/predict/csv'), files={'file': ('s.csv', f)}, timeout=TIMEOUT).status_code == 200
        assert pandas_loaded(s)


# ---------------------------------------------------------------- bad input

def test_body_over_the_limit_is_413(server):
    big = {'articles': [{'title': '가' * 200000}]}  # 600 KB of UTF-8 > 512 KiB
    assert_error(server.post(big), 413, 'over the limit', '--max_body_kb')
    chunks = (b'{"articles": [{"title": "' + b'a' * 65536 for _ in range(10))  # chunked: no Content-Length
    assert_error(requests.post(server.url('/predict'), data=chunks, timeout=TIMEOUT,
                               headers={'Content-Type': 'application/json'}), 413, 'over the limit')
    assert server.post({'articles': [{'title': '경제'}]}).status_code == 200


def test_too_many_articles_is_413(server):
    assert_error(server.post({'articles': [{'title': '경제'}] * 41}), 413, '41 articles', 'limit is 40')


def test_json_nested_too_deep_is_422(server):
    deep = '{"articles": ' + '[' * 100000 + ']' * 100000 + '}'
    r = requests.post(server.url('/predict'), data=deep, headers={'Content-Type': 'application/json'},
                      timeout=TIMEOUT)
    assert assert_error(r, 422, 'nested')['field'] == 'body'


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

def test_csv_upload_equals_the_batch_commands_file_and_main_pys(server, tiny, tmp_path, call):
    """/predict/csv answers `kobert-news predict --model_dir`'s file byte for byte (UTF-8 and CP949
    uploads, a row without text, a body far past max_len, the top 3); main.py's within 1e-4."""
    df = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    df.loc[3, ['title', 'cleanBody']] = ''
    df.loc[5, 'cleanBody'] = LONG_BODY
    for encoding, top_k in (('utf-8', None), ('cp949', 3)):
        src = tmp_path / ('news-%s.csv' % encoding)
        df.to_csv(str(src), index=False, encoding=encoding)
        out = tmp_path / ('batch-%s.csv' % encoding)
        flags = ['--top_k', top_k] if top_k else []
        r = call('predict', '--model_dir', tiny[1], '--data_path', src, '--save_path', out, *flags)
        assert r.returncode == 0, r.stderr
        with open(str(src), 'rb') as f:
            got = requests.post(server.url('/predict/csv'), files={'file': ('뉴스.csv', f, 'text/csv')},
                                params={'top_k': top_k} if top_k else {}, timeout=TIMEOUT)
        assert got.status_code == 200, got.text
        assert got.headers['content-type'] == 'text/csv; charset=utf-8'
        assert got.content == out.read_bytes()
    legacy('main.py', '--gluon_weight_path', tiny[0], '--data_path', src, '--save_path', tmp_path / 'main.csv',
           '--top_k', 3)
    frames = [pd.read_csv(str(p), encoding='utf-8-sig', keep_default_na=False)
              for p in (tmp_path / 'main.csv', out)]
    assert_same_output(*frames)


def test_bad_csv_uploads_are_422(server):
    def upload(content, name='news.csv'):
        return requests.post(server.url('/predict/csv'), files={'file': (name, content, 'text/csv')}, timeout=TIMEOUT)

    assert_error(upload(b''), 422, 'news.csv is empty')
    wrong = assert_error(upload('headline\n경제\n'.encode('utf-8')), 422, 'headline', 'title')
    assert '--' not in wrong['error']  # no command-line flag: a server user renames the column
    assert_error(upload(b'title,cleanBody\n,\n'), 422, 'no row of news.csv has text')
    assert_error(upload(bytes(range(256)) * 8), 422, 'news.csv')
    assert_error(requests.post(server.url('/predict/csv'), timeout=TIMEOUT), 422, 'file')


# ---------------------------------------------------------------- /explain: word occlusion

def test_explain_equals_the_explain_command(server, tiny, tmp_path, call):
    """/explain answers what `kobert-news explain --model_dir D --format json` writes for the same
    articles (word occlusion): the same words, attributions, probabilities; a row without text kept."""
    df = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False).head(3)
    df.loc[1, ['title', 'cleanBody']] = ''
    src, out = tmp_path / 'in.csv', tmp_path / 'why.json'
    df.to_csv(str(src), index=False)
    articles = [{'title': t, 'body': b} for t, b in zip(df['title'], df['cleanBody'])]
    for target in (None, 'economy'):
        flags = ['--target', target] if target else []
        r = call('explain', '--model_dir', tiny[1], '--data_path', src, '--save_path', out, *flags)
        assert r.returncode == 0, r.stderr
        expected = json.loads(out.read_text(encoding='utf-8'))
        got = server.post(dict({'articles': articles}, **({'target': target} if target else {})), path='/explain')
        assert got.status_code == 200, got.text
        body = got.json()
        assert (body['method'], body['steps'], body['model']['engine']) == ('occlusion', None, 'onnx')
        assert [e['words'] for e in body['explanations']] == [e['words'] for e in expected]
        assert body['explanations'][1]['topic'] is None and body['explanations'][1]['reason'] == 'no text for mode 3'
        for e, x in zip(body['explanations'], expected):
            assert (e['topic'], e['target'], e['text'], e['words_read']) == (x['topic'], x['target'], x['text'],
                                                                             x['words_read'])
            if x['topic'] is not None:
                assert e['method'] == 'occlusion' and len(e['attributions']) == len(e['words'])
                assert e['attributions'] == pytest.approx(x['attributions'], abs=1e-6)
                assert e['probabilities'] == pytest.approx(x['probabilities'], abs=1e-6)
                assert (e['target'] == 'economy') == (target == 'economy')


@pytest.mark.parametrize('payload, status, field, phrase', [
    ({'articles': [{'title': '경제'}], 'target': 'weather'}, 422, 'target', 'Input should be'),
    ({'articles': [{'title': '경제'}], 'steps': 0}, 422, 'steps', 'greater than or equal to 1'),
    ({'articles': [{'title': '경제'}], 'steps': 201}, 422, 'steps', 'at most 200 on this server'),
    ({'articles': [{'title': '경제'}], 'steps': '8'}, 422, 'steps', 'valid integer'),
    ({'articles': [{'title': '경제'}], 'baseline': 'mask'}, 422, 'baseline', 'Extra inputs'),
    ({'articles': []}, 422, 'articles', 'at least 1'),
    ({'articles': [{'title': '경제'}] * 5}, 413, None, '5 articles to explain in one request; the limit is 4'),
])
def test_explain_bad_requests(server, payload, status, field, phrase):
    body = assert_error(server.post(payload, path='/explain'), status, phrase)
    assert body.get('field') == field


def test_one_explanation_at_a_time_and_a_gone_client_stops_it(long_reader):
    """A long explanation in flight (a 512-token reader: seconds per article): another is refused with
    503 and Retry-After, /predict is still answered (between two of its articles), and when its
    client leaves it stops after the article in progress."""
    s = Served(long_reader)
    try:
        before = s.stats()
        with explanation_in_flight(s, articles=4, sentences=25):
            busy = s.post({'articles': [{'title': '경제'}]}, path='/explain')
            assert_error(busy, 503, 'busy with another explanation')
            assert busy.headers['Retry-After'].isdigit()
            assert s.post({'articles': [{'title': '경제'}]}).status_code == 200
            assert s.info()['explaining']
        after = s.stats()
        # Jobs: the predict, and the articles the model took up before the client left: not all 4.
        assert after['accepted'] - before['accepted'] - 1 < 4
        ok = s.post({'articles': [{'title': '경제'}]}, path='/explain')
        assert ok.status_code == 200 and ok.json()['explanations'][0]['method'] == 'occlusion'
    finally:
        code, log = s.stop()
    assert code == 0 and 'Traceback' not in log, log


# ---------------------------------------------------------------- int8: the batch command's numbers

def test_int8_answers_equal_the_batch_command(tiny, tmp_path, call):
    out = tmp_path / 'batch.csv'
    r = call('predict', '--model_dir', tiny[1], '--data_path', SAMPLE, '--save_path', out, '--precision', 'int8')
    assert r.returncode == 0, r.stderr
    batch = pd.read_csv(str(out), encoding='utf-8-sig')
    s = Served(tiny[1], '--precision', 'int8')
    try:
        info = s.info()
        assert (info['precision'], info['model_file']) == ('int8', 'model_int8.onnx')
        got = s.post({'articles': sample_articles()}).json()['predictions']
        assert [g['topic'] for g in got] == batch['predicted'].tolist()
        assert np.abs(np.array([g['probability'] for g in got]) - batch['probability'].values).max() < 1e-5
        with open(SAMPLE, 'rb') as f:
            csv = requests.post(s.url('/predict/csv'), files={'file': ('sample.csv', f)}, timeout=TIMEOUT)
        assert csv.content == out.read_bytes()
    finally:
        code, log = s.stop()
    assert code == 0 and 'Traceback' not in log, log


# ---------------------------------------------------------------- a large CSV beside a headline

def headline_csv(tmp_path, rows):
    """A CSV of rows real headlines (the sample's titles, repeated)."""
    titles = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)['title']
    path = tmp_path / ('headlines-%d.csv' % rows)
    pd.DataFrame({'title': [titles[i % len(titles)] for i in range(rows)], 'cleanBody': ''}).to_csv(
        str(path), index=False)
    return path


def test_csv_rows_are_bounded_and_a_large_csv_does_not_starve_a_headline(tiny, tmp_path, call):
    """--max_csv_rows 5120: one row more is 413. A 5,120-row upload runs 1,024 rows at a time: a
    headline sent meanwhile is answered between two blocks, not after the whole file; the file is
    still the batch command's, byte for byte."""
    s = Served(tiny[1], '--max_csv_rows', 5120)
    try:
        with open(str(headline_csv(tmp_path, 5121)), 'rb') as f:
            r = requests.post(s.url('/predict/csv'), files={'file': ('big.csv', f)}, timeout=TIMEOUT)
        assert_error(r, 413, '5121 rows', 'limit is 5120', '--max_csv_rows')
        path = headline_csv(tmp_path, 5120)
        before = s.stats()['accepted']
        got = {}

        def upload():
            with open(str(path), 'rb') as f:
                got['csv'] = requests.post(s.url('/predict/csv'), files={'file': ('big.csv', f)}, timeout=TIMEOUT)
            got['csv_done'] = time.monotonic()

        thread = threading.Thread(target=upload)
        start = time.monotonic()
        thread.start()
        from tests.served import wait_for
        wait_for(lambda: s.stats()['accepted'] > before)  # the file's first block is with the model
        sent = time.monotonic()
        small = s.post({'articles': [{'title': '코스피 2600 회복'}]})
        waited = time.monotonic() - sent
        thread.join(TIMEOUT)
        assert small.status_code == 200 and got['csv'].status_code == 200, got['csv'].text
        assert waited < 0.6 * (got['csv_done'] - start), (waited, got['csv_done'] - start)
    finally:
        code, log = s.stop()
    assert code == 0 and 'Traceback' not in log, log
    out = tmp_path / 'batch.csv'
    assert call('predict', '--model_dir', tiny[1], '--data_path', path, '--save_path', out).returncode == 0
    assert got['csv'].content == out.read_bytes()
