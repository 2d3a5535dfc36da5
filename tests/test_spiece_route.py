"""The route every real user takes: no v0.1 pair, KoBERT's .spiece downloaded from the hub, the
vocabulary built from it, checked against the weight and used (item 10 of issue 10).

The .spiece is rebuilt from the v0.1 pair (tests/standin_hub.py; its md5 matches KoBERT's
checksum for the hub's file), so these tests need the pair; a loopback port serves it in the
hub's place.
"""
import csv
import json
import os
import shutil
import subprocess
import sys

import gluonnlp as nlp
import pytest
import sentencepiece as spm

from kobert_base.errors import UserError
from kobert_base.paths import DEFAULT_WEIGHT
from kobert_gluon import hub, model, weights
from kobert_gluon.predictor import check_vocab
from kobert_gluon.tokenizer import KoBERTTokenizer, mapping_md5, tokens_md5
from tests.conftest import ROOT, YNAT, run_main
from tests.standin_hub import build_standin, serve

WEIGHT = os.path.join(ROOT, 'weights', DEFAULT_WEIGHT)
SAMPLE = os.path.join(ROOT, 'data', 'sample.csv')
SENTENCE = '한국어 모델을 공유합니다.'


@pytest.fixture(scope='module')
def spiece_dir(tmp_path_factory, kobert_pair):
    """A KoBERT folder holding only the stand-in .spiece."""
    d = tmp_path_factory.mktemp('spiece')
    build_standin(kobert_pair, str(d / hub.SPIECE))
    return str(d)


@pytest.fixture(scope='module')
def pair_tokenizer(kobert_pair):
    return KoBERTTokenizer.load(kobert_pair)


def _texts():
    """Real Korean text: the sample articles and, where present, the KLUE-YNAT headlines."""
    with open(SAMPLE, encoding='utf-8') as f:
        texts = [t for row in csv.DictReader(f) for t in (row['title'], row['cleanBody'])]
    if os.path.isfile(YNAT):
        with open(YNAT, encoding='utf-8') as f:
            texts += [row['title'] for row in csv.DictReader(f)]
    return [SENTENCE] + texts


def _spiece_tokenizer(kobert_pair, tmp_path, monkeypatch, **variant):
    """KoBERTTokenizer.load on a folder holding only a variant of the stand-in (its own checksum
    registered for the .spiece name: a variant is not KoBERT's file)."""
    path = build_standin(kobert_pair, str(tmp_path / hub.SPIECE), **variant)
    monkeypatch.setitem(hub.CHECKSUMS, hub.SPIECE, hub.md5sum(path)[:10])
    return KoBERTTokenizer.load(str(tmp_path))


def _default_weight_meta():
    with open(model.meta_path(WEIGHT), encoding='utf-8') as f:
        return json.load(f)


def test_standin_is_kobert_spiece_byte_for_byte(spiece_dir):
    """KoBERT publishes the first 10 hex digits of the .spiece's md5 (hub.CHECKSUMS) and the
    stand-in has them; other bytes would, once in 10^12. So its piece order, the special pieces'
    types and the scores are KoBERT's own."""
    path = os.path.join(spiece_dir, hub.SPIECE)
    assert hub.md5sum(path).startswith(hub.CHECKSUMS[hub.SPIECE])
    assert hub.check(path) == path


