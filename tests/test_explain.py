"""Integrated gradients (kobert_gluon.attribution) and kobert-news explain, on real tiny weights and KoBERT's
real vocabulary: pieces summed back to words, completeness, targets, modes 4 and 5, the report."""
import json
import os

import numpy as np
import pandas as pd
import pytest

from kobert_base.errors import UserError
from kobert_base.topics import TOPICS
from tests.conftest import ROOT, YNAT, make_weight

SAMPLE = os.path.join(ROOT, 'data', 'sample.csv')
HEADLINE = '美 연준, 기준금리 0.25%p 인상…"물가 잡겠다"'


@pytest.fixture(scope='module')
def explainer(tiny_weight, kobert_home):
    from kobert_gluon.attribution import IntegratedGradients
    return IntegratedGradients.from_weight(tiny_weight, kobert_home)


def rebuilt_ids(tokenizer, text, max_len):
    from kobert_gluon.attribution import word_pieces
    _, pieces = word_pieces(tokenizer, text, max_len - 2)
    return tokenizer.vocab[['[CLS]'] + [p for own in pieces for p in own] + ['[SEP]']]


def test_word_pieces_are_the_words_own(tokenizer):
    from kobert_gluon.attribution import word_pieces
    words, pieces = word_pieces(tokenizer, '한국어 모델을 공유합니다.', 100)
    assert words == ['한국어', '모델을', '공유합니다.']
    assert pieces[2][-2:] == ['▁', '.']  # the punctuation split gives a lone '▁': it belongs to its word
    assert rebuilt_ids(tokenizer, '한국어 모델을 공유합니다.', 128) == [2, 4958, 6855, 2046, 7088, 1050, 7843, 517, 54, 3]
    words, pieces = word_pieces(tokenizer, HEADLINE + ' ' + '다음 ' * 50, 12)
    assert len(words) == 56 and sum(map(len, pieces)) == 12 and len(pieces) < len(words)


def test_word_pieces_rebuild_main_pys_input(tokenizer):
    """The explained input is exactly what main.py feeds the model, cut-offs included."""
    from preprocess import NewsProcessor
    texts = NewsProcessor(3).texts(pd.read_csv(SAMPLE)) + [HEADLINE, '(서울=연합뉴스) 北, 동해상으로 탄도미사일 발사…합참 "추가 도발 대비"']
    if os.path.isfile(YNAT):
        texts += list(pd.read_csv(YNAT)['title'][::12])
    for text in texts:
        for max_len in (16, 64, 128):
            assert rebuilt_ids(tokenizer, text, max_len) == list(tokenizer.encode(text, max_len)), text


def test_probabilities_are_the_predictors(explainer, tiny_weight, kobert_home):
    from kobert_gluon.predictor import Predictor
    from preprocess import NewsProcessor
    texts = NewsProcessor(3).texts(pd.read_csv(SAMPLE).head(4))
    out = explainer.explain(texts, steps=2)
    probs = Predictor.from_weight(tiny_weight, kobert_home).predict_proba(texts)
    np.testing.assert_allclose(np.stack([e.probs for e in out]), probs, atol=1e-5)
    assert [e.target for e in out] == list(probs.argmax(axis=1))


def test_completeness_tightens_with_steps(explainer):
    """The attributions add up to the target logit's change from the baseline, to within what the
    number of steps allows: one point is a rough midpoint rule, 16 and 50 Gauss-Legendre points exact
    to float32 rounding."""
    errors = {steps: explainer.explain([HEADLINE], steps=steps)[0].completeness_error for steps in (1, 4, 16, 50)}
    tolerance = {1: 1.0, 4: 1e-2, 16: 1e-4, 50: 1e-4}
    assert all(errors[s] < tolerance[s] for s in errors), errors
    assert errors[1] > 1e-3 and errors[4] < errors[1]  # the check can fail: few steps are inexact


def test_words_attributions_and_unread_words(explainer, tokenizer):
    from kobert_gluon.attribution import IntegratedGradients
    short = IntegratedGradients(explainer.net, tokenizer, explainer.meta, max_len=10)
    text = HEADLINE + '  \n 그리고   ' + '다음 날 ' * 30
    e, = short.explain([text], steps=16)
    assert e.words == text.split() and ' '.join(e.words) == ' '.join(text.split())
    assert len(e.attributions) == len(e.words) and len(e.pieces) == 8  # max_len 10: 8 pieces read
    assert e.words_read < len(e.words) and not e.attributions[e.words_read:].any()
    assert e.attributions[:e.words_read].sum() == pytest.approx(sum(a for _, a in e.pieces), abs=1e-6)
    assert e.completeness_error < 1e-4
    d = e.to_dict(explainer.topics)
    assert set(d) >= {'text', 'topic', 'probability', 'words', 'attributions'}
    assert d['topic'] == TOPICS[int(np.argmax(e.probs))] and sum(d['probabilities'].values()) == pytest.approx(1)


