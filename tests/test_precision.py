"""bf16 and INT8 inference against fp32 on the shipped (trained) default weight."""
import gc
import logging
import os
import subprocess
import sys
import weakref

import mxnet as mx
import numpy as np
import pandas as pd
import pytest
from gluonnlp.model import BERTModel

from kobert_base.errors import UserError
from kobert_base.paths import DEFAULT_WEIGHT
from kobert_gluon import int8, precision
from kobert_gluon import model as model_lib
from kobert_gluon.predictor import Predictor
from tests.conftest import ROOT

WEIGHT = os.path.join(ROOT, 'weights', DEFAULT_WEIGHT)
SAMPLE = pd.read_csv(os.path.join(ROOT, 'data', 'sample.csv'))
TITLES = list(SAMPLE['title'])


@pytest.fixture(scope='module')
def fp32(kobert_home):
    return Predictor.from_weight(WEIGHT, kobert_home).predict_proba(TITLES)


@pytest.mark.parametrize('kind', ['bf16', 'int8'])
def test_close_to_fp32_on_real_text(kind, fp32, kobert_home):
    if not precision.supported(kind):
        pytest.skip('this CPU lacks %s instructions' % kind)
    p = Predictor.from_weight(WEIGHT, kobert_home)
    assert p.set_precision(kind, TITLES) == kind
    probs = p.predict_proba(TITLES)
    assert np.abs(probs - fp32).max() < 0.05
    assert (probs.argmax(1) == fp32.argmax(1)).mean() >= 0.9
    bodies = list(SAMPLE['cleanBody'])  # other lengths than calibrated on still run
    assert p.predict_proba(bodies).shape == (24, 8)


def test_calibration_sample_covers_the_lengths():
    lengths = list(range(5, 1005))
    texts = ['t%d' % n for n in lengths]
    sample = precision.calibration_sample(texts, lengths, size=50)
    assert len(sample) == 50 and sample[0] == 't5' and sample[-1] == 't1004'
    picked = sorted(int(t[1:]) for t in sample)
    assert max(np.diff(picked)) <= 25  # no length band left out
    assert precision.calibration_sample(texts[:10], lengths[:10], size=50) == texts[:10]


def test_unsupported_cpu_falls_back_to_fp32(monkeypatch, kobert_home, caplog):
    assert precision.effective('bf16', flags={'avx2'}) == 'fp32'
    assert precision.effective('int8', flags={'avx512_vnni'}) == 'int8'
    monkeypatch.setattr(precision, 'cpu_flags', lambda: {'sse2', 'avx2'})
    p = Predictor.from_weight(WEIGHT, kobert_home)
    net = p.net
    with caplog.at_level(logging.WARNING, logger='kobert_news.precision'):
        assert p.set_precision('int8', TITLES) == 'fp32'
    assert p.net is net and 'running fp32' in caplog.text


def test_int8_needs_texts(kobert_home):
    if not precision.supported('int8'):
        pytest.skip('this CPU lacks int8 instructions')
    p = Predictor.from_weight(WEIGHT, kobert_home)
    with pytest.raises(UserError, match='needs sample texts'):
        p.set_precision('int8', [])


@pytest.mark.parametrize('kind', ['bf16', 'int8'])
def test_main_precision(kind, tmp_path, kobert_home, call):
    out = tmp_path / 'out.csv'
    r = call('predict', '--data_path', os.path.join(ROOT, 'data', 'sample.csv'), '--save_path', out, '--precision',
             kind, '--cache_dir', tmp_path / 'cache')
    assert r.returncode == 0, r.stderr
    assert ('precision: %s' % (kind if precision.supported(kind) else 'fp32')) in r.stderr
    assert 'Traceback' not in r.stderr and 'quantized concat' not in r.stderr
    ref = tmp_path / 'ref.csv'
    assert call('predict', '--data_path', os.path.join(ROOT, 'data', 'sample.csv'), '--save_path', ref).returncode == 0
    a, b = pd.read_csv(str(out), encoding='utf-8-sig'), pd.read_csv(str(ref), encoding='utf-8-sig')
    assert (a['predicted'] == b['predicted']).mean() >= 0.9


def test_int8_model_is_cached_by_weight_and_calibration(kobert_home, tmp_path, monkeypatch, fp32):
    if not precision.supported('int8'):
        pytest.skip('this CPU lacks int8 instructions')
    first = Predictor.from_weight(WEIGHT, kobert_home, cache_dir=str(tmp_path))
    first.set_precision('int8', TITLES)
    entries = os.listdir(str(tmp_path / 'int8'))
    assert len(entries) == 1
    entry = tmp_path / 'int8' / entries[0]
    assert sorted(os.listdir(str(entry))) == ['manifest.json', 'q-0000.params', 'q-symbol.json']
    expected = first.predict_proba(TITLES)

    def no_quantizing(*args):
        raise AssertionError('quantized again despite the cache')
    monkeypatch.setattr(int8, 'quantize', no_quantizing)
    again = Predictor.from_weight(WEIGHT, kobert_home, cache_dir=str(tmp_path))
    assert again.set_precision('int8', TITLES) == 'int8'
    np.testing.assert_array_equal(again.predict_proba(TITLES), expected)
    other = Predictor.from_weight(WEIGHT, kobert_home, cache_dir=str(tmp_path))
    with pytest.raises(AssertionError, match='quantized again'):
        other.set_precision('int8', TITLES[:10])  # other calibration texts: another model


