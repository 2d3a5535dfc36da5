"""train.py in one process against --kvstore dist_sync with N workers on this machine: seconds per
epoch (metrics.json: the training pass, evaluation excluded), wall time and final accuracy.

The two runs train the same recipe on the same data, one after the other in this run. Each of
the N local workers gets cores / N threads (the launcher's default); the single process all cores
unless --single_threads says otherwise.

    python bench/bench_dist.py --data ../shared/data/ynat/ynat_headlines.csv --model small --epochs 2
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def train(name, cmd, out, env=None):
    tic = time.time()
    r = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.time() - tic
    if r.returncode:
        raise SystemExit('%s failed (exit %d):\n%s' % (name, r.returncode, r.stderr[-2000:]))
    with open(os.path.join(out, 'metrics.json')) as f:
        epochs = json.load(f)
    per_epoch = sum(e['seconds'] for e in epochs) / len(epochs)
    print('| %s | %.1f | %.1f | %.4f |' % (name, per_epoch, wall, epochs[-1]['eval_accuracy']), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', required=True, help='labelled CSV (title, category)')
    p.add_argument('--model', default='small')
    p.add_argument('--epochs', type=int, default=2)
    p.add_argument('--workers', type=int, default=2)
    p.add_argument('--single_threads', nargs='*', default=[],
                   help='also run the single process with these OMP_NUM_THREADS values')
    p.add_argument('--recipe', default='--mode 2 --max_len 64 --lr 1e-4 --accumulate 1 --batch_size 32',
                   help='train.py flags of both runs')
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        flags = ['--data_path', args.data, '--model', args.model, '--epochs', str(args.epochs), '--patience', '0',
                 '--seed', '42'] + args.recipe.split()
        print('| run | seconds per epoch | wall seconds | final eval accuracy |')
        print('|---|---|---|---|')
        out = os.path.join(tmp, 'single')
        train('1 process', [sys.executable, 'train.py', '--output_dir', out] + flags, out)
        for threads in args.single_threads:
            out = os.path.join(tmp, 'single-%s' % threads)
            train('1 process, OMP_NUM_THREADS=%s' % threads, [sys.executable, 'train.py', '--output_dir', out] + flags,
                  out, dict(os.environ, OMP_NUM_THREADS=str(threads)))
        out = os.path.join(tmp, 'dist')
        train('dist_sync, %d workers + 1 server' % args.workers,
              [sys.executable, '-m', 'kobert_news.cli.launch', '--workers', str(args.workers), '--', 'train.py',
               '--output_dir', out, '--kvstore', 'dist_sync'] + flags, out)


if __name__ == '__main__':
    main()
