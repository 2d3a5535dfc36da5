"""Are the attributions right? Completeness and deletion on headlines the weight was not trained on.

    python bench/bench_explain.py --run_dir runs/explain_weight --rows 240 --steps 50

The run's held-out rows (its predictions.csv) are read; --rows of them with at least two words
are drawn (seeded). For each baseline ([PAD], [MASK]):
- completeness: |sum of the attributions - change of the target logit| / |change|, per headline;
- deletion: the predicted topic's probability after deleting the headline's most-attributed word,
  against deleting a random word (the exact mean over deleting each of its words in turn).
Probabilities come from the fp32 predictor, the explanations from kobert_gluon.attribution.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kobert_gluon  # noqa: E402,F401
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.stats import wilcoxon  # noqa: E402

from kobert_gluon.attribution import Explainer  # noqa: E402
from kobert_gluon.predictor import Predictor  # noqa: E402
from kobert_news.config import EXPLAIN_BASELINES  # noqa: E402
from common import cpu_name  # noqa: E402  (bench/common.py)


def without(words, i):
    return ' '.join(words[:i] + words[i + 1:])


def deletion(predictor, texts, explanations):
    """Per headline: (probability of the explained topic, after deleting the top word, mean after
    deleting each word, the top word's position)."""
    before, top, rand, where = [], [], [], []
    for text, e in zip(texts, explanations):
        words = text.split()
        variants = [without(words, i) for i in range(len(words))]
        p = predictor.predict_proba([text] + variants)[:, e.target]
        where.append(int(np.argmax(e.attributions)))
        before.append(p[0])
        top.append(p[1 + where[-1]])
        rand.append(p[1:].mean())
    return np.array(before), np.array(top), np.array(rand), np.array(where)


def bootstrap_ci(x, seed=0, n=10000):
    rng = np.random.RandomState(seed)
    means = x[rng.randint(0, len(x), (n, len(x)))].mean(axis=1)
    return np.percentile(means, [2.5, 97.5])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--run_dir', required=True, help='a finished training run (model.params, predictions.csv)')
    p.add_argument('--rows', type=int, default=240, help='held-out headlines measured')
    p.add_argument('--steps', type=int, default=50)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--baselines', nargs='+', default=list(EXPLAIN_BASELINES), choices=EXPLAIN_BASELINES)
    p.add_argument('--kobert_dir', default=None)
    args = p.parse_args()
    weight = os.path.join(args.run_dir, 'model.params')
    held_out = pd.read_csv(os.path.join(args.run_dir, 'predictions.csv'), encoding='utf-8-sig', dtype={'text': str})
    held_out = held_out[held_out['text'].fillna('').str.split().str.len() >= 2]
    rows = held_out.sample(n=min(args.rows, len(held_out)), random_state=args.seed)
    texts = list(rows['text'])
    print('python %s' % ' '.join(sys.argv))
    print('%d held-out headlines of %s (of %d), weight %s, %d steps; CPU: %s'
          % (len(texts), args.run_dir, len(held_out), weight, args.steps, cpu_name()))
    predictor = Predictor.from_weight(weight, args.kobert_dir)
    explainer = Explainer.from_weight(weight, args.kobert_dir)
    print('| baseline | completeness error: median | mean | max | p(topic) | after deleting the top word '
          '| after deleting a random word | drop: top word | drop: random word | top - random, 95% CI '
          '| Wilcoxon p | s/headline |')
    print('|---|---|---|---|---|---|---|---|---|---|---|---|')
    drops, tops = {}, {}
    for baseline in args.baselines:
        tic = time.time()
        explanations = explainer.explain(texts, steps=args.steps, baseline=baseline)
        seconds = (time.time() - tic) / len(texts)
        errors = np.array([e.completeness_error for e in explanations])
        before, top, rand, tops[baseline] = deletion(predictor, texts, explanations)
        drops[baseline] = before - top
        gap = (before - top) - (before - rand)
        low, high = bootstrap_ci(gap, args.seed)
        print('| %s | %.1e | %.1e | %.1e | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f [%.3f, %.3f] | %.1e | %.2f |'
              % (baseline, np.median(errors), errors.mean(), errors.max(), before.mean(), top.mean(), rand.mean(),
                 (before - top).mean(), (before - rand).mean(), gap.mean(), low, high, wilcoxon(gap).pvalue,
                 seconds))
        sys.stdout.flush()
    if len(drops) == 2:  # the same headlines under both baselines: which finds the more decisive word?
        (a, da), (b, db) = drops.items()
        low, high = bootstrap_ci(da - db, args.seed)
        print('\ndrop after deleting the top word, %s - %s: %+.4f [%+.4f, %+.4f] (95%% CI), Wilcoxon p %.1e; '
              'the same top word in %.0f%% of the headlines'
              % (a, b, (da - db).mean(), low, high, wilcoxon(da - db).pvalue if (da != db).any() else 1.0,
                 100 * (tops[a] == tops[b]).mean()))


if __name__ == '__main__':
    main()
