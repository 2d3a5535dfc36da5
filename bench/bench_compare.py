"""The project's predictor at fp32, bf16 and int8 next to PyTorch and ONNX Runtime, same shapes.

    python bench/bench_compare.py --peer_python /path/to/python3.11 --config kobert --seq_len 128 32 --runs 3

Every (engine, precision, length) runs in its own process, so peak memory is its own; --runs
repeats the whole set, interleaved, and the table gives the median and the range of the runs
(speed varies from one process to the next on a shared machine). The peers need a second Python
with torch, transformers, onnxruntime and onnx; without --peer_python (or when it lacks them)
only the project is measured. The project's figure includes tokenizing the texts; the peers are
fed token ids.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from kobert_gluon import HUGE_PAGES, huge_pages_available  # noqa: E402  (light: mxnet is not imported)

LINE = re.compile(r'predictor \(bucketed\):\s+([\d.]+) sentences/s\s+peak RSS\s+(\d+) MB')
USED = re.compile(r'precision=(\w+)')


def project(config, seq, batch, n, precision, kobert_dir):
    cmd = [sys.executable, os.path.join(HERE, 'bench_inference.py'), '--config', config, '--seq_len', str(seq),
           '--batch_size', str(batch), '--n', str(n), '--precision', precision, '--no_fixed']
    if kobert_dir:
        cmd += ['--kobert_dir', kobert_dir]
    out = subprocess.run(cmd, capture_output=True, text=True)
    m, used = LINE.search(out.stdout), USED.search(out.stdout)
    if not m:
        raise SystemExit('bench_inference.py failed:\n' + out.stderr[-2000:])
    return {'engine': 'mxnet (this project)', 'precision': used.group(1) if used else precision, 'seq_len': seq,
            'sentences_per_s': float(m.group(1)), 'peak_rss_mb': int(m.group(2))}


PEERS = ('torch-fp32', 'torch-int8', 'ort-fp32', 'ort-int8')
NAMES = {'torch': 'PyTorch', 'ort': 'ONNX Runtime'}


def peer_python_ok(python):
    if not python:
        print('no --peer_python: PyTorch and ONNX Runtime not measured', file=sys.stderr)
        return False
    if subprocess.run([python, '-c', 'import torch, transformers, onnxruntime, onnx'], capture_output=True).returncode:
        print('%s lacks torch, transformers, onnxruntime or onnx: peers not measured' % python, file=sys.stderr)
        return False
    return True


def peer(python, config, seq, batch, n, engine):
    env = dict(os.environ)
    if 'GLIBC_TUNABLES' not in env and huge_pages_available():
        env['GLIBC_TUNABLES'] = HUGE_PAGES  # the memory setting the project's processes run with
    out = subprocess.run([python, os.path.join(HERE, 'bench_peers.py'), '--config', config, '--batch_size', str(batch),
                          '--n', str(n), '--seq_len', str(seq), '--engines', engine], capture_output=True, text=True,
                         env=env)
    rows = [json.loads(l) for l in out.stdout.splitlines() if l.startswith('{')]
    if out.returncode or not rows:
        print('bench_peers.py %s failed:\n%s' % (engine, out.stderr[-2000:]), file=sys.stderr)
        return None
    return dict(rows[0], engine=NAMES[rows[0]['engine']])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--config', default='kobert')
    p.add_argument('--seq_len', type=int, nargs='+', default=[128, 32])
    p.add_argument('--batch_size', type=int, default=32)
    p.add_argument('--n', type=int, default=64)
    p.add_argument('--peer_python', default=None)
    p.add_argument('--kobert_dir', default=None)
    p.add_argument('--runs', type=int, default=1, help='repeat the whole set this many times (fresh processes)')
    a = p.parse_args()
    with_peers = peer_python_ok(a.peer_python)
    runs = {}  # (engine, precision, seq) -> list of results
    for _ in range(a.runs):
        for seq in a.seq_len:
            rows = [project(a.config, seq, a.batch_size, a.n, prec, a.kobert_dir) for prec in ('fp32', 'bf16', 'int8')]
            if with_peers:
                rows += [peer(a.peer_python, a.config, seq, a.batch_size, a.n, e) for e in PEERS]
            for r in filter(None, rows):
                runs.setdefault((r['engine'], r['precision'], seq), []).append(r)
    print('config=%s batch=%d, random weights, %d sentences per timed pass, best of 2 passes; %d run(s) each'
          % (a.config, a.batch_size, a.n, a.runs))
    print('| engine | precision | seq | sentences/s (median) | range | peak RSS MB | vs ONNX Runtime int8 |')
    print('|---|---|---|---|---|---|---|')
    for seq in a.seq_len:
        ref = runs.get(('ONNX Runtime', 'int8', seq))
        ref = statistics.median(r['sentences_per_s'] for r in ref) if ref else None
        for (engine, prec, s), rs in runs.items():
            if s != seq:
                continue
            rates = [r['sentences_per_s'] for r in rs]
            mid = statistics.median(rates)
            print('| %s | %s | %d | %.1f | %.1f-%.1f | %d | %s |' % (
                engine, prec, seq, mid, min(rates), max(rates), max(r['peak_rss_mb'] for r in rs),
                '%.2fx' % (mid / ref) if ref else '-'))


if __name__ == '__main__':
    main()
