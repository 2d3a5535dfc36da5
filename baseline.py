"""TF-IDF character n-grams + linear SVM on the same data and split as train.py.

    python baseline.py --data_path news.csv --mode 2        # same 7:3 split as train.py's default

Prints accuracy and macro-F1 on the evaluation set as JSON (and writes them with --save_path).
"""
import argparse
import json
import sys

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from config import TrainConfig, UserError
from preprocess import load_data


def fit_and_score(cfg, ngram_range=(2, 4), c=1.0):
    train_df, train_y, eval_df, eval_y = load_data(cfg)
    clf = make_pipeline(TfidfVectorizer(analyzer='char', ngram_range=ngram_range, sublinear_tf=True),
                        LinearSVC(C=c, random_state=cfg.seed))
    clf.fit(train_df['text'], train_y)
    pred = clf.predict(eval_df['text'])
    return {'model': 'tfidf-char%d-%d+linearsvc' % ngram_range, 'train_rows': len(train_df),
            'eval_rows': len(eval_df), 'eval_accuracy': float(accuracy_score(eval_y, pred)),
            'eval_macro_f1': float(f1_score(eval_y, pred, average='macro'))}


def cli(argv=None):
    d = TrainConfig()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data_path', required=True)
    p.add_argument('--eval_path', default=None)
    p.add_argument('--mode', type=int, choices=(1, 2, 3), default=d.mode)
    p.add_argument('--test_size', type=float, default=d.test_size)
    p.add_argument('--seed', type=int, default=d.seed)
    p.add_argument('--encoding', default=None)
    p.add_argument('--save_path', default=None, help='also write the scores to this JSON file')
    a = p.parse_args(argv)
    cfg = TrainConfig(data_path=a.data_path, eval_path=a.eval_path, mode=a.mode, test_size=a.test_size,
                      seed=a.seed, encoding=a.encoding)
    try:
        scores = fit_and_score(cfg)
    except UserError as e:
        print('error: %s' % e, file=sys.stderr)
        return 2
    text = json.dumps(scores, indent=2)
    print(text)
    if a.save_path:
        from kobert_gluon.atomic import atomic_write_text
        atomic_write_text(a.save_path, text + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(cli())
