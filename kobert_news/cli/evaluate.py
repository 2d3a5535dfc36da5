"""Evaluate predictions against labelled topics.

    kobert-news evaluate --gluon_weight_path W --data_path test.csv --output_dir eval/
    kobert-news evaluate --run_dir runs/default                 # its predictions.csv -> runs/default/eval/

Writes metrics.json, classification_report.csv/.md (per topic precision, recall, F1, support;
macro and weighted averages), confusion_matrix.csv/.png and misclassified.csv (with the top-k
topics and probabilities). Topics absent from the data are left out of the tables.
"""
import json
import logging
import os
import sys
from dataclasses import dataclass

from kobert_news.cli.common import commands, guard_outputs, output_folder, parse
from kobert_base.errors import UserError
from kobert_base.options import (FilesArgs, InferenceArgs, InputArgs, Options, OutputDirArgs, ShapeArgs, WeightArgs,
                                 flag)

log = logging.getLogger('kobert_news.evaluate')
REPORT_FILES = ('metrics.json', 'classification_report.csv', 'classification_report.md', 'confusion_matrix.csv',
                'misclassified.csv', 'confusion_matrix.png')


@dataclass
class EvalArgs(Options):
    """Evaluation"""
    run_dir: str = flag(help='a train.py run directory: score its predictions.csv (no model is run)')


@dataclass
class EvalOptions(EvalArgs, OutputDirArgs, WeightArgs, InputArgs, ShapeArgs, FilesArgs, InferenceArgs):
    """An evaluation job."""

    def check_source(self):
        if bool(self.run_dir) == bool(self.gluon_weight_path):
            raise UserError('give either --run_dir, or --gluon_weight_path with --data_path and --output_dir')
        if self.gluon_weight_path and not (self.data_path and self.output_dir):
            raise UserError('--gluon_weight_path needs --data_path (labelled CSV) and --output_dir')


def from_weight(cfg):
    """(frame of the rows with text, true topics, probabilities, topics) by running the weight."""
    import numpy as np
    from kobert_news.pipeline import Pipeline
    from kobert_news.reports.metrics import free_name
    from preprocess import Labelled, read_csv
    df = read_csv(cfg.data_path, cfg.encoding)
    pipeline = Pipeline.load(cfg, calib_frame=df)
    texts = pipeline.processor.texts(df, cfg.data_path)
    rows = np.flatnonzero([bool(t) for t in texts])
    if not len(rows):
        raise UserError('no row of %s has text for mode %d' % (cfg.data_path, pipeline.processor.mode))
    labels = pipeline.processor.labels(df, cfg.data_path, rows)  # before the model runs; rows with text only
    data = Labelled(df.iloc[rows].reset_index(drop=True), [texts[i] for i in rows], labels, rows + 1, cfg.data_path)
    if data.is_described_by(pipeline.engine.meta.get('training_data')):
        log.warning('%s is the data this weight was trained on (its %d rows, as the weight\'s description '
                    'records): these scores do not measure accuracy on new articles; hold out data with train.py '
                    '--test_size or --folds (the default weight\'s cross-validated accuracy is in '
                    'weights/README.md)', cfg.data_path, len(rows))
    pred = pipeline.predict(df, cfg.data_path, progress=True)
    frame = data.frame
    frame.insert(0, free_name(frame, 'record'), rows + 1)
    if pred.clusters is not None:
        frame.insert(1, free_name(frame, 'cluster'), pred.clusters[rows])
    return frame, [pipeline.topics[i] for i in labels], pred.probs[rows], pipeline.topics


def from_run(run_dir):
    import numpy as np
    import pandas as pd
    from preprocess import topic_ids
    missing = [n for n in ('model.json', 'predictions.csv') if not os.path.isfile(os.path.join(run_dir, n))]
    if missing:
        raise UserError('%s is not a finished run directory (no %s): train one with train.py --output_dir %s, '
                        'or give --gluon_weight_path' % (run_dir, ' or '.join(missing), run_dir))
    try:
        with open(os.path.join(run_dir, 'model.json'), encoding='utf-8') as f:
            topics = json.load(f)['topics']
        pred = pd.read_csv(os.path.join(run_dir, 'predictions.csv'), encoding='utf-8-sig')
        probs = pred[['p_' + t for t in topics]].to_numpy(dtype=np.float32)
        truth = [topics[i] for i in topic_ids(list(pred['category']), topics, run_dir)]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UserError('%s is not a finished run directory: %s' % (run_dir, e))
    frame = pred[[c for c in pred.columns if not c.startswith('p_') and c not in ('category', 'predicted',
                                                                                  'probability')]]
    return frame, truth, probs, topics


def main(argv=None):
    cfg, = parse(__doc__, [EvalOptions], argv)
    output_dir = cfg.output_dir or os.path.join(cfg.run_dir, 'eval')
    inputs = [cfg.data_path, cfg.gluon_weight_path, cfg.calib_path]
    if cfg.run_dir:
        inputs += [os.path.join(cfg.run_dir, n) for n in ('predictions.csv', 'model.json')]
    with output_folder(output_dir):  # removed again if the evaluation fails
        guard_outputs([os.path.join(output_dir, n) for n in REPORT_FILES], inputs)
        frame, y_true, probs, topics = from_run(cfg.run_dir) if cfg.run_dir else from_weight(cfg)
        from kobert_news.reports.metrics import write_evaluation
        scores = write_evaluation(output_dir, frame, y_true, probs, topics, cfg.top_k or 3)
    print(json.dumps(scores))
    print('wrote the evaluation to %s' % output_dir, file=sys.stderr)


cli, entry = commands(main, huge_pages=True)


if __name__ == '__main__':
    sys.exit(entry())
