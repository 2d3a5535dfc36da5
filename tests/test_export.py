"""kobert-news export: tokenizer.json gives the project's token ids, and the exported transformers folder
and ONNX model give the Gluon predictor's probabilities."""
import json
import os
import random
import subprocess
import sys
import unicodedata

import mxnet as mx
import numpy as np
import pytest

from kobert_base.architectures import ARCHITECTURES
from kobert_base.paths import DEFAULT_WEIGHT
from kobert_base.topics import TOPICS
from kobert_gluon.export import hf, hf_tokenizer
from kobert_gluon import model as model_lib
from kobert_gluon.predictor import Predictor
from tests.conftest import KOBERT_HOME, ROOT, make_weight
from tests.hf_helpers import hf_predict, hf_python, hf_tokenize, to_onnx, ynat_titles  # noqa: F401 (fixture)

ARTICLE = ('정부는 오늘 경제정책방향을 발표하고 내년 성장률 전망치를 2.2%로 제시했다. '
           '수출 회복과 내수 활성화를 위해 재정을 조기 집행하고, 반도체와 2차전지 투자에 '
           '세제 혜택을 늘리기로 했다. ') * 300
# The texts of tests/test_tokenizer.py, and the kinds of input the brief names.
TEXTS = ['한국어 모델을 공유합니다.', ARTICLE, '가' * 3000, 'https://example.com/' + 'a1b2c3' * 400 + ' 기사 끝',
         ('수출이 7% 늘었다.' + ' ' * 50) * 30, '  선행 공백과 ' + '짧은 단어 ' * 200, ' '.join(['2023년'] * 200),
         'Samsung Electronics posted Q3 operating profit of KRW 10.8 trillion, up 274% YoY.',
         "It's a \"quoted\" (parenthesised) [bracketed] {braced} <angled> text; with: punctuation!?",
         '1,234,567원 3.14159 -42 +7 1e-9 50% 2023-11-29 12:30:45 ①②③ Ⅰ Ⅱ ½ ¾ ²³ ０１２３',
         '코로나19 확산세 😷 주춤… 👍🏽 👨\u200d👩\u200d👧 🇰🇷 ❤️ ☕ 🥱',
         '줄바꿈\n탭\t캐리지\r\n전각\u3000공백\u00a0없는\u2028줄\u2029단락\u200b폭없음\ufeffBOM',
         '제어\x00문자\x01\x07\x1b[0m\x7f\x85\ufffd 끝', '習近平 中国 國家主席 訪韓 日本 東京 カタカナ ひらがな ｶﾞｷﾞ',
         '㈜삼성 ㈔한국 ㉠ ㉮ ㄱㅏ ㅋㅋㅋ ㅠㅠ 갃ㄳ 각 1일～3일 ＡＢＣ！', 'café naïve résumé Ångström Đà Nẵng',
         '[CLS] [SEP] [MASK] [PAD] [UNK] <s> </s> <unk> ▁밑줄', '', '   ', '\t\n', '.', '…', '㈜']
SYMBOLS = list('\t\n\r\u3000\u00a0\u200b…·・‘’“”「」『』【】〈〉《》~～!?.,;:()[]{}<>@#$%^&*_+=|\\/\'"`'
               'ㄱㅏ①㈜™℃€£¥°±×÷√∞←→↑↓★☆♥♡◆■□▲△○●◎ⓐⅢ丁中一😀🇰é\u0301\x01')


@pytest.fixture(scope='module')
def tok(tokenizer):
    return hf_tokenizer.build(tokenizer.sp_path, tokenizer.vocab, 100000)


def compare(tok, tokenizer, texts):
    """(texts whose ids differ, not counting ties, ties): a tie is a mismatch where both sides use
    the same pieces in another order, with the same total unigram score."""
    scores, _ = hf_tokenizer.sentencepiece_model(tokenizer.sp_path)
    bad, ties = [], []
    for text, enc in zip(texts, tok.encode_batch(list(texts))):
        if enc.ids == tokenizer.encode(text, 100000).tolist():
            continue
        mine, theirs = enc.tokens[1:-1], tokenizer.tokenize(text)
        same_score = abs(sum(scores.get(p, 0) for p in mine) - sum(scores.get(p, 0) for p in theirs)) < 1e-9
        (ties if sorted(mine) == sorted(theirs) and same_score else bad).append(text)
    return bad, ties