def test_damaged_int8_cache_entries_are_rebuilt(kobert_home, tmp_path, tokenizer, caplog):
    """A cached int8 model swapped for another weight's, truncated or emptied is detected by its
    manifest, named in one warning, and rebuilt, never used."""
    if not precision.supported('int8'):
        pytest.skip('this CPU lacks int8 instructions')
    from tests.conftest import make_weight
    other = make_weight(tmp_path / 'other.params', tokenizer, config='tiny', mode=2)
    p = Predictor.from_weight(WEIGHT, kobert_home, cache_dir=str(tmp_path / 'c'))
    p.set_precision('int8', TITLES)
    expected = p.predict_proba(TITLES)
    entry = tmp_path / 'c' / 'int8' / os.listdir(str(tmp_path / 'c' / 'int8'))[0]
    q = Predictor.from_weight(other, kobert_home, cache_dir=str(tmp_path / 'd'))
    q.set_precision('int8', TITLES)
    foreign = tmp_path / 'd' / 'int8' / os.listdir(str(tmp_path / 'd' / 'int8'))[0]
    damages = [lambda f: f.write_bytes(f.read_bytes()[:len(f.read_bytes()) // 2]),
               lambda f: f.write_bytes(b''),
               lambda f: f.write_bytes(bytes([f.read_bytes()[0] ^ 1]) + f.read_bytes()[1:]),
               lambda f: f.write_bytes((foreign / f.name).read_bytes())]
    for damage in damages:
        for name in ('q-symbol.json', 'q-0000.params'):
            damage(entry / name)
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger='kobert_news'):
                again = Predictor.from_weight(WEIGHT, kobert_home, cache_dir=str(tmp_path / 'c'), precision='int8',
                                              calib_texts=TITLES)
            assert 'cache entry %s is damaged' % entry in caplog.text
            np.testing.assert_array_equal(again.predict_proba(TITLES), expected)


def _fp32_blocks():
    """The fp32 classifiers alive in this process (gluon Blocks of the weight's own graph)."""
    gc.collect()
    return {id(o) for o in gc.get_objects() if isinstance(o, (model_lib.TopicBERT, BERTModel))}


def test_cached_int8_never_builds_or_reads_the_fp32_model(kobert_home, tmp_path, monkeypatch):
    """A cache hit loads the quantized SymbolBlock alone: no fp32 graph is built, the weight's params
    are never read, and the outputs are those of the model as first quantized. A miss lets its fp32
    net go once the int8 model exists."""
    if not precision.supported('int8'):
        pytest.skip('this CPU lacks int8 instructions')
    before = _fp32_blocks()
    first = Predictor.from_weight(WEIGHT, kobert_home, cache_dir=str(tmp_path), precision='int8', calib_texts=TITLES)
    assert first.precision == 'int8' and isinstance(first.net, mx.gluon.SymbolBlock)
    assert _fp32_blocks() <= before  # quantized, then released
    expected = first.predict_proba(TITLES)

    def refuse(*args, **kw):
        raise AssertionError('the fp32 model was built or read')
    for name in ('build_classifier', 'load', 'build_bert'):
        monkeypatch.setattr(model_lib, name, refuse)
    monkeypatch.setattr(int8, 'quantize', refuse)
    read = []
    nd_load = mx.nd.load
    monkeypatch.setattr(mx.nd, 'load', lambda path, *a: read.append(path) or nd_load(path, *a))
    again = Predictor.from_weight(WEIGHT, kobert_home, cache_dir=str(tmp_path), precision='int8', calib_texts=TITLES)
    assert isinstance(again.net, mx.gluon.SymbolBlock) and _fp32_blocks() <= before
    assert [os.path.basename(p) for p in read] == [int8.PARAMS] and WEIGHT not in read
    np.testing.assert_array_equal(again.predict_proba(TITLES), expected)


def test_set_precision_int8_lets_the_fp32_net_go(kobert_home, tmp_path):
    """Converting a predictor that holds its fp32 net: the quantized model gives the same numbers as
    the one from_weight builds, and the fp32 net is no longer referenced."""
    if not precision.supported('int8'):
        pytest.skip('this CPU lacks int8 instructions')
    p = Predictor.from_weight(WEIGHT, kobert_home, cache_dir=str(tmp_path))
    fp32_net = weakref.ref(p.net)
    assert p.set_precision('int8', TITLES) == 'int8'
    gc.collect()
    assert fp32_net() is None
    direct = Predictor.from_weight(WEIGHT, kobert_home, cache_dir=str(tmp_path / 'other'), precision='int8',
                                   calib_texts=TITLES)
    np.testing.assert_array_equal(p.predict_proba(TITLES), direct.predict_proba(TITLES))


def test_int8_batches_at_exact_lengths(kobert_home, tmp_path):
    """The int8 graph takes every length as it comes (no rounding up to a multiple of 8), and its
    numbers are the same either way: padding is masked, and int8 sums are exact."""
    if not precision.supported('int8'):
        pytest.skip('this CPU lacks int8 instructions')
    from kobert_gluon.batching import ROUND_TO, Batcher
    p = Predictor.from_weight(WEIGHT, kobert_home, cache_dir=str(tmp_path), precision='int8', calib_texts=TITLES)
    assert p.batcher.round_to == 1
    lengths = [len(x) for x in p.batcher.encode(TITLES)]
    assert [tokens.shape[1] for t in TITLES for _, tokens, _ in p.batcher.batches([t])] == lengths
    assert any(n % ROUND_TO for n in lengths)
    exact = p.predict_proba(TITLES)
    p.batcher = Batcher(p.tokenizer, p.max_len, round_to=ROUND_TO)
    assert {tokens.shape[1] % ROUND_TO for _, tokens, _ in p.batcher.batches(TITLES)} == {0}
    np.testing.assert_array_equal(p.predict_proba(TITLES), exact)


# glibc's mmap threshold, seen from a fresh process: does a 1 MB block come straight from the system?
MMAP_PROBE = """
import ctypes, sys
sys.path.insert(0, %r)
from kobert_gluon import int8
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ('arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks',
                                                'fsmblks', 'uordblks', 'fordblks', 'keepcost')]
libc = ctypes.CDLL(None)
if not hasattr(libc, 'mallinfo2'):
    sys.exit(3)
libc.mallinfo2.restype, libc.malloc.restype = Info, ctypes.c_void_p
libc.free(ctypes.c_void_p(libc.malloc(16 << 20)))  # glibc's own threshold rises past 16 MB here
int8.return_freed_memory()  # as loading an int8 model does
before = libc.mallinfo2().hblks
block = libc.malloc(1 << 20)
print(libc.mallinfo2().hblks - before)
"""


@pytest.mark.parametrize('tunables, mapped', [('', 1), ('glibc.malloc.mmap_threshold=33554432', 0)])
def test_int8_hands_activations_back_unless_the_user_set_a_threshold(tunables, mapped):
    """Loading an int8 model puts glibc's mmap threshold back to 128 KB, so freed activations go back
    to the system (after glibc had raised it, a 1 MB block comes from the system again); a threshold
    the user set in GLIBC_TUNABLES stays (the block comes from the heap)."""
    env = dict(os.environ, GLIBC_TUNABLES=tunables)
    done = subprocess.run([sys.executable, '-c', MMAP_PROBE % ROOT], env=env, capture_output=True, text=True,
                          timeout=120)
    if done.returncode == 3:
        pytest.skip('not glibc 2.33 or later (no mallinfo2)')
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) == mapped


