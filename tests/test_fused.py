"""The inference graph (fused QKV weight, additive mask) against GluonNLP's, and the huge-page restart."""
import os
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest

import kobert_gluon
from kobert_base.architectures import ARCHITECTURES
from kobert_base.topics import TOPICS
from kobert_gluon import model
from kobert_gluon.fused import FirstPositionCell, FusedSelfAttention, fuse_attention
from kobert_gluon.predictor import Predictor
from tests.conftest import ROOT
from tests.test_model import _batch

# Different lengths, so padding is masked in every batch.
TEXTS = ['손흥민 시즌 10호골…토트넘 3연승', '한국은행 기준금리 3.5% 동결', '삼성전자, 3나노 반도체 양산 돌입',
         '국회 본회의, 선거구 획정안 통과', '넷플릭스 오리지널 시리즈 공개 첫 주 세계 1위에 올라']


@pytest.mark.parametrize('clusters', [0, 4])
def test_same_outputs_as_gluonnlp(tokenizer, clusters):
    mx.random.seed(3)
    net = model.build_classifier(ARCHITECTURES['tiny'], len(TOPICS), num_clusters=clusters)
    batch = list(_batch(tokenizer, TEXTS))
    if clusters:
        batch.append(mx.nd.array([0, 1, 2, 3, 1]))
    assert len(set(batch[2].asnumpy())) > 1
    expected = net(*batch).asnumpy()
    fuse_attention(net)
    cells = list(net.bert.encoder.transformer_cells)
    assert isinstance(cells[-1], FirstPositionCell) and not any(isinstance(c, FirstPositionCell) for c in cells[:-1])
    attention = [getattr(c, 'cell', c).attention_cell for c in cells]
    assert all(isinstance(c, FusedSelfAttention) for c in attention)
    assert not any(k.endswith('query_weight') for k in net.collect_params())
    assert fuse_attention(net) is net and list(net.bert.encoder.transformer_cells) == cells
    np.testing.assert_allclose(net(*batch).asnumpy(), expected, atol=1e-5)
    net.hybridize(static_alloc=True, static_shape=True)
    np.testing.assert_allclose(net(*batch).asnumpy(), expected, atol=1e-5)


def test_padding_is_masked(tokenizer):
    """A text's output does not depend on the padding after it (in a batch with a longer text)."""
    mx.random.seed(4)
    net = fuse_attention(model.build_classifier(ARCHITECTURES['tiny'], len(TOPICS)))
    alone = net(*_batch(tokenizer, TEXTS[1:2])).asnumpy()
    padded = net(*_batch(tokenizer, [TEXTS[1], TEXTS[4]])).asnumpy()
    np.testing.assert_allclose(padded[0], alone[0], atol=1e-5)


def test_predictor_fuses_only_its_own_net(tiny_weight, tokenizer, kobert_home):
    p = Predictor.from_weight(tiny_weight, kobert_home)
    assert isinstance(p.net.bert.encoder.transformer_cells[0].attention_cell, FusedSelfAttention)
    net, meta = model.load(tiny_weight)
    training = Predictor(net, tokenizer, meta['topics'], meta['max_len'])
    np.testing.assert_allclose(p.predict_proba(TEXTS), training.predict_proba(TEXTS), atol=1e-5)
    assert not isinstance(net.bert.encoder.transformer_cells[0].attention_cell, FusedSelfAttention)


def _tunables_after_restart(env):
    code = 'import kobert_gluon, os; kobert_gluon.rerun_with_huge_pages(); print(os.environ.get("GLIBC_TUNABLES"))'
    out = subprocess.run([sys.executable, '-c', code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_restart_with_huge_pages(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != 'GLIBC_TUNABLES'}
    if kobert_gluon.huge_pages_available():
        assert _tunables_after_restart(env) == kobert_gluon.HUGE_PAGES
    else:
        assert _tunables_after_restart(env) == 'None'
    assert _tunables_after_restart(dict(env, GLIBC_TUNABLES='')) == ''  # the user's setting wins
    thp = tmp_path / 'enabled'
    thp.write_text('always madvise [never]\n')
    assert not kobert_gluon.huge_pages_available(str(thp))
    assert not kobert_gluon.huge_pages_available(str(tmp_path / 'missing'))


def test_a_restart_runs_the_same_command_line(tmp_path):
    """python -m kobert_news restarts as python -m kobert_news: sys.argv[0] is then the module's file,
    which run as a script would put the package's own folder first on sys.path."""
    (tmp_path / 'pkg').mkdir()
    (tmp_path / 'pkg' / '__init__.py').write_text('')
    (tmp_path / 'pkg' / '__main__.py').write_text('import kobert_gluon\nprint(kobert_gluon.command_line())\n')
    env = dict(os.environ, PYTHONPATH=ROOT)
    for args, want in ((['-m', 'pkg', 'a', 'b'], "['-m', 'pkg', 'a', 'b']"),
                       ([str(tmp_path / 'pkg' / '__main__.py'), 'c'], "['%s', 'c']" % (tmp_path / 'pkg' / '__main__.py'))):
        out = subprocess.run([sys.executable] + args, cwd=str(tmp_path), env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == want
