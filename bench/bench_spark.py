"""The Spark job (kobert-news spark) against the deploy batch command (kobert-news predict) on the
same CSV of real headlines: rows/s and peak memory, in one run.

Both run as a user runs them, each in its own process (python -m kobert_news, the deploy
environment's Python), one after the other, on the YNAT headlines repeated to --rows, with the
same export folder (fp32). Wall time includes startup (Spark: the JVM, each Python worker opening
its ONNX Runtime session). Peak memory and CPU time are the whole process tree's, sampled every 0.2 s
(Spark: the driver, its JVM and the Python workers); rows per CPU second is what a busy machine
moves least (another process's load stretches the wall time, not the CPU time). Several --batch_rows run the job once
per Arrow batch size (how the job's default was chosen).

    python bench/bench_spark.py --model_dir D --data ../shared/data/ynat/ynat_headlines.csv --rows 100000
    python bench/bench_spark.py --model_dir D --data ... --rows 20000 --batch_rows 128 512 1024 4096 --no_batch
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench_stream import make_csv  # noqa: E402
from common import cpu_line  # noqa: E402
from measure import run  # noqa: E402


def measure(name, cmd, rows, base=None):
    """Runs cmd; prints its table row; returns (rows/s, rows per CPU second)."""
    cpu = {}
    seconds, _, tree, code = run(cmd, cpu=cpu, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if code:
        raise SystemExit('%s failed (exit %d): run it alone to see why' % (name, code))
    rate, per_cpu = rows / seconds, rows / sum(cpu.values())
    share = ' | '.join('%.0f%%' % (100 * a / b) for a, b in zip((rate, per_cpu), base)) if base else ' | '
    print('| %s | %d | %.1f | %.0f | %.0f | %s | %.0f |' % (name, rows, seconds, rate, per_cpu, share, tree),
          flush=True)
    return rate, per_cpu


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--model_dir', required=True, help='export folder (kobert-news export --to onnx)')
    p.add_argument('--data', required=True, help='CSV of real headlines (title, category)')
    p.add_argument('--rows', type=int, default=100000)
    p.add_argument('--master', default='local[2]')
    p.add_argument('--batch_rows', type=int, nargs='+', default=[None],
                   help="the job's Arrow batch sizes, one run each (default: the job's own)")
    p.add_argument('--no_batch', action='store_true', help='only the Spark job (an Arrow batch size sweep)')
    p.add_argument('--workdir', help='where the CSV is built (default: a temporary folder)')
    args = p.parse_args()
    headlines = pd.read_csv(args.data)[['title', 'category']]
    command = [sys.executable, '-m', 'kobert_news']
    print('CPU: %s; load average before: %.1f' % (cpu_line(), os.getloadavg()[0]))
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        data = os.path.join(tmp, 'headlines.csv')
        make_csv(headlines, args.rows, data)
        print('| command | rows | seconds | rows/s | rows per CPU second | rows/s, of the batch command\'s | '
              'rows per CPU second, of the batch command\'s | peak RSS of the process tree (MiB) |')
        print('|---|---|---|---|---|---|---|---|')
        base = None
        if not args.no_batch:
            base = measure('kobert-news predict', command + ['predict', '--model_dir', args.model_dir, '--data_path',
                                                            data, '--save_path', os.path.join(tmp, 'batch.csv')],
                           args.rows)
        for batch_rows in args.batch_rows:
            out = os.path.join(tmp, 'spark')
            flags = ['--batch_rows', str(batch_rows)] if batch_rows else []
            measure('kobert-news spark --master %s%s' % (args.master, ' ' + ' '.join(flags) if flags else ''),
                    command + ['spark', '--model_dir', args.model_dir, '--input', data, '--output', out, '--master',
                               args.master] + flags, args.rows, base)
            shutil.rmtree(out)
    print('load average after: %.1f' % os.getloadavg()[0])


if __name__ == '__main__':
    main()
