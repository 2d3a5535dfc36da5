"""The experiment record from run directories: the original's exp.md and exp_metric.md tables,
its figures (metrics per experiment, topic distribution, t-SNE), a training curve and a confusion
matrix per run. A cross-validation run (train.py --folds) is recorded by its mean over the folds
and its out-of-fold predictions."""
import json
import logging
import os

import numpy as np
import pandas as pd

from kobert_base.atomic import atomic_write_text
from kobert_base.errors import UserError
from kobert_base.paths import CHECKOUT_DIR, PACKAGE_DIR
from kobert_base.topics import TOPICS
from kobert_base.options import DataOptions, TrainOptions
from kobert_news.reports import figures
from kobert_news.reports.metrics import confusion_frame, report_frame, summary

log = logging.getLogger('kobert_news.record')

# The original's reported best test accuracy and epoch (its README, EXP1-EXP11).
ORIGINAL = {'exp1': (0.8842, 10), 'exp2': (0.8895, 12), 'exp3': (0.8800, 4), 'exp4': (0.8864, 7),
            'exp5': (0.8874, 7), 'exp6': (0.8269, 7), 'exp7': (0.8864, 6), 'exp8': (0.8789, 3),
            'exp9': (0.8895, 5), 'exp10': (0.8641, 2), 'exp11': (0.8885, 7)}
# Settings that say where things are, not how the model was trained.
IGNORED = ('data_path', 'eval_path', 'output_dir', 'encoding', 'kobert_dir', 'log_interval', 'cache_dir',
           'title_column', 'body_column', 'label_column')


def _json(path, name):
    with open(os.path.join(path, name), encoding='utf-8') as f:
        return json.load(f)


class RunRecord:
    """What a finished run directory holds (or a cross-validation's: its folds' mean)."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(os.path.normpath(path))
        try:
            self.config = _json(path, 'train_config.json')
            self.cv = _json(path, 'cv.json') if os.path.isfile(os.path.join(path, 'cv.json')) else None
            if self.cv:
                self.history = self.cv['per_epoch']
                self.best = {'eval_accuracy': self.cv['accuracy_mean'], 'best_epoch': self.cv['best_epoch']}
                predictions = 'oof_predictions.csv'
            else:
                self.history = _json(path, 'metrics.json')
                self.best = _json(path, 'best.json')
                predictions = 'predictions.csv'
            self.predictions = pd.read_csv(os.path.join(path, predictions), encoding='utf-8-sig')
            if 'eval_accuracy' not in self.best or 'best_epoch' not in self.best:
                raise KeyError('best.json has no evaluation (a run trained without one)')
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise UserError('%s is not a finished run directory (%s)' % (path, e))

    @property
    def weight(self):
        return os.path.join(self.path, 'final' if self.cv else '', 'model.params')

    def condition(self, with_seed=True):
        """Mode, batch size, model, clusters, then every setting that differs from train.py's defaults."""
        c, d = self.config, TrainOptions(data_path='-').to_dict()
        body = 'KoBERT body' if c.get('model') == 'kobert' and c.get('pretrained') not in ('none', None) \
            else 'from scratch'
        parts = ['mode=%d' % c['mode'], 'batch_size=%d' % c['batch_size'], 'model=%s (%s)' % (c['model'], body)]
        shown = {'mode', 'batch_size', 'model', 'pretrained', 'patience', 'epochs', 'folds'} | set(IGNORED)
        if c['mode'] in (4, 5):
            parts.append('clusters=%d of %s on mode-%d text' % (c.get('clusters', d['clusters']),
                                                                c.get('cluster_encoder', d['cluster_encoder']),
                                                                c.get('base_mode', d['base_mode'])))
        shown |= {'clusters', 'cluster_encoder', 'base_mode'}
        if not with_seed:
            shown.add('seed')
        parts += ['%s=%s' % (k, v) for k, v in c.items() if k not in shown and k in d and v != d[k]]
        if self.cv:
            parts.append('%d-fold cross-validation, mean over the folds' % self.cv['folds'])
        elif not c.get('patience'):
            parts.append('%d epochs without early stopping' % c['epochs'])
        return ', '.join(parts)

    def original(self):
        """(accuracy, epoch) the original reported for this run's experiment, or a reason it is not comparable."""
        name = self.name.lower()
        if name not in ORIGINAL:
            return None, ''
        path = os.path.join(CHECKOUT_DIR, 'configs', name + '.json')
        if not os.path.isfile(path):
            path = os.path.join(PACKAGE_DIR, 'configs', name + '.json')
        try:
            setup = {k: v for k, v in _json(os.path.dirname(path), os.path.basename(path)).items()
                     if k not in ('description',) + IGNORED}
        except (OSError, ValueError):
            return None, 'no configs/%s.json to compare with' % name
        differ = sorted(k for k, v in setup.items() if self.config.get(k) != v)
        if differ:
            return None, 'not comparable: %s differ from %s' % (', '.join(
                '%s=%s' % (k, self.config.get(k)) for k in differ), name.upper())
        return ORIGINAL[name], ''

    def report(self):
        return report_frame(list(self.predictions['category']), list(self.predictions['predicted']), TOPICS)

    def summary(self):
        return summary(list(self.predictions['category']), list(self.predictions['predicted']))


