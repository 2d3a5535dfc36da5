"""Inference throughput and peak memory on random-initialised weights.

Runs the project's Predictor (length-sorted batches padded to the longest text) and a plain
loop that pads every text to max_len, on the same texts, in the same process.

    python bench/bench_inference.py --config small --seq_len 128
    python bench/bench_inference.py --config kobert --data ../shared/data/ynat/ynat_headlines.csv --column title
"""
import argparse
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kobert_gluon  # noqa: E402,F401  (sets OMP_NUM_THREADS before mxnet loads)
import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from kobert_base.architectures import ARCHITECTURES, PRECISIONS  # noqa: E402
from kobert_base.topics import TOPICS  # noqa: E402
from kobert_gluon import model  # noqa: E402
from kobert_gluon.fused import fuse_attention  # noqa: E402
from kobert_gluon.predictor import Predictor  # noqa: E402
from kobert_gluon.tokenizer import KoBERTTokenizer  # noqa: E402
from common import fill  # noqa: E402  (bench/common.py)



def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def texts_for(args):
    if args.data:
        df = pd.read_csv(args.data)
        texts = df[args.column].astype(str).tolist()
        rng = np.random.RandomState(0)
        return [texts[i] for i in rng.choice(len(texts), size=min(args.n, len(texts)), replace=False)]
    return fill(args.seq_len, args.n)


def fixed_length(net, tokenizer, texts, max_len, batch_size):
    """The original's batching: every text padded to max_len, batches in input order (same fused
    graph as the predictor, so the difference is the batching alone)."""
    ids = [tokenizer.encode(t, max_len) for t in texts]
    net.hybridize(static_alloc=True, static_shape=True)
    for start in range(0, len(ids), batch_size):
        rows = ids[start:start + batch_size]
        x = np.full((len(rows), max_len), tokenizer.pad_id, dtype=np.float32)
        for i, r in enumerate(rows):
            x[i, :len(r)] = r
        x = mx.nd.array(x)
        mx.nd.softmax(net(x, mx.nd.zeros_like(x), mx.nd.array([len(r) for r in rows]))).asnumpy()


def timed(fn, n_texts, repeat):
    fn()  # warm-up: graph building and memory planning
    best = float('inf')
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n_texts / best


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--config', default='small', choices=sorted(ARCHITECTURES))
    p.add_argument('--seq_len', type=int, default=128, help='max_len (and the text length without --data)')
    p.add_argument('--batch_size', type=int, default=32)
    p.add_argument('--n', type=int, default=256, help='texts per timed pass')
    p.add_argument('--repeat', type=int, default=2, help='timed passes; the best is reported')
    p.add_argument('--data', default=None, help='CSV of real texts (their own lengths)')
    p.add_argument('--column', default='title')
    p.add_argument('--kobert_dir', default=None)
    p.add_argument('--precision', default='fp32', choices=PRECISIONS,
                   help='of the predictor (int8 calibrated on the benchmark texts); the fixed-length loop stays fp32')
    p.add_argument('--no_fixed', action='store_true', help='measure the predictor only')
    args = p.parse_args()
    kobert_gluon.rerun_with_huge_pages()  # as main.py does

    tokenizer = KoBERTTokenizer.load(args.kobert_dir)
    texts = texts_for(args)
    lengths = [len(tokenizer.encode(t, args.seq_len)) for t in texts]
    mx.random.seed(0)
    net = fuse_attention(model.build_classifier(ARCHITECTURES[args.config], len(TOPICS)))  # the inference graph
    net.hybridize(static_alloc=True, static_shape=True)
    predictor = Predictor(net, tokenizer, TOPICS, args.seq_len, args.batch_size)
    print('building the %s model and preparing %s (seconds; int8 on kobert about a minute)'
          % (args.config, args.precision), flush=True)
    used = predictor.set_precision(args.precision, texts)
    print('config=%s precision=%s max_len=%d batch=%d texts=%d tokens/text mean=%.1f max=%d OMP_NUM_THREADS=%s'
          % (args.config, used, args.seq_len, args.batch_size, len(texts), np.mean(lengths), max(lengths),
             os.environ.get('OMP_NUM_THREADS')))
    base_mb = peak_mb()
    rate = timed(lambda: predictor.predict_proba(texts), len(texts), args.repeat)
    print('predictor (bucketed):   %7.1f sentences/s  peak RSS %6.0f MB' % (rate, peak_mb()))
    if args.no_fixed:
        return
    fixed_net = fuse_attention(model.build_classifier(ARCHITECTURES[args.config], len(TOPICS)))
    rate_fixed = timed(lambda: fixed_length(fixed_net, tokenizer, texts, args.seq_len, args.batch_size),
                       len(texts), args.repeat)
    print('fixed-length loop:      %7.1f sentences/s  peak RSS %6.0f MB (after both)' % (rate_fixed, peak_mb()))
    print('speed-up from bucketing: %.2fx (model loaded: %.0f MB)' % (rate / rate_fixed, base_mb))


if __name__ == '__main__':
    main()