def test_target_topic_and_baselines(explainer):
    default, = explainer.explain([HEADLINE], steps=8)
    other = TOPICS[(default.target + 1) % len(TOPICS)]
    asked, = explainer.explain([HEADLINE], target=other, steps=8)
    assert asked.target == TOPICS.index(other) and not np.allclose(asked.attributions, default.attributions)
    masked, = explainer.explain([HEADLINE], steps=8, baseline='mask')
    assert not np.allclose(masked.attributions, default.attributions) and masked.completeness_error < 1e-3
    assert explainer.explain([HEADLINE], steps=8)[0].attributions.tolist() == default.attributions.tolist()
    for bad in ({'target': 'weather'}, {'steps': 0}, {'steps': 1001}, {'baseline': 'zero'}):
        with pytest.raises(UserError):
            explainer.explain([HEADLINE], **bad)


def test_known_topics_only(tmp_path, tokenizer, kobert_home):
    from kobert_gluon.attribution import IntegratedGradients
    seven = make_weight(tmp_path / 'seven.params', tokenizer, mode=2, topics=[t for t in TOPICS if t != 'entertain'])
    with pytest.raises(UserError, match="unknown target topic 'entertain': this weight knows international"):
        IntegratedGradients.from_weight(seven, kobert_home).explain([HEADLINE], target='entertain')


@pytest.mark.parametrize('mode', [4, 5])
def test_cluster_modes(tmp_path, mode, tokenizer, kobert_home):
    """Mode 4 explains the cluster id written in front of the text; mode 5 adds its cluster vector
    at [CLS] on both ends of the path, so the words still account for the whole change."""
    from kobert_gluon.attribution import IntegratedGradients
    from kobert_gluon.predictor import Predictor
    path = make_weight(tmp_path / 'm.params', tokenizer, mode=mode, max_len=32, seed=mode)
    texts = ['기사제목:: %s      기사본문: 물가를 잡겠다.' % HEADLINE, '기사제목:: 손흥민 시즌 10호골      기사본문: ']
    out = IntegratedGradients.from_weight(path, kobert_home, cache_dir=tmp_path / 'cache').explain(texts, steps=16)
    predictor = Predictor.from_weight(path, kobert_home, cache_dir=tmp_path / 'cache')
    probs, clusters = predictor.predict_articles(texts)
    np.testing.assert_allclose(np.stack([e.probs for e in out]), probs, atol=1e-5)
    for e, c in zip(out, clusters):
        assert e.completeness_error < 1e-4
        assert (e.words[:2] == ['군집', str(c)]) == (mode == 4)


# ---------------------------------------------------------------- kobert-news explain

@pytest.fixture(scope='module')
def small_csv(tmp_path_factory):
    df = pd.read_csv(SAMPLE).head(4)
    df.loc[1, 'title'] = '<img src=x onerror="document.title=\'pwned\'"> 경제 & 증시'
    df.loc[2, ['title', 'cleanBody']] = ''  # a row without text
    path = tmp_path_factory.mktemp('explain') / 'in.csv'
    df.to_csv(path, index=False)
    return path


def test_json_output(tmp_path, small_csv, tiny_weight, call):
    out = tmp_path / 'out.json'
    r = call('explain', '--gluon_weight_path', tiny_weight, '--data_path', small_csv, '--save_path', out,
             '--steps', 4)
    assert r.returncode == 0, r.stderr
    assert 'warning: 1 row(s)' in r.stderr and 'record 3' in r.stderr
    rows = json.loads(out.read_text(encoding='utf-8'))
    src = pd.read_csv(small_csv, keep_default_na=False)
    assert len(rows) == len(src)
    assert rows[2]['topic'] is None and rows[2]['words'] == [] and 'no text' in rows[2]['reason']
    for row, (_, article) in zip(rows, src.iterrows()):
        if row['topic'] is None:
            continue
        assert row['text'] == '기사제목:: %s      기사본문: %s' % (article['title'], article['cleanBody'])
        assert ' '.join(row['words']) == ' '.join(row['text'].split())
        assert len(row['attributions']) == len(row['words']) and row['topic'] in TOPICS
        assert 0 < row['probability'] <= 1 and row['target'] == row['topic']
    again = tmp_path / 'again.json'
    assert call('explain', '--gluon_weight_path', tiny_weight, '--data_path', small_csv, '--save_path', again,
                '--steps', 4).returncode == 0
    assert again.read_bytes() == out.read_bytes()  # same input, same numbers