def test_int8_never_uses_the_cached_model_of_a_replaced_weight(kobert_home, tmp_path, tokenizer, monkeypatch):
    """A weight replaced by another of the same size, its time set back: int8 quantizes the new one
    (its answers are the new weight's, as fp32's are), never the old one's cached model."""
    if not precision.supported('int8'):
        pytest.skip('this CPU lacks int8 instructions')
    import shutil
    import time
    from tests.conftest import make_weight
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    weight = make_weight(tmp_path / 'w.params', tokenizer, mode=2, seed=0)
    other = make_weight(tmp_path / 'other.params', tokenizer, mode=2, seed=1)
    old = os.stat(weight)
    time.sleep(2.5)  # old enough to be remembered
    cache = str(tmp_path / 'cache')
    before = Predictor.from_weight(weight, kobert_home, cache_dir=cache, precision='int8', calib_texts=TITLES)
    old_answers = before.predict_proba(TITLES)
    for suffix in ('.params', '.json'):
        shutil.copyfile(os.path.splitext(other)[0] + suffix, os.path.splitext(weight)[0] + suffix)
    os.utime(weight, ns=(old.st_atime_ns, old.st_mtime_ns))
    fp32 = Predictor.from_weight(weight, kobert_home).predict_proba(TITLES)
    after = Predictor.from_weight(weight, kobert_home, cache_dir=cache, precision='int8', calib_texts=TITLES)
    answers = after.predict_proba(TITLES)
    assert len(os.listdir(os.path.join(cache, 'int8'))) == 2  # a model per weight
    # int8 of the new weight is within 3e-4 of its fp32 here; the old weight's answers are 0.01 away
    assert np.abs(answers - fp32).max() < np.abs(old_answers - fp32).max() / 10
