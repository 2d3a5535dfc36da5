"""Word occlusion (kobert_news.explain) on the Gluon predictor, with real weights (the shipped one and
a tiny one), KoBERT's real vocabulary and real headlines: each word's attribution is the drop of the
topic's probability without it, the inputs are the text's own tokens, long texts are cut, modes 4
and 5, kobert-news explain --method occlusion and the report. The ONNX Runtime side: tests/deploy/test_explain.py."""
import json
import os

import numpy as np
import pandas as pd
import pytest

from kobert_base.errors import UserError
from tests.conftest import HEADLINES, ROOT, headlines, make_weight

DEFAULT_WEIGHT = os.path.join(ROOT, 'weights', 'kobert-news-small-ynat.pth')


@pytest.fixture(scope='module')
def shipped(kobert_home):
    from kobert_gluon.predictor import Predictor
    return Predictor.from_weight(DEFAULT_WEIGHT, kobert_home)


@pytest.fixture(scope='module')
def tiny(tiny_weight, kobert_home):
    from kobert_gluon.predictor import Predictor
    return Predictor.from_weight(tiny_weight, kobert_home)


def deleted(text, i):
    words = text.split()
    return ' '.join(words[:i] + words[i + 1:])


@pytest.mark.parametrize('which', ['shipped', 'tiny'])
def test_top_word_is_the_one_whose_deletion_lowers_the_topic_most(which, request):
    """With the 'remove' baseline, each word's attribution is the predicted topic's probability
    minus its probability once the word is deleted from the text (predicted as main.py predicts
    the shorter text), so the top word is the word whose deletion costs the topic most."""
    from kobert_news.explain.occlusion import Occlusion
    predictor = request.getfixturevalue(which)
    texts = headlines(24, 250)
    found = Occlusion(predictor).explain(texts, baseline='remove')
    for text, e in zip(texts, found):
        words = text.split()
        probs = predictor.predict_proba([text] + [deleted(text, i) for i in range(len(words))])
        np.testing.assert_allclose(e.probs, probs[0], atol=1e-5)
        assert e.target == int(np.argmax(probs[0])) and e.words == words and e.words_read == len(words)
        drops = probs[0, e.target] - probs[1:, e.target]
        np.testing.assert_allclose(e.attributions, drops, atol=1e-5)
        assert drops[int(np.argmax(e.attributions))] >= drops.max() - 1e-5
    spread = [np.ptp(e.attributions) for e in found]
    assert max(spread) > (0.05 if which == 'shipped' else 1e-4)  # the words do not all count the same


@pytest.mark.parametrize('baseline', ['mask', 'pad'])
def test_mask_and_pad_replace_exactly_the_words_tokens(shipped, baseline):
    """[MASK]/[PAD] stand in for each of a word's tokens, found independently here: a word's tokens
    are those the text's tokenization adds after the words before it."""
    from kobert_news.explain.occlusion import Occlusion
    tok = shipped.tokenizer
    token = tok.vocab['[MASK]' if baseline == 'mask' else '[PAD]']
    texts = headlines(8, 250)
    found = Occlusion(shipped).explain(texts, baseline=baseline)
    for text, e in zip(texts, found):
        words, ids = text.split(), list(tok.encode(text, shipped.max_len))
        copies = []
        for i in range(len(words)):  # [CLS] + the tokens of the words before it, then its own
            start, end = (len(tok.encode(' '.join(words[:j]), shipped.max_len)) - 1 for j in (i, i + 1))
            copies.append(ids[:start] + [token] * (end - start) + ids[end:])
        probs = shipped.predict_ids([ids] + copies)
        np.testing.assert_allclose(e.attributions, probs[0, e.target] - probs[1:, e.target], atol=1e-5)
    other = Occlusion(shipped).explain(texts[:1], baseline='remove')[0]
    assert not np.allclose(other.attributions, found[0].attributions)


def test_long_text_is_cut_at_max_len_in_one_batched_call(tiny):
    """A 5,500-word article at max_len 64: 62 tokens read, one input per word read and the article,
    all in one call of the engine; the words past max_len get 0."""
    from kobert_news.explain.occlusion import Occlusion

    class Counted:  # the real predictor; the calls it gets are counted
        def __init__(self, engine):
            self.engine, self.calls = engine, []

        def __getattr__(self, name):
            return getattr(self.engine, name)

        def predict_ids(self, ids, clusters=None):
            self.calls.append([len(x) for x in ids])
            return self.engine.predict_ids(ids, clusters)
    engine = Counted(tiny)
    text = ' '.join(HEADLINES * 250)
    e, = Occlusion(engine).explain([text], baseline='remove')
    assert len(e.words) == 5500 and 10 < e.words_read < 62
    assert len(engine.calls) == 1 and len(engine.calls[0]) == e.words_read + 1 and max(engine.calls[0]) == 64
    assert not e.attributions[e.words_read:].any() and e.attributions[:e.words_read].any()
    np.testing.assert_allclose(e.probs, tiny.predict_proba([text])[0], atol=1e-5)