def test_standin_encodes_real_text_as_the_v01_model(spiece_dir, kobert_pair):
    v01, standin = spm.SentencePieceProcessor(), spm.SentencePieceProcessor()
    v01.Load(os.path.join(kobert_pair, hub.SP_MODEL))
    standin.Load(os.path.join(spiece_dir, hub.SPIECE))
    with open(os.path.join(kobert_pair, hub.VOCAB_JSON), encoding='utf-8') as f:
        json_vocab = nlp.vocab.BERTVocab.from_json(f.read())
    texts = _texts()
    assert len(texts) > 40
    for text in texts:
        pieces = v01.EncodeAsPieces(text)
        assert standin.EncodeAsPieces(text) == pieces, text
        assert standin.EncodeAsIds(text) == json_vocab[pieces], text  # sentencepiece ids = the json's ids
    # KoBERT's Hugging Face check, which takes sentencepiece's ids as they are.
    assert [2] + standin.EncodeAsIds(SENTENCE) + [3] == [2, 4958, 6855, 2046, 7088, 1050, 7843, 54, 3]
    # KoBERT issue #11: the .spiece reads [CLS] and [SEP] in text as single pieces (user-defined).
    assert standin.EncodeAsPieces('[CLS] 감사합니다. [SEP]') == ['▁', '[CLS]', '▁감사', '합니다', '.', '▁', '[SEP]']


def test_spiece_file_is_used_when_the_pair_is_absent(spiece_dir, pair_tokenizer, monkeypatch, tmp_path):
    monkeypatch.delenv('KOBERT_HOME', raising=False)
    monkeypatch.setenv('HOME', str(tmp_path))
    tok = KoBERTTokenizer.load(spiece_dir)
    assert tok.names == [hub.SPIECE]
    assert tok.vocab.padding_token == '[PAD]' and tok.pad_id == 1 and len(tok.vocab) == 8002
    assert tok.info()['mapping_md5'] == pair_tokenizer.info()['mapping_md5']
    # The project's pipeline (BERTSPTokenizer) gives the pair's ids, even for special tokens
    # written in the text: it splits '[' and ']' off before sentencepiece sees them.
    for text in _texts()[:49] + ['[CLS] 감사합니다. [SEP]', '기사 [MASK] [PAD] 끝 <unk> <s>']:
        assert tok.encode(text, 512).tolist() == pair_tokenizer.encode(text, 512).tolist(), text


def test_default_weight_accepts_the_spiece(spiece_dir, monkeypatch, tmp_path):
    monkeypatch.delenv('KOBERT_HOME', raising=False)
    monkeypatch.setenv('HOME', str(tmp_path))
    meta = _default_weight_meta()
    assert meta['vocab']['tokens_md5'] == '078cc0e4d125be15fa85d3f307788834'  # v0.1 pair, no mapping_md5
    check_vocab(meta, KoBERTTokenizer.load(spiece_dir), WEIGHT)


def test_other_spelling_of_a_role_is_accepted(kobert_pair, tmp_path, monkeypatch, pair_tokenizer):
    """A .spiece spelling the unknown piece '<unk>' gives a weight the same ids: accepted, by the
    default weight's tokens_md5 (roles respelled as the json spells them) and by mapping_md5."""
    tok = _spiece_tokenizer(kobert_pair, tmp_path, monkeypatch, rename={'[UNK]': '<unk>'})
    assert tok.vocab.unknown_token == '<unk>' and tok.vocab['<unk>'] == 0 and tok.vocab['없는말'] == 0
    assert tokens_md5(tok.vocab) != pair_tokenizer.info()['tokens_md5']
    assert tokens_md5(tok.vocab, spell_roles=True) == pair_tokenizer.info()['tokens_md5']
    assert mapping_md5(tok.vocab) == pair_tokenizer.info()['mapping_md5']
    check_vocab(_default_weight_meta(), tok, WEIGHT)
    check_vocab(dict(_default_weight_meta(), vocab=pair_tokenizer.info()), tok, WEIGHT)


@pytest.mark.parametrize('swap', [('▁한국', '▁모델'), ('[PAD]', '[MASK]')], ids=['two-pieces', 'two-roles'])
def test_other_mapping_is_refused(kobert_pair, tmp_path, monkeypatch, pair_tokenizer, swap):
    """Two pieces (or two roles) trading ids: the same tokens, other ids for them. Refused."""
    tok = _spiece_tokenizer(kobert_pair, tmp_path, monkeypatch, swap=swap)
    assert len(tok.vocab) == 8002
    for meta in (_default_weight_meta(), dict(_default_weight_meta(), vocab=pair_tokenizer.info())):
        with pytest.raises(UserError) as e:
            check_vocab(meta, tok, WEIGHT)
        assert 'maps tokens to other ids' in str(e.value) and '\n' not in str(e.value)


