"""spark_predict.py against main.py on the same CSV of real headlines: texts/s and peak memory.

Both run as a user runs them, each in its own process, one after the other in this run, on a
CSV of real headlines repeated (the default weight, fp32). Peak memory is the whole process
tree's resident memory, sampled every 0.2 s (Spark: the driver, its JVM and the Python workers;
main.py: one process). Wall time includes startup (Spark: the JVM, the workers loading the weight).

    python bench/bench_spark.py --data ../shared/data/ynat/ynat_headlines.csv --rows 100000 --master 'local[2]'
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from bench_stream import make_csv  # noqa: E402
from measure import run  # noqa: E402


def measure(name, cmd, rows, env=None):
    seconds, _, tree, code = run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if code:
        raise SystemExit('%s failed (exit %d)' % (name, code))
    print('| %s | %d | %.1f | %.0f | %.0f |' % (name, rows, seconds, rows / seconds, tree), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', required=True, help='CSV of real headlines (title, category)')
    p.add_argument('--rows', type=int, default=100000)
    p.add_argument('--master', default='local[2]')
    p.add_argument('--main_threads', nargs='+', default=['default'],
                   help="main.py's OMP_NUM_THREADS, one run each ('default': its own setting, all cores)")
    p.add_argument('--workdir', help='where the CSV is built (default: a temporary folder)')
    args = p.parse_args()
    headlines = pd.read_csv(args.data)[['title', 'category']]
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        data = os.path.join(tmp, 'headlines.csv')
        make_csv(headlines, args.rows, data)
        print('| engine | rows | seconds | texts/s | peak RSS of the process tree (MiB) |')
        print('|---|---|---|---|---|')
        main_py = [sys.executable, os.path.join(ROOT, 'main.py'), '--data_path', data,
                   '--save_path', os.path.join(tmp, 'main.csv')]
        for threads in args.main_threads:
            if threads == 'default':
                measure('main.py', main_py, args.rows)
            else:
                measure('main.py, OMP_NUM_THREADS=%s' % threads, main_py, args.rows,
                        dict(os.environ, OMP_NUM_THREADS=threads))
        out = os.path.join(tmp, 'spark')
        measure('spark_predict.py --master %s' % args.master,
                [sys.executable, os.path.join(ROOT, 'spark_predict.py'), '--input', data, '--output', out,
                 '--master', args.master], args.rows)
        shutil.rmtree(out)


if __name__ == '__main__':
    main()
