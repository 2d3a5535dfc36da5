"""Labelled data for training and evaluation: one CSV split 7:3 by topic, two CSVs, or k folds."""
import hashlib
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split

from kobert_base.errors import UserError
from kobert_base.topics import TOPICS
from preprocess.processor import NewsProcessor, read_csv, warn_no_text  # noqa: F401 (imported from here too)

log = logging.getLogger('kobert_news.data')


@dataclass
class Labelled:
    """Rows of one CSV that have text for the mode: the user's frame untouched, beside it the model
    text, the label ids and each row's record number in the file."""
    frame: pd.DataFrame
    texts: list
    labels: np.ndarray
    records: np.ndarray
    source: str

    def __len__(self):
        return len(self.texts)

    def subset(self, idx):
        return Labelled(self.frame.iloc[idx].reset_index(drop=True), [self.texts[i] for i in idx],
                        self.labels[idx], self.records[idx], self.source)

    def fingerprint(self):
        """What the model sees of this data: its texts and labels, in order."""
        h = hashlib.sha1()
        for text, label in zip(self.texts, self.labels):
            h.update(('%d\t%s\n' % (label, text)).encode('utf-8'))
        return h.hexdigest()

    def describe(self):
        """What a weight's description records of its training data: kobert-news evaluate recognises it."""
        return {'rows': len(self), 'sha1': self.fingerprint()}

    def is_described_by(self, recorded):
        """Whether this is the data a weight's recorded training_data (describe()) describes."""
        return isinstance(recorded, dict) and recorded.get('sha1') == self.fingerprint() and \
            recorded.get('rows') == len(self)


def read_labelled(path, cfg, base_mode=3, topics=TOPICS):
    """The rows of path with text for cfg.mode, their labels; rows without text are left out, with a warning."""
    proc = NewsProcessor.from_args(cfg, cfg.mode, topics, base_mode)
    df = read_csv(path, cfg.encoding)
    texts = proc.texts(df, path)
    keep = np.flatnonzero([bool(t) for t in texts])
    labels = proc.labels(df, path, keep)  # a row without text (a blank line) needs no topic
    if not len(keep):
        raise UserError('no row of %s has text for mode %d' % (path, cfg.mode))
    if len(keep) < len(texts):
        warn_no_text(np.setdiff1d(np.arange(len(texts)), keep) + 1, path, 'left out')
    return Labelled(df.iloc[keep].reset_index(drop=True), [texts[i] for i in keep], labels, keep + 1, path)


def split_frame(labels, test_size, seed):
    """The original's stratified split (7:3 by default), fixed by the seed: (train, eval) indices."""
    idx = np.arange(len(labels))
    try:
        train_idx, eval_idx = train_test_split(idx, test_size=test_size, random_state=seed, stratify=labels)
    except ValueError as e:
        raise UserError('cannot split %d rows %g/%g by topic: %s (lower --test_size, or give --eval_path)'
                        % (len(labels), 1 - test_size, test_size, e))
    return np.sort(train_idx), np.sort(eval_idx)


def fold_indices(labels, folds, seed):
    """Stratified k folds, shuffled by the seed: [(train, eval) indices]."""
    try:
        return [(tr, ev) for tr, ev in StratifiedKFold(folds, shuffle=True, random_state=seed)
                .split(np.zeros(len(labels)), labels)]
    except ValueError as e:
        raise UserError('cannot make %d folds of %d rows: %s' % (folds, len(labels), e))


def load_data(cfg, base_mode=3):
    """(train, eval) Labelled: eval from --eval_path, else --test_size held out; None with test_size 0."""
    if not cfg.data_path:
        raise UserError('no training data: give --data_path')
    train = read_labelled(cfg.data_path, cfg, base_mode)
    if cfg.eval_path:
        return train, read_labelled(cfg.eval_path, cfg, base_mode)
    if not cfg.test_size:
        return train, None
    tr, ev = split_frame(train.labels, cfg.test_size, cfg.seed)
    return train.subset(tr), train.subset(ev)


def check_topics(train, evaluation):
    """Warn where scores would mislead: one topic only, or evaluation topics never trained on."""
    seen = set(train.labels.tolist())
    if len(seen) < 2:
        log.warning('%s has one topic only (%s): accuracy and macro-F1 mean nothing here',
                    train.source, TOPICS[train.labels[0]])
    if evaluation is not None:
        unseen = sorted(set(evaluation.labels.tolist()) - seen)
        if unseen:
            log.warning('the evaluation data has topic(s) absent from the training data: %s (the model cannot '
                        'predict them)', ', '.join(TOPICS[i] for i in unseen))