def test_targets_bad_input_and_no_text(shipped):
    from kobert_news.explain import for_engine
    explainer = for_engine(shipped, 'occlusion')
    got = explainer.results(['', HEADLINES[1]], target='sport', baseline='mask', text_mode=2)
    assert got[0]['topic'] is None and got[0]['reason'] == 'no text for mode 2'
    assert got[1]['topic'] == 'economy' and got[1]['target'] == 'sport'
    assert got[1]['method'] == 'occlusion' and got[1]['baseline'] == 'mask' and 'logit_change' not in got[1]
    assert explainer.results([HEADLINES[1]], baseline='mask')[0]['target'] == 'economy'
    for bad, phrase in (({'target': 'weather'}, 'unknown target topic'), ({'baseline': 'zero'}, 'must be one of')):
        with pytest.raises(UserError, match=phrase):
            explainer.results([HEADLINES[0]], **bad)
    with pytest.raises(UserError, match='must be one of occlusion, integrated_gradients'):
        for_engine(shipped, 'saliency')


@pytest.mark.parametrize('mode', [4, 5])
def test_cluster_modes(tmp_path, mode, tokenizer, kobert_home):
    """Mode 4's cluster id is words of the text, occluded like any other; mode 5's cluster vector is
    the article's in every copy: the article's probabilities are predict_articles'."""
    from kobert_gluon.predictor import Predictor
    from kobert_news.explain.occlusion import Occlusion
    path = make_weight(tmp_path / 'm.params', tokenizer, mode=mode, seed=mode)
    predictor = Predictor.from_weight(path, kobert_home, cache_dir=tmp_path / 'cache')
    texts = ['기사제목:: %s      기사본문: 물가를 잡겠다.' % HEADLINES[2], '기사제목:: 손흥민 시즌 10호골      기사본문: ']
    out = Occlusion(predictor).explain(texts)
    probs, clusters = predictor.predict_articles(texts)
    np.testing.assert_allclose(np.stack([e.probs for e in out]), probs, atol=1e-5)
    for e, c in zip(out, clusters):
        assert (e.words[:2] == ['군집', str(c)]) == (mode == 4) and e.words_read == len(e.words)
        assert e.attributions.any()


def test_python_api_explains_by_either_method(shipped, kobert_home):
    import kobert_news
    clf = kobert_news.load(DEFAULT_WEIGHT, kobert_dir=kobert_home)
    article = [{'title': HEADLINES[0]}]
    occluded, = clf.explain(article, method='occlusion')
    integrated, = clf.explain(article, steps=4)
    assert (occluded['method'], occluded['baseline']) == ('occlusion', 'remove')
    assert (integrated['method'], integrated['baseline']) == ('integrated_gradients', 'pad')
    assert occluded['words'] == integrated['words'] == HEADLINES[0].split()
    assert occluded['topic'] == integrated['topic'] == 'sport'
    assert abs(occluded['probability'] - integrated['probability']) < 1e-5
    with pytest.raises(UserError, match='integrated gradients baseline must be one of pad, mask'):
        clf.explain(article, baseline='remove')


# ---------------------------------------------------------------- kobert-news explain --method occlusion

def test_explain_py_by_occlusion(tmp_path, call, browser):
    src = tmp_path / 'in.csv'
    pd.DataFrame({'title': HEADLINES[:2] + ['', HEADLINES[2]]}).to_csv(src, index=False)
    out = tmp_path / 'out.json'
    r = call('explain', '--method', 'occlusion', '--data_path', src, '--save_path', out, '--baseline', 'mask')
    assert r.returncode == 0, r.stderr
    assert 'record 3' in r.stderr
    rows = json.loads(out.read_text(encoding='utf-8'))
    assert [r['topic'] for r in rows] == ['sport', 'economy', None, 'international']
    assert all(r['method'] == 'occlusion' and r['baseline'] == 'mask' for r in rows if r['topic'])
    report = tmp_path / 'why.html'
    assert call('explain', '--method', 'occlusion', '--data_path', src, '--save_path', report).returncode == 0
    browser.get(report.as_uri())
    assert 'word occlusion' in browser.find_element('css selector', 'p.legend').text
    notes = [a.find_element('css selector', 'p.note').text for a in browser.find_elements('css selector', 'article')
             if a.find_elements('css selector', 'p.note')]
    assert len(notes) == 3 and all("drop in the topic's probability when it is removed" in n for n in notes)
    printed = call('explain', '--method', 'occlusion', '--data_path', src)
    assert printed.stdout.splitlines()[0].startswith('Predicted news topic: sport (') and 'most for sport' in \
        printed.stdout
    for args, phrase in ((('--baseline', 'remove'), 'the integrated gradients baseline must be one of pad, mask'),
                         (('--method', 'saliency'), 'invalid choice'),
                         (('--method', 'occlusion', '--target', 'weather'), 'invalid choice')):
        r = call('explain', '--data_path', src, *args)
        assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith('error: ') and phrase in r.stderr, \
            r.stderr
        assert 'Traceback' not in r.stderr
