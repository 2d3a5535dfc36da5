"""Scores of predictions: accuracy, per-topic report, confusion matrix, misclassified rows."""
import json

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score

from kobert_base.atomic import atomic_path, atomic_write_text
from kobert_news.output_csv import FLOAT_FORMAT


def present_topics(topics, y_true, y_pred):
    """Topics that occur in the labels or the predictions, in the topics' order."""
    seen = set(y_true) | set(y_pred)
    return [t for t in topics if t in seen]


def report_frame(y_true, y_pred, topics):
    """sklearn's classification report as a frame: one row per topic, then the averages."""
    labels = present_topics(topics, y_true, y_pred)
    rep = classification_report(y_true, y_pred, labels=labels, output_dict=True, zero_division=0)
    rep.pop('accuracy', None)
    rep.pop('micro avg', None)  # sklearn adds it instead of accuracy when labels are a subset
    frame = pd.DataFrame(rep).T[['precision', 'recall', 'f1-score', 'support']]
    frame['support'] = frame['support'].astype(int)
    return frame


def confusion_frame(y_true, y_pred, topics):
    labels = present_topics(topics, y_true, y_pred)
    return pd.DataFrame(confusion_matrix(y_true, y_pred, labels=labels),
                        index=pd.Index(labels, name='true'), columns=pd.Index(labels, name='predicted'))


def summary(y_true, y_pred):
    labels = sorted(set(y_true))
    return {'n': len(y_true), 'accuracy': float(accuracy_score(y_true, y_pred)),
            'macro_f1': float(f1_score(y_true, y_pred, labels=labels, average='macro', zero_division=0)),
            'weighted_f1': float(f1_score(y_true, y_pred, labels=labels, average='weighted', zero_division=0))}


def free_name(frame, name):
    """name, or name with underscores added until the user's frame has no such column."""
    while name in frame.columns:
        name += '_'
    return name


def misclassified(frame, y_true, probs, topics, top_k=3):
    """The wrong rows of frame, with the true topic and the k most likely topics and probabilities
    (added under names the frame does not use)."""
    order = np.argsort(-probs, axis=1, kind='stable')[:, :top_k]
    out = frame.copy()
    out[free_name(out, 'true_topic')] = y_true
    for j in range(order.shape[1]):
        out[free_name(out, 'top%d' % (j + 1))] = [topics[i] for i in order[:, j]]
        out[free_name(out, 'top%d_probability' % (j + 1))] = probs[np.arange(len(probs)), order[:, j]]
    wrong = order[:, 0] != np.array([topics.index(t) for t in y_true])
    return out[wrong].reset_index(drop=True)


def write_evaluation(output_dir, frame, y_true, probs, topics, top_k=3):
    """All of kobert-news evaluate's outputs for one set of predictions; returns the summary."""
    from kobert_news.reports import figures
    y_pred = [topics[i] for i in probs.argmax(axis=1)]
    scores = summary(y_true, y_pred)
    rep = report_frame(y_true, y_pred, topics)
    cm = confusion_frame(y_true, y_pred, topics)
    atomic_write_text(output_dir + '/metrics.json', json.dumps(scores, indent=2) + '\n')
    _csv(rep, output_dir + '/classification_report.csv', index_label='topic')
    atomic_write_text(output_dir + '/classification_report.md', rep.to_markdown(floatfmt=('', '.4f', '.4f', '.4f', '.0f')) + '\n')
    _csv(cm, output_dir + '/confusion_matrix.csv')
    _csv(misclassified(frame, y_true, probs, topics, top_k), output_dir + '/misclassified.csv', index=False)
    figures.confusion_heatmap(cm, output_dir + '/confusion_matrix.png')
    return scores


def _csv(frame, path, **kw):
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, encoding='utf-8-sig', float_format=FLOAT_FORMAT, **kw)
