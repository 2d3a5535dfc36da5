"""Accuracy, macro-F1 and agreement with fp32 of bf16 and INT8 on a run's held-out split.

    python bench/bench_precision_accuracy.py --run_dir runs/default
    python bench/bench_precision_accuracy.py --run_dir runs/default/fold-1 --weight runs/default/fold-1/model.params

The split is the run's own (its train_config.json); int8 is calibrated on a sample of the
held-out texts themselves (spread over their lengths), as main.py does with its input.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kobert_gluon  # noqa: E402,F401
from sklearn.metrics import accuracy_score, f1_score  # noqa: E402

from kobert_news.options import DataConfig  # noqa: E402
from kobert_gluon.predictor import Predictor  # noqa: E402
from preprocess import load_data  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--run_dir', required=True)
    p.add_argument('--weight', default=None, help="default: the run's model.params")
    p.add_argument('--kobert_dir', default=None)
    args = p.parse_args()
    kobert_gluon.rerun_with_huge_pages()  # as main.py does
    with open(os.path.join(args.run_dir, 'train_config.json'), encoding='utf-8') as f:
        saved = json.load(f)
    cfg = DataConfig(**{k: v for k, v in saved.items() if k in DataConfig.__dataclass_fields__})
    _, held_out = load_data(cfg, saved.get('base_mode', 3))
    texts, eval_y = held_out.texts, held_out.labels
    weight = args.weight or os.path.join(args.run_dir, 'model.params')
    reference = None
    print('%d held-out texts of %s, weight %s' % (len(texts), cfg.data_path, weight))
    print('| precision | accuracy | macro-F1 | agreement with fp32 | prepare s |')
    print('|---|---|---|---|---|')
    for kind in ('fp32', 'bf16', 'int8'):
        predictor = Predictor.from_weight(weight, args.kobert_dir)
        tic = time.time()
        used = predictor.set_precision(kind, texts)
        prepare = time.time() - tic
        pred = predictor.predict_proba(texts).argmax(axis=1)
        reference = pred if reference is None else reference
        print('| %s | %.4f | %.4f | %.4f | %.1f |' % (used, accuracy_score(eval_y, pred),
                                                     f1_score(eval_y, pred, average='macro'),
                                                     (pred == reference).mean(), prepare))


if __name__ == '__main__':
    main()
