"""Labelled data for training and evaluation: one CSV split 7:3 by topic, or two CSVs."""
import logging

import numpy as np
from sklearn.model_selection import train_test_split

from config import TOPICS, UserError
from preprocess.processor import NewsProcessor, read_csv

log = logging.getLogger('kobert_news.data')


def split_frame(df, labels, test_size, seed):
    """The original's stratified split (7:3 by default), fixed by the seed."""
    idx = np.arange(len(df))
    try:
        train_idx, eval_idx = train_test_split(idx, test_size=test_size, random_state=seed, stratify=labels)
    except ValueError as e:
        raise UserError('cannot split %d rows %g/%g by topic: %s' % (len(df), 1 - test_size, test_size, e))
    return np.sort(train_idx), np.sort(eval_idx)


def load_data(cfg):
    """(train_frame, train_labels, eval_frame, eval_labels); frames keep a `line` column (CSV line)."""
    proc = NewsProcessor(cfg.mode, cfg.columns(), TOPICS, cfg.base_mode)

    def read(path):
        df = read_csv(path, cfg.encoding)
        df.insert(0, 'line', np.arange(len(df)) + 2)
        labels = proc.labels(df)
        texts = proc.texts(df)
        keep = np.array([bool(t) for t in texts])
        if not keep.any():
            raise UserError('no row of %s has text for mode %d' % (path, cfg.mode))
        if not keep.all():
            log.warning('%s: %d row(s) without text skipped', path, int((~keep).sum()))
        df = df[keep].reset_index(drop=True).assign(text=[t for t, k in zip(texts, keep) if k])
        return df, labels[keep]

    if not cfg.data_path:
        raise UserError('no training data: give --data_path')
    train_df, train_y = read(cfg.data_path)
    if cfg.eval_path:
        eval_df, eval_y = read(cfg.eval_path)
    else:
        tr, ev = split_frame(train_df, train_y, cfg.test_size, cfg.seed)
        eval_df, eval_y = train_df.iloc[ev].reset_index(drop=True), train_y[ev]
        train_df, train_y = train_df.iloc[tr].reset_index(drop=True), train_y[tr]
    return train_df, train_y, eval_df, eval_y
