"""Where an int8 pass spends its time: MXNet's profiler, summed by operator, on a weight's cached
int8 model (quantized first if not cached).

    python bench/profile_int8.py --weight W --seq_len 32
    python bench/profile_int8.py --weight W --data ../shared/data/ynat/ynat_headlines.csv --n 512

Prints each operator's share of the operator time, its milliseconds per batch, and what the
operators leave (Python, tokenizing, batching).
"""
import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kobert_gluon  # noqa: E402  (sets OMP_NUM_THREADS before mxnet loads)
from common import fill  # noqa: E402  (bench/common.py)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--weight', required=True)
    p.add_argument('--seq_len', type=int, default=32, help='fixed-length texts of this many tokens (without --data)')
    p.add_argument('--data', default=None)
    p.add_argument('--column', default='title')
    p.add_argument('--n', type=int, default=256)
    p.add_argument('--passes', type=int, default=3)
    p.add_argument('--cache_dir', default=None)
    a = p.parse_args()
    kobert_gluon.rerun_with_huge_pages()
    import mxnet as mx
    import pandas as pd
    from kobert_gluon.predictor import Predictor
    if a.data:
        texts = pd.read_csv(a.data)[a.column].astype(str).sample(n=a.n, random_state=0).tolist()
        max_len = None
    else:
        texts, max_len = fill(a.seq_len, a.n), a.seq_len
    predictor = Predictor.from_weight(a.weight, max_len=max_len, precision='int8', calib_texts=texts,
                                      cache_dir=a.cache_dir)
    predictor.predict_proba(texts)  # warm-up
    trace = os.path.join(tempfile.mkdtemp(), 'profile.json')
    mx.profiler.set_config(profile_all=True, aggregate_stats=True, filename=trace)
    mx.profiler.set_state('run')
    tic = time.perf_counter()
    for _ in range(a.passes):
        predictor.predict_proba(texts)
    mx.nd.waitall()
    wall = time.perf_counter() - tic
    mx.profiler.set_state('stop')
    batches = a.passes * -(-len(texts) // predictor.batcher.batch_size)
    totals = operator_totals(mx.profiler.dumps(reset=True))
    ops = sum(totals.values())
    print('%s, %d texts, %d passes: %.1f sentences/s, %.1f ms a batch of which operators %.1f ms'
          % (predictor.precision, len(texts), a.passes, a.passes * len(texts) / wall, 1000 * wall / batches,
             ops / batches))
    print('| operator | share of operator time | ms a batch |')
    print('|---|---|---|')
    for name, ms in sorted(totals.items(), key=lambda kv: -kv[1]):
        if ms / ops >= 0.005:
            print('| %s | %.1f%% | %.2f |' % (name, 100 * ms / ops, ms / batches))
    print('| (outside operators: Python, tokenizing, batching) | - | %.2f |' % (1000 * wall / batches - ops / batches))


def operator_totals(table):
    """{operator: total ms} from the 'operator' section of the profiler's aggregate table."""
    totals, inside = {}, False
    for line in table.splitlines():
        if line.strip() == 'operator':
            inside = True
        elif inside and not line.strip() and totals:
            break
        elif inside:
            parts = line.split()
            try:
                totals[' '.join(parts[:-5])] = float(parts[-4])
            except (ValueError, IndexError):
                continue  # the section's underline and column names
    return totals


if __name__ == '__main__':
    main()