def exp_table(runs):
    rows = ['| No | Condition | Best Test Accuracy | Epoch | Original\'s accuracy (epoch) |',
            '|:---:|:---|:---:|:---:|:---:|']
    for r in runs:
        orig, why = r.original()
        rows.append('| %s | %s | %.4f | at epoch %d | %s |' % (
            r.name, r.condition(), r.best['eval_accuracy'], r.best['best_epoch'],
            '%.4f (%d)' % orig if orig else why or '-'))
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
            row.update({'accuracy': acc, 'macro avg': rep.loc['macro avg', metric],
                        'weighted avg': rep.loc['weighted avg', metric]})
            rows.append(row)
    return pd.DataFrame(rows)


def write_record(run_dirs, output_dir, tsne=True, tsne_samples=1000, kobert_dir=None):
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
    out('exp.md', '# Experiments\n\nGenerated by `kobert-news record` from: %s.\n\n%s\n%s' % (
        ', '.join('`%s`' % r.name for r in runs), exp_table(runs),
        '\n## Runs that differ only in their seed\n\n%s\n' % by_seed if by_seed else ''))
    frame = exp_metric_frame(runs)
    out('exp_metric.md', '# Evaluation metric of experiments\n\nPer topic, on each run\'s evaluation set '
        '(its best epoch; a cross-validation\'s out-of-fold predictions). Generated by `kobert-news record`.\n\n%s\n'
        % frame.to_markdown(floatfmt='.6g'))
    written.append(figures.metrics_by_experiment({r.name: r.report() for r in runs},
                                                 os.path.join(fig_dir, 'metrics_by_experiment.png')))
    for r in runs:
        written.append(figures.training_curve(r.history, os.path.join(fig_dir, 'curve_%s.png' % r.name),
                                              r.name, r.condition()))
        cm = confusion_frame(list(r.predictions['category']), list(r.predictions['predicted']), TOPICS)
        written.append(figures.confusion_heatmap(cm, os.path.join(fig_dir, 'confusion_%s.png' % r.name),
                                                 'Confusion matrix: %s' % r.name))
    written += _data_figures(runs[0], fig_dir, tsne, tsne_samples, kobert_dir)
    return written


def _data_figures(run, fig_dir, tsne, tsne_samples, kobert_dir=None):
    """Topic distribution and t-SNE need the run's data; skipped (with a warning) without it."""
    from preprocess import load_data
    names = set(DataOptions.__dataclass_fields__)
    cfg = DataOptions(**{k: v for k, v in run.config.items() if k in names})
    try:
        train, evaluation = load_data(cfg, run.config.get('base_mode', 3))
    except UserError as e:
        log.warning('topic distribution and t-SNE skipped: %s', e)
        return []
    if cfg.folds:  # cross-validation: the whole data, every row held out once
        train, evaluation = None, train
    counts = {'train': _counts(train.labels)} if train else {}
    counts['test' if train else 'all rows'] = _counts(evaluation.labels)
    written = [figures.category_distribution(counts, os.path.join(fig_dir, 'category_distribution.png'))]
    if tsne:
        points, topics = tsne_points(run, evaluation.texts, evaluation.labels, tsne_samples, cfg.seed, kobert_dir)
        written.append(figures.embedding_scatter(
            points, topics, os.path.join(fig_dir, 'tsne_%s.png' % run.name),
            't-SNE of %s embeddings (mean-pooled BERT output, %d articles)' % (run.name, len(points))))
    return written


def _counts(labels):
    values, counts = np.unique(labels, return_counts=True)
    return {TOPICS[v]: int(c) for v, c in zip(values, counts)}


def tsne_points(run, texts, labels, n, seed, kobert_dir=None):
    """2-D t-SNE of the run's model's mean-pooled token outputs for up to n texts."""
    from sklearn.manifold import TSNE
    from kobert_gluon.clusters import KobertEncoder
    rng = np.random.RandomState(seed)
    pick = np.sort(rng.choice(len(texts), size=min(n, len(texts)), replace=False))
    vectors = KobertEncoder(run.weight, kobert_dir).encode([texts[i] for i in pick])
    log.info('t-SNE of %d embeddings (about 20 s for 1,000)', len(pick))
    points = TSNE(n_components=2, init='pca', learning_rate=200.0, random_state=seed,
                  perplexity=min(30.0, max(2.0, (len(pick) - 1) / 3))).fit_transform(vectors)
    return points, [TOPICS[labels[i]] for i in pick]
