"""Accuracy, macro-F1 and agreement with fp32 of bf16 and INT8 on a run's held-out split.

    python bench/bench_precision_accuracy.py --run_dir runs/default
    python bench/bench_precision_accuracy.py --run_dir runs/default --fold 1

The split is the run's own (its train_config.json): its held-out rows, or with --fold k, the rows
that fold k of its cross-validation left out (weight: <run_dir>/fold-k/model.params). Each
precision is a predictor as main.py makes it (Predictor.from_weight); int8 is calibrated on a
sample of the held-out texts themselves (spread over their lengths), as main.py does with its input.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kobert_gluon  # noqa: E402,F401
from sklearn.metrics import accuracy_score, f1_score  # noqa: E402

from kobert_base.architectures import PRECISIONS  # noqa: E402
from kobert_base.options import DataOptions  # noqa: E402
from kobert_gluon.predictor import Predictor  # noqa: E402
from preprocess import fold_indices, load_data, read_labelled  # noqa: E402


def held_out(run_dir, fold):
    """(texts, labels, default weight) of the rows the run's weight (or its fold k's) did not train on."""
    with open(os.path.join(run_dir, 'train_config.json'), encoding='utf-8') as f:
        saved = json.load(f)
    cfg = DataOptions(**{k: v for k, v in saved.items() if k in DataOptions.__dataclass_fields__})
    if not fold:
        _, rows = load_data(cfg, saved.get('base_mode', 3))
        return rows.texts, rows.labels, os.path.join(run_dir, 'model.params')
    data = read_labelled(cfg.data_path, cfg, saved.get('base_mode', 3))
    _, ev = fold_indices(data.labels, saved['folds'], saved['seed'])[fold - 1]
    rows = data.subset(ev)
    return rows.texts, rows.labels, os.path.join(run_dir, 'fold-%d' % fold, 'model.params')


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--run_dir', required=True)
    p.add_argument('--weight', default=None, help="default: the run's model.params")
    p.add_argument('--fold', type=int, default=0, help='fold k of the run\'s cross-validation (1-based)')
    p.add_argument('--kobert_dir', default=None)
    p.add_argument('--cache_dir', default=None, help='for the int8 model (default: the user cache)')
    args = p.parse_args()
    kobert_gluon.rerun_with_huge_pages()  # as main.py does
    texts, eval_y, weight = held_out(args.run_dir, args.fold)
    weight = args.weight or weight
    reference = None
    print('%d held-out texts of %s, weight %s' % (len(texts), args.run_dir, weight))
    print('| precision | accuracy | macro-F1 | agreement with fp32 | prepare s |')
    print('|---|---|---|---|---|')
    for kind in PRECISIONS:
        tic = time.time()
        predictor = Predictor.from_weight(weight, args.kobert_dir, precision=kind, calib_texts=texts,
                                          cache_dir=args.cache_dir)
        prepare = time.time() - tic
        pred = predictor.predict_proba(texts).argmax(axis=1)
        reference = pred if reference is None else reference
        print('| %s | %.4f | %.4f | %.4f | %.1f |' % (predictor.precision, accuracy_score(eval_y, pred),
                                                     f1_score(eval_y, pred, average='macro'),
                                                     (pred == reference).mean(), prepare))


if __name__ == '__main__':
    main()
