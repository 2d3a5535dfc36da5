"""train.py --pretrained hf:DIR and --pretrained gluonnlp: a transformers BERT checkpoint, or GluonNLP's
model zoo, as the Gluon body."""
import contextlib
import functools
import hashlib
import http.server
import json
import os
import shutil
import threading
import zipfile

import gluonnlp as nlp
import mxnet as mx
import numpy as np
import pytest

from kobert_base.architectures import ARCHITECTURES
from kobert_base.errors import UserError
from kobert_base.topics import TOPICS
from kobert_base.options import TrainOptions
from kobert_gluon import hub, zoo
from kobert_gluon.export import hf
from kobert_gluon import model as model_lib
from kobert_gluon.tokenizer import KoBERTTokenizer
from kobert_gluon.trainer import build_model
from tests.conftest import make_weight
from tests.hf_helpers import hf_python  # noqa: F401 (fixture)
from tests.test_train import SAMPLE, run_train

# A BertModel of the tiny configuration on KoBERT's vocabulary, saved by transformers itself
# (config.json + model.safetensors) and, beside it, in the layout skt/kobert-base-v1 publishes
# (config.json + pytorch_model.bin; transformers 5 saves only safetensors, so torch.save).
MAKE_CHECKPOINT = '''
import sys, torch
from transformers import BertConfig, BertModel
torch.manual_seed(0)
config = BertConfig(vocab_size=8002, hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
                    intermediate_size=512, max_position_embeddings=512, pad_token_id=1)
model = BertModel(config, add_pooling_layer=sys.argv[3] == 'pooler')
model.save_pretrained(sys.argv[1])
config.save_pretrained(sys.argv[2])
torch.save(model.state_dict(), sys.argv[2] + '/pytorch_model.bin')
'''


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory, hf_python):
    """{'safetensors': dir, 'bin': dir, 'no_pooler': dir} written by transformers in .venv-hf."""
    import subprocess
    root = tmp_path_factory.mktemp('hf')
    out = {}
    for name, pooler in (('safetensors', 'pooler'), ('no_pooler', 'none')):
        a, b = root / name, root / (name + '-bin')
        r = subprocess.run([hf_python, '-c', MAKE_CHECKPOINT, str(a), str(b), pooler], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        out[name] = str(a)
        if name == 'safetensors':
            out['bin'] = str(b)
    return out


def body_arrays(net):
    """name -> array of the Gluon body's parameters, named relative to the BERT model."""
    return {k: v.data().asnumpy() for k, v in net.bert._collect_params_with_prefix().items()}


def test_round_trip_is_exact(tmp_path, tokenizer):
    """Gluon -> HF -> Gluon gives back every body array bit for bit, and the conversion is cached."""
    weight = make_weight(tmp_path / 'w.params', tokenizer, seed=11)
    hf.export(weight, str(tmp_path / 'hf'))
    path = hf.import_body(str(tmp_path / 'hf'), ARCHITECTURES['tiny'], tokenizer, str(tmp_path / 'cache'))
    original = {k[len('bert.'):]: v.asnumpy() for k, v in mx.nd.load(weight).items() if k.startswith('bert.')}
    converted = {k: v.asnumpy() for k, v in mx.nd.load(path).items()}
    assert sorted(converted) == sorted(original)
    for k in original:
        assert np.array_equal(converted[k], original[k]), k
    stamp = os.stat(path).st_mtime_ns
    assert hf.import_body(str(tmp_path / 'hf'), ARCHITECTURES['tiny'], tokenizer, str(tmp_path / 'cache')) == path
    assert os.stat(path).st_mtime_ns == stamp


@pytest.mark.parametrize('kind', ['safetensors', 'bin'])
def test_transformers_checkpoint_becomes_the_body(kind, checkpoints, tmp_path, tokenizer, kobert_home):
    from safetensors.numpy import load_file
    reference = load_file(os.path.join(checkpoints['safetensors'], 'model.safetensors'))
    cfg = TrainOptions(model='tiny', pretrained='hf:' + checkpoints[kind], cache_dir=str(tmp_path),
                       kobert_dir=kobert_home)
    net, body = build_model(cfg, tokenizer)
    assert body.startswith(str(tmp_path / 'hf-import'))
    got = body_arrays(net)
    names = hf.body_names(2)
    assert len(got) == len(names) == len(reference) - ('embeddings.position_ids' in reference)
    for gluon, name in names:
        assert np.array_equal(got[gluon], reference[name]), gluon


def test_train_cli_starts_from_a_checkpoint(checkpoints, tmp_path, kobert_home):
    out = tmp_path / 'run'
    r = run_train('--data_path', SAMPLE, '--test_size', 0.34, '--epochs', 1, '--model', 'tiny', '--output_dir', out,
                  '--pretrained', 'hf:' + checkpoints['bin'], '--cache_dir', tmp_path / 'cache')
    assert r.returncode == 0, r.stderr
    with open(str(out / 'model.json'), encoding='utf-8') as f:
        assert json.load(f)['pretrained'].startswith('safetensors-bin-')


def test_checkpoints_that_do_not_fit_are_refused(checkpoints, tmp_path, kobert_home):
    reversed_vocab = tmp_path / 'reversed'
    shutil.copytree(checkpoints['safetensors'], str(reversed_vocab))
    tokens = json.load(open(os.path.join(kobert_home, hub.VOCAB_JSON), encoding='utf-8'))['idx_to_token']
    (reversed_vocab / 'vocab.txt').write_text('\n'.join(reversed(tokens)) + '\n', encoding='utf-8')
    cases = [('small', checkpoints['safetensors'], "configuration 'small' needs 4 layers x 256 units"),
             ('tiny', checkpoints['no_pooler'], 'pooler.dense.weight: a BertModel checkpoint'),
             ('tiny', str(reversed_vocab), "another token order than KoBERT's vocabulary here"),
             ('tiny', str(tmp_path / 'nowhere'), 'no config.json')]
    for model, path, words in cases:
        r = run_train('--data_path', SAMPLE, '--model', model, '--output_dir', tmp_path / 'run', '--pretrained',
                      'hf:' + path, '--cache_dir', tmp_path / 'cache')
        assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith('error: '), r.stderr
        assert words in r.stderr and 'Traceback' not in r.stderr, r.stderr
    assert not (tmp_path / 'run').exists()


# ---------------------------------------------------------------- GluonNLP's model zoo

class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(directory):
    """A stand-in for the repository MXNET_GLUON_REPO names, on 127.0.0.1."""
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield 'http://127.0.0.1:%d/' % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def sha1(path):
    with open(str(path), 'rb') as f:
        return hashlib.sha1(f.read()).hexdigest()


def publish(repo, folder, name, ext, src):
    """src as the zoo publishes it: {repo}/{folder}/{name}-{sha1[:8]}.zip holding {name}-{sha1[:8]}{ext}."""
    digest = sha1(src)
    stem = '%s-%s' % (name, digest[:8])
    os.makedirs(os.path.join(str(repo), folder), exist_ok=True)
    with zipfile.ZipFile(os.path.join(str(repo), folder, stem + '.zip'), 'w') as z:
        z.write(str(src), stem + ext)
    return digest


def spiece_like_kobert(src, dst):
    """KoBERT's v0.1 sentencepiece model laid out as its .spiece is: the BERT special tokens are
    pieces of the model, so that BERTVocab.from_sentencepiece gives 8,002 tokens (the v0.1 model
    itself gives 8,004: <s>, </s> and four added ones)."""
    from sentencepiece import sentencepiece_model_pb2 as pb
    proto = pb.ModelProto()
    with open(src, 'rb') as f:
        proto.ParseFromString(f.read())
    for piece, name in zip(proto.pieces, ('[UNK]', '[CLS]', '[SEP]')):
        piece.piece = name
    for name in ('[PAD]', '[MASK]'):
        proto.pieces.add(piece=name, score=0.0, type=pb.ModelProto.SentencePiece.CONTROL)
    proto.trainer_spec.bos_id, proto.trainer_spec.eos_id, proto.trainer_spec.pad_id = -1, -1, 8000
    proto.trainer_spec.unk_piece = '[UNK]'
    with open(str(dst), 'wb') as f:
        f.write(proto.SerializeToString())
    return str(dst)


@pytest.fixture
def zoo_repo(tmp_path, monkeypatch, kobert_home):
    """A repository holding a stand-in body and KoBERT's sentencepiece model as the dataset's .spiece.

    GluonNLP 0.10 really registers kobert_news_wiki_ko_cased (checked first). A stand-in cannot
    have the registered SHA-1s, so the test registers the stand-ins' in gluonnlp's tables; and it
    gives bert_12_768_12 the tiny configuration's sizes, as a full-size stand-in (369 MB) would
    take half a minute to write here. Download, SHA-1 checks, unzipping and loading are gluonnlp's own."""
    from gluonnlp.data import utils as data_utils
    from mxnet.gluon.model_zoo import model_store
    name = '%s_%s' % (zoo.MODEL, zoo.DATASET)
    assert model_store._model_sha1[name] == 'ccf0593e03b91b73be90c191d885446df935eb64'
    assert data_utils._vocab_sha1[zoo.DATASET][:2] == ['f86b1a8355819ba5ab55e7ea4a4ec30fdb5b084f', '.spiece']
    tiny = ARCHITECTURES['tiny']
    monkeypatch.setitem(nlp.model.bert.bert_hparams, zoo.MODEL, dict(
        nlp.model.bert.bert_hparams[zoo.MODEL], num_layers=tiny.num_layers, units=tiny.units,
        hidden_size=tiny.hidden_size, num_heads=tiny.num_heads, embed_size=tiny.units))
    mx.random.seed(5)
    body = model_lib.build_bert(tiny)
    body.initialize(mx.init.Normal(0.02))
    ids = mx.nd.array([[2, 3]])
    body(ids, mx.nd.zeros_like(ids), mx.nd.array([2.0]))
    body.save_parameters(str(tmp_path / 'standin.params'))
    repo = tmp_path / 'repo'
    monkeypatch.setitem(model_store._model_sha1, name,
                        publish(repo, 'gluon/models', name, '.params', tmp_path / 'standin.params'))
    spiece = spiece_like_kobert(os.path.join(kobert_home, hub.SP_MODEL), tmp_path / 'standin.spiece')
    monkeypatch.setitem(data_utils._vocab_sha1, zoo.DATASET,
                        [publish(repo, 'gluon/dataset/vocab', zoo.DATASET, '.spiece', spiece), '.spiece',
                         {'padding_token': '[PAD]'}])
    # The project's tokenizer reading the same file as KoBERT's .spiece.
    kobert = tmp_path / 'kobert'
    kobert.mkdir()
    shutil.copy(spiece, str(kobert / hub.SPIECE))
    monkeypatch.setitem(hub.CHECKSUMS, hub.SPIECE, hub.md5sum(str(kobert / hub.SPIECE))[:10])
    monkeypatch.delenv('KOBERT_HOME', raising=False)
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    return repo, KoBERTTokenizer.load(str(kobert)), str(tmp_path / 'standin.params')


def test_gluonnlp_zoo_body_downloads_checks_and_loads(zoo_repo, tmp_path, monkeypatch):
    repo, tokenizer, standin = zoo_repo
    root = tmp_path / 'mxnet' / 'models'
    with serve(repo) as url:
        monkeypatch.setenv('MXNET_GLUON_REPO', url)
        path = zoo.zoo_body(tokenizer, root=str(root))
    assert sha1(path) == sha1(standin) and os.path.dirname(path) == str(root)
    net = model_lib.build_classifier(ARCHITECTURES['tiny'], len(TOPICS))
    model_lib.load_pretrained_body(net, path)
    expected = {k: v.asnumpy() for k, v in mx.nd.load(standin).items()}
    got = body_arrays(net)
    assert sorted(got) == sorted(expected) and all(np.array_equal(got[k], expected[k]) for k in expected)
    # Found again with the right SHA-1: no repository needed.
    monkeypatch.setenv('MXNET_GLUON_REPO', 'http://127.0.0.1:9/')
    assert zoo.zoo_body(tokenizer, root=str(root)) == path


def test_gluonnlp_zoo_refusals(zoo_repo, tmp_path, monkeypatch, tokenizer):
    repo, spiece_tokenizer, _ = zoo_repo
    monkeypatch.setenv('MXNET_GLUON_REPO', 'http://127.0.0.1:9/')
    with pytest.raises(UserError, match='cannot get bert_12_768_12 kobert_news_wiki_ko_cased .* at http://127.0.0.1:9/'):
        zoo.zoo_body(spiece_tokenizer, root=str(tmp_path / 'a'))
    with serve(repo) as url:
        monkeypatch.setenv('MXNET_GLUON_REPO', url)
        with pytest.raises(UserError, match='maps tokens to other ids'):  # the v0.1 pair's order differs
            zoo.zoo_body(tokenizer, root=str(tmp_path / 'b'))


def test_gluonnlp_body_is_only_for_kobert(tmp_path, kobert_home):
    r = run_train('--data_path', SAMPLE, '--model', 'tiny', '--output_dir', tmp_path / 'run', '--pretrained', 'gluonnlp')
    assert r.returncode == 2 and 'fits only --model kobert' in r.stderr and 'Traceback' not in r.stderr
