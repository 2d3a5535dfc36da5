"""Classify Korean news articles in a CSV by topic: the topics the weight was trained on (the
default weight was never trained on entertain, and cannot predict it; a line says so).

    python main.py --data_path in.csv --save_path out.csv
    python main.py --data_path in.csv --top_k 3          # prints a line per article
    kobert-news predict --model_dir D --data_path in.csv --save_path out.csv   # ONNX Runtime, no MXNet

Writes the input columns plus predicted, probability (and cluster for modes 4 and 5, the top k
with --top_k). Without --save_path it prints one 'Predicted news topic: <topic>' line per row.
The CSV is read, classified and written --chunk_rows rows at a time, into a temporary file that
replaces --save_path at the end.
"""
import logging
import sys

from kobert_news.cli.common import commands, guard_outputs, parse
from kobert_base.errors import UserError
from kobert_base.paths import sample_csv
from kobert_base.topics import untrained_note
from kobert_base.options import PredictOptions

log = logging.getLogger('kobert_news.predict')
SNIPPET = 40  # characters of the title printed beside each prediction
CALIB_ROWS = 1024  # int8/bf16 calibrate on the input's first rows, whatever --chunk_rows is


def main(argv=None):
    cfg, = parse(__doc__, [PredictOptions], argv)
    predict_csv(cfg)


def predict_csv(cfg, out=None):
    from kobert_news.output_csv import CsvWriter
    from kobert_news.pipeline import WINDOW, Pipeline, model_files
    from kobert_base.progress import Progress
    from preprocess import read_csv

    data = cfg.data_path or sample_csv()
    if not data:
        raise UserError('give the CSV to classify with --data_path')
    guard_outputs([cfg.save_path], [data, cfg.calib_path] + model_files(cfg))
    chunks = read_csv(data, cfg.encoding, -(-cfg.chunk_rows // WINDOW) * WINDOW)
    pipeline, done, classified = None, 0, 0
    with (CsvWriter(cfg.save_path) if cfg.save_path else _Printer(out or sys.stdout, cfg)) as sink, \
            Progress(desc='classify', unit='rows') as bar:
        for chunk in chunks:
            if pipeline is None:  # int8/bf16 are prepared on the first rows (or --calib_path)
                pipeline = Pipeline.load(cfg, calib_frame=chunk.iloc[:CALIB_ROWS])
                sink.pipeline = pipeline
                if pipeline.engine.untrained_topics:
                    log.warning(untrained_note(pipeline.engine.untrained_topics))
            frame, pred = pipeline.predict_frame(chunk, data, progress=False, first_record=done + 1)
            sink.write(frame)
            done += len(chunk)
            classified += int(pred.has_text.sum())
            bar.update(len(chunk))
        if not classified:  # inside the with: the output is then not written
            raise UserError('no row of %s has text for mode %d' % (data, pipeline.processor.mode))
    if cfg.save_path:
        print('wrote %d predictions to %s' % (done, cfg.save_path), file=sys.stderr)


class _Printer:
    """Without --save_path: a line per article, with its record number and the start of its title."""

    def __init__(self, out, cfg):
        self.out, self.cfg, self.record, self.pipeline = out, cfg, 0, None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.out.flush()

    def write(self, frame):
        proc, k = self.pipeline.processor, self.pipeline.top_k
        text_col = proc.title if proc.title in frame.columns else proc.body
        for _, row in frame.iterrows():
            self.record += 1
            line = 'Predicted news topic: %s' % (row['predicted'] or '-')
            if row['predicted']:
                line += ' (%.3f)' % row['probability']
            if k > 1 and row['predicted']:
                line += ' | top %d: %s' % (k, ', '.join('%s %.3f' % (row['top%d' % j], row['top%d_probability' % j])
                                                        for j in range(1, k + 1)))
            snippet = str(row.get(text_col, ''))[:SNIPPET]
            line += ' | record %d | %s' % (self.record, snippet)
            print(line, file=self.out)


cli, entry = commands(main, huge_pages=True)


if __name__ == '__main__':
    sys.exit(entry())
