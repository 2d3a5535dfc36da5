"""Speed on an idle and on a busy CPU, for OpenMP thread and wait settings.

    python bench/bench_busy.py --data ynat_headlines.csv --n 2000

For each setting, a fresh process (OpenMP reads its settings once, at start) predicts --n
headlines with the default weight and times training batches of the small model (batch 32,
64 tokens), once on an idle machine and once beside a competing process that keeps one core
busy. Prints one table; the project's default is the first row.
"""
import argparse
import json
import os
import subprocess
import sys
import time

from common import cpu_name  # bench/common.py

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETTINGS = [  # (label, environment); the first is what kobert_gluon sets by default
    ('default (2 threads, passive wait)', {}),
    ('2 threads, active wait (libgomp spins)', {'OMP_WAIT_POLICY': 'ACTIVE'}),
    ('2 threads, libgomp default wait', {'OMP_WAIT_POLICY': ''}),
    ('2 threads, libgomp default wait, GOMP_SPINCOUNT=10000', {'OMP_WAIT_POLICY': '', 'GOMP_SPINCOUNT': '10000'}),
    ('1 thread', {'OMP_NUM_THREADS': '1'}),
]


def worker(args):
    sys.path.insert(0, ROOT)
    import kobert_gluon  # noqa: F401  (threads and wait policy before mxnet)
    import mxnet as mx
    import pandas as pd
    from mxnet import autograd, gluon
    from kobert_gluon import model
    from kobert_gluon.predictor import Predictor
    from kobert_base.architectures import ARCHITECTURES
    from kobert_base.paths import default_weight
    texts = list(pd.read_csv(args.data)['title'].astype(str))[:args.n]
    predictor = Predictor.from_weight(default_weight()[0], batch_size=32)
    predictor.predict_proba(texts[:64])
    tic = time.perf_counter()
    predictor.predict_proba(texts)
    predict_s = time.perf_counter() - tic
    net = model.build_classifier(ARCHITECTURES['small'], 8)
    net.hybridize(static_alloc=True)
    trainer = gluon.Trainer(net.collect_params(), 'bertadam', {'learning_rate': 1e-4})
    x = mx.nd.array([[2] + [100 + i for i in range(62)] + [3]] * 32)
    y, valid = mx.nd.zeros(32), mx.nd.full(32, 64)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    times = []
    for _ in range(args.batches + 1):
        tic = time.perf_counter()
        with autograd.record():
            loss = loss_fn(net(x, mx.nd.zeros_like(x), valid), y).mean()
        loss.backward()
        trainer.step(1)
        loss.asscalar()
        times.append(time.perf_counter() - tic)
    print(json.dumps({'texts_per_s': len(texts) / predict_s, 'train_s_per_batch': sorted(times[1:])[len(times) // 2],
                      'omp': os.environ.get('OMP_NUM_THREADS'), 'wait': os.environ.get('OMP_WAIT_POLICY')}))


def measure(args, env, busy):
    competitor = subprocess.Popen([sys.executable, '-c', 'while True: pass']) if busy else None
    try:
        time.sleep(1 if busy else 0)
        out = subprocess.run([sys.executable, __file__, '--worker', '--data', args.data, '--n', str(args.n),
                              '--batches', str(args.batches)], env=env, capture_output=True, text=True,
                             timeout=1800)
    finally:
        if competitor:
            competitor.kill()
            competitor.wait()
    if out.returncode:
        raise SystemExit(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', required=True, help='CSV with a title column (real headlines)')
    p.add_argument('--n', type=int, default=2000)
    p.add_argument('--batches', type=int, default=5)
    p.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args)
    print(cpu_name(), '| cores:', len(os.sched_getaffinity(0)))
    print('| setting | idle: headlines/s | idle: s per training batch | busy: headlines/s | '
          'busy: s per training batch |')
    print('|---|---|---|---|---|')
    for label, extra in SETTINGS:
        env = {k: v for k, v in os.environ.items() if k not in ('OMP_NUM_THREADS', 'OMP_WAIT_POLICY')}
        env.update({k: v for k, v in extra.items() if v})
        if extra.get('OMP_WAIT_POLICY') == '':
            env['KOBERT_NEWS_OMP_WAIT'] = 'library'  # leave libgomp's own default in place
        env['GLIBC_TUNABLES'] = env.get('GLIBC_TUNABLES', '')
        idle, busy = measure(args, env, False), measure(args, env, True)
        print('| %s | %.0f | %.2f | %.0f | %.2f |' % (label, idle['texts_per_s'], idle['train_s_per_batch'],
                                                     busy['texts_per_s'], busy['train_s_per_batch']), flush=True)


if __name__ == '__main__':
    main()
