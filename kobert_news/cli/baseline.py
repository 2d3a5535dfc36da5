"""TF-IDF character n-grams + linear SVM on the same data and split as train.py.

    kobert-news baseline --data_path news.csv --mode 2            # same 7:3 split as train.py's default
    kobert-news baseline --data_path news.csv --mode 2 --folds 5  # the folds of train.py --folds 5

Prints accuracy and macro-F1 on the evaluation set (the mean and std over the folds) as JSON,
and writes them with --save_path.
"""
import json
import sys

import numpy as np

from kobert_news.cli.common import commands, guard_outputs, parse
from kobert_base.errors import UserError
from kobert_base.options import DataOptions, OutputArgs


def fit_and_score(train, evaluation, seed, ngram_range=(2, 4), c=1.0):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC
    clf = make_pipeline(TfidfVectorizer(analyzer='char', ngram_range=ngram_range, sublinear_tf=True),
                        LinearSVC(C=c, random_state=seed))
    clf.fit(train.texts, train.labels)
    pred = clf.predict(evaluation.texts)
    return {'model': 'tfidf-char%d-%d+linearsvc' % ngram_range, 'train_rows': len(train),
            'eval_rows': len(evaluation), 'eval_accuracy': float(accuracy_score(evaluation.labels, pred)),
            'eval_macro_f1': float(f1_score(evaluation.labels, pred, average='macro'))}


def baseline(cfg):
    from preprocess import fold_indices, load_data, read_labelled
    if cfg.mode not in (1, 2, 3):
        raise UserError('the baseline reads mode 1, 2 or 3 text, not mode %d' % cfg.mode)
    if not cfg.folds:
        train, evaluation = load_data(cfg)
        if evaluation is None:
            raise UserError('the baseline needs an evaluation set: give --eval_path, --test_size or --folds')
        return fit_and_score(train, evaluation, cfg.seed)
    data = read_labelled(cfg.data_path, cfg)
    folds = [fit_and_score(data.subset(tr), data.subset(ev), cfg.seed)
             for tr, ev in fold_indices(data.labels, cfg.folds, cfg.seed)]
    out = {'model': folds[0]['model'], 'folds': len(folds), 'rows': len(data)}
    for key in ('eval_accuracy', 'eval_macro_f1'):
        values = [f[key] for f in folds]
        out.update({key + '_mean': float(np.mean(values)), key + '_std': float(np.std(values)), key: values})
    return out


def main(argv=None):
    cfg, out = parse(__doc__, [DataOptions, OutputArgs], argv)
    if not cfg.data_path:
        raise UserError('give the labelled CSV with --data_path')
    cfg.mode = 2 if cfg.mode is None else cfg.mode
    guard_outputs([out.save_path], [cfg.data_path, cfg.eval_path])
    text = json.dumps(baseline(cfg), indent=2)
    print(text)
    if out.save_path:
        from kobert_base.atomic import atomic_write_text
        atomic_write_text(out.save_path, text + '\n')


cli, entry = commands(main)


if __name__ == '__main__':
    sys.exit(entry())
