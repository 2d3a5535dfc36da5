"""Modes 4 and 5: sentence encoders, the embedding cache, clusters and the cluster models."""
import json
import os

import mxnet as mx
import numpy as np
import pandas as pd
import pytest

from kobert_gluon import clusters, model, precision
from kobert_base.architectures import ARCHITECTURES
from kobert_base.errors import UserError
from kobert_base.topics import TOPICS
from kobert_news.reports.cluster_tables import pivot
from preprocess import with_cluster
from tests.conftest import ROOT

SAMPLE = os.path.join(ROOT, 'data', 'sample.csv')
SPORT = ['손흥민 시즌 10호골…토트넘 3연승 이끌어', '프로야구 LG, 연장 접전 끝에 한국시리즈 1차전 승리']
POLITICS = '여야, 내년도 예산안 처리 놓고 막판 협상'


@pytest.fixture(scope='module')
def use():
    return clusters.get_encoder('use')


def test_use_embeds_korean(use):
    v = use.encode(SPORT + [POLITICS])
    assert v.shape == (3, 512) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.1 and v[0] @ v[1] > v[1] @ v[2] + 0.1


def test_embedding_cache(use, tmp_path):
    calls = []

    class Counting:
        name, key = use.name, use.key

        def encode(self, texts):
            calls.append(len(texts))
            return use.encode(texts)

    first = clusters.embed(Counting(), SPORT, str(tmp_path))
    second = clusters.embed(Counting(), SPORT, str(tmp_path))
    assert calls == [2] and np.array_equal(first, second)
    assert len(os.listdir(str(tmp_path / 'embeddings'))) == 1
    clusters.embed(Counting(), SPORT[:1], str(tmp_path))  # other texts: embedded anew
    assert calls == [2, 1] and len(os.listdir(str(tmp_path / 'embeddings'))) == 2


def test_damaged_embedding_cache_heals(use, tmp_path, caplog):
    """A shuffled, NaN, short or pickled cached .npy is found out, named, and embedded again."""
    import logging
    texts = SPORT + [POLITICS]
    right = clusters.embed(use, texts, str(tmp_path))
    (entry,) = [tmp_path / 'embeddings' / n for n in os.listdir(str(tmp_path / 'embeddings'))]
    vectors = entry / 'vectors.npy'
    for bad in (right[::-1], np.full_like(right, np.nan), right[:2]):
        np.save(str(vectors), bad)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger='kobert_news'):
            again = clusters.embed(use, texts, str(tmp_path))
        assert 'cache entry %s is damaged' % entry in caplog.text
        np.testing.assert_array_equal(again, right)
    np.save(str(vectors), np.array([{'x': 1}] * 3), allow_pickle=True)
    assert np.array_equal(clusters.embed(use, texts, str(tmp_path)), right)
    old = tmp_path / 'embeddings' / 'tmp-left-by-a-kill'
    old.mkdir()
    os.utime(str(old), (1, 1))
    clusters.embed(use, ['다른 기사'], str(tmp_path))
    assert not old.exists()  # stale leftovers are cleaned


def test_unknown_and_unavailable_encoders(tmp_path):
    with pytest.raises(UserError, match='unknown encoder'):
        clusters.get_encoder('word2vec')
    with pytest.raises(UserError, match='needs a weight file'):
        clusters.get_encoder('kobert:' + str(tmp_path / 'none.params'))
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        with pytest.raises(UserError, match='pip install sentence-transformers'):
            clusters.get_encoder('sbert')


def test_kobert_encoder(tiny_weight, kobert_home):
    enc = clusters.get_encoder('kobert:' + tiny_weight, kobert_home)  # where the suite found KoBERT
    v = enc.encode(SPORT + [POLITICS])
    assert v.shape == (3, 128) and np.isfinite(v).all()
    assert enc.key.startswith('kobert-')


def test_centroids_assign_like_kmeans():
    from sklearn.cluster import KMeans
    rng = np.random.RandomState(0)
    x = np.concatenate([rng.normal(c, 0.3, (30, 5)) for c in (0, 3, 6)]).astype(np.float32)
    centroids = clusters.fit_centroids(x, 3, seed=1)
    km = KMeans(3, random_state=1, n_init=10).fit(x)
    new = rng.normal(3, 3, (50, 5)).astype(np.float32)
    assert np.array_equal(clusters.assign(new, centroids), km.predict(new))
    with pytest.raises(UserError, match='need at least 8 training texts, not 5: lower --clusters'):
        clusters.fit_centroids(x[:5], 8, seed=1)


def test_mode4_text_format():
    assert with_cluster(['기사제목: 제목 기사본문: 본문'], [7]) == ['군집 7 기사제목: 제목 기사본문: 본문']


def test_pivot_purity_layout():
    table = pivot([0, 0, 1, 1, 1], ['sport', 'sport', 'economy', 'sport', 'economy'], sorted(TOPICS))
    assert list(table.columns) == ['cluster', 'category'] + sorted(TOPICS)
    assert table.values.tolist()[0][:2] == [0, 'sport'] and table['sport'].tolist() == [2, 0, 1]
    assert clusters.purity([0, 0, 1, 1, 1], [3, 3, 1, 3, 1]) == pytest.approx(4 / 5)


