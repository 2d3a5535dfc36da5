"""KoBERT's real vocabulary and tokenizer."""
import os

import gluonnlp as nlp
import pytest

from kobert_base.errors import UserError
from kobert_gluon import hub
from kobert_gluon.tokenizer import KoBERTTokenizer, mapping_md5, tokens_md5
from tests.conftest import needs_kobert

SENTENCE = '한국어 모델을 공유합니다.'


@needs_kobert
def test_kobert_check_ids(tokenizer):
    """KoBERT's published check: sentencepiece pieces of the sentence, with [CLS]/[SEP]."""
    sp = nlp.data.SentencepieceTokenizer(tokenizer.sp_path)
    ids = [tokenizer.vocab.cls_token] + sp(SENTENCE) + [tokenizer.vocab.sep_token]
    assert tokenizer.vocab[ids] == [2, 4958, 6855, 2046, 7088, 1050, 7843, 54, 3]
    assert len(tokenizer.vocab) == 8002
    assert [tokenizer.vocab[t] for t in ('[UNK]', '[PAD]', '[CLS]', '[SEP]', '[MASK]')] == [0, 1, 2, 3, 4]


@needs_kobert
def test_original_pipeline_splits_punctuation(tokenizer):
    """The original's BERTSPTokenizer adds a '▁' (517) before punctuation; training used it."""
    assert tokenizer.tokenize(SENTENCE) == ['▁한국', '어', '▁모델', '을', '▁공유', '합니다', '▁', '.']
    assert tokenizer.encode(SENTENCE, 128).tolist() == [2, 4958, 6855, 2046, 7088, 1050, 7843, 517, 54, 3]
    # The same as the original's padded transform, up to the padding.
    original = nlp.data.BERTSentenceTransform(
        nlp.data.BERTSPTokenizer(tokenizer.sp_path, tokenizer.vocab, lower=False),
        max_seq_length=128, pad=True, pair=False)
    ids, valid_length, segments = original((SENTENCE,))
    assert ids[:valid_length].tolist() == tokenizer.encode(SENTENCE, 128).tolist()
    assert set(ids[valid_length:].tolist()) == {tokenizer.pad_id} and not segments.any()


@needs_kobert
def test_max_len_and_long_article(tokenizer):
    article = ('정부는 오늘 경제정책방향을 발표하고 내년 성장률 전망치를 2.2%로 제시했다. '
               '수출 회복과 내수 활성화를 위해 재정을 조기 집행하고, 반도체와 2차전지 투자에 '
               '세제 혜택을 늘리기로 했다. ') * 1000
    assert len(article) > 100000
    ids = tokenizer.encode(article, 128)
    assert len(ids) == 128 and ids[0] == 2 and ids[-1] == 3
    full = nlp.data.BERTSentenceTransform(tokenizer._sp, max_seq_length=128, pad=False, pair=False)
    assert ids.tolist() == full((article,))[0].tolist()  # the cut changes nothing
    assert len(tokenizer.encode(article, 16)) == 16


def test_info_fingerprints_the_mapping(kobert_pair):
    info = KoBERTTokenizer.load(kobert_pair).info()
    assert info['files'] == [hub.SP_MODEL, hub.VOCAB_JSON] and info['size'] == 8002
    assert info['tokens_md5'] == '078cc0e4d125be15fa85d3f307788834'  # what the default weight records
    # Weights record it: a change in how it is computed would refuse them all.
    assert info['mapping_md5'] == '37ae483cf0e1b6d6ffb168d1121e8ff7'
    other = nlp.vocab.BERTVocab.from_sentencepiece(os.path.join(kobert_pair, hub.SP_MODEL), padding_token='[PAD]')
    assert mapping_md5(other) != info['mapping_md5']
    assert tokens_md5(other, spell_roles=True) != info['tokens_md5']


def test_missing_vocabulary_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.delenv('KOBERT_HOME', raising=False)
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    with pytest.raises(UserError) as e:
        KoBERTTokenizer.load(str(tmp_path), url_base='http://127.0.0.1:9/')
    message = str(e.value)
    assert '\n' not in message
    for name in (hub.SP_MODEL, hub.VOCAB_JSON, hub.SPIECE, str(tmp_path)):
        assert name in message


@needs_kobert
@pytest.mark.parametrize('max_len', [8, 32, 128, 512])
def test_prefix_tokenizing_matches_the_whole_text(tokenizer, max_len):
    full = nlp.data.BERTSentenceTransform(tokenizer._sp, max_seq_length=max_len, pad=False, pair=False)
    texts = ['가' * 3000,                                   # no space at all
             'https://example.com/' + 'a1b2c3' * 400 + ' 기사 끝',  # one huge "word", then words
             ('수출이 7% 늘었다.' + ' ' * 50) * 300,         # long runs of spaces
             '  선행 공백과 ' + '짧은 단어 ' * 2000,
             ' '.join(['2023년'] * 2000)]
    for text in texts:
        assert tokenizer.encode(text, max_len).tolist() == full((text,))[0].tolist()


@needs_kobert
def test_cost_depends_on_max_len_not_on_the_input(tokenizer):
    """A 10-million-character title without spaces is cut before tokenizing (it took 3.9 GB and
    21 s whole); max_len 1 and 2 leave room for no token and return at once (they looped)."""
    import resource
    import time
    huge = '가나다라마바사' * 1500000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.time()
    ids = tokenizer.encode(huge, 64)
    assert time.time() - start < 5 and resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024
    assert len(ids) == 64 and ids.tolist() == tokenizer.encode(huge[:64 * 64 * 4], 64).tolist()
    assert tokenizer.encode(huge, 2).tolist() == [2, 3] and tokenizer.encode('제목', 1).tolist() == [2, 3]
