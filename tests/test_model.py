"""BERTClassifier structure, weight files and KoBERT's pretrained body."""
import json
import os
import shutil

import gluonnlp as nlp
import mxnet as mx
import numpy as np
import pytest

from kobert_base.architectures import ARCHITECTURES
from kobert_base.errors import UserError
from kobert_base.topics import TOPICS
from kobert_gluon import model
from tests.conftest import make_weight

TEXTS = ['손흥민 시즌 10호골…토트넘 3연승', '한국은행 기준금리 3.5% 동결', '국회 본회의, 선거구 획정안 통과']


def _batch(tokenizer, texts, max_len=32):
    rows = [tokenizer.encode(t, max_len) for t in texts]
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), tokenizer.pad_id, dtype=np.float32)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = r
    ids = mx.nd.array(ids)
    return ids, mx.nd.zeros_like(ids), mx.nd.array([len(r) for r in rows], dtype='float32')


def test_original_weight_file_loads_unchanged(tmp_path, tokenizer, original_weight):
    """The original's structure (gluonnlp bert_12_768_12 + BERTClassifier, dropout 0.1), saved
    as its .pth, loads without a meta file and gives the same outputs."""
    import gluonnlp as nlp
    bert, _ = nlp.model.get_model('bert_12_768_12', dataset_name=None, vocab=tokenizer.vocab,
                                  pretrained=False, use_pooler=True, use_decoder=False,
                                  use_classifier=False)
    original = nlp.model.BERTClassifier(bert, num_classes=8, dropout=0.1)
    original.load_parameters(original_weight)
    batch = _batch(tokenizer, TEXTS)
    expected = original(*batch).asnumpy()
    path = str(tmp_path / 'ko-news-clf-gluon-weight.pth')
    shutil.copy(original_weight, path)
    assert len(mx.nd.load(path)) == 201

    net, meta = model.load(path)
    assert meta['config']['name'] == 'kobert' and meta['topics'] == list(TOPICS)
    assert meta['mode'] == 2 and meta['vocab'] is None and meta['input_mode'] == 1  # its main.py read the body
    np.testing.assert_allclose(net(*batch).asnumpy(), expected, rtol=1e-5, atol=1e-5)

    # Only the original's layout goes without a description: with centroids beside it, it is refused.
    np.save(str(tmp_path / 'ko-news-clf-gluon-weight.centroids.npy'), np.zeros((4, 8), dtype=np.float32))
    with pytest.raises(UserError, match="only the original's weight"):
        model.load(path)


def test_saved_keys_are_the_originals(tmp_path, tokenizer):
    path = make_weight(tmp_path / 'w.params', tokenizer, config='tiny')
    keys = set(mx.nd.load(path))
    assert {'classifier.1.weight', 'classifier.1.bias', 'bert.word_embed.0.weight'} <= keys
    assert all(k.startswith(('bert.', 'classifier.1.')) for k in keys)
    assert mx.nd.load(path)['classifier.1.weight'].shape == (8, 128)
    meta = json.load(open(model.meta_path(path), encoding='utf-8'))
    assert meta['config'] == ARCHITECTURES['tiny'].to_dict() and meta['vocab']['size'] == 8002
    assert sorted(os.listdir(str(tmp_path))) == ['w.json', 'w.params']  # nothing half-written left


def _kobert_layout_file(path, cfg, rename=None):
    """A params file laid out as KoBERT's mxnet_kobert_*.params: a BERTModel with its
    pretraining decoder and NSP classifier."""
    mx.random.seed(7)
    bert = model.build_bert(cfg, use_decoder=True, use_classifier=True)
    bert.initialize(mx.init.Normal(0.5))
    ids = mx.nd.array([[2, 5, 3]])
    bert(ids, mx.nd.zeros_like(ids), mx.nd.array([3]), mx.nd.array([[1]]))
    bert.save_parameters(path)
    if rename:
        arrays = mx.nd.load(path)
        arrays[rename[1]] = arrays.pop(rename[0])
        mx.nd.save(path, arrays)
    return {k: v.data().asnumpy() for k, v in bert.collect_params().items()}, mx.nd.load(path)


def test_pretrained_body_loads_strictly(tmp_path):
    cfg = ARCHITECTURES['tiny']
    path = str(tmp_path / 'mxnet_kobert.params')
    _, arrays = _kobert_layout_file(path, cfg)
    assert any(k.startswith('decoder.') for k in arrays)  # the extras KoBERT's file carries
    net = model.build_classifier(cfg, 8)
    head_before = net.classifier[1].weight.data().asnumpy().copy()
    model.load_pretrained_body(net, path)
    np.testing.assert_array_equal(net.bert.word_embed[0].weight.data().asnumpy(),
                                  arrays['word_embed.0.weight'].asnumpy())
    np.testing.assert_array_equal(
        net.bert.encoder.transformer_cells[1].ffn.ffn_2.weight.data().asnumpy(),
        arrays['encoder.transformer_cells.1.ffn.ffn_2.weight'].asnumpy())
    np.testing.assert_array_equal(net.classifier[1].weight.data().asnumpy(), head_before)
    assert abs(float(head_before.std()) - 0.02) < 0.005  # head: Normal(0.02)


def test_pretrained_body_with_a_renamed_key_fails(tmp_path):
    cfg = ARCHITECTURES['tiny']
    path = str(tmp_path / 'renamed.params')
    _kobert_layout_file(path, cfg, rename=('encoder.transformer_cells.0.proj.weight',
                                           'encoder.transformer_cells.0.projection.weight'))
    with pytest.raises(UserError, match='does not fit this BERT body'):
        model.load_pretrained_body(model.build_classifier(cfg, 8), path)