def test_html_report_in_a_browser(tmp_path, small_csv, tiny_weight, call, browser):
    out = tmp_path / 'report.html'
    r = call('explain', '--gluon_weight_path', tiny_weight, '--data_path', small_csv, '--save_path', out,
             '--steps', 4, '--target', 'economy')
    assert r.returncode == 0, r.stderr
    page = out.read_text(encoding='utf-8')
    assert '<script' not in page and 'http://' not in page and 'https://' not in page  # nothing from outside
    assert '&lt;img' in page and '<img' not in page and '>&amp;<' in page
    browser.get(out.as_uri())
    assert browser.title == 'Why this topic?'  # the title's markup stayed text
    assert len(browser.find_elements('css selector', 'article')) == 4
    assert 'onerror' in browser.find_elements('css selector', 'article')[1].text
    for article in browser.find_elements('css selector', 'article')[:2]:  # topic, bars, words, note
        head, note = article.find_element('tag name', 'h2').text, article.find_element('css selector', 'p.note').text
        assert ('words shaded for 경제 (economy)' in note) == ('(economy)' not in head)
        assert len(article.find_elements('css selector', '.bars .track')) == 8
    faces = browser.execute_async_script("const done = arguments[0]; document.fonts.ready.then(() => done("
                                         "Array.from(document.fonts).filter(f => f.status === 'loaded')"
                                         ".map(f => f.family)));")
    assert faces == ['"KoNews Hangul"'] or faces == ['KoNews Hangul']  # Hangul from the embedded font
    from tests.browser import full_page_screenshot
    assert full_page_screenshot(browser, tmp_path / 'report.png').read_bytes()[:4] == b'\x89PNG'


def test_printed_lines_and_bad_input(tmp_path, small_csv, tiny_weight, call):
    r = call('explain', '--gluon_weight_path', tiny_weight, '--data_path', small_csv, '--steps', 2, '--mode', 2)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 4 and all(l.startswith('Predicted news topic: ') for l in lines)
    assert 'most for' in lines[0] and 'record 3 | no text for mode 2' in lines[2]
    empty = tmp_path / 'empty.csv'
    pd.DataFrame({'title': ['', ' '], 'cleanBody': ['', '']}).to_csv(empty, index=False)
    for args, phrase in (((('--data_path', empty)), 'no row of'),
                         (('--data_path', small_csv, '--target', 'weather'), 'invalid choice'),
                         (('--data_path', small_csv, '--format', 'parquet'), "choose from 'html', 'json'"),
                         (('--data_path', small_csv, '--steps', 0), '--steps must be at least 1'),
                         (('--data_path', small_csv, '--save_path', small_csv), 'is the input'),
                         (('--data_path', tmp_path / 'missing.csv'), 'no such CSV file')):
        r = call('explain', '--gluon_weight_path', tiny_weight, *args)
        assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith('error: ') and phrase in r.stderr, \
            r.stderr
        assert 'Traceback' not in r.stderr


def test_root_script_runs(tmp_path, small_csv, tiny_weight):
    from tests.conftest import run_script
    out = tmp_path / 'o.json'
    r = run_script('explain', '--gluon_weight_path', tiny_weight, '--data_path', small_csv, '--mode', 2,
                   '--steps', 1, '--save_path', out, timeout=300)
    assert r.returncode == 0, r.stderr
    assert len(json.loads(out.read_text(encoding='utf-8'))) == 4


def test_blank_lines_and_invisible_text_keep_their_records(tmp_path, tiny_weight, call):
    """A one-column CSV with blank lines and a title of invisible characters: every record kept,
    the empty ones unexplained and named in the warning, as main.py does."""
    path, out = tmp_path / 'titles.csv', tmp_path / 'out.json'
    path.write_text('title\n손흥민 시즌 10호골\n\n\u200b\ufeff\x01\n\n코스피 2600 회복\n', encoding='utf-8')
    r = call('explain', '--gluon_weight_path', tiny_weight, '--data_path', path, '--mode', 2, '--save_path', out,
             '--steps', 2)
    assert r.returncode == 0, r.stderr
    assert 'warning: 3 row(s) of %s have no text: left unexplained (record 2, 3, 4)' % path in r.stderr
    rows = json.loads(out.read_text(encoding='utf-8'))
    assert [row['topic'] is None for row in rows] == [False, True, True, True, False]
    assert rows[4]['words'] == ['코스피', '2600', '회복']


def test_next_line_character_is_read_as_main_py_reads_it(explainer, tiny_weight, kobert_home):
    """U+0085 (NEL) is whitespace to str.split but a dropped control character to the tokenizer:
    the explained words and probabilities are those of the text main.py classifies."""
    from kobert_gluon.predictor import Predictor
    from preprocess import NewsProcessor
    article = {'title': '손흥민\x85시즌 10호골\x85토트넘\x1c3연승', 'body': '경기\x85결과'}
    text = NewsProcessor(3).text(article['title'], article['body'])
    (result,) = explainer.results([text], steps=2)
    probs = Predictor.from_weight(tiny_weight, kobert_home).predict_proba([text])[0]
    assert ' '.join(result['words']) == '기사제목:: 손흥민시즌 10호골토트넘3연승 기사본문: 경기결과'
    np.testing.assert_allclose([result['probabilities'][t] for t in TOPICS], probs, atol=1e-5)


@pytest.mark.parametrize('encoding', ['utf-16', 'rot13', 'hex'])
def test_an_encoding_that_does_not_fit_is_one_line(tmp_path, tiny_weight, call, encoding):
    r = call('explain', '--gluon_weight_path', tiny_weight, '--data_path', SAMPLE, '--encoding', encoding,
             '--save_path', tmp_path / 'out.json')
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith('error: ') and '--encoding' in r.stderr
    assert os.listdir(str(tmp_path)) == []
