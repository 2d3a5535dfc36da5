"""The experiment record from run directories: the original's exp.md and exp_metric.md tables,
its figures (metrics per experiment, topic distribution, t-SNE) and a training curve per run."""
import json
import logging
import os

import numpy as np
import pandas as pd

from config import TOPICS, TrainConfig
from kobert_gluon.atomic import atomic_write_text
from reports import figures
from reports.metrics import report_frame, summary

log = logging.getLogger('kobert_news.record')

# The original's reported best test accuracy and epoch (its README, EXP1-EXP11).
ORIGINAL = {'exp1': (0.8842, 10), 'exp2': (0.8895, 12), 'exp3': (0.8800, 4), 'exp4': (0.8864, 7),
            'exp5': (0.8874, 7), 'exp6': (0.8269, 7), 'exp7': (0.8864, 6), 'exp8': (0.8789, 3),
            'exp9': (0.8895, 5), 'exp10': (0.8641, 2), 'exp11': (0.8885, 7)}


# Settings that say where things are, not how the model was trained.
IGNORED = ('data_path', 'eval_path', 'output_dir', 'encoding', 'kobert_dir', 'log_interval',
           'title_column', 'body_column', 'label_column')


class RunRecord:
    """What a finished run directory holds."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(os.path.normpath(path))
        try:
            self.config = _json(path, 'train_config.json')
            self.history = _json(path, 'metrics.json')
            self.best = _json(path, 'best.json')
            self.predictions = pd.read_csv(os.path.join(path, 'predictions.csv'), encoding='utf-8-sig')
        except (OSError, ValueError) as e:
            raise ValueError('%s is not a finished run directory (%s)' % (path, e))

    def condition(self, with_seed=True):
        """Mode, batch size, model, clusters, then every setting that differs from train.py's defaults."""
        c, d = self.config, TrainConfig().to_dict()
        body = 'KoBERT body' if c.get('model') == 'kobert' and c.get('pretrained') not in ('none', None) \
            else 'from scratch'
        parts = ['mode=%d' % c['mode'], 'batch_size=%d' % c['batch_size'], 'model=%s (%s)' % (c['model'], body)]
        shown = {'mode', 'batch_size', 'model', 'pretrained', 'patience', 'epochs'} | set(IGNORED)
        if c['mode'] in (4, 5):
            parts.append('clusters=%d of %s on mode-%d text' % (c.get('clusters', d['clusters']),
                                                                c.get('cluster_encoder', d['cluster_encoder']),
                                                                c.get('base_mode', d['base_mode'])))
        shown |= {'clusters', 'cluster_encoder', 'base_mode', 'cache_dir'}
        if not with_seed:
            shown.add('seed')
        parts += ['%s=%s' % (k, v) for k, v in c.items() if k not in shown and k in d and v != d[k]]
        if not c.get('patience'):
            parts.append('epoch=%d without early stopping' % c['epochs'])
        return ', '.join(parts)

    def report(self):
        return report_frame(list(self.predictions['category']), list(self.predictions['predicted']), TOPICS)

    def summary(self):
        return summary(list(self.predictions['category']), list(self.predictions['predicted']))


def _json(path, name):
    with open(os.path.join(path, name), encoding='utf-8') as f:
        return json.load(f)


def exp_table(runs):
    rows = ['| No | Condition | Best Test Accuracy | Epoch | Original\'s accuracy (epoch) |',
            '|:---:|:---|:---:|:---:|:---:|']
    for r in runs:
        orig = ORIGINAL.get(r.name.lower())
        rows.append('| %s | %s | %.4f | at epoch %d | %s |' % (
            r.name, r.condition(), r.best['eval_accuracy'], r.best['best_epoch'],
            '%.4f (%d)' % orig if orig else '-'))
    return '\n'.join(rows)


def seed_table(runs):
    """Runs that differ only in their seed, averaged: the mean best accuracy and best epoch."""
    groups = {}
    for r in runs:
        groups.setdefault(r.condition(with_seed=False), []).append(r)
    if all(len(g) < 2 for g in groups.values()):
        return ''
    rows = ['| Condition | seeds | best test accuracy, mean (each) | best epoch, mean (each) |',
            '|:---|:---:|:---:|:---:|']
    for cond, g in groups.items():
        accs = [r.best['eval_accuracy'] for r in g]
        epochs = [r.best['best_epoch'] for r in g]
        rows.append('| %s | %s | %.4f (%s) | %.1f (%s) |' % (
            cond, ', '.join(str(r.config['seed']) for r in g), np.mean(accs), ', '.join('%.4f' % a for a in accs),
            np.mean(epochs), ', '.join(str(e) for e in epochs)))
    return '\n'.join(rows)


