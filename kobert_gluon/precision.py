"""bf16 and INT8 inference through oneDNN: MXNet's AMP conversion and quantize_net_v2.

fp32 BERT is at this kind of CPU's arithmetic limit; bf16 (AVX-512 BF16) and INT8 (AVX-512 VNNI)
are where more speed comes from. A CPU without those instructions falls back to fp32.
"""
import contextlib
import hashlib
import logging
import os
import shutil
import sys
import warnings

import mxnet as mx
import numpy as np

from kobert_gluon import cache
from kobert_gluon.fused import GRAPH

log = logging.getLogger('kobert_news.precision')

PRECISIONS = ('fp32', 'bf16', 'int8')
# CPU flags (Linux /proc/cpuinfo) that make each precision fast; any one will do.
NEEDS = {'bf16': ('avx512_bf16', 'amx_bf16'), 'int8': ('avx512_vnni', 'avx_vnni', 'amx_int8')}
# AMP's bf16 lists do not name the fused attention ops GluonNLP's BERT uses; left out, conversion
# fails with "Incompatible attr in node ...interleaved_matmul_selfatt_valatt".
ATTENTION_OPS = ('_contrib_interleaved_matmul_selfatt_qk', '_contrib_interleaved_matmul_selfatt_valatt')
CALIB_SIZE = 256
# Tensor-wise scales: channel-wise ones are recomputed from the fp32 weight on every call in
# MXNet 1.9 (about 1.8 ms per 768x3072 layer at seq 32). Tensor-wise needs the fused attention
# graph: on a QKV weight computed per call, quantization fails with a type error.
QUANTIZE = {'quantize_mode': 'smart', 'quantize_granularity': 'tensor-wise', 'calib_mode': 'naive'}


def cpu_flags():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    return set(line.split(':', 1)[1].split())
    except OSError:
        pass
    return set()


def supported(precision, flags=None):
    if precision == 'fp32':
        return True
    flags = cpu_flags() if flags is None else flags
    return any(f in flags for f in NEEDS[precision])


def effective(precision, flags=None):
    """The precision to run: the one asked for, or fp32 (with a warning) on a CPU without it."""
    if precision not in PRECISIONS:
        raise ValueError('precision must be one of %s' % ', '.join(PRECISIONS))
    if supported(precision, flags):
        return precision
    log.warning('this CPU has none of %s: %s inference would be slow or fail, running fp32',
                ', '.join(NEEDS[precision]), precision)
    return 'fp32'


def to_bf16(net):
    """The hybridized classifier with bf16 matrix work; attention score ops stay fp32."""
    from mxnet.contrib import amp
    from mxnet.contrib.amp.lists import symbol_bf16
    for op in ATTENTION_OPS:
        if op not in symbol_bf16.FP32_FUNCS:
            symbol_bf16.FP32_FUNCS.append(op)
    with _quiet_native(), warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)  # "Cannot decide type for ... data0"
        return amp.convert_hybrid_block(net, target_dtype='bfloat16', ctx=mx.cpu())


def calibration_sample(texts, lengths, size=CALIB_SIZE):
    """Up to `size` texts spread evenly over the length range of `texts`: INT8 scales calibrated
    at one length and run at another lose accuracy, so calibration must see the length mix."""
    order = np.argsort(lengths, kind='stable')
    if len(order) <= size:
        return [texts[i] for i in order]
    pick = np.unique(np.linspace(0, len(order) - 1, size).round().astype(int))
    return [texts[i] for i in order[pick]]


def int8_key(weight_md5, max_len, sample):
    """Cache key of a quantized model: the weight, the length limit and the calibration texts."""
    recipe = '|'.join([weight_md5, str(max_len), mx.__version__, GRAPH] + [QUANTIZE[k] for k in sorted(QUANTIZE)])
    h = hashlib.sha1(recipe.encode('utf-8'))
    for t in sample:
        h.update(t.encode('utf-8') + b'\0')
    return h.hexdigest()


def cached_int8(key, cache_dir, build, n_inputs):
    """The quantized net stored under key, or build() and store it (export after its first forward).
    An entry that fails its manifest check (kobert_gluon.cache) or does not load is rebuilt."""
    folder = cache.lookup(cache_dir, key)
    if folder is not None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', UserWarning)
                net = mx.gluon.SymbolBlock.imports(os.path.join(folder, 'q-symbol.json'),
                                                   ['data%d' % i for i in range(n_inputs)],
                                                   os.path.join(folder, 'q-0000.params'), ctx=mx.cpu())
            net.hybridize(static_alloc=True, static_shape=True)
            log.info('int8 model from the cache: %s', folder)
            return net
        except (mx.base.MXNetError, AssertionError, ValueError, OSError) as e:
            log.warning('cache entry %s does not load (%s): rebuilding it', folder, type(e).__name__)
            shutil.rmtree(folder, ignore_errors=True)
    log.info('quantizing to int8 (seconds for small models, about a minute for kobert; cached afterwards)')
    net = build()
    cache.store(cache_dir, key, lambda tmp: net.export(os.path.join(tmp, 'q')), {'kind': 'int8'})
    return net


def to_int8(net, batches):
    """INT8 (QUANTIZE) of a fused net (kobert_gluon.fused), calibrated on `batches` (lists of its inputs)."""
    from mxnet.contrib import quantization
    batches = list(batches)
    with _quiet_native(), warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        qnet = quantization.quantize_net_v2(
            net, quantized_dtype='auto', calib_data=batches, num_calib_examples=sum(b[0].shape[0] for b in batches),
            ctx=mx.cpu(), logger=_Quiet(), **QUANTIZE)
    qnet(*batches[0])  # run once: export() writes empty params before the first forward
    return qnet


class _Quiet:
    """quantize_net_v2 logs every layer; keep it at debug level."""

    def info(self, *args, **kw):
        log.debug(*args, **kw)

    warning = info
    debug = info


@contextlib.contextmanager
def _quiet_native():
    """MXNet's C++ side prints a line per operator it leaves in fp32 ("quantized concat only
    supports dim>0", ...); those go to the process's stderr, which is muted meanwhile. Errors
    still arrive as Python exceptions."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, 'w') as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
