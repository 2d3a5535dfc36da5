"""bf16 and INT8 inference through oneDNN: which CPUs have it, MXNet's AMP conversion to bf16, and
the calibration sample of INT8 (kobert_gluon.int8 makes the INT8 models).

fp32 BERT is at this kind of CPU's arithmetic limit; bf16 (AVX-512 BF16) and INT8 (AVX-512 VNNI)
are where more speed comes from. A CPU without those instructions falls back to fp32.
"""
import contextlib
import logging
import os
import sys
import warnings

import mxnet as mx
import numpy as np

from kobert_base.architectures import PRECISIONS

log = logging.getLogger('kobert_news.precision')

# CPU flags (Linux /proc/cpuinfo) that make each precision fast; any one will do.
NEEDS = {'bf16': ('avx512_bf16', 'amx_bf16'), 'int8': ('avx512_vnni', 'avx_vnni', 'amx_int8')}
# AMP's bf16 lists do not name the fused attention ops GluonNLP's BERT uses; left out, conversion
# fails with "Incompatible attr in node ...interleaved_matmul_selfatt_valatt".
ATTENTION_OPS = ('_contrib_interleaved_matmul_selfatt_qk', '_contrib_interleaved_matmul_selfatt_valatt')
CALIB_SIZE = 256


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
    with quiet_native(), warnings.catch_warnings():
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


@contextlib.contextmanager
def quiet_native():
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
