"""The project's predictor at fp32, bf16 and int8 next to ONNX Runtime: speed, peak memory and cold
start, the whole table from one command.

    python bench/bench_compare.py --config kobert --seq_len 128 32 \\
        --data ../shared/data/ynat/ynat_headlines.csv --rounds 3

Setup, each step in a process of its own: a weight of random values is written (the configuration's
shape, 8 topics), unless --weight names a trained one (the exported model itself is then measured:
`--weight weights/kobert-news-small-ynat.pth --seq_len --data ... --no_start`); `kobert-news export --to onnx --int8` writes ONNX Runtime's model.onnx and model_int8.onnx
from it (through .venv-hf); the project's int8 model of each workload is quantized into a cache.
Then every figure comes from a fresh process that only loads a saved model and predicts:
bench_child.py for the project, bench_peers.py (in .venv-hf) for ONNX Runtime. Workloads: for each
--seq_len, --n texts of exactly that many tokens; and --n_headlines real headlines of --data at
their own lengths. Both engines tokenize inside the timed pass and batch texts sorted by length,
32 a batch. The rounds run every (workload, engine) in turn, the order rotated each round; the
table gives medians and ranges over the rounds (each round's figure: the best of --repeat passes).
Cold start: from starting the process to the first prediction, for fp32, bf16, int8 from the cache,
int8 with an empty cache (quantizing) and ONNX Runtime int8, on the configuration's weight.
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
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from kobert_gluon import HUGE_PAGES, huge_pages_available  # noqa: E402  (light: mxnet is not imported)
from common import cpu_line, fill  # noqa: E402  (bench/common.py)

ENGINES = [('project', 'fp32'), ('project', 'bf16'), ('project', 'int8'), ('ort', 'fp32'), ('ort', 'int8')]
STARTS = [('project', 'fp32', 'cache'), ('project', 'bf16', 'cache'), ('project', 'int8', 'cache'),
          ('project', 'int8', 'empty'), ('ort', 'int8', 'cache')]
NAMES = {'project': 'this project', 'ort': 'ONNX Runtime'}


def make_weight(path, config, seed=0):
    """A weight file of random values with its description, as training writes one."""
    code = ('import sys; sys.path.insert(0, %r)\n'
            'import kobert_gluon, mxnet as mx\n'
            'from kobert_base.architectures import ARCHITECTURES\nfrom kobert_base.topics import TOPICS\n'
            'from kobert_gluon import model\n'
            'from kobert_gluon.tokenizer import KoBERTTokenizer\n'
            'mx.random.seed(%d)\n'
            'net = model.build_classifier(ARCHITECTURES[%r], len(TOPICS))\n'
            "meta = {'config': ARCHITECTURES[%r].to_dict(), 'topics': list(TOPICS), 'mode': 2, 'max_len': 128,\n"
            "        'dropout': 0.1, 'vocab': KoBERTTokenizer.load(None).info()}\n"
            'model.save(net, %r, meta)\n' % (ROOT, seed, config, config, path))
    subprocess.run([sys.executable, '-c', code], check=True)


def workloads(a, folder):
    """{name: path of its JSON}: fixed-length texts per --seq_len, and real headlines."""
    out = {}
    for seq in a.seq_len:
        out['seq %d' % seq] = {'max_len': seq, 'texts': fill(seq, a.n)}
    if a.data:
        import pandas as pd
        titles = pd.read_csv(a.data)[a.column].astype(str).tolist()
        pick = sorted(random.Random(0).sample(range(len(titles)), min(a.n_headlines, len(titles))))
        out['headlines'] = {'max_len': 128, 'texts': [titles[i] for i in pick]}
    paths = {}
    for name, spec in out.items():
        paths[name] = os.path.join(folder, name.replace(' ', '-') + '.json')
        with open(paths[name], 'w', encoding='utf-8') as f:
            json.dump(spec, f, ensure_ascii=False)
    return paths


def child(cmd, env, timeout):
    """The JSON line a measuring process prints, with 'start_s' (process start to its 'ready') where given."""
    tic = time.time()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        print('timed out: %s' % ' '.join(cmd), file=sys.stderr)
        return None
    lines = [l for l in done.stdout.splitlines() if l.startswith('{')]
    if done.returncode or not lines:
        print('failed: %s\n%s' % (' '.join(cmd), done.stderr[-2000:]), file=sys.stderr)
        return None
    out = json.loads(lines[-1])
    if 'ready' in out:
        out['start_s'] = out['ready'] - tic
    return out


class Runner:
    def __init__(self, a, work):
        self.a, self.work = a, work
        self.weight = a.weight or os.path.join(work, 'weight.params')
        self.onnx = os.path.join(work, 'onnx')
        self.env = dict(os.environ, XDG_CACHE_HOME=os.path.join(work, 'home'))  # md5 book, not the user's cache
        self.peer_env = dict(self.env)
        if 'GLIBC_TUNABLES' not in os.environ and huge_pages_available():
            self.peer_env['GLIBC_TUNABLES'] = HUGE_PAGES  # the memory setting the project runs with

    def project(self, precision, texts, task, cache_dir=None, env=None):
        cmd = [sys.executable, os.path.join(HERE, 'bench_child.py'), '--weight', self.weight, '--texts', texts,
               '--precision', precision, '--task', task, '--repeat', str(self.a.repeat),
               '--cache_dir', cache_dir or os.path.join(self.work, 'cache')]
        return child(cmd, env or self.env, self.a.timeout)

    def peer(self, precision, texts, task):
        cmd = [self.a.peer_python, os.path.join(HERE, 'bench_peers.py'), '--model_dir', self.onnx, '--engine',
               'ort-' + precision, '--texts', texts, '--task', task, '--repeat', str(self.a.repeat)]
        return child(cmd, self.peer_env, self.a.timeout)

    def run(self, kind, precision, texts, task):
        return self.project(precision, texts, task) if kind == 'project' else self.peer(precision, texts, task)

    def empty_start(self, texts):
        """int8 with nothing cached: a fresh cache folder and cache home."""
        fresh = tempfile.mkdtemp(dir=self.work, prefix='empty-')
        try:
            return self.project('int8', texts, 'start', os.path.join(fresh, 'cache'),
                                dict(self.env, XDG_CACHE_HOME=os.path.join(fresh, 'home')))
        finally:
            shutil.rmtree(fresh, ignore_errors=True)


def cell(rows, key, fmt):
    values = [r[key] for r in rows if r and key in r]
    if not values:
        return '-'
    mid = statistics.median(values)
    return (fmt % mid) + (' (%s-%s)' % (fmt % min(values), fmt % max(values)) if len(values) > 1 else '')


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--config', default='kobert')
    p.add_argument('--weight', default=None, help='a trained weight (with its .json) instead of random values of '
                                                 '--config, e.g. weights/kobert-news-small-ynat.pth')
    p.add_argument('--seq_len', type=int, nargs='*', default=[128, 32])
    p.add_argument('--n', type=int, default=64, help='texts per pass at each fixed length')
    p.add_argument('--data', default=None, help='CSV of real headlines (YNAT)')
    p.add_argument('--column', default='title')
    p.add_argument('--n_headlines', type=int, default=512)
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--repeat', type=int, default=3, help='timed passes in each process; the best counts')
    p.add_argument('--peer_python', default=os.path.join(ROOT, '.venv-hf', 'bin', 'python'))
    p.add_argument('--workdir', default=None, help='kept when given (weight, exports, cache)')
    p.add_argument('--timeout', type=int, default=1800, help='seconds for one process')
    p.add_argument('--no_start', action='store_true', help='leave out the cold-start table')
    a = p.parse_args()
    work = a.workdir or tempfile.mkdtemp(prefix='bench-compare-')
    os.makedirs(work, exist_ok=True)
    try:
        report(a, work)
    finally:
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)


def report(a, work):
    r = Runner(a, work)
    if not os.path.isfile(r.weight):
        print('setup: writing a %s weight of random values' % a.config, file=sys.stderr, flush=True)
        make_weight(r.weight, a.config)
    if not os.path.isfile(os.path.join(r.onnx, 'model_int8.onnx')):
        print('setup: kobert-news export --to onnx --int8', file=sys.stderr, flush=True)
        subprocess.run([sys.executable, '-m', 'kobert_news', 'export', '--gluon_weight_path', r.weight, '--to',
                        'onnx', '--int8', '--output_dir', r.onnx, '--overwrite'], check=True, env=r.env)
    loads = workloads(a, work)
    for name, texts in loads.items():
        print('setup: int8 model for %s' % name, file=sys.stderr, flush=True)
        r.project('int8', texts, 'prepare')
    speed = {}  # (kind, precision, workload) -> [result per round]
    starts = {}
    headlines = loads.get('headlines') or next(iter(loads.values()))
    for k in range(a.rounds):
        order = ENGINES[k % len(ENGINES):] + ENGINES[:k % len(ENGINES)]
        for name, texts in loads.items():
            for kind, precision in order:
                print('round %d: %s %s, %s' % (k + 1, kind, precision, name), file=sys.stderr, flush=True)
                speed.setdefault((kind, precision, name), []).append(r.run(kind, precision, texts, 'speed'))
        for kind, precision, cache in ([] if a.no_start else STARTS):
            print('round %d: start of %s %s (%s cache)' % (k + 1, kind, precision, cache), file=sys.stderr, flush=True)
            res = r.empty_start(headlines) if cache == 'empty' else r.run(kind, precision, headlines, 'start')
            starts.setdefault((kind, precision, cache), []).append(res)
    print_tables(a, speed, starts, list(loads))


def print_tables(a, speed, starts, names):
    print('CPU: %s' % cpu_line())
    print('%s, batch 32; %d round(s), each figure the best of %d passes in a fresh process; '
          'median (range) over the rounds\n' % ('weight %s' % os.path.basename(a.weight) if a.weight else
                                                 'config=%s, random weights' % a.config, a.rounds, a.repeat))
    print('| engine | precision | %s |' % ' | '.join('%s: sentences/s | peak RSS MB' % n for n in names))
    print('|---|---|%s' % ('---|---|' * len(names)))
    for kind, precision in ENGINES:
        cells = []
        for n in names:
            rows = speed.get((kind, precision, n), [])
            used = {x['precision'] for x in rows if x}
            cells += [cell(rows, 'rate', '%.1f') + ('' if used <= {precision} else ' (ran %s)' % '/'.join(used)),
                      cell(rows, 'peak_mb', '%.0f')]
        print('| %s | %s | %s |' % (NAMES[kind], precision, ' | '.join(cells)))
    ratios = []
    for n in names:
        mine, ort = speed.get(('project', 'int8', n), []), speed.get(('ort', 'int8', n), [])
        rate = [x['rate'] for x in mine if x], [x['rate'] for x in ort if x]
        mem = [x['peak_mb'] for x in mine if x], [x['peak_mb'] for x in ort if x]
        if all(rate) and all(mem):
            ratios.append('%s: speed %.2fx, peak memory %.2fx' % (
                n, statistics.median(rate[0]) / statistics.median(rate[1]),
                statistics.median(mem[0]) / statistics.median(mem[1])))
    if ratios:
        print('\nproject int8 / ONNX Runtime int8 (medians): ' + '; '.join(ratios))
    if starts:
        print('\n| cold start (process start to first prediction) | seconds | peak RSS MB |')
        print('|---|---|---|')
        for kind, precision, cache in STARTS:
            rows = starts.get((kind, precision, cache), [])
            label = '%s %s%s' % (NAMES[kind], precision, {'cache': '', 'empty': ', empty cache (quantizing)'}[cache])
            if kind == 'project' and precision == 'int8' and cache == 'cache':
                label += ', from the cache'
            print('| %s | %s | %s |' % (label, cell(rows, 'start_s', '%.2f'), cell(rows, 'peak_mb', '%.0f')))


if __name__ == '__main__':
    main()