def test_pretrained_body_of_another_size_fails(tmp_path):
    path = str(tmp_path / 'small.params')
    _kobert_layout_file(path, ARCHITECTURES['small'])
    with pytest.raises(UserError, match='does not fit'):
        model.load_pretrained_body(model.build_classifier(ARCHITECTURES['tiny'], 8), path)


def test_meta_that_does_not_match_names_the_fitting_config(tmp_path, tokenizer):
    path = make_weight(tmp_path / 'w.params', tokenizer, config='tiny')
    meta = json.load(open(model.meta_path(path), encoding='utf-8'))
    meta['config'] = ARCHITECTURES['small'].to_dict()
    meta.pop('checksum')  # as a description written before checksums
    json.dump(meta, open(model.meta_path(path), 'w', encoding='utf-8'))
    with pytest.raises(UserError, match="configuration 'tiny' fits.*describes configuration 'small'"):
        model.load(path)


def test_truncated_and_foreign_files(tmp_path, tokenizer):
    path = make_weight(tmp_path / 'w.params', tokenizer)
    data = open(path, 'rb').read()
    cut = tmp_path / 'cut.params'
    cut.write_bytes(data[:len(data) // 2])
    shutil.copy(model.meta_path(path), str(tmp_path / 'cut.json'))
    with pytest.raises(UserError, match='truncated, or not the params file it describes'):
        model.load(str(cut))
    os.remove(str(tmp_path / 'cut.json'))
    with pytest.raises(UserError, match='not a complete MXNet params file'):
        model.load(str(cut))
    text = tmp_path / 'text.params'
    text.write_text('hello')
    with pytest.raises(UserError, match='not a complete MXNet params file'):
        model.load(str(text))
    with pytest.raises(UserError, match='no weight file'):
        model.load(str(tmp_path / 'absent.params'))


def test_metaless_file_of_unknown_shape_is_refused(tmp_path):
    from kobert_base.architectures import Architecture
    odd = Architecture('odd', num_layers=1, units=64, hidden_size=128, num_heads=2)
    net = model.build_classifier(odd, 8)
    path = str(tmp_path / 'odd.params')
    net.save_parameters(path)
    with pytest.raises(UserError, match='no known configuration fits.*no odd.json'):
        model.load(path)


def test_description_says_what_the_weight_is(tmp_path, tokenizer):
    """A description records its params file's size and md5 and a checksum of itself: a swapped
    params file or an edited description is refused, as is a small weight without one."""
    path = make_weight(tmp_path / 'w.params', tokenizer, config='tiny', mode=4)
    meta = json.load(open(model.meta_path(path), encoding='utf-8'))
    assert meta['params']['size'] == os.path.getsize(path) and len(meta['checksum']) == 40
    other = make_weight(tmp_path / 'o.params', tokenizer, config='tiny', seed=9)
    shutil.copy(other, path)
    with pytest.raises(UserError, match='is not the params file that .*w.json describes'):
        model.load(path)
    path = make_weight(tmp_path / 'w.params', tokenizer, config='tiny', mode=4)
    edited = dict(meta, mode=2)
    json.dump(edited, open(model.meta_path(path), 'w', encoding='utf-8'))
    with pytest.raises(UserError, match='was changed after it was written'):
        model.load(path)
    os.remove(model.meta_path(path))
    with pytest.raises(UserError, match="has no w.json beside it"):
        model.load(path)


@pytest.mark.parametrize('change, message', [
    (lambda m: m.pop('mode'), '"mode" must be 1 to 5'),
    (lambda m: m.update(max_len='64'), '"max_len" must be an integer'),
    (lambda m: m.update(max_len=None), '"max_len" must be an integer'),
    (lambda m: m.update(max_len=64.5), '"max_len" must be an integer'),
    (lambda m: m.update(mode=4), 'needs "clusters"'),
    (lambda m: m.update(vocab='kobert'), '"vocab" must be an object'),
    (lambda m: m['config'].update(num_heads=3), 'do not split into 3 heads'),
    (lambda m: m.update(topics='sport'), '"topics" must be a list'),
    (lambda m: m.update(untrained_topics='entertain'), '"untrained_topics" must be a list'),
    (lambda m: m.update(untrained_topics=['weather']), '"untrained_topics" must be a list of distinct names from'),
])
def test_malformed_descriptions_are_one_error_line(tmp_path, tokenizer, change, message):
    path = make_weight(tmp_path / 'w.params', tokenizer, config='tiny')
    meta = json.load(open(model.meta_path(path), encoding='utf-8'))
    meta.pop('checksum')
    change(meta)
    json.dump(meta, open(model.meta_path(path), 'w', encoding='utf-8'))
    with pytest.raises(UserError, match=message):
        model.load(path)


def test_deeply_nested_description(tmp_path, tokenizer):
    path = make_weight(tmp_path / 'w.params', tokenizer, config='tiny')
    open(model.meta_path(path), 'w').write('[' * 200000 + ']' * 200000)
    with pytest.raises(UserError, match='not a readable weight description'):
        model.load(path)


def test_bad_centroids(tmp_path, tokenizer):
    from kobert_gluon.weights import load_centroids
    meta = {'mode': 4, 'clusters': {'k': 4}}
    path = str(tmp_path / 'w.params')
    for bad in (np.zeros((3, 8), dtype=np.float32), np.zeros((4, 8), dtype=np.int64),
                np.full((4, 8), np.nan, dtype=np.float32)):
        np.save(model.centroids_path(path), bad)
        with pytest.raises(UserError, match='must hold 4 finite float centroids'):
            load_centroids(path, meta)
    np.save(model.centroids_path(path), np.array([{'a': 1}] * 4), allow_pickle=True)
    with pytest.raises(UserError, match='missing or damaged'):
        load_centroids(path, meta)
