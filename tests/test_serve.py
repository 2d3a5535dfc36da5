"""kobert-news serve, the Gluon server (MXNet, a weight file), as a user runs it: the real server in its own
process on a free loopback port, with a tiny real weight. The app is the deploy server's, whose
routes, limits and page the deploy suite tests (tests/deploy); here what is the Gluon engine's own:
it starts and describes its weight, its answers are main.py's (every precision) and kobert-news explain's
(integrated gradients), and SIGTERM under load loses nothing."""
import json
import os
import socket

import numpy as np
import pandas as pd
import pytest
import requests

from tests.conftest import needs_kobert
from tests.served import (LONG_BODY, SAMPLE, TIMEOUT, Served, assert_error, assert_same, concurrently,
                          explanation_in_flight, sample_articles, sigterm_under_load, stopped_counts)

pytestmark = needs_kobert


@pytest.fixture(scope='module')
def server(tiny_weight):
    s = Served(tiny_weight, '--max_batch', 8, '--max_wait_ms', 50, '--max_explain_articles', 4)
    yield s
    code, log = s.stop()
    assert code == 0 and 'Traceback' not in log, log
    stopped_counts(log)


@pytest.fixture(scope='module')
def pipeline(tiny_weight, kobert_home):
    from kobert_base.options import PredictOptions
    from kobert_news.pipeline import Pipeline
    return Pipeline.load(PredictOptions(gluon_weight_path=tiny_weight, kobert_dir=kobert_home))


def test_starts_and_describes_its_weight(server, tiny_weight):
    from kobert_gluon.weights import weight_md5
    first = server.first_health
    assert first.status_code == 503 and first.json()['status'] == 'loading'
    assert requests.get(server.url('/health'), timeout=TIMEOUT).json() == {'status': 'ready'}
    text = requests.get(server.url('/info'), timeout=TIMEOUT).text
    info = json.loads(text)
    assert (info['engine'], info['weight'], info['md5']) == ('gluon', os.path.basename(tiny_weight),
                                                           weight_md5(tiny_weight))
    assert info['explain_method'] == 'integrated_gradients' and info['mode'] == 3 and info['precision'] == 'fp32'
    assert os.path.dirname(tiny_weight) not in text


def test_predict_equals_main_py(server, pipeline, tiny_weight, tmp_path, call):
    """Concurrent clients get the predictor's numbers for their own articles, in order; a CSV upload
    is main.py's output file, byte for byte."""
    articles = sample_articles()
    sent = [articles[i:i + 1 + i % 3] for i in range(0, 24, 2)]
    sent[3] = sent[3] + [{'title': '', 'body': '  '}, {'title': '대통령 신년 기자회견', 'body': LONG_BODY}]
    for mine, r in zip(sent, concurrently(server, [{'articles': a, 'top_k': 3} for a in sent])):
        assert r.status_code == 200, r.text
        assert r.json()['model']['engine'] == 'gluon'
        assert_same(r.json()['predictions'], mine, pipeline)
    out = tmp_path / 'main.csv'
    assert call('predict', '--gluon_weight_path', tiny_weight, '--data_path', SAMPLE, '--save_path', out).returncode == 0
    with open(SAMPLE, 'rb') as f:
        got = requests.post(server.url('/predict/csv'), files={'file': ('sample.csv', f)}, timeout=TIMEOUT)
    assert got.status_code == 200 and got.content == out.read_bytes()


def test_explain_equals_explain_py_one_at_a_time(server, tiny_weight, tmp_path, call):
    """/explain answers what kobert-news explain --format json writes (integrated gradients: the same words,
    attributions, probabilities); while a long one is in flight another is refused with 503."""
    df = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False).head(3)
    df.loc[1, ['title', 'cleanBody']] = ''
    src, out = tmp_path / 'in.csv', tmp_path / 'why.json'
    df.to_csv(str(src), index=False)
    articles = [{'title': t, 'body': b} for t, b in zip(df['title'], df['cleanBody'])]
    r = call('explain', '--gluon_weight_path', tiny_weight, '--data_path', src, '--save_path', out, '--steps', 8,
             '--target', 'economy')
    assert r.returncode == 0, r.stderr
    expected = json.loads(out.read_text(encoding='utf-8'))
    got = server.post({'articles': articles, 'steps': 8, 'target': 'economy'}, path='/explain')
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body['method'], body['steps']) == ('integrated_gradients', 8)
    assert body['explanations'][1]['reason'] == 'no text for mode 3'
    for e, x in zip(body['explanations'], expected):
        assert (e['topic'], e['target'], e['text'], e['words'], e['words_read']) == (
            x['topic'], x['target'], x['text'], x['words'], x['words_read'])
        if x['topic'] is not None:  # equal here; float32 rounding allowed for other thread counts
            assert e['attributions'] == pytest.approx(x['attributions'], rel=1e-6, abs=1e-9)
            assert e['probabilities'] == pytest.approx(x['probabilities'], rel=1e-6)
    with explanation_in_flight(server, articles=4, steps=200):
        assert_error(server.post({'articles': [{'title': '경제'}], 'steps': 2}, path='/explain'), 503,
                     'busy with another explanation')


@pytest.mark.parametrize('precision', ['int8', 'bf16'])
def test_reduced_precision_answers_equal_main_py(precision, tiny_weight, tmp_path, call):
    """Calibrated on the same texts (--calib_path), the server's int8 and bf16 are main.py's."""
    from kobert_gluon.precision import effective
    if effective(precision) != precision:
        pytest.skip('this CPU has no %s support' % precision)
    common = ['--precision', precision, '--calib_path', SAMPLE, '--cache_dir', tmp_path / 'cache']
    out = tmp_path / 'main.csv'
    r = call('predict', '--gluon_weight_path', tiny_weight, '--data_path', SAMPLE, '--save_path', out, *common)
    assert r.returncode == 0, r.stderr
    main_out = pd.read_csv(str(out), encoding='utf-8-sig')
    s = Served(tiny_weight, *common)
    try:
        assert s.info()['precision'] == precision
        got = s.post({'articles': sample_articles()}).json()['predictions']
        assert [g['topic'] for g in got] == main_out['predicted'].tolist()
        assert np.abs(np.array([g['probability'] for g in got]) - main_out['probability'].values).max() < 1e-5
    finally:
        code, log = s.stop()
    assert code == 0, log


def test_sigterm_under_load_loses_no_accepted_request(tiny_weight, pipeline):
    sigterm_under_load(Served(tiny_weight, '--max_batch', 8), pipeline)


def test_command_line_errors_are_one_line(call, tiny_weight, tmp_path):
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        cases = [(['--gluon_weight_path', tmp_path / 'none.pth'], 'no weight file'),
                 (['--gluon_weight_path', tiny_weight, '--calib_path', tmp_path / 'none.csv'], 'no such CSV'),
                 (['--gluon_weight_path', tiny_weight, '--port', port], 'cannot listen on 127.0.0.1:%d' % port)]
        for args, phrase in cases:
            r = call('serve', *args)
            assert r.returncode == 2 and r.stderr.startswith('error: ') and phrase in r.stderr, r.stderr
            assert 'Traceback' not in r.stderr


def test_the_served_font_is_what_the_font_package_makes():
    """kobert_news/web/fonts/NanumGothic.woff, shipped with the page, is NanumGothic as fontTools makes
    it from the pinned koreanize-matplotlib (redo it with kobert_news.reports.fonts.write_web_font)."""
    from kobert_news.reports.fonts import WEB_FONT, web_font
    with open(WEB_FONT, 'rb') as f:
        assert f.read() == web_font()
