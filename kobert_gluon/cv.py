"""k-fold cross-validation (train.py --folds k): how many epochs to train, measured on the data itself.

Each fold trains for all --epochs (no early stopping) on k-1 folds and evaluates on the one left
out. The epoch with the best mean accuracy over the folds is chosen; the folds' predictions at
that epoch give out-of-fold predictions for every row (oof_predictions.csv: an honest confusion
matrix). Then a final run trains on all rows with the same schedule and stops at that epoch.
Layout: <output_dir>/fold-1 .. fold-k, final/ (model.params), cv.json, oof_predictions.csv.
"""
import dataclasses
import logging

import numpy as np
import pandas as pd

from kobert_gluon import model as model_lib
from kobert_base.atomic import atomic_path
from kobert_gluon.predictor import Predictor
from kobert_gluon.runs import Run, prepare, read_json
from kobert_gluon.tokenizer import KoBERTTokenizer
from kobert_gluon.trainer import cluster_inputs, fit
from kobert_base.topics import TOPICS
from preprocess import fold_indices, read_labelled

log = logging.getLogger('kobert_news.cv')


def cross_validate(cfg, overwrite=False):
    data = read_labelled(cfg.data_path, cfg, cfg.base_mode)
    folds = fold_indices(data.labels, cfg.folds, cfg.seed)
    top = Run(cfg.output_dir)
    prepare(top, cfg.to_dict(), data.fingerprint(), overwrite)
    try:
        return _cross_validate(cfg, top, data, folds)
    finally:
        top.unlock()


def _cross_validate(cfg, top, data, folds):
    top.write_json('train_config.json', cfg.to_dict())
    histories = []
    for k, (tr, ev) in enumerate(folds, 1):
        log.info('fold %d of %d: %d rows to train on, %d to evaluate', k, len(folds), len(tr), len(ev))
        fold_cfg = dataclasses.replace(cfg, output_dir=top.path('fold-%d' % k), folds=0, patience=0, stop_epoch=0)
        _fit_once(fold_cfg, data.subset(tr), data.subset(ev))
        histories.append(Run(fold_cfg.output_dir).state()['history'])
    table = per_epoch(histories)
    best = max(table, key=lambda row: (row['accuracy_mean'], -row['epoch']))
    oof = out_of_fold(cfg, top, data, folds, best['epoch'])
    with atomic_path(top.path('oof_predictions.csv')) as tmp:
        oof.to_csv(tmp, index=False, encoding='utf-8-sig', float_format='%.6f')
    log.info('best mean accuracy over %d folds at epoch %d: %.4f +- %.4f; training on all %d rows',
             len(folds), best['epoch'], best['accuracy_mean'], best['accuracy_std'], len(data))
    final_cfg = dataclasses.replace(cfg, output_dir=top.path('final'), folds=0, test_size=0.0,
                                    stop_epoch=best['epoch'])
    final = _fit_once(final_cfg, data, None)
    summary = {'folds': len(folds), 'rows': len(data), 'best_epoch': best['epoch'],
               'accuracy_mean': best['accuracy_mean'], 'accuracy_std': best['accuracy_std'],
               'macro_f1_mean': best['macro_f1_mean'], 'macro_f1_std': best['macro_f1_std'],
               'per_epoch': table, 'model': final_cfg.output_dir + '/model.params', 'final': final}
    top.write_json('cv.json', summary)
    return {k: v for k, v in summary.items() if k not in ('per_epoch', 'final')}


def _fit_once(cfg, train, evaluation):
    """A fold's or the final run, resumed if it was cut short, left as it is if it finished."""
    run = Run(cfg.output_dir)
    state, best = run.state(), read_json(run.path('best.json'))
    if state and state.get('finished') and best:
        return best
    return fit(cfg, train, evaluation)


def per_epoch(histories):
    """Mean and std over the folds of each epoch's evaluation accuracy and macro-F1."""
    rows = []
    for e in range(min(len(h) for h in histories)):
        acc = [h[e]['eval_accuracy'] for h in histories]
        f1 = [h[e]['eval_macro_f1'] for h in histories]
        rows.append({'epoch': e + 1, 'accuracy_mean': float(np.mean(acc)), 'accuracy_std': float(np.std(acc)),
                     'macro_f1_mean': float(np.mean(f1)), 'macro_f1_std': float(np.std(f1))})
    return rows


def out_of_fold(cfg, top, data, folds, epoch):
    """Every row predicted by the fold model that did not train on it, at the chosen epoch."""
    frames, tokenizer = [], KoBERTTokenizer.load(cfg.kobert_dir)
    for k, (tr, ev) in enumerate(folds, 1):
        net, meta = model_lib.load(Run(top.path('fold-%d' % k)).checkpoint(epoch))
        net.hybridize(static_alloc=True)
        _, texts, _, ids, _, _ = cluster_inputs(cfg, data.subset(tr), data.subset(ev))
        predictor = Predictor(net, tokenizer, meta['topics'], cfg.max_len, cfg.batch_size)
        probs = predictor.predict_proba(texts, clusters=ids if cfg.mode == 5 else None)
        frames.append(pd.DataFrame({'record': data.records[ev], 'fold': k, 'text': texts,
                                    'category': [TOPICS[i] for i in data.labels[ev]],
                                    'predicted': [TOPICS[i] for i in probs.argmax(axis=1)],
                                    'probability': probs.max(axis=1)}))
    return pd.concat(frames).sort_values('record').reset_index(drop=True)