def exp_metric_frame(runs):
    """The layout of the original's exp_metric.md: one row per experiment and metric, a column per
    topic (alphabetical, as the original), then accuracy, macro avg and weighted avg."""
    topics = sorted({t for r in runs for t in r.report().index if t not in ('macro avg', 'weighted avg')})
    rows = []
    for r in runs:
        rep, acc = r.report(), r.summary()['accuracy']
        for metric in ('precision', 'recall', 'f1-score', 'support'):
            row = {'exp': r.name, 'metric': metric}
            row.update({t: rep[metric].get(t, np.nan) for t in topics})
            row['accuracy'] = acc
            row['macro avg'] = rep.loc['macro avg', metric]
            row['weighted avg'] = rep.loc['weighted avg', metric]
            rows.append(row)
    return pd.DataFrame(rows)


def write_record(run_dirs, output_dir, tsne=True, tsne_samples=1000):
    """Regenerate the record in output_dir; returns the paths written."""
    runs = [RunRecord(d) for d in run_dirs]
    fig_dir = os.path.join(output_dir, 'figures')
    os.makedirs(fig_dir, exist_ok=True)
    written = []

    def out(name, text):
        path = os.path.join(output_dir, name)
        atomic_write_text(path, text)
        written.append(path)

    by_seed = seed_table(runs)
    out('exp.md', '# Experiments\n\nGenerated by `record.py` from: %s.\n\n%s\n%s' % (
        ', '.join('`%s`' % r.path for r in runs), exp_table(runs),
        '\n## Runs that differ only in their seed\n\n%s\n' % by_seed if by_seed else ''))
    frame = exp_metric_frame(runs)
    out('exp_metric.md', '# Evaluation metric of experiments\n\nPer topic, on each run\'s evaluation set '
        '(its best epoch). Generated by `record.py`.\n\n%s\n' % frame.to_markdown(floatfmt='.6g'))

    path = os.path.join(fig_dir, 'metrics_by_experiment.png')
    figures.metrics_by_experiment({r.name: r.report() for r in runs}, path)
    written.append(path)
    for r in runs:
        path = os.path.join(fig_dir, 'curve_%s.png' % r.name)
        figures.training_curve(r.history, path, '%s: %s' % (r.name, r.condition()))
        written.append(path)
    written += _data_figures(runs[0], fig_dir, tsne, tsne_samples)
    return written


def _data_figures(run, fig_dir, tsne, tsne_samples):
    """Topic distribution and t-SNE need the run's data; skipped (with a warning) without it."""
    from preprocess import load_data
    from config import UserError
    cfg = TrainConfig(**run.config)
    try:
        train_df, train_y, eval_df, eval_y = load_data(cfg)
    except UserError as e:
        log.warning('topic distribution and t-SNE skipped: %s', e)
        return []
    written = [os.path.join(fig_dir, 'category_distribution.png')]
    figures.category_distribution({'train': _counts(train_y), 'test': _counts(eval_y)}, written[0])
    if tsne:
        path = os.path.join(fig_dir, 'tsne_%s.png' % run.name)
        points, topics = tsne_points(run, list(eval_df['text']), eval_y, tsne_samples, cfg.seed)
        figures.embedding_scatter(points, topics, path, 't-SNE of %s sentence embeddings (mean-pooled BERT '
                                  'output, %d test articles)' % (run.name, len(points)))
        written.append(path)
    return written


def _counts(labels):
    values, counts = np.unique(labels, return_counts=True)
    return {TOPICS[v]: int(c) for v, c in zip(values, counts)}


def tsne_points(run, texts, labels, n, seed):
    """2-D t-SNE of the run's model's mean-pooled token outputs for up to n texts."""
    from sklearn.manifold import TSNE
    from kobert_gluon.embeddings import mean_pooled
    rng = np.random.RandomState(seed)
    pick = np.sort(rng.choice(len(texts), size=min(n, len(texts)), replace=False))
    vectors = mean_pooled(os.path.join(run.path, 'model.params'), [texts[i] for i in pick])
    points = TSNE(n_components=2, init='pca', learning_rate=200.0, random_state=seed).fit_transform(vectors)
    return points, [TOPICS[labels[i]] for i in pick]
