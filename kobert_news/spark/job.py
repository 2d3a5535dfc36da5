"""Batch classification on Apache Spark: CSV files in, a partitioned CSV or Parquet folder out,
classified by ONNX Runtime on an export folder (kobert-news export --to onnx).

The driver checks what it can before any job (Java, the export folder's description, the local
input's encoding and columns, the output folder), sends the export folder to the executors
(kobert_news.spark.model: shipped with the job, or read from a shared path), and classifies the
rows with mapInPandas: each executor's Python worker opens one ONNX Runtime session, on its first
batch, and keeps it for every later batch and task (kobert_news.spark.worker).
Spark's output committer writes the result into a folder beside the output (.<name>.incomplete):
the part files and _SUCCESS appear there only once every task has finished, and only then does
that folder replace the output. An interrupted job leaves the output as it was (none, or the
finished one --overwrite was replacing); the same command run again completes it. CSV part files
are main.py's CSV (kobert_news.spark.worker.csv_text).
"""
import functools
import os

import pandas as pd

from kobert_base.errors import UserError
from kobert_base.modes import CLUSTER_MODES
from kobert_news.spark.worker import Job, classify_batches

CSV_SCHEMA = 'value string'  # a CSV job's rows: one text per Arrow batch, written as it is
# Rows per Arrow batch handed to a Python worker, the best of the measured sizes (bench/README.md).
BATCH_ROWS = 1024


def classify(cfg, input, output, master=None, fmt='csv', partitions=0, overwrite=False, batch_rows=BATCH_ROWS,
             shared_model=False, spark=None):
    """Classify the CSV files `input` names (a path, a folder of .csv, a glob, or a URL Spark reads)
    into the folder `output`. cfg: a kobert_base.options.PredictOptions with model_dir (the export
    folder), the columns and the precision. shared_model: the executors read cfg.model_dir at the
    same path (nothing shipped). spark: a session to use (default: one started, and stopped, here).
    Returns the counts."""
    from kobert_news.pipeline import processor_of
    from kobert_news.spark import engine, inputs, model
    engine.check_pyspark()
    own = spark is None and engine.starts_jvm()
    if own:
        engine.check_java()  # first: without Java nothing else matters
    meta = model.check(cfg)
    processor = processor_of(cfg, meta)
    files = inputs.local_files(input)
    encoding = inputs.check_files(files, processor, cfg.encoding, output) if files else (cfg.encoding or 'utf-8')
    spark = spark or engine.session(master)
    try:
        target = engine.Output(spark, output, overwrite)
        df = inputs.read(spark, files or input, encoding)
        processor.texts(pd.DataFrame(columns=df.columns), input)  # a missing column, named
        top_k = min(cfg.top_k or 1, len(meta['topics']))
        schema = output_schema(df.schema, meta['mode'], top_k)
        sc, options = spark.sparkContext, job_options(cfg)
        key = model.key(meta, options)
        folder = os.path.abspath(cfg.model_dir) if shared_model else model.ship(sc, cfg.model_dir, meta,
                                                                                'kobert-news-model-' + key)
        job = Job(folder, not shared_model, options, key, list(schema.names),
                  {name: sc.accumulator(0) for name in ('rows', 'unclassified', 'batches', 'loads')},
                  fmt == 'csv', int(sc.getConf().get('spark.task.cpus', '1')))
        spark.conf.set('spark.sql.execution.arrow.maxRecordsPerBatch', str(batch_rows))
        out = spread(spark, df, partitions).mapInPandas(functools.partial(classify_batches, job),
                                                       CSV_SCHEMA if fmt == 'csv' else schema)
        writer = out.write.mode(target.mode)
        if fmt == 'csv':  # each partition's text, already main.py's CSV
            writer.text(target.staging.toString())
        else:
            writer.parquet(target.staging.toString())
        counts = {name: c.value for name, c in job.counters.items()}
        if counts['rows'] and counts['unclassified'] == counts['rows']:
            target.discard()
            raise UserError('no row of %s has text for mode %d' % (input, processor.mode))
        target.publish('.csv' if fmt == 'csv' else None)
        counts['parts'] = len(engine.part_files(spark, output))
        return counts
    except engine.spark_errors() as e:
        raise engine.user_error(e) from None
    finally:
        if own:
            spark.stop()


def job_options(cfg):
    """What the executors need of cfg to build the same pipeline (kobert_base.options.PredictOptions's fields)."""
    return {k: getattr(cfg, k) for k in ('mode', 'title_column', 'body_column', 'max_len', 'batch_size', 'precision',
                                         'top_k')}


def output_schema(schema, mode, top_k):
    """The input's columns, then main.py's output columns (cluster for modes 4, 5; the top k)."""
    from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType
    extra = [StructField('predicted', StringType()), StructField('probability', DoubleType())]
    if mode in CLUSTER_MODES:
        extra.append(StructField('cluster', LongType()))
    for j in range(1, top_k + 1) if top_k > 1 else ():
        extra += [StructField('top%d' % j, StringType()), StructField('top%d_probability' % j, DoubleType())]
    clash = [f.name for f in extra if f.name in schema.names]
    if clash:
        raise UserError('the input already has column(s) %s, which the output adds: rename or drop them '
                        '(is it an earlier output?)' % ', '.join(clash))
    return StructType(list(schema.fields) + extra)


def spread(spark, df, partitions=0):
    """df over at least `partitions` partitions (default: Spark's parallelism): a multi-line CSV file is
    read by one task, and would otherwise be classified by one."""
    want = partitions or spark.sparkContext.defaultParallelism
    return df.repartition(want) if df.rdd.getNumPartitions() < want else df