def test_renamed_v01_model_is_refused(tmp_path, monkeypatch, kobert_pair):
    """The v0.1 .model under the .spiece name (<unk>, <s>, </s>, ., ▁, ...): other ids, other size."""
    shutil.copy(os.path.join(kobert_pair, hub.SP_MODEL), str(tmp_path / hub.SPIECE))
    monkeypatch.setitem(hub.CHECKSUMS, hub.SPIECE, hub.md5sum(str(tmp_path / hub.SPIECE))[:10])
    tok = KoBERTTokenizer.load(str(tmp_path))
    with pytest.raises(UserError, match='needs a vocabulary of 8002 tokens; %s has 8004' % hub.SPIECE):
        check_vocab(_default_weight_meta(), tok, WEIGHT)


def _user_env(home, hub):
    """A new user's environment: an empty home, no KOBERT_HOME, the hub at a loopback port."""
    env = {k: v for k, v in os.environ.items() if k != 'KOBERT_HOME'}
    env.update(HOME=str(home), KOBERT_HUB_URL=hub)
    return env


def test_users_route_end_to_end(spiece_dir, kobert_pair, tmp_path):
    """main.py with the shipped default weight, on a machine with no KoBERT file: it downloads the
    .spiece from the hub ($KOBERT_HUB_URL, here a loopback server) into ~/kobert and predicts
    exactly what it predicts with the v0.1 pair."""
    with open(os.path.join(spiece_dir, hub.SPIECE), 'rb') as f:
        spiece = f.read()
    home = tmp_path / 'home'
    home.mkdir()
    out = tmp_path / 'spiece.csv'
    cmd = [sys.executable, os.path.join(ROOT, 'main.py'), '--data_path', SAMPLE, '--save_path', str(out),
           '--top_k', '3']
    with serve({'/legacy/' + hub.SPIECE: spiece}) as (base, requested):
        env = _user_env(home, base + 'legacy')  # no trailing slash: hub_url adds it
        r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        assert requested == ['/legacy/' + hub.SPIECE]
    assert os.listdir(str(home / 'kobert')) == [hub.SPIECE]  # no .part left
    pair_out = tmp_path / 'pair.csv'
    p = run_main('--data_path', SAMPLE, '--save_path', pair_out, '--top_k', 3, env_extra={'KOBERT_HOME': kobert_pair})
    assert p.returncode == 0, p.stderr
    assert out.read_bytes() == pair_out.read_bytes()
    with open(str(out), encoding='utf-8-sig') as f:
        assert len({row['predicted'] for row in csv.DictReader(f)}) >= 5  # a trained weight, not noise


def test_weight_of_another_vocabulary_is_one_error_line(spiece_dir, tmp_path):
    weight = tmp_path / 'w.pth'
    shutil.copy(WEIGHT, str(weight))
    meta = _default_weight_meta()
    meta['vocab'].update(tokens_md5='0' * 32, mapping_md5='0' * 32)
    meta['checksum'] = weights._checksum(meta)  # a consistent description, written for another vocabulary
    with open(model.meta_path(str(weight)), 'w', encoding='utf-8') as f:
        json.dump(meta, f)
    r = subprocess.run([sys.executable, os.path.join(ROOT, 'main.py'), '--gluon_weight_path', str(weight),
                        '--data_path', SAMPLE], cwd=ROOT, env=dict(_user_env(tmp_path, 'http://127.0.0.1:9/'),
                                                                   KOBERT_HOME=spiece_dir),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and r.stdout == ''
    assert r.stderr.startswith('error: ') and r.stderr.count('\n') == 1, r.stderr
    assert 'maps tokens to other ids' in r.stderr
