"""Seconds per training batch (forward, backward, bertadam update) on random weights and tokens,
and what that makes of a whole run.

    python bench/bench_train.py --config kobert --seq_len 128 --batch_size 32 --rows 2100 --epochs 20
"""
import argparse
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kobert_gluon  # noqa: E402,F401  (sets OMP_NUM_THREADS before mxnet loads)
import mxnet as mx  # noqa: E402
from mxnet import autograd, gluon  # noqa: E402

from kobert_base.architectures import ARCHITECTURES  # noqa: E402
from kobert_base.topics import TOPICS  # noqa: E402
from kobert_gluon import model  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--config', default='small', choices=sorted(ARCHITECTURES))
    p.add_argument('--seq_len', type=int, default=128)
    p.add_argument('--batch_size', type=int, default=32)
    p.add_argument('--steps', type=int, default=3, help='timed batches (after one warm-up batch)')
    p.add_argument('--rows', type=int, default=2100, help='training rows of the run to project')
    p.add_argument('--epochs', type=int, default=20)
    args = p.parse_args()

    cfg = ARCHITECTURES[args.config]
    mx.random.seed(0)
    net = model.build_classifier(cfg, len(TOPICS))
    net.hybridize(static_alloc=True)
    trainer = gluon.Trainer(net.collect_params(), 'bertadam', {'learning_rate': 5e-5, 'epsilon': 1e-9, 'wd': 0.01})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    ids = mx.nd.random.randint(5, cfg.vocab_size, (args.batch_size, args.seq_len)).astype('float32')
    valid = mx.nd.full((args.batch_size,), args.seq_len, dtype='float32')
    label = mx.nd.random.randint(0, len(TOPICS), (args.batch_size,)).astype('float32')

    def step():
        with autograd.record():
            loss = loss_fn(net(ids, mx.nd.zeros_like(ids), valid), label).mean()
        loss.backward()
        trainer.update(1)
        mx.nd.waitall()

    step()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    per_batch = (time.perf_counter() - start) / args.steps
    batches = -(-args.rows // args.batch_size) * args.epochs
    print('config=%s seq_len=%d batch=%d OMP_NUM_THREADS=%s' % (args.config, args.seq_len, args.batch_size,
                                                               os.environ.get('OMP_NUM_THREADS')))
    print('%.2f s/batch, %.1f sentences/s, peak RSS %.0f MB' % (
        per_batch, args.batch_size / per_batch, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    print('%d rows x %d epochs = %d batches: %.1f hours of training (evaluation not included)'
          % (args.rows, args.epochs, batches, batches * per_batch / 3600))


if __name__ == '__main__':
    main()
