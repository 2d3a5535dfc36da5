"""Figures (matplotlib, Agg): Hangul topic names where a Korean font is present, else English."""
import glob
import importlib.util
import logging
import os
import textwrap

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import font_manager, ft2font  # noqa: E402

from kobert_base.topics import TOPICS_KO  # noqa: E402
from kobert_base.atomic import atomic_path  # noqa: E402

log = logging.getLogger('kobert_news.figures')
_FONT = {}


def _font_files():
    """NanumGothic from the koreanize-matplotlib package, then any system font known to have Hangul."""
    spec = importlib.util.find_spec('koreanize_matplotlib')
    if spec and spec.submodule_search_locations:
        yield from glob.glob(os.path.join(spec.submodule_search_locations[0], 'fonts', 'NanumGothic.ttf'))
    for path in font_manager.findSystemFonts():
        name = os.path.basename(path).lower()
        if any(k in name for k in ('nanum', 'notosanscjk', 'notosanskr', 'noto-cjk', 'malgun', 'applegothic', 'unbatang')):
            yield path


def has_hangul(path):
    try:
        return ft2font.FT2Font(path).get_char_index(ord('가')) != 0
    except (RuntimeError, OSError):
        return False


def hangul_font(candidates=None):
    """Family name of a registered font that draws Hangul, or None (with a warning, once)."""
    key = tuple(candidates) if candidates is not None else None
    if key not in _FONT:
        _FONT[key] = None
        for path in (candidates if candidates is not None else _font_files()):
            if has_hangul(path):
                font_manager.fontManager.addfont(path)
                _FONT[key] = font_manager.FontProperties(fname=path).get_name()
                break
        if _FONT[key] is None:
            log.warning('no font with Hangul found (pip install koreanize-matplotlib, or apt install '
                        'fonts-nanum): figures use English topic names')
    return _FONT[key]


def topic_label(topic, korean):
    return '%s (%s)' % (TOPICS_KO.get(topic, topic), topic) if korean else topic


def _style():
    family = hangul_font()
    plt.rcParams['font.family'] = [family, 'DejaVu Sans'] if family else ['DejaVu Sans']
    plt.rcParams['axes.unicode_minus'] = False
    return family is not None


def _save(fig, path):
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format='png', dpi=120, bbox_inches='tight')
    plt.close(fig)
    return path


def _legend_outside(ax, **kw):
    """Legends beside the axes, never over the data."""
    ax.legend(loc='upper left', bbox_to_anchor=(1.01, 1), borderaxespad=0, **kw)


def _title(text, width=90):
    """Long titles wrap instead of running off the figure."""
    return '\n'.join(textwrap.wrap(text, width))


def confusion_heatmap(cm, path, title='Confusion matrix'):
    korean = _style()
    labels = [topic_label(t, korean) for t in cm.index]
    values = cm.values
    fig, ax = plt.subplots(figsize=(1.0 * len(labels) + 2.5, 1.0 * len(labels) + 1.5))
    image = ax.imshow(values, cmap='Blues')
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=45, ha='right')
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels)
    threshold = values.max() / 2 if values.size else 0
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            ax.text(j, i, str(values[i, j]), ha='center', va='center',
                    color='white' if values[i, j] > threshold else 'black', fontsize=9)
    ax.set_xlabel('predicted')
    ax.set_ylabel('true')
    ax.set_title(_title(title, 60))
    return _save(fig, path)


def metrics_by_experiment(reports, path):
    """The original's Fig. 2: F1, recall and precision per topic, one line per experiment.
    `reports` maps experiment name -> report frame (reports.metrics.report_frame)."""
    korean = _style()
    topics = [t for t in next(iter(reports.values())).index if t not in ('macro avg', 'weighted avg')]
    for rep in reports.values():
        topics += [t for t in rep.index if t not in topics and t not in ('macro avg', 'weighted avg')]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5), sharey=True)
    for ax, metric in zip(axes, ('f1-score', 'recall', 'precision')):
        for name, rep in reports.items():
            ax.plot(range(len(topics)), [rep[metric].get(t, np.nan) for t in topics], marker='o', label=name)
        ax.set_xticks(range(len(topics)))
        ax.set_xticklabels([topic_label(t, korean) for t in topics], rotation=45, ha='right')
        ax.set_title(metric)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel('score')
    _legend_outside(axes[-1], fontsize=8)
    return _save(fig, path)


