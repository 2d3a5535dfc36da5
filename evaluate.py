"""Evaluate predictions against labelled topics.

    python evaluate.py --gluon_weight_path W --data_path test.csv --output_dir eval/
    python evaluate.py --run_dir runs/default                 # its predictions.csv -> runs/default/eval/

Writes metrics.json, classification_report.csv/.md (per topic precision, recall, F1, support;
macro and weighted averages), confusion_matrix.csv/.png and misclassified.csv (with the top-k
topics and probabilities). Topics absent from the data are left out of the tables.
"""
import argparse
import json
import os
import sys

from config import Columns, UserError


def from_weight(a):
    from kobert_gluon.predictor import Predictor
    from preprocess import read_csv
    df = read_csv(a.data_path, a.encoding)
    predictor = Predictor.from_weight(a.gluon_weight_path, a.kobert_dir, a.max_len, a.batch_size)
    proc = predictor.processor(Columns(a.title_column, a.body_column, a.label_column), a.mode)
    mode = proc.mode
    labels = proc.labels(df)
    texts = proc.texts(df)
    keep = [i for i, t in enumerate(texts) if t]
    if not keep:
        raise UserError('no row of %s has text for mode %d' % (a.data_path, mode))
    if len(keep) < len(texts):
        print('warning: %d row(s) without text left out' % (len(texts) - len(keep)), file=sys.stderr)
    frame = df.iloc[keep].reset_index(drop=True)
    frame.insert(0, 'line', [i + 2 for i in keep])
    if a.precision != 'fp32':
        print('precision: %s' % predictor.set_precision(a.precision, [texts[i] for i in keep]), file=sys.stderr)
    probs, clusters = predictor.predict_articles([texts[i] for i in keep], progress=True)
    if clusters is not None:
        frame.insert(1, 'cluster', clusters)
    return frame, [predictor.topics[labels[i]] for i in keep], probs, predictor.topics


def from_run(run_dir):
    import numpy as np
    import pandas as pd
    try:
        with open(os.path.join(run_dir, 'model.json'), encoding='utf-8') as f:
            topics = json.load(f)['topics']
        pred = pd.read_csv(os.path.join(run_dir, 'predictions.csv'), encoding='utf-8-sig')
    except (OSError, ValueError, KeyError) as e:
        raise UserError('%s is not a finished run directory: %s' % (run_dir, e))
    probs = pred[['p_' + t for t in topics]].to_numpy(dtype=np.float32)
    frame = pred[[c for c in pred.columns if not c.startswith('p_') and c not in ('category', 'predicted', 'probability')]]
    return frame, list(pred['category']), probs, topics


def cli(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--run_dir', help="a train.py run directory (uses its predictions.csv)")
    p.add_argument('--gluon_weight_path', help='a weight file, with --data_path')
    p.add_argument('--data_path', help='labelled CSV (title, cleanBody, category)')
    p.add_argument('--output_dir', help='default: <run_dir>/eval; required with a weight')
    p.add_argument('--mode', type=int, choices=(1, 2, 3, 4, 5), default=None)
    p.add_argument('--max_len', type=int, default=None)
    p.add_argument('--batch_size', type=int, default=32)
    p.add_argument('--top_k', type=int, default=3)
    p.add_argument('--precision', choices=('fp32', 'bf16', 'int8'), default='fp32',
                   help='with a weight: inference precision (int8 calibrated on the data itself)')
    p.add_argument('--encoding', default=None)
    p.add_argument('--kobert_dir', default=None)
    p.add_argument('--title_column', default=Columns.title)
    p.add_argument('--body_column', default=Columns.body)
    p.add_argument('--label_column', default=Columns.label)
    a = p.parse_args(argv)
    if bool(a.run_dir) == bool(a.gluon_weight_path):
        p.error('give either --run_dir or --gluon_weight_path with --data_path')
    if a.gluon_weight_path and not (a.data_path and a.output_dir):
        p.error('--gluon_weight_path needs --data_path and --output_dir')
    output_dir = a.output_dir or os.path.join(a.run_dir, 'eval')
    try:
        frame, y_true, probs, topics = from_run(a.run_dir) if a.run_dir else from_weight(a)
        from reports.metrics import write_evaluation
        os.makedirs(output_dir, exist_ok=True)
        scores = write_evaluation(output_dir, frame, y_true, probs, topics, a.top_k)
    except UserError as e:
        print('error: %s' % e, file=sys.stderr)
        return 2
    print(json.dumps(scores))
    print('wrote the evaluation to %s' % output_dir, file=sys.stderr)
    return 0


def script():
    """The command line's entry (see kobert_gluon.run_on_huge_pages)."""
    from kobert_gluon import run_on_huge_pages
    return run_on_huge_pages(cli)


if __name__ == '__main__':
    sys.exit(script())
