"""Are the attributions right? Integrated gradients and word occlusion side by side, by the deletion
test, on headlines the weight was not trained on, in one run.

    .venv/bin/python bench/bench_explain.py --run_dir runs/explain_weight --rows 200 --steps 50

The run's held-out rows (its predictions.csv) are read; --rows of them with at least --min_words
words are drawn (seeded). The methods: integrated gradients (kobert_gluon.attribution, --steps
points, [PAD] baseline or --ig_baselines) and word occlusion with each of its baselines
(kobert_news.explain: the word removed, or its tokens replaced by [MASK] or [PAD]) on the fp32
Gluon predictor; the same occlusion on the ONNX Runtime engine of the weight's export (made in
--export_dir when missing) runs in a child under --deploy_python (bench_explain_child.py), timed
there, its attributions compared with the Gluon ones. A random ranking of the words is the floor.
Per headline, p is the explained (predicted) topic's probability, from the fp32 predictor:
- deletion: p after deleting the top word, against deleting a random word (the exact mean over
  deleting each of its words in turn);
- comprehensiveness: p minus p after deleting the top k words, the mean over k = 1, 2, 3 (ERASER's
  AOPC; higher is better);
- sufficiency: p minus p of the top k words alone, the mean over k = 1, 2, 3 (lower is better);
- seconds and CPU seconds (every thread's) per headline, explained one at a time (as /explain does).
Every process runs --threads threads (MXNet's OpenMP, ONNX Runtime's intra-op).
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
sys.path.insert(0, ROOT)
KS = (1, 2, 3)


def without(words, drop):
    return ' '.join(w for i, w in enumerate(words) if i not in drop)


def only(words, keep):
    return ' '.join(w for i, w in enumerate(words) if i in keep)


def scores(predictor, texts, targets, attributions):
    """Per headline: (p, p after deleting the top word, mean p after deleting one word, the AOPC of
    comprehensiveness, of sufficiency, the top word)."""
    import numpy as np
    batch, spans = [], []
    for text, a in zip(texts, attributions):
        words = text.split()
        order = [int(i) for i in np.argsort(-np.asarray(a), kind='stable')]
        start = len(batch)
        batch += [text] + [without(words, {i}) for i in range(len(words))]
        batch += [without(words, set(order[:k])) for k in KS] + [only(words, set(order[:k])) for k in KS]
        spans.append((start, len(words), order[0]))
    probs = predictor.predict_proba(batch)
    out = []
    for (start, n, top), t in zip(spans, targets):
        p = probs[start:start + 1 + n + 2 * len(KS), t]
        ks = p[1 + n:]
        out.append((p[0], p[1 + top], p[1:1 + n].mean(), (p[0] - ks[:len(KS)]).mean(), (p[0] - ks[len(KS):]).mean(),
                    top))
    return np.array(out)


def bootstrap_ci(x, seed=0, n=10000):
    import numpy as np
    rng = np.random.RandomState(seed)
    means = x[rng.randint(0, len(x), (n, len(x)))].mean(axis=1)
    return np.percentile(means, [2.5, 97.5])


def timed(fn):
    tic, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - tic, time.process_time() - cpu


def onnx_side(a, weight, texts, env):
    """{baseline: child's result} for occlusion on the export's ONNX engine, or {} without a deploy Python."""
    if not os.path.isfile(a.deploy_python):
        print('no %s: the ONNX Runtime side is left out' % a.deploy_python, file=sys.stderr)
        return {}
    folder = a.export_dir or os.path.join(a.run_dir, 'onnx')
    if not os.path.isfile(os.path.join(folder, 'model.onnx')):
        print('setup: kobert-news export --to onnx into %s' % folder, file=sys.stderr, flush=True)
        subprocess.run([sys.executable, '-m', 'kobert_news', 'export', '--gluon_weight_path', weight, '--to', 'onnx',
                        '--output_dir', folder], check=True, env=env)
    with tempfile.NamedTemporaryFile('w', suffix='.json', encoding='utf-8', delete=False) as f:
        json.dump(texts, f, ensure_ascii=False)
    try:
        done = subprocess.run([a.deploy_python, os.path.join(HERE, 'bench_explain_child.py'), '--model_dir', folder,
                               '--texts', f.name, '--threads', str(a.threads)], env=env, check=True,
                              stdout=subprocess.PIPE, universal_newlines=True)
    finally:
        os.unlink(f.name)
    return json.loads(done.stdout)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--run_dir', required=True, help='a finished training run (model.params, predictions.csv)')
    p.add_argument('--rows', type=int, default=200, help='held-out headlines measured')
    p.add_argument('--min_words', type=int, default=4, help='words a headline needs (k = 3 leaves one)')
    p.add_argument('--steps', type=int, default=50, help='integrated gradients: points on the path')
    p.add_argument('--ig_baselines', nargs='+', default=['pad'], choices=('pad', 'mask'),
                   help='integrated gradients: the baselines measured (the first is compared with occlusion)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=1, help='threads of every process')
    p.add_argument('--deploy_python', default=os.path.join(ROOT, '.venv-deploy', 'bin', 'python'))
    p.add_argument('--export_dir', default=None, help="the weight's export folder (default <run_dir>/onnx)")
    p.add_argument('--kobert_dir', default=None)
    a = p.parse_args()
    os.environ['OMP_NUM_THREADS'] = str(a.threads)  # before MXNet loads (kobert_gluon keeps a set value)
    env = dict(os.environ)
    import numpy as np
    import pandas as pd
    from scipy.stats import wilcoxon
    from kobert_gluon.attribution import IntegratedGradients
    from kobert_gluon.predictor import Predictor
    from kobert_base.explanations import OCCLUSION_BASELINES
    from kobert_news.explain.occlusion import Occlusion
    from common import cpu_name  # bench/common.py

    weight = os.path.join(a.run_dir, 'model.params')
    held_out = pd.read_csv(os.path.join(a.run_dir, 'predictions.csv'), encoding='utf-8-sig', dtype={'text': str})
    held_out = held_out[held_out['text'].fillna('').str.split().str.len() >= a.min_words]
    texts = list(held_out.sample(n=min(a.rows, len(held_out)), random_state=a.seed)['text'])
    print('python %s' % ' '.join(sys.argv))
    print('%d held-out headlines of %s (of %d with at least %d words), weight %s; %d thread(s); CPU: %s, '
          '1-minute load average %.1f at the start\n' % (len(texts), a.run_dir, len(held_out), a.min_words, weight,
                                                       a.threads, cpu_name(), os.getloadavg()[0]))
    predictor = Predictor.from_weight(weight, a.kobert_dir)
    gradients = IntegratedGradients.from_weight(weight, a.kobert_dir)
    found, seconds = {}, {}
    for baseline in a.ig_baselines:
        key = 'integrated gradients, %d steps' % a.steps, baseline
        found[key], wall, cpu = timed(lambda: gradients.explain(texts, steps=a.steps, baseline=baseline))
        seconds[key] = (wall, cpu, None, None)
    ig = found['integrated gradients, %d steps' % a.steps, a.ig_baselines[0]]
    occlusion = Occlusion(predictor)
    for baseline in OCCLUSION_BASELINES:
        found['occlusion', baseline], wall, cpu = timed(lambda: [occlusion.explain([t], baseline=baseline)[0]
                                                                  for t in texts])
        seconds['occlusion', baseline] = (wall, cpu, None, None)
    targets = [e.target for e in ig]
    onnx = onnx_side(a, weight, texts, env)
    for baseline, got in onnx.items():
        gap = max(np.abs(np.asarray(o) - e.attributions).max() for o, e in zip(got['attributions'],
                                                                                found['occlusion', baseline]))
        seconds['occlusion', baseline] = seconds['occlusion', baseline][:2] + (got['seconds'], got['cpu'])
        print('occlusion, %s: ONNX Runtime and Gluon attributions differ by %.1e at most' % (baseline, gap))
    rng = np.random.RandomState(a.seed)
    rows = {key: scores(predictor, texts, targets, [e.attributions for e in es]) for key, es in found.items()}
    rows['random ranking', '-'] = scores(predictor, texts, targets, [rng.rand(len(t.split())) for t in texts])
    for key, es in found.items():
        if key[0].startswith('integrated'):
            errors = np.array([e.completeness_error for e in es])
            print('%s, %s: completeness error median %.1e, mean %.1e, max %.1e'
                  % (key + (np.median(errors), errors.mean(), errors.max())))
    print()
    n = len(texts)
    print('| method | baseline | p(topic) | after deleting the top word | drop: top word | drop: random word '
          '| top - random, 95% CI | comprehensiveness, k=1-3 | sufficiency, k=1-3 (lower is better) '
          '| s/headline, Gluon (CPU s) | s/headline, ONNX Runtime (CPU s) |')
    print('|---|---|---|---|---|---|---|---|---|---|---|')
    for (method, baseline), r in rows.items():
        gap = (r[:, 0] - r[:, 1]) - (r[:, 0] - r[:, 2])
        low, high = bootstrap_ci(gap, a.seed)
        s = seconds.get((method, baseline), (None,) * 4)
        times = ['%.3f (%.3f)' % (s[i] / n, s[i + 1] / n) if s[i] is not None else '-' for i in (0, 2)]
        print('| %s | %s | %.3f | %.3f | %.3f | %.3f | %.3f [%.3f, %.3f], p %.0e | %.3f | %.3f | %s | %s |'
              % (method, baseline, r[:, 0].mean(), r[:, 1].mean(), (r[:, 0] - r[:, 1]).mean(),
                 (r[:, 0] - r[:, 2]).mean(), gap.mean(), low, high, wilcoxon(gap).pvalue if gap.any() else 1,
                 r[:, 3].mean(), r[:, 4].mean(), times[0], times[1]))
    paired(rows, ('integrated gradients, %d steps' % a.steps, a.ig_baselines[0]), a.seed)
    for baseline in OCCLUSION_BASELINES[1:]:
        paired(rows, ('occlusion', baseline), a.seed, [('occlusion', OCCLUSION_BASELINES[0])])


def paired(rows, base, seed, against=None):
    """Each occlusion row (or those in against) minus the base row: the mean difference per headline
    of the top word's drop, comprehensiveness and sufficiency, with its 95% bootstrap interval."""
    print('\npaired, minus %s (95%% CI of the mean difference):' % ', '.join(base))
    for key in against or [k for k in rows if k[0] == 'occlusion']:
        parts = []
        for name, pick in (('drop: top word', lambda r: r[:, 0] - r[:, 1]), ('comprehensiveness', lambda r: r[:, 3]),
                           ('sufficiency', lambda r: r[:, 4])):
            d = pick(rows[key]) - pick(rows[base])
            low, high = bootstrap_ci(d, seed)
            parts.append('%s %+.3f [%+.3f, %+.3f]' % (name, d.mean(), low, high))
        same = 100 * (rows[key][:, 5] == rows[base][:, 5]).mean()
        print('- %s: %s; the same top word in %.0f%%' % (', '.join(key), '; '.join(parts), same))


if __name__ == '__main__':
    main()
