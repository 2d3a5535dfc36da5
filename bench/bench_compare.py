"""The project's predictor at fp32, bf16 and int8 next to PyTorch and ONNX Runtime, same shapes.

    python bench/bench_compare.py --peer_python /path/to/python3.11 --config kobert --seq_len 128 32

Each project precision runs in its own process (so peak memory is its own). The peers need a
second Python with torch, transformers, onnxruntime and onnx; without --peer_python (or when it
lacks them) only the project is measured. Prints a Markdown table with sentences/s, peak RSS and
the ratio to ONNX Runtime int8 at the same length.
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
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


def peers(python, config, seqs, batch, n):
    if not python:
        print('no --peer_python: PyTorch and ONNX Runtime not measured', file=sys.stderr)
        return []
    check = subprocess.run([python, '-c', 'import torch, transformers, onnxruntime, onnx'], capture_output=True)
    if check.returncode:
        print('%s lacks torch, transformers, onnxruntime or onnx: peers not measured' % python, file=sys.stderr)
        return []
    out = subprocess.run([python, os.path.join(HERE, 'bench_peers.py'), '--config', config, '--batch_size', str(batch),
                          '--n', str(n), '--seq_len'] + [str(s) for s in seqs], capture_output=True, text=True)
    rows = [json.loads(l) for l in out.stdout.splitlines() if l.startswith('{')]
    if out.returncode:
        print('bench_peers.py failed:\n' + out.stderr[-2000:], file=sys.stderr)
    names = {'torch': 'PyTorch', 'ort': 'ONNX Runtime'}
    return [dict(r, engine=names[r['engine']]) for r in rows]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--config', default='kobert')
    p.add_argument('--seq_len', type=int, nargs='+', default=[128, 32])
    p.add_argument('--batch_size', type=int, default=32)
    p.add_argument('--n', type=int, default=64)
    p.add_argument('--peer_python', default=None)
    p.add_argument('--kobert_dir', default=None)
    a = p.parse_args()
    rows = [project(a.config, s, a.batch_size, a.n, prec, a.kobert_dir)
            for s in a.seq_len for prec in ('fp32', 'bf16', 'int8')]
    rows += peers(a.peer_python, a.config, a.seq_len, a.batch_size, a.n)
    print('config=%s batch=%d, random weights, %d sentences per timed pass, best of 2' % (a.config, a.batch_size, a.n))
    print('| engine | precision | seq | sentences/s | peak RSS MB | vs ONNX Runtime int8 |')
    print('|---|---|---|---|---|---|')
    for seq in a.seq_len:
        ref = [r['sentences_per_s'] for r in rows if r['seq_len'] == seq and r['engine'] == 'ONNX Runtime'
               and r['precision'] == 'int8']
        for r in (r for r in rows if r['seq_len'] == seq):
            ratio = '%.2fx' % (r['sentences_per_s'] / ref[0]) if ref else '-'
            print('| %s | %s | %d | %.1f | %d | %s |' % (r['engine'], r['precision'], seq, r['sentences_per_s'],
                                                        r['peak_rss_mb'], ratio))


if __name__ == '__main__':
    main()
