"""Where a run trains: the contexts of this process and, with a dist_* kvstore, this worker's place
among the workers of MXNet's parameter server.

Every worker builds the same global batches (same sampler, same seed) and takes its share of each
(rows rank, rank + n, ... of the batch); inside a worker the share is split across the contexts
with gluon.utils.split_and_load. Each part's loss is its summed loss over the global batch's row
count, so the gradients summed by the kvstore are those of the whole batch's mean loss, as in one
process: the global batch, the schedule and the number of updates do not change.
"""
import atexit
import hashlib
import logging
import os
import sys

import mxnet as mx
import numpy as np
from mxnet import gluon

from kobert_base.errors import UserError

log = logging.getLogger('kobert_news.train')
DMLC_ENV = ('DMLC_ROLE', 'DMLC_PS_ROOT_URI', 'DMLC_PS_ROOT_PORT', 'DMLC_NUM_SERVER', 'DMLC_NUM_WORKER')
# kvstore keys of the loop's own sums (metrics, flags); the Trainer's parameters use 0, 1, 2, ...
_KEYS = 1 << 20


class Devices:
    def __init__(self, contexts=None, kvstore=None):
        self.contexts = list(contexts or [mx.cpu()])
        self.kv = kvstore
        self.rank = kvstore.rank if self.distributed else 0
        self.workers = kvstore.num_workers if self.distributed else 1
        self._keys = {}

    @property
    def distributed(self):
        return self.kv is not None and 'dist' in self.kv.type

    @property
    def plain(self):
        """The CPU in one process: the loop runs exactly as it always has (one GPU takes the split
        path, which moves each batch onto it)."""
        return self.contexts == [mx.cpu()] and not self.distributed

    @property
    def ctx(self):
        """The context argument to build a net with: one context, or the list."""
        return self.contexts[0] if len(self.contexts) == 1 else self.contexts

    @property
    def writer(self):
        """Only worker 0 writes the run folder."""
        return self.rank == 0

    def trainer_args(self, kvstore):
        """gluon.Trainer's kvstore arguments: none for the plain case (its defaults); otherwise the
        gradients are summed, then clipped and applied by each worker (update_on_kvstore=False)."""
        if self.plain:
            return {}
        return {'kvstore': self.kv or kvstore, 'update_on_kvstore': False}

    def share(self, batch):
        """(this worker's rows of a global batch, weight): a worker whose share is empty (a batch with
        fewer rows than workers) takes the batch's first row with weight 0, so that it still has a
        gradient, of zeros, for the update that all take part in."""
        idx = batch[self.rank::self.workers]
        return (idx, 1.0) if len(idx) else (batch[:1], 0.0)

    def split(self, arrays, weight=1.0):
        """[(parts, weight)] per context: the arrays split along the batch, as gluon.utils.split_and_load
        does; with fewer rows than contexts, the contexts left over get the first row, weight 0."""
        n = min(len(self.contexts), arrays[0].shape[0])
        parts = list(zip(*[gluon.utils.split_and_load(a, self.contexts[:n], even_split=False) for a in arrays]))
        spare = [[a[:1].as_in_context(c) for a in arrays] for c in self.contexts[n:]]
        return [(list(p), weight) for p in parts] + [(p, 0.0) for p in spare]

    def allreduce(self, values):
        """The sum over the workers of a small float vector (this process's alone when not distributed)."""
        values = np.asarray(values, dtype=np.float64)
        if not self.distributed:
            return values
        key = self._keys.get(values.shape)
        if key is None:  # float32 on the wire: callers send counts below 2**24, summed exactly
            key = self._keys[values.shape] = _KEYS + len(self._keys)
            self.kv.init(key, mx.nd.zeros(values.shape))
        out = mx.nd.zeros(values.shape)
        self.kv.pushpull(key, mx.nd.array(values), out=out)
        return out.asnumpy().astype(np.float64)

    def broadcast(self, values):
        """Worker 0's values, on every worker."""
        values = np.asarray(values, dtype=np.float64)
        return self.allreduce(values if self.writer else np.zeros_like(values))

    def take_worker0_params(self, trainer):
        """Before the first forward pass: the Trainer's kvstore and its first broadcast, which gives
        every worker worker 0's parameters (the Trainer itself does this only at its first step, after
        each worker has computed a gradient on its own initial values)."""
        trainer._init_kvstore()
        if trainer._params_to_init:
            trainer._init_params()

    def in_sync(self, net):
        """Whether every worker holds worker 0's parameters (compared by md5); logged on worker 0."""
        h = hashlib.md5()
        for name, p in sorted(net.collect_params().items()):
            h.update(name.encode())
            h.update(p.data(self.contexts[0]).asnumpy().tobytes())
        digest = np.frombuffer(h.digest(), dtype=np.uint8).astype(np.float64)
        same = float(np.array_equal(self.broadcast(digest), digest))
        agree = int(self.allreduce([same])[0])
        if self.distributed and self.writer:
            if agree == self.workers:
                log.info('all %d workers end with the same parameters (md5 %s)', self.workers, h.hexdigest())
            else:
                log.warning('%d of %d workers end with parameters other than worker 0\'s',
                            self.workers - agree, self.workers)
        return agree == self.workers


_EXIT = []  # (status, kvstore) of a failed worker


def _leave_now():
    """atexit, before MXNet's own: a failed worker leaves at once. Closing its kvstore would wait
    for the other workers, which wait for this one: the launcher sees the exit and stops them."""
    if _EXIT:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT[0][0])


def failed(devices, exc):
    """Record that this worker of a distributed run fails with exc, and keep its kvstore from being
    closed on the way out (see _leave_now)."""
    if devices.distributed and not _EXIT:
        code = 2 if isinstance(exc, UserError) else 130 if isinstance(exc, KeyboardInterrupt) else 1
        _EXIT.append((code, devices.kv))


def check(cfg):
    """The contexts of a TrainOptions, after the checks that need no work: GPUs that exist, and for
    dist_* the parameter server's environment. Raises UserError."""
    ids = cfg.gpu_ids()
    if ids:
        found = mx.context.num_gpus()
        if max(ids) >= found:
            raise UserError('--gpus %s: this MXNet sees %d GPU(s) (the mxnet package is CPU-only: install the '
                            'CUDA build matching your driver, e.g. mxnet-cu112)' % (cfg.gpus, found))
        contexts = [mx.gpu(i) for i in ids]
    else:
        contexts = [mx.cpu(i) for i in range(cfg.cpu_contexts)]
    if cfg.distributed:
        missing = [k for k in DMLC_ENV if not os.environ.get(k)]
        if missing:
            raise UserError('--kvstore %s needs the parameter server\'s environment (%s unset): start the workers '
                            'with kobert-news launch (see docs/scaling.md)'
                            % (cfg.kvstore, ', '.join(missing)))
        if os.environ['DMLC_ROLE'] != 'worker':
            raise UserError('train.py runs as a worker; DMLC_ROLE is %r' % os.environ['DMLC_ROLE'])
    return contexts


def from_config(cfg, contexts=None):
    """The Devices of a TrainOptions: its contexts (check's, if not given), and for dist_* its kvstore
    (this joins the workers)."""
    contexts = contexts or check(cfg)
    if not cfg.distributed:
        return Devices(contexts)
    devices = Devices(contexts, mx.kv.create(cfg.kvstore))
    atexit.register(_leave_now)
    log.info('worker %d of %d, %s', devices.rank, devices.workers, ', '.join(map(str, contexts)))
    if not devices.writer:  # the others would repeat worker 0's lines
        logging.getLogger('kobert_news').setLevel(logging.WARNING)
    return devices
