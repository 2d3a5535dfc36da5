"""INT8 models of a weight: quantized once from its fused fp32 graph, kept in the cache, and loaded
from there alone.

A cached model is a symbol file and a params file; loading it builds no fp32 graph and reads no
fp32 weight (a kobert int8 process then holds about 110 MB of parameters instead of the fp32
net's 370 MB on top). Quantizing builds the fp32 net, calibrates on sample batches in memory and
lets the fp32 net go; the files are written and the model in use is loaded from them, as a cache
hit would load it, so no fp32 buffer outlives the quantization. Where the cache cannot be
written, the model is built from memory for this run only.
"""
import ctypes
import errno
import gc
import hashlib
import logging
import os
import shutil
import warnings

import mxnet as mx
from mxnet.base import NDArrayHandle, py_str

from kobert_gluon import cache_entries
from kobert_gluon.fused import GRAPH
from kobert_gluon.precision import quiet_native
from kobert_base.progress import Progress

log = logging.getLogger('kobert_news.int8')

# Tensor-wise scales: channel-wise ones are recomputed from the fp32 weight on every call in
# MXNet 1.9 (about 1.8 ms per 768x3072 layer at seq 32). Tensor-wise needs the fused attention
# graph: on a QKV weight computed per call, quantization fails with a type error.
QUANTIZE = {'quantize_mode': 'smart', 'quantize_granularity': 'tensor-wise', 'calib_mode': 'naive',
            'quantized_dtype': 'auto'}
# Names how the files are made, in cache keys: a change here must not reuse older entries.
RECIPE = 'graph-calibrate-save-1'
SYMBOL, PARAMS = 'q-symbol.json', 'q-0000.params'
BACKEND = 'MKLDNN_QUANTIZE'  # MXNet 1.9's oneDNN subgraphs: quantized FC (+GELU), fused self-attention


def key(weight_md5, max_len, sample):
    """Cache key of a quantized model: the weight, the length limit, the calibration texts and how
    the model is made."""
    recipe = '|'.join([weight_md5, str(max_len), mx.__version__, GRAPH, RECIPE] +
                      ['%s=%s' % kv for kv in sorted(QUANTIZE.items())])
    h = hashlib.sha1(recipe.encode('utf-8'))
    for t in sample:
        h.update(t.encode('utf-8') + b'\0')
    return h.hexdigest()


def load(folder, n_inputs, ctx=mx.cpu()):
    """The quantized SymbolBlock in folder (SYMBOL and PARAMS), for inference only (see block)."""
    return_freed_memory()
    arrays = mx.nd.load(os.path.join(folder, PARAMS))
    return block(mx.sym.load(os.path.join(folder, SYMBOL)), arrays, n_inputs, ctx)