def test_mode5_parameters_save_and_load(tmp_path, tokenizer):
    mx.random.seed(3)
    net = model.build_classifier(ARCHITECTURES['tiny'], 8, num_clusters=16)
    assert net.cluster_embed.weight.shape == (16, 128)
    path = str(tmp_path / 'm5.params')
    centroids = np.random.RandomState(0).rand(16, 512).astype(np.float32)
    model.save(net, path, {'config': ARCHITECTURES['tiny'].to_dict(), 'topics': list(TOPICS), 'mode': 5,
                           'max_len': 32, 'dropout': 0.1, 'vocab': tokenizer.info(),
                           'clusters': {'k': 16, 'encoder': 'use', 'encoder_key': 'x'}}, centroids)
    keys = set(mx.nd.load(path))
    assert 'cluster_embed.weight' in keys and {'classifier.1.weight', 'classifier.1.bias'} <= keys
    loaded, meta = model.load(path)
    np.testing.assert_array_equal(model.load_centroids(path, meta), centroids)
    ids = mx.nd.array([[2, 100, 200, 3], [2, 300, 3, 1]])
    args = (ids, mx.nd.zeros_like(ids), mx.nd.array([4, 3]))
    for c in ([0, 5], [9, 15]):
        np.testing.assert_allclose(loaded(*args, mx.nd.array(c)).asnumpy(), net(*args, mx.nd.array(c)).asnumpy(),
                                   rtol=1e-5, atol=1e-6)
    a, b = net(*args, mx.nd.array([0, 5])).asnumpy(), net(*args, mx.nd.array([1, 5])).asnumpy()
    assert not np.allclose(a[0], b[0]) and np.allclose(a[1], b[1])  # the cluster reaches its own row only
    os.remove(model.centroids_path(path))
    with pytest.raises(UserError, match='centroids .* missing'):
        model.load_centroids(path, meta)


@pytest.mark.parametrize('mode', [4, 5])
def test_modes_4_and_5_end_to_end(tmp_path, mode, kobert_home, call):
    from tests.test_train import TINY
    out = tmp_path / 'run'
    r = call('train', '--data_path', SAMPLE, '--test_size', 0.34, '--mode', mode, '--clusters', 4, '--epochs', 1,
             '--output_dir', out, '--cache_dir', tmp_path / 'cache', *TINY)
    assert r.returncode == 0, r.stderr
    meta = json.load(open(str(out / 'model.json'), encoding='utf-8'))
    assert meta['mode'] == mode and meta['clusters']['k'] == 4 and meta['clusters']['encoder'] == 'use'
    assert np.load(str(out / 'model.centroids.npy')).shape == (4, 512)
    pred = pd.read_csv(str(out / 'predictions.csv'), encoding='utf-8-sig')
    assert pred['cluster'].between(0, 3).all()
    if mode == 4:
        assert pred['text'].str.match(r'^군집 \d 기사제목: [^:]').all()  # mode 4's single colon
    best = json.load(open(str(out / 'best.json')))
    assert 0 <= best['cluster_purity'] <= 1

    # main.py places new articles with the saved centroids: the same clusters as training found.
    res = tmp_path / 'out.csv'
    r = call('predict', '--gluon_weight_path', out / 'model.params', '--data_path', SAMPLE, '--save_path', res,
             '--cache_dir', tmp_path / 'cache')
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(str(res), encoding='utf-8-sig')
    by_record = dict(zip(pred['record'], pred['cluster']))
    assert all(df['cluster'][record - 1] == c for record, c in by_record.items())
    if precision.supported('int8'):  # int8 calibrates on placed articles (mode 5: with their cluster ids)
        q = tmp_path / 'int8.csv'
        r = call('predict', '--gluon_weight_path', out / 'model.params', '--data_path', SAMPLE, '--save_path', q,
                 '--cache_dir', tmp_path / 'cache', '--precision', 'int8')
        assert r.returncode == 0 and 'precision: int8' in r.stderr, r.stderr
        dq = pd.read_csv(str(q), encoding='utf-8-sig')
        assert (dq['cluster'] == df['cluster']).all()
        assert np.abs(dq['probability'] - df['probability']).max() < 0.05
    r = call('predict', '--gluon_weight_path', out / 'model.params', '--data_path', SAMPLE, '--mode', 2)
    assert r.returncode == 2 and 'cannot read mode 2 input' in r.stderr


def test_cluster_report(tmp_path, use, call):
    from tests.test_reports import PNG
    out = tmp_path / 'clusters'
    r = call('cluster_report', '--data_path', SAMPLE, '--test_size', 0.34, '--k', 2, 4,
             '--output_dir', out, '--cache_dir', tmp_path / 'cache')
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(str(out))) == ['cluster2.png', 'cluster2_pivot.csv', 'cluster4.png',
                                            'cluster4_pivot.csv', 'clusters.md']
    table = pd.read_csv(str(out / 'cluster4_pivot.csv'))
    assert list(table.columns) == ['cluster4', 'category'] + sorted(TOPICS)  # the original's layout
    assert table[sorted(TOPICS)].values.sum() == 9  # the 9 held-out articles, each counted once
    assert all(row[row['category']] > 0 for _, row in table.iterrows())
    md = (out / 'clusters.md').read_text(encoding='utf-8')
    assert '| 2 |' in md and '| 4 |' in md and 'use-m3-' in md
    assert (out / 'cluster4.png').read_bytes()[:8] == PNG
    r = call('cluster_report', '--data_path', SAMPLE, '--test_size', 0.34, '--k', 64, '--output_dir', out)
    assert r.returncode == 2 and 'need at least 64 training texts' in r.stderr
