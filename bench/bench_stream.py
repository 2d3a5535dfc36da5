"""main.py on ever larger CSVs: time and peak memory, to show that memory stays flat.

Builds CSVs of real headlines repeated (id, title, category) with 10k, 100k and 1M rows and
classifies each with main.py in its own process (the default weight and fp32 unless --weight and
--precision say otherwise), then, on the middle size, compares --chunk_rows values. Peak RSS is
main.py's own (getrusage).

    python bench/bench_stream.py --data ../shared/data/ynat/ynat_headlines.csv
    python bench/bench_stream.py --data ... --sizes 10000 100000 --chunk_rows 1024 65536
    python bench/bench_stream.py --data ... --sizes 10000 1000000 --chunk_rows --precision int8
"""
import argparse
import os
import subprocess
import sys
import tempfile

import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from kobert_base.architectures import PRECISIONS  # noqa: E402
from measure import run  # noqa: E402


def make_csv(headlines, rows, path):
    """rows rows of the headlines repeated, with a running id, written 100k at a time."""
    block = 100000
    with open(path, 'w', encoding='utf-8', newline='') as f:
        for start in range(0, rows, block):
            n = min(block, rows - start)
            part = headlines.iloc[[i % len(headlines) for i in range(start, start + n)]].reset_index(drop=True)
            part.insert(0, 'id', range(start, start + n))
            part.to_csv(f, index=False, header=start == 0)


def classify(csv_path, out_path, chunk_rows=None, weight=None, precision='fp32'):
    cmd = [sys.executable, os.path.join(ROOT, 'main.py'), '--data_path', csv_path, '--save_path', out_path,
           '--precision', precision]
    cmd += ['--chunk_rows', str(chunk_rows)] if chunk_rows else []
    cmd += ['--gluon_weight_path', weight] if weight else []
    seconds, rss, _, code = run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if code:
        raise SystemExit('main.py failed on %s (exit %d)' % (csv_path, code))
    with open(out_path, 'rb') as f:
        lines = sum(1 for _ in f) - 1
    os.remove(out_path)
    return seconds, rss, lines


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', required=True, help='CSV of real headlines (title, category)')
    p.add_argument('--sizes', type=int, nargs='+', default=[10000, 100000, 1000000])
    p.add_argument('--chunk_rows', type=int, nargs='*', default=[1024, 16384, 65536],
                   help='values compared on the middle size (main.py default: 16384)')
    p.add_argument('--weight', help='weight file (default: main.py\'s default)')
    p.add_argument('--precision', default='fp32', choices=PRECISIONS, help="main.py's --precision")
    p.add_argument('--workdir', help='where the CSVs are built (default: a temporary folder)')
    args = p.parse_args()
    headlines = pd.read_csv(args.data)[['title', 'category']]
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        print('| rows | --precision | --chunk_rows | seconds | rows/s | peak RSS (MiB) |')
        print('|---|---|---|---|---|---|')
        paths = {}
        for rows in args.sizes:
            paths[rows] = os.path.join(tmp, 'headlines-%d.csv' % rows)
            make_csv(headlines, rows, paths[rows])
            seconds, rss, lines = classify(paths[rows], os.path.join(tmp, 'out.csv'), None, args.weight,
                                           args.precision)
            assert lines == rows, (lines, rows)
            print('| %d | %s | default | %.1f | %.0f | %.0f |' % (rows, args.precision, seconds, rows / seconds, rss),
                  flush=True)
        middle = sorted(args.sizes)[len(args.sizes) // 2]
        for chunk in args.chunk_rows:
            seconds, rss, lines = classify(paths[middle], os.path.join(tmp, 'out.csv'), chunk, args.weight,
                                           args.precision)
            assert lines == middle
            print('| %d | %s | %d | %.1f | %.0f | %.0f |' % (middle, args.precision, chunk, seconds, middle / seconds,
                                                             rss), flush=True)


if __name__ == '__main__':
    main()