def block(sym, arrays, n_inputs, ctx=mx.cpu()):
    """The SymbolBlock of a quantized symbol and its {'arg:name' or 'aux:name': array} (emptied
    here), for inference only: no gradient buffers (SymbolBlock.imports makes a zeroed one per
    parameter, another 110 MB for kobert), each array let go as soon as it is copied in (never two
    copies of the model at once), and activations allocated per call: static allocation keeps
    every layer's at once, 1.3 GB for kobert at 32 x 128 tokens."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)  # "Cannot decide type for ... data0"
        net = mx.gluon.SymbolBlock(sym, [mx.sym.var('data%d' % i) for i in range(n_inputs)])
    params = net.collect_params()
    params.setattr('grad_req', 'null')
    names = {k.split(':', 1)[-1]: k for k in arrays}
    if set(names) != set(params.keys()):
        raise ValueError('the params file does not match the symbol')
    for name, param in params.items():
        param._load_init(arrays.pop(names[name]), [ctx], cast_dtype=True, dtype_source='saved')
    net.hybridize(static_alloc=False)
    return net


def cached(key_, cache_dir, build_fp32, batches):
    """The int8 model stored under key_, or one quantized now (build_fp32() gives the fused fp32 net,
    calibrated on batches) and stored first. An entry that fails its manifest check
    (kobert_gluon.cache_entries) or does not load is rebuilt. Where the cache cannot be written (a file in
    its place, no permission, a full disk) the model is quantized for this run only, with a warning."""
    n_inputs = len(batches[0])
    folder = cache_entries.lookup(cache_dir, key_)
    if folder is not None:
        try:
            net = load(folder, n_inputs)
            log.info('int8 model from the cache: %s', folder)
            return net
        except (mx.base.MXNetError, AssertionError, ValueError, OSError) as e:
            log.warning('cache entry %s does not load (%s): rebuilding it', folder, type(e).__name__)
            shutil.rmtree(folder, ignore_errors=True)
    log.info('quantizing to int8 (seconds for small models, 15-20 s for kobert on 2 cores; cached afterwards)')
    model = quantize(build_fp32, batches)
    try:
        folder = cache_entries.store(cache_dir, key_, lambda tmp: save(model, tmp), {'kind': 'int8'})
    except OSError as e:
        log.warning('cannot keep the int8 model in %s (%s): quantized for this run only, and again on the '
                    'next; give --cache_dir a folder that can be written', cache_dir,
                    e.strerror or type(e).__name__)
        return block(*model, n_inputs)
    del model  # loaded again from the files, as a cache hit loads it
    release_memory()
    return load(folder, n_inputs)


def uncached(build_fp32, batches):
    """An int8 model quantized now and kept nowhere (a net without a weight file)."""
    return block(*quantize(build_fp32, batches), len(batches[0]))


def save(model, folder):
    """Write a quantized (symbol, arrays) to folder as SYMBOL and PARAMS."""
    sym, arrays = model
    sym.save(os.path.join(folder, SYMBOL))
    try:
        mx.nd.save(os.path.join(folder, PARAMS), arrays)
    except mx.base.MXNetError:  # what a full disk gives MXNet's writer
        raise OSError(errno.EIO, 'the params file could not be written in full', os.path.join(folder, PARAMS))


def quantize(build_fp32, batches):
    """The int8 model of build_fp32()'s net, calibrated on batches (lists of its inputs): its symbol
    and {'arg:name' or 'aux:name': array}, in memory. The fp32 net lives only inside this call. A
    progress bar (or a log line every 30 s) counts the steps: 15-20 s for kobert on 2 cores."""
    from mxnet.contrib import quantization as q
    return_freed_memory()  # what the fp32 model and the calibration free goes back to the system
    names = ['data%d' % i for i in range(len(batches[0]))]
    with Progress(total=len(batches) + 2, desc='quantizing to int8', unit='step') as bar:
        sym, args, auxs = _fp32_graph(build_fp32, batches[0])
        with quiet_native(), warnings.catch_warnings():
            warnings.simplefilter('ignore', UserWarning)
            sym = sym.get_backend_symbol(BACKEND)
            qsym, _, _, collector = q.quantize_graph(sym, args, auxs, ctx=mx.cpu(), logger=None, **QUANTIZE)
        bar.update()
        # Calibration: every layer's output range over the sample, one executor per batch shape,
        # each sharing the fp32 arrays (no copy).
        for batch in batches:
            with quiet_native():  # "Subgraph backend MKLDNN is activated", once per executor
                exe = sym.bind(mx.cpu(), dict(args, **dict(zip(names, batch))), aux_states=auxs, grad_req='null')
                exe.set_monitor_callback(_freeing(collector), monitor_all=True)
                exe.forward(is_train=False)
                mx.nd.waitall()
            del exe
            bar.update()
        with quiet_native(), warnings.catch_warnings():
            warnings.simplefilter('ignore', UserWarning)
            qsym, qargs, qauxs = q.calib_graph(qsym, args, auxs, collector, calib_mode=QUANTIZE['calib_mode'],
                                               quantized_dtype=QUANTIZE['quantized_dtype'], logger=None)
            del args, auxs
            qsym = qsym.get_backend_symbol(BACKEND)
        arrays = {'arg:' + k: v for k, v in qargs.items()}
        arrays.update({'aux:' + k: v for k, v in qauxs.items()})
        bar.update()
    return qsym, arrays


def _freeing(collector):
    """collector.collect, freeing the output handles it skips: MXNet 1.9's collectors return early on
    outputs they do not calibrate and leak the handle, and with it that output's memory and every
    array sharing it (the fp32 weights among them: 350 MB of kobert kept after quantizing)."""
    def collect(name, handle):
        if py_str(name) in collector.include_layer:
            collector.collect(name, handle)  # wraps the handle in an NDArray, which frees it
        else:
            mx.nd.NDArray(ctypes.cast(handle, NDArrayHandle))  # freed as it goes out of scope
    return collect


def _fp32_graph(build_fp32, example):
    """(symbol, arg params, aux params) of build_fp32()'s hybridized net, in memory (what
    HybridBlock.export would write, without a file: a full disk does not stop it); the net is
    dropped here, its parameter arrays kept."""
    net = build_fp32()
    net(*example)  # a hybridized net has a graph only after a forward pass
    sym = net._cached_graph[1]
    arg_names, aux_names = set(sym.list_arguments()), set(sym.list_auxiliary_states())
    args, auxs = {}, {}
    for param in net.collect_params().values():
        if param.name in arg_names:
            args[param.name] = param.data()
        elif param.name in aux_names:
            auxs[param.name] = param.data()
    del net
    release_memory()
    return sym, args, auxs


def release_memory():
    """Collect the dropped fp32 net's cycles and hand freed heap back to the system."""
    gc.collect()
    mx.nd.waitall()
    _glibc('malloc_trim', 0)


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number


def return_freed_memory(threshold=128 * 1024):
    """From now on, blocks of `threshold` bytes and more come straight from the system and go back
    to it when freed (glibc's default threshold, kept from moving). glibc raises the threshold each
    time such a block is freed, up to 32 MB, and then keeps freed activations in its heap: after one
    kobert int8 pass at 32 x 128 tokens the process stayed 300 MB larger than it needed to.
    A threshold the user set (glibc.malloc.mmap_threshold in GLIBC_TUNABLES) is kept: a higher one
    trades that memory for speed (bench/README.md)."""
    if 'glibc.malloc.mmap_threshold=' not in os.environ.get('GLIBC_TUNABLES', ''):
        _glibc('mallopt', M_MMAP_THRESHOLD, threshold)


def _glibc(function, *args):
    try:
        getattr(ctypes.CDLL(None), function)(*args)
    except (OSError, AttributeError):  # not glibc
        pass
