"""The deploy path's engine offline: ONNX Runtime int8 through kobert_news.engines.onnx, next to the Gluon
int8 predictor and to a bare onnxruntime.InferenceSession on the same model and batches.

    .venv/bin/python bench/bench_deploy.py --data ../shared/data/ynat/ynat_headlines.csv --rounds 3

Models: the shipped weight (small) and a kobert-size weight of random values (bert_12_768_12, 8 topics),
each exported by kobert-news export --to onnx --int8. Texts: --n headlines of --data (seeded draw), at their own
lengths. Each figure comes from a fresh process that loads a saved model and predicts, the best of
--repeat passes after a warm-up: bench_child.py (this Python) for the Gluon int8 predictor (its int8
model from the cache, calibrated on the same headlines beforehand), bench_deploy_child.py (the deploy
environment's Python) for the engine (tokenizing, batching, softmax inside the timed pass) and for the
bare session (session.run only, on the engine's batches made before timing; with the engine's session
options, its threads waiting passively, and with ONNX Runtime's defaults). The rounds take every
(model, engine) in turn, the order rotated each round; the table gives medians and ranges.
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from kobert_gluon import HUGE_PAGES, huge_pages_available  # noqa: E402  (light: mxnet is not imported)
from bench_compare import cell, child, make_weight  # noqa: E402
from common import cpu_line  # noqa: E402

ENGINES = [('gluon', 'Gluon int8 predictor (MXNet 1.9.1)'), ('onnx', 'ONNX Runtime engine int8'),
           ('bare', 'bare InferenceSession int8, same batches and options'),
           ('bare-default', 'bare InferenceSession int8, same batches, default options')]


def setup(a, work, env):
    """{model name: (weight, export folder)}, made where missing."""
    models = {'default': os.path.join(ROOT, 'weights', 'kobert-news-small-ynat.pth'),
              'kobert': os.path.join(work, 'kobert.params')}
    out = {}
    for name in a.models:
        weight, folder = models[name], os.path.join(work, name + '-onnx')
        if not os.path.isfile(weight):
            print('setup: a kobert weight of random values', file=sys.stderr, flush=True)
            make_weight(weight, 'kobert')
        if not os.path.isfile(os.path.join(folder, 'model_int8.onnx')):
            print('setup: kobert-news export --to onnx --int8 (%s)' % name, file=sys.stderr, flush=True)
            subprocess.run([sys.executable, '-m', 'kobert_news', 'export', '--gluon_weight_path', weight, '--to',
                            'onnx', '--int8', '--output_dir', folder, '--overwrite'], check=True, env=env)
        out[name] = weight, folder
    return out


def headlines(a, work):
    import pandas as pd
    titles = pd.read_csv(a.data)['title'].astype(str).tolist()
    pick = sorted(random.Random(0).sample(range(len(titles)), min(a.n, len(titles))))
    path = os.path.join(work, 'headlines.json')
    with open(path, 'w', encoding='utf-8') as f:
        json.dump({'max_len': None, 'texts': [titles[i] for i in pick]}, f, ensure_ascii=False)
    return path, len(pick)


def measure(a, work, env, engine, weight, folder, texts, task='speed'):
    if engine == 'gluon':
        cmd = [sys.executable, os.path.join(HERE, 'bench_child.py'), '--weight', weight, '--texts', texts,
               '--precision', 'int8', '--task', task, '--repeat', str(a.repeat), '--cache_dir',
               os.path.join(work, 'cache')]
    else:
        cmd = [a.deploy_python, os.path.join(HERE, 'bench_deploy_child.py'), '--model_dir', folder, '--engine', engine,
               '--texts', texts, '--repeat', str(a.repeat)]
    return child(cmd, env, a.timeout)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', required=True, help='CSV of real headlines (YNAT)')
    p.add_argument('--n', type=int, default=1024, help='headlines')
    p.add_argument('--models', nargs='*', default=['default', 'kobert'], choices=('default', 'kobert'))
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--repeat', type=int, default=2, help='timed passes in each process; the best counts')
    p.add_argument('--deploy_python', default=os.path.join(ROOT, '.venv-deploy', 'bin', 'python'))
    p.add_argument('--workdir', default=None, help='kept when given (weights, exports, cache)')
    p.add_argument('--timeout', type=int, default=1800, help='seconds for one process')
    a = p.parse_args()
    work = a.workdir or tempfile.mkdtemp(prefix='bench-deploy-')
    os.makedirs(work, exist_ok=True)
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(work, 'home'))  # md5 book, not the user's cache
    if 'GLIBC_TUNABLES' not in env and huge_pages_available():
        env['GLIBC_TUNABLES'] = HUGE_PAGES  # what main.py and kobert-news predict restart with
    try:
        models = setup(a, work, env)
        texts, n = headlines(a, work)
        for name, (weight, folder) in models.items():
            print('setup: Gluon int8 model of %s' % name, file=sys.stderr, flush=True)
            measure(a, work, env, 'gluon', weight, folder, texts, 'prepare')
        load = os.getloadavg()[0]
        results = {}
        for k in range(a.rounds):
            order = ENGINES[k % len(ENGINES):] + ENGINES[:k % len(ENGINES)]
            for name, (weight, folder) in models.items():
                for engine, _ in order:
                    print('round %d: %s, %s' % (k + 1, name, engine), file=sys.stderr, flush=True)
                    results.setdefault((name, engine), []).append(
                        measure(a, work, env, engine, weight, folder, texts))
        report(a, results, n, load)
    finally:
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)


def report(a, results, n, load):
    print('CPU: %s; 1-minute load average %.2f at the start' % (cpu_line(), load))
    print('%d YNAT headlines, batch 32; %d round(s), each figure the best of %d passes in a fresh process; '
          'median (range) over the rounds\n' % (n, a.rounds, a.repeat))
    print('| model | engine | sentences/s | CPU ms a sentence (all threads) | peak RSS MB |')
    print('|---|---|---|---|---|')
    for name in a.models:
        for engine, label in ENGINES:
            rows = results.get((name, engine), [])
            print('| %s | %s | %s | %s | %s |' % (name, label, cell(rows, 'rate', '%.1f'), cell(rows, 'cpu_ms', '%.3f'),
                                                cell(rows, 'peak_mb', '%.0f')))
    print('\nratios of medians: speed (CPU time a sentence, inverted)')
    for name in a.models:
        mid = {}
        for key in ('rate', 'cpu_ms'):
            values = {e: [r[key] for r in results.get((name, e), []) if r] for e, _ in ENGINES}
            if not all(values.values()):
                break
            mid[key] = {e: statistics.median(v) if key == 'rate' else 1 / statistics.median(v)
                        for e, v in values.items()}
        else:
            print('%s: engine / Gluon int8 %.2fx (%.2fx), goal >= 1.25x; engine / bare session %.3f (%.3f), '
                  'with default options %.3f (%.3f), goal >= 0.95' % tuple(
                      [name] + [mid[k]['onnx'] / mid[k][e] for e in ('gluon', 'bare', 'bare-default')
                                for k in ('rate', 'cpu_ms')]))


if __name__ == '__main__':
    main()
