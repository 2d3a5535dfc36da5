"""Classify CSV files on Apache Spark with ONNX Runtime on an export folder (kobert-news export --to onnx):
the input's rows, each with predicted and probability, in a partitioned CSV or Parquet folder.

    kobert-news spark --model_dir export/ --input news.csv --output topics/ --master 'local[2]'
    kobert-news spark --model_dir export/ --input 'archive/*.csv' --output topics/ --format parquet
    spark-submit --master spark://host:7077 kobert_news/cli/spark_predict.py --model_dir export/ --input ... \\
        --output ...

Rows are spread over --partitions tasks; the export folder travels with the job (or, with
--shared_model, every node reads it at the same path), and each executor's Python worker opens it
once. Rows without text are kept with predicted and probability empty. The output appears only
once the job is complete: run the same command again after a failure; a finished output is
replaced only with --overwrite, and kept until the new one is complete. See docs/scaling.md.
"""
import logging
import sys
from dataclasses import dataclass

from kobert_news.cli.common import commands, guard_folder, parse
from kobert_base.errors import UserError
from kobert_base.options import ColumnArgs, FormatArgs, InferenceArgs, ModelDirArgs, OverwriteArgs, ShapeArgs, flag

log = logging.getLogger('kobert_news.spark')


@dataclass
class SparkArgs(FormatArgs, OverwriteArgs):
    """Spark job"""
    FLAGS = {'format': dict(help="csv (main.py's CSV in each part file: UTF-8 with a BOM, a header) or parquet "
                                 '(default csv)',
                            choices=('csv', 'parquet'))}
    input: str = flag(help='CSV file, folder of .csv files, glob (quoted) or URL Spark reads (hdfs://, s3a://)')
    output: str = flag(help='output folder (part files, then _SUCCESS once the job is complete)')
    master: str = flag(help="Spark master: local[2], yarn, k8s://..., spark://... (default: spark-submit's, else "
                            "local[*])")
    partitions: int = flag(0, help="classify in at least this many tasks (default: Spark's parallelism)", low=0)
    batch_rows: int = flag(1024, help='rows per batch handed to a Python worker (Arrow batch size; the default '
                                      'was the fastest measured, bench/README.md)', low=1,
                           high=1000000)
    shared_model: bool = flag(False, help='the executors read --model_dir at the same path (a file system every '
                                          'node mounts); by default the folder is shipped with the job')

    def check_paths(self):
        for name in ('input', 'output'):
            if not getattr(self, name):
                raise UserError('give --%s' % name)


@dataclass
class SparkOptions(ModelDirArgs, ColumnArgs, ShapeArgs, InferenceArgs):
    """What main.py reads too: the export folder, the columns, the batches, the precision."""
    FLAGS = {'precision': dict(help="fp32 runs the export folder's model.onnx, int8 its model_int8.onnx",
                               choices=('fp32', 'int8')),
             'calib_path': dict(help="refused: an export folder's int8 model was quantized when it was exported")}

    def check_model(self):
        if not self.model_dir:
            raise UserError('give --model_dir: an export folder (kobert-news export --to onnx makes one)')
        if self.calib_path:
            raise UserError("--calib_path calibrates MXNet's int8; an export folder's int8 model was quantized "
                            'when it was exported: leave out --calib_path')


def main(argv=None):
    job, cfg = parse(__doc__, [SparkArgs, SparkOptions], argv)
    from kobert_news.spark.job import classify
    from kobert_news.spark.inputs import local_path
    folder = local_path(job.output)
    if folder:
        guard_folder(folder)
    counts = classify(cfg, job.input, job.output, job.master, job.format or 'csv', job.partitions, job.overwrite,
                      job.batch_rows, job.shared_model)
    if counts['unclassified']:
        log.warning('%d row(s) have no text: left unclassified (predicted and probability empty)',
                    counts['unclassified'])
    print('wrote %d rows to %s (%d part files)' % (counts['rows'], job.output, counts['parts']), file=sys.stderr)


cli, entry = commands(main)


if __name__ == '__main__':
    sys.exit(entry())