def mixtures(titles, n, seed=0):
    """Headlines with odd characters inserted at random places."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        chars = list(rng.choice(titles))
        for _ in range(rng.randint(1, 6)):
            chars.insert(rng.randint(0, len(chars)), rng.choice(SYMBOLS))
        out.append(''.join(chars))
    return out


def test_headlines_and_hard_texts(tok, tokenizer):
    titles = ynat_titles()
    bad, ties = compare(tok, tokenizer, titles + TEXTS + mixtures(titles, 5000))
    assert not bad, bad[:5]
    # The one YNAT headline with a tie ('B→CCC': C+CC or CC+C), and mixtures that contain 'Ⅲ'.
    assert len(ties) < 100 and all('CCC' in t or 'Ⅲ' in t for t in ties)
    _, headline_ties = compare(tok, tokenizer, titles)
    assert len(headline_ties) <= 1


def test_every_assigned_code_point(tok, tokenizer):
    """Each character of Unicode 11 (what gluonnlp's unicodedata knows) alone, doubled and between
    Hangul, Latin and digits: only exact unigram ties may differ (Ⅲ, Ⅷ, ⑪). (All 1.1 million code
    points, unassigned ones included, gave the same three when this was written.)"""
    # Inside the big CJK ideograph blocks every character behaves alike: their edges are kept.
    edges = {c for lo, hi in hf_tokenizer.CJK_RANGES for c in list(range(lo - 64, lo + 64)) + list(range(hi - 63, hi + 65))}
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and unicodedata.category(chr(c)) != 'Cn'
             and (not hf_tokenizer._is_cjk(chr(c)) or c in edges)]
    bad, ties = compare(tok, tokenizer, ['가%s나 a%s1 %s %s%s' % ((c,) * 5) for c in chars])
    assert not bad, [t[1] for t in bad[:10]]
    assert {t[1] for t in ties} <= {'Ⅲ', 'Ⅷ', '⑪'}


def test_hangul_and_kana_compose_as_sentencepiece_does(tok, tokenizer):
    """Compatibility jamo, conjoining jamo, circled and halfwidth forms next to each other:
    sentencepiece composes only what its character map lists, tokenizers' NFC would compose more."""
    ranges = [(0x3131, 0x318E), (0xFFA0, 0xFFDC), (0x1100, 0x1112), (0x1161, 0x1175), (0x11A8, 0x11C2),
              (0x3260, 0x327F), (0xFF76, 0xFF7A), (0xFF9E, 0xFF9F)]
    chars = [chr(c) for lo, hi in ranges for c in range(lo, hi + 1)] + list('가각カか')
    bad, ties = compare(tok, tokenizer, [a + b + ' x' + a + b for a in chars for b in chars])
    assert not bad and not ties, bad[:5]


@pytest.mark.parametrize('max_len', [3, 8, 64, 512])
def test_truncation_at_max_len(tokenizer, max_len):
    tok = hf_tokenizer.build(tokenizer.sp_path, tokenizer.vocab, max_len)
    for text in TEXTS:
        assert tok.encode(text).ids == tokenizer.encode(text, max_len).tolist()


# ---------------------------------------------------------------- the exported folders

def run_export(*args, env_extra=None):
    env = dict(os.environ, KOBERT_HOME=KOBERT_HOME or '', **(env_extra or {}))
    return subprocess.run([sys.executable, '-m', 'kobert_news', 'export'] + [str(a) for a in args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=900)


def export_hf(weight, out, kobert_dir=None):
    """kobert-news export --to hf's work, in this process (the command line itself is tested below)."""
    return hf.export(weight, str(out), kobert_dir or KOBERT_HOME)


@pytest.fixture(scope='module')
def default_export(tmp_path_factory, kobert_home, hf_python):
    """The shipped weight through kobert-news export, --to hf and --to onnx --int8, as a user runs it."""
    out = tmp_path_factory.mktemp('default')
    weight = os.path.join(ROOT, 'weights', DEFAULT_WEIGHT)
    for args in (['--to', 'hf'], ['--to', 'onnx', '--int8']):
        r = run_export('--gluon_weight_path', weight, '--output_dir', out / args[1], *args)
        assert r.returncode == 0, r.stderr
    return str(out / 'hf'), str(out / 'onnx')


def headlines(n=256):
    titles = ynat_titles()
    return titles[::len(titles) // n][:n]  # spread over the file's topics


def assert_equal_probabilities(got, expected):
    assert np.abs(got - expected).max() < 1e-4
    assert (got.argmax(1) == expected.argmax(1)).all()


def test_default_weight_hf_and_onnx_equal_the_predictor(default_export, hf_python, kobert_home, tmp_path):
    texts = headlines()
    expected = Predictor.from_weight(os.path.join(ROOT, 'weights', DEFAULT_WEIGHT), kobert_home).predict_proba(texts)
    hf_dir, onnx_dir = default_export
    assert_equal_probabilities(hf_predict(hf_python, tmp_path, hf_dir, texts)['torch'], expected)
    got = hf_predict(hf_python, tmp_path, onnx_dir, texts, onnx=[os.path.join(onnx_dir, n) for n in
                                                                  ('model.onnx', 'model_int8.onnx')])
    assert_equal_probabilities(got['model.onnx'], expected)
    assert (got['model_int8.onnx'].argmax(1) == expected.argmax(1)).mean() > 0.9  # quantized: close, not equal


def test_random_tiny_weight_with_long_texts(tmp_path, tokenizer, kobert_home, hf_python):
    """A random weight (mode 3, max_len 64): truncated articles and batches of mixed lengths."""
    hf_dir = export_hf(make_weight(tmp_path / 'w.params', tokenizer, seed=7), tmp_path / 'hf')
    texts = headlines(200) + [t for t in TEXTS if t.strip()]
    expected = Predictor.from_weight(str(tmp_path / 'w.params'), kobert_home).predict_proba(texts)
    got = hf_predict(hf_python, tmp_path, hf_dir, texts, onnx=[to_onnx(hf_python, hf_dir)])
    assert_equal_probabilities(got['torch'], expected)
    assert_equal_probabilities(got['model.onnx'], expected)


def test_autotokenizer_gives_the_project_ids(default_export, hf_python, tokenizer, tmp_path):
    """AutoTokenizer.from_pretrained(folder)(texts, truncation=True), as transformers users call it."""
    titles = ynat_titles()
    texts = titles + TEXTS + mixtures(titles, 500, seed=1)
    got = hf_tokenize(hf_python, tmp_path, default_export[0], texts)
    differ = [t for t, ids in zip(texts, got) if ids != tokenizer.encode(t, 64).tolist()]
    assert all('CCC' in t or 'Ⅲ' in t for t in differ), differ[:5]  # the exact ties above
    assert len(differ) < 10


def test_config_json(default_export):
    with open(os.path.join(default_export[0], 'config.json'), encoding='utf-8') as f:
        config = json.load(f)
    small = ARCHITECTURES['small']
    assert config['architectures'] == ['BertForSequenceClassification'] and config['model_type'] == 'bert'
    assert [config['id2label'][str(i)] for i in range(8)] == list(TOPICS)
    assert config['label2id'] == {t: i for i, t in enumerate(TOPICS)}
    assert (config['num_hidden_layers'], config['hidden_size'], config['intermediate_size'],
            config['num_attention_heads'], config['vocab_size']) == (4, 256, 1024, 4, 8002) == (
        small.num_layers, small.units, small.hidden_size, small.num_heads, small.vocab_size)
    assert config['kobert_news']['mode'] == 2 and config['kobert_news']['max_len'] == 64
    assert sorted(os.listdir(default_export[1])) == ['config.json', 'description.json', 'model.onnx',
                                                     'model_int8.onnx', 'special_tokens_map.json', 'tokenizer.json',
                                                     'tokenizer_config.json']


def test_the_onnx_folders_description(default_export):
    """description.json: what the models read and predict, and a fingerprint of every file, which the
    ONNX Runtime engine checks before it runs them."""
    import hashlib
    folder = default_export[1]
    with open(os.path.join(folder, 'description.json'), encoding='utf-8') as f:
        desc = json.load(f)
    assert desc['topics'] == list(TOPICS) and desc['untrained_topics'] == ['entertain']
    assert (desc['mode'], desc['max_len'], desc['pad_id'], desc['config']['name']) == (2, 64, 1, 'small')
    weight = os.path.join(ROOT, 'weights', DEFAULT_WEIGHT)
    assert desc['weight'] == {'file': DEFAULT_WEIGHT, 'md5': model_lib.weight_md5(weight)}
    assert sorted(desc['files']) == sorted(set(os.listdir(folder)) - {'description.json'})
    for name, want in desc['files'].items():
        data = open(os.path.join(folder, name), 'rb').read()
        assert want == {'size': len(data), 'sha256': hashlib.sha256(data).hexdigest()}


@pytest.mark.parametrize('encoder, words', [
    ('sbert', 'mode 4 with the sbert encoder cannot be exported to ONNX: its encoder is a PyTorch'),
    ('kobert:other.params', "mode 4 with the kobert encoder cannot be exported to ONNX: its encoder is another weight's"),
    ('use', 'mode-4 weight was clustered with use-test; the encoder here is use-m3-0.2.1')])
def test_a_mode_the_deploy_path_cannot_run_is_refused(tmp_path, tokenizer, call, encoder, words):
    """Modes 4 and 5 export their centroids and the USE encoder; other encoders run on torch or MXNet,
    which the deploy path has not, and another USE would place articles elsewhere: refused in one line
    naming the mode, before any work."""
    weight = cluster_weight(tmp_path / 'm4.params', tokenizer, 4)
    meta_file = tmp_path / 'm4.json'
    meta = json.loads(meta_file.read_text(encoding='utf-8'))
    meta['clusters']['encoder'] = encoder
    from kobert_gluon.weights import _checksum
    meta['checksum'] = _checksum(meta)
    meta_file.write_text(json.dumps(meta), encoding='utf-8')
    r = call('export', '--gluon_weight_path', weight, '--to', 'onnx', '--output_dir', tmp_path / 'out')
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stderr.startswith('error: ') and words in r.stderr and not os.path.exists(str(tmp_path / 'out'))


def cluster_weight(path, tokenizer, mode, k=3):
    """A random tiny mode-4/5 weight with its centroids, as training writes it."""
    mx.random.seed(3)
    net = model_lib.build_classifier(ARCHITECTURES['tiny'], len(TOPICS), num_clusters=k if mode == 5 else 0)
    model_lib.save(net, str(path), {'config': ARCHITECTURES['tiny'].to_dict(), 'topics': list(TOPICS),
                                    'mode': mode, 'max_len': 64, 'dropout': 0.1, 'vocab': tokenizer.info(),
                                    'clusters': {'k': k, 'encoder': 'use', 'encoder_key': 'use-test'},
                                    'base_mode': 2}, centroids=np.random.RandomState(0).randn(k, 16))
    return str(path)


def test_mode5_cluster_vector_in_hf_and_onnx(tmp_path, tokenizer, hf_python):
    weight = cluster_weight(tmp_path / 'm5.params', tokenizer, 5)
    hf_dir = export_hf(weight, tmp_path / 'hf')
    texts = headlines(64)
    clusters = np.arange(len(texts)) % 3
    net, meta = model_lib.load(weight)
    expected = Predictor(net, tokenizer, meta['topics'], 64).predict_proba(texts, clusters=clusters)
    got = hf_predict(hf_python, tmp_path, hf_dir, texts, onnx=[to_onnx(hf_python, hf_dir)], clusters=clusters)
    assert_equal_probabilities(got['torch'], expected)
    assert_equal_probabilities(got['model.onnx'], expected)
    from safetensors.numpy import load_file
    saved = load_file(os.path.join(hf_dir, 'clusters.safetensors'))
    assert np.array_equal(saved['centroids'], np.load(str(tmp_path / 'm5.centroids.npy')))
    assert np.array_equal(saved['cluster_embed'], mx.nd.load(weight)['cluster_embed.weight'].asnumpy())


def test_mode4_records_its_clusters(tmp_path, tokenizer):
    export_hf(cluster_weight(tmp_path / 'm4.params', tokenizer, 4), tmp_path / 'hf')
    with open(str(tmp_path / 'hf' / 'config.json'), encoding='utf-8') as f:
        keys = json.load(f)['kobert_news']
    assert keys['mode'] == 4 and keys['clusters']['k'] == 3 and keys['base_mode'] == 2
    assert '군집' in keys['cluster_input'] and keys['clusters_file'] == 'clusters.safetensors'
    from safetensors.numpy import load_file
    assert set(load_file(str(tmp_path / 'hf' / 'clusters.safetensors'))) == {'centroids'}


# ---------------------------------------------------------------- bad input

def test_bad_input_is_one_line_and_leaves_nothing(tmp_path, tokenizer, call, monkeypatch):
    weight = make_weight(tmp_path / 'w.params', tokenizer)
    junk = tmp_path / 'junk.params'
    junk.write_bytes(b'not a params file')
    (tmp_path / 'taken').mkdir()
    cases = [(['--gluon_weight_path', tmp_path / 'missing.params', '--to', 'hf', '--output_dir', tmp_path / 'a'], 'no weight file'),
             (['--gluon_weight_path', junk, '--to', 'hf', '--output_dir', tmp_path / 'b'], 'not a complete MXNet params file'),
             (['--gluon_weight_path', weight, '--to', 'hf', '--output_dir', tmp_path / 'taken'], 'already exists'),
             (['--gluon_weight_path', weight, '--to', 'hf', '--output_dir', tmp_path / 'c', '--max_len', 999], 'max_len'),
             (['--gluon_weight_path', weight, '--to', 'onnx', '--output_dir', tmp_path / 'd'], 'set KOBERT_HF_VENV')]
    monkeypatch.setenv('KOBERT_HF_VENV', str(tmp_path / 'no-venv'))
    for args, words in cases:
        r = call('export', *args)
        assert r.returncode == 2 and r.stderr.startswith('error: ') and words in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and 'Traceback' not in r.stderr
    assert sorted(os.listdir(str(tmp_path))) == ['junk.params', 'taken', 'w.json', 'w.params']
    r = call('export', '--gluon_weight_path', weight, '--to', 'hf', '--output_dir', tmp_path / 'e', '--int8')
    assert r.returncode == 2 and '--int8 is for --to onnx' in r.stderr


def test_overwrite_replaces_a_finished_export_only(tmp_path, tokenizer, call):
    weight = make_weight(tmp_path / 'w.params', tokenizer)
    mine = tmp_path / 'mine'
    mine.mkdir()
    (mine / 'notes.txt').write_text('keep me')
    r = call('export', '--gluon_weight_path', weight, '--to', 'hf', '--output_dir', mine, '--overwrite')
    assert r.returncode == 2 and 'is not an output of this command: not replaced' in r.stderr
    assert os.listdir(str(mine)) == ['notes.txt']
    out = tmp_path / 'hf'
    assert call('export', '--gluon_weight_path', weight, '--to', 'hf', '--output_dir', out).returncode == 0
    written = sorted(os.listdir(str(out)))
    assert written == ['config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json',
                       'tokenizer_config.json']
    # A model repository cloned around the export: its README and .git are the user's, never removed.
    (out / 'README.md').write_text('# my model')
    (out / '.git').mkdir()
    (out / '.git' / 'HEAD').write_text('ref: refs/heads/main\n')
    (out / 'model_int8.onnx').write_bytes(b'an earlier --to onnx --int8 export')  # the command's own: removed
    (out / 'config.json').write_text((out / 'config.json').read_text().replace('"mode"', '"mode_old"'))
    r = call('export', '--gluon_weight_path', weight, '--to', 'hf', '--output_dir', out, '--overwrite')
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(str(out))) == sorted(written + ['.git', 'README.md'])
    assert (out / 'README.md').read_text() == '# my model' and (out / '.git' / 'HEAD').read_text().startswith('ref:')
    assert '"mode_old"' not in (out / 'config.json').read_text()  # replaced by the new export
    assert 'kept in %s what this command did not write: .git, README.md' % out in r.stderr
    assert [p for p in os.listdir(str(tmp_path)) if p.startswith('.')] == []


def test_overwrite_through_a_link_writes_the_folder_it_points_to(tmp_path, tokenizer, call):
    weight = make_weight(tmp_path / 'w.params', tokenizer)
    real, link = tmp_path / 'models' / 'news', tmp_path / 'current'
    real.mkdir(parents=True)
    os.symlink(str(real), str(link))
    r = call('export', '--gluon_weight_path', weight, '--to', 'hf', '--output_dir', link)
    assert r.returncode == 2 and 'already exists' in r.stderr  # an empty folder is still a folder
    os.rmdir(str(real))
    assert call('export', '--gluon_weight_path', weight, '--to', 'hf', '--output_dir', link).returncode == 0
    (real / 'notes.txt').write_text('mine')
    r = call('export', '--gluon_weight_path', weight, '--to', 'hf', '--output_dir', link, '--overwrite')
    assert r.returncode == 0, r.stderr
    assert os.path.islink(str(link)) and os.readlink(str(link)) == str(real)
    assert (real / 'notes.txt').read_text() == 'mine' and (real / 'config.json').is_file()
    assert sorted(os.listdir(str(tmp_path))) == ['current', 'models', 'w.json', 'w.params']
    assert os.listdir(str(tmp_path / 'models')) == ['news']