def training_curve(history, path, name, condition=''):
    """Loss, training and evaluation accuracy per epoch of one run (its metrics.json); for a
    cross-validation, the folds' mean evaluation accuracy and macro-F1 with their std."""
    from matplotlib.ticker import MaxNLocator
    _style()
    epochs = [h['epoch'] for h in history]
    cv = 'accuracy_mean' in history[0]
    fig, axes = plt.subplots(1, 1 if cv else 2, figsize=(7 if cv else 12, 4), squeeze=False)
    if cv:
        right = axes[0][0]
        for key, label in (('accuracy', 'evaluation accuracy'), ('macro_f1', 'evaluation macro-F1')):
            mean, std = np.array([h[key + '_mean'] for h in history]), np.array([h[key + '_std'] for h in history])
            right.plot(epochs, mean, marker='o', label=label + ' (mean over folds)')
            right.fill_between(epochs, mean - std, mean + std, alpha=0.2)
    else:
        left, right = axes[0]
        left.plot(epochs, [h['loss'] for h in history], marker='o', label='training loss')
        if 'eval_loss' in history[0]:
            left.plot(epochs, [h['eval_loss'] for h in history], marker='o', label='evaluation loss')
        right.plot(epochs, [h['train_accuracy'] for h in history], marker='o', label='training accuracy')
        if 'eval_accuracy' in history[0]:
            right.plot(epochs, [h['eval_accuracy'] for h in history], marker='o', label='evaluation accuracy')
            right.plot(epochs, [h['eval_macro_f1'] for h in history], marker='.', linestyle='--',
                       label='evaluation macro-F1')
        left.set_title('loss')
        right.set_title('accuracy')
    for ax in axes[0]:
        ax.set_xlabel('epoch')
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        _legend_outside(ax, fontsize=8)
    fig.suptitle(_title('%s: %s' % (name, condition) if condition else name, 110), fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def category_distribution(counts, path):
    """The original's Fig. 1: topic counts of the training and test sets.
    `counts` maps set name -> {topic: count}."""
    korean = _style()
    topics = sorted({t for c in counts.values() for t in c}, key=lambda t: -sum(c.get(t, 0) for c in counts.values()))
    width = 0.8 / len(counts)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for k, (name, c) in enumerate(counts.items()):
        values = [c.get(t, 0) for t in topics]
        bars = ax.bar(np.arange(len(topics)) + k * width, values, width, label='%s (%d)' % (name, sum(values)))
        ax.bar_label(bars, fontsize=8)
    ax.set_xticks(np.arange(len(topics)) + width * (len(counts) - 1) / 2)
    ax.set_xticklabels([topic_label(t, korean) for t in topics], rotation=30, ha='right')
    ax.set_ylabel('articles')
    _legend_outside(ax)
    ax.set_title('Topic distribution')
    return _save(fig, path)


def embedding_scatter(points, topics, path, title):
    """The original's Fig. 6/7: 2-D embedding (t-SNE) coloured by topic."""
    korean = _style()
    fig, ax = plt.subplots(figsize=(8, 7))
    for k, topic in enumerate(sorted(set(topics))):
        sel = np.asarray(topics) == topic
        ax.scatter(points[sel, 0], points[sel, 1], s=6, alpha=0.6, color=plt.cm.tab10(k % 10),
                   label=topic_label(topic, korean))
    _legend_outside(ax, markerscale=3, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(_title(title, 60))
    return _save(fig, path)


def cluster_distribution(clusters, categories, path, title):
    """Topic counts inside each cluster, as stacked bars (the original's cluster figures)."""
    korean = _style()
    ks = sorted(set(int(c) for c in clusters))
    topics = sorted(set(categories))
    clusters, categories = np.asarray(clusters), np.asarray(categories)
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(ks) + 3), 4.5))
    bottom = np.zeros(len(ks))
    for n, topic in enumerate(topics):
        counts = np.array([np.sum((clusters == k) & (categories == topic)) for k in ks])
        ax.bar(range(len(ks)), counts, bottom=bottom, color=plt.cm.tab10(n % 10), label=topic_label(topic, korean))
        bottom += counts
    ax.set_xticks(range(len(ks)))
    ax.set_xticklabels([str(k) for k in ks], fontsize=8)
    ax.set_xlabel('cluster')
    ax.set_ylabel('test articles')
    handles, labels = ax.get_legend_handles_labels()  # the legend reads top-down as the stacks do
    ax.legend(handles[::-1], labels[::-1], loc='upper left', bbox_to_anchor=(1.01, 1), borderaxespad=0, fontsize=8)
    ax.set_title(_title(title, 60))
    return _save(fig, path)
