"""Length-bucketed batched prediction."""
import json

import mxnet as mx
import numpy as np
import pandas as pd
import pytest

from kobert_base.errors import UserError
from kobert_gluon import model
from kobert_gluon.predictor import Predictor
from tests.conftest import ROOT, make_weight


@pytest.fixture(scope='module')
def sample_texts():
    df = pd.read_csv(ROOT + '/data/sample.csv')
    return [t + ' ' + b for t, b in zip(df['title'], df['cleanBody'])]


def test_bucketed_equals_fixed_length_padding(tiny_weight, kobert_home, sample_texts):
    predictor = Predictor.from_weight(tiny_weight, kobert_home, max_len=64, batch_size=5)
    texts = sample_texts + ['짧은 제목', '']
    probs = predictor.predict_proba(texts)
    assert probs.shape == (len(texts), 8)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    # Reference: each text alone, padded to max_len as the original did.
    net, _ = model.load(tiny_weight)
    for i, text in enumerate(texts):
        ids = predictor.tokenizer.encode(text, 64)
        padded = np.full((1, 64), predictor.tokenizer.pad_id, dtype=np.float32)
        padded[0, :len(ids)] = ids
        x = mx.nd.array(padded)
        ref = mx.nd.softmax(net(x, mx.nd.zeros_like(x), mx.nd.array([len(ids)]))).asnumpy()[0]
        np.testing.assert_allclose(probs[i], ref, rtol=1e-4, atol=1e-5)


def test_batch_size_does_not_change_results(tiny_weight, kobert_home, sample_texts):
    a = Predictor.from_weight(tiny_weight, kobert_home, batch_size=1).predict_proba(sample_texts)
    b = Predictor.from_weight(tiny_weight, kobert_home, batch_size=32).predict_proba(sample_texts)
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_weight_meta_sets_defaults(tiny_weight, kobert_home):
    p = Predictor.from_weight(tiny_weight, kobert_home)
    assert p.max_len == 64 and p.meta['mode'] == 3 and p.topics[0] == 'international'
    with pytest.raises(UserError, match='--max_len must be between 3 and 512'):
        Predictor.from_weight(tiny_weight, kobert_home, max_len=1000)


def test_other_vocabulary_is_refused(tmp_path, tokenizer, kobert_home):
    path = make_weight(tmp_path / 'w.params', tokenizer)
    meta = json.load(open(model.meta_path(path), encoding='utf-8'))
    meta['vocab']['tokens_md5'] = meta['vocab']['mapping_md5'] = '0' * 32
    meta['vocab']['files'] = ['kobert_news_wiki_ko_cased-1087f8699e.spiece']
    meta.pop('checksum')
    json.dump(meta, open(model.meta_path(path), 'w', encoding='utf-8'))
    with pytest.raises(UserError, match='trained with vocabulary kobert_news_wiki.*maps tokens to other ids'):
        Predictor.from_weight(path, kobert_home)


def test_topics_come_from_the_weight(tmp_path, tokenizer, kobert_home):
    topics = ['economy', 'sport', 'politics']
    path = make_weight(tmp_path / 'w.params', tokenizer, topics=topics)
    p = Predictor.from_weight(path, kobert_home)
    assert p.topics == topics
    assert p.predict_proba(['코스피 상승']).shape == (1, 3)


def test_predictor_leaves_a_given_net_as_it_is(tiny_weight, tokenizer, kobert_home):
    """Predictor(net) uses the caller's net unchanged; from_weight builds its own inference graph."""
    from gluonnlp.model.bert import DotProductSelfAttentionCell
    net, meta = model.load(tiny_weight)
    cells = [c.attention_cell for c in net.bert.encoder.transformer_cells]
    plain = Predictor(net, tokenizer, meta['topics'], meta['max_len'])
    probs = plain.predict_proba(['코스피 상승 마감', '손흥민 결승골'])
    assert [c.attention_cell for c in net.bert.encoder.transformer_cells] == cells
    assert all(type(c) is DotProductSelfAttentionCell for c in cells)
    own = Predictor.from_weight(tiny_weight, kobert_home)
    assert own.net is not net
    np.testing.assert_allclose(own.predict_proba(['코스피 상승 마감', '손흥민 결승골']), probs, atol=1e-5)
