"""Classify CSV files on Apache Spark: the input's rows, each with predicted and probability, in a
partitioned CSV or Parquet folder written through Spark's output committer.

    python spark_predict.py --input news.csv --output topics/ --master local[2]
    python spark_predict.py --input 'archive/*.csv' --output topics/ --format parquet --precision int8
    spark-submit --master yarn ... spark_predict.py --input 'hdfs:///news/*.csv' --output hdfs:///topics

Rows are spread over --partitions tasks; each executor's Python worker loads the weight once. Rows
without text are kept with predicted and probability empty. An output folder is written when it
is new, empty or holds an interrupted job's output (run the same command again after a failure);
a finished output is replaced only with --overwrite. See the README, "Scaling out".
"""
import logging
import sys
from dataclasses import dataclass

from kobert_news.cli.common import commands, guard_folder, parse
from kobert_news.config import UserError
from kobert_news.options import (ColumnArgs, FilesArgs, FormatArgs, InferenceArgs, OverwriteArgs, ShapeArgs,
                                  WeightArgs, flag)

log = logging.getLogger('kobert_news.spark')


@dataclass
class SparkArgs(FormatArgs, OverwriteArgs):
    """Spark job"""
    FLAGS = {'format': dict(help='csv (UTF-8, a header in each part file) or parquet (default csv)',
                            choices=('csv', 'parquet'))}
    input: str = flag(help='CSV file, folder of .csv files, glob (quoted) or URL Spark reads (hdfs://, s3a://)')
    output: str = flag(help='output folder (part files, then _SUCCESS once the job is complete)')
    master: str = flag(help="Spark master: local[2], yarn, k8s://..., spark://... (default: spark-submit's, else "
                            "local[*])")
    partitions: int = flag(0, help="classify in at least this many tasks (default: Spark's parallelism)", low=0)
    batch_rows: int = flag(4096, help='rows per batch handed to a Python worker (Arrow batch size)', low=1,
                           high=1000000)

    def check_paths(self):
        for name in ('input', 'output'):
            if not getattr(self, name):
                raise UserError('give --%s' % name)


@dataclass
class SparkPredictConfig(WeightArgs, ColumnArgs, ShapeArgs, FilesArgs, InferenceArgs):
    """What main.py reads too: the weight, the columns, the batches, KoBERT's files, the precision."""


def main(argv=None):
    job, cfg = parse(__doc__, [SparkArgs, SparkPredictConfig], argv)
    from kobert_news.spark import classify
    from kobert_news.spark.inputs import local_path
    folder = local_path(job.output)
    if folder:
        guard_folder(folder)
    counts = classify(cfg, job.input, job.output, job.master, job.format or 'csv', job.partitions, job.overwrite,
                      job.batch_rows)
    if counts['unclassified']:
        log.warning('%d row(s) have no text: left unclassified (predicted and probability empty)',
                    counts['unclassified'])
    print('wrote %d rows to %s (%d part files)' % (counts['rows'], job.output, counts['parts']), file=sys.stderr)


cli, entry = commands(main)


if __name__ == '__main__':
    sys.exit(entry())
