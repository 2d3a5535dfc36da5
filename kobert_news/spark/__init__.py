"""Batch classification on Apache Spark: CSV files in, a partitioned CSV or Parquet folder out.

The driver checks what it can before any job (Java, the weight and its vocabulary, the local
input's encoding and columns, the output folder), ships the weight (with its .json and centroids)
and KoBERT's vocabulary to the executors (SparkContext.addFile), and classifies the rows with
mapInPandas: each executor's Python worker loads the pipeline once (kobert_news.spark.worker).
Spark's output committer writes the result into a folder beside the output (.<name>.incomplete):
the part files and _SUCCESS appear there only once every task has finished, and only then does
that folder replace the output. An interrupted job leaves the output as it was (none, or the
finished one --overwrite was replacing); the same command run again completes it. CSV part files
are main.py's CSV (kobert_news.spark.worker.csv_text).
"""
import functools
import hashlib
import os

import pandas as pd

from kobert_news.config import CLUSTER_MODES, UserError
from kobert_news.spark.worker import Job, classify_batches

CALIB_ROWS = 1024  # int8/bf16 are prepared on the input's first rows, as main.py does
CSV_SCHEMA = 'value string'  # a CSV job's rows: one text per Arrow batch, written as it is


def classify(cfg, input, output, master=None, fmt='csv', partitions=0, overwrite=False, batch_rows=4096,
             spark=None):
    """Classify the CSV files `input` names (a path, a folder of .csv, a glob, or a URL Spark reads)
    into the folder `output`. cfg: a kobert_news.options.PredictConfig (weight, columns, precision).
    spark: a session to use (default: one started, and stopped, here). Returns the counts."""
    from kobert_news.pipeline import resolve_weight
    from kobert_gluon.predictor import check_vocab, text_mode
    from kobert_gluon.tokenizer import KoBERTTokenizer
    from kobert_gluon.weights import read_meta, weight_md5
    from kobert_news.spark import engine, inputs
    from preprocess import NewsProcessor
    own = spark is None and engine.starts_jvm()
    if own:
        engine.check_java()  # first: without Java nothing else matters
    weight = resolve_weight(cfg.gluon_weight_path)
    meta = read_meta(weight)
    processor = NewsProcessor.from_args(cfg, text_mode(meta, cfg.mode), meta['topics'], meta.get('base_mode', 3))
    tokenizer = KoBERTTokenizer.load(cfg.kobert_dir)
    check_vocab(meta, tokenizer, weight)
    files = inputs.local_files(input)
    encoding = inputs.check_files(files, processor, cfg.encoding, output) if files else (cfg.encoding or 'utf-8')
    spark = spark or engine.session(master)
    try:
        target = engine.Output(spark, output, overwrite)
        df = inputs.read(spark, files or input, encoding)
        processor.texts(pd.DataFrame(columns=df.columns), input)  # a missing column, named
        top_k = min(cfg.top_k or 1, len(meta['topics']))
        schema = output_schema(df.schema, meta['mode'], top_k)
        calib = calibration(cfg, processor, df) if cfg.precision != 'fp32' else None
        job = make_job(spark.sparkContext, cfg, [weight] + tokenizer.paths, weight_md5(weight), schema.names, calib,
                       fmt)
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


def calibration(cfg, processor, df):
    """The rows int8/bf16 are prepared on: --calib_path's (read here, on the driver), else the input's first."""
    from preprocess import read_csv
    if cfg.calib_path:
        frame = read_csv(cfg.calib_path, cfg.encoding)
        processor.texts(frame, '--calib_path %s' % cfg.calib_path)  # a file without the columns: one error line
    else:
        frame = df.limit(CALIB_ROWS).toPandas()
    return frame[processor.needed_columns()].fillna('').reset_index(drop=True)


def make_job(sc, cfg, files, md5, columns, calib, fmt='csv'):
    """Ship the weight (files[0]) with its description and centroids, and the vocabulary (the rest);
    the Job that finds them."""
    from kobert_gluon.weights import centroids_path, meta_path
    weight = files[0]
    beside = [p for p in (meta_path(weight), centroids_path(weight)) if os.path.isfile(p)]
    for path in files[:1] + beside + files[1:]:
        sc.addFile(os.path.abspath(path))
    options = {k: v for k, v in cfg.to_dict().items()  # the executors find these files themselves
               if k not in ('gluon_weight_path', 'kobert_dir', 'calib_path', 'data_path', 'save_path')}
    key = hashlib.md5(repr((md5, sorted(options.items()), None if calib is None else calib.values.tolist()))
                      .encode('utf-8')).hexdigest()
    counters = {name: sc.accumulator(0) for name in ('rows', 'unclassified', 'batches', 'loads')}
    return Job(os.path.basename(weight), options, key, list(columns), calib, counters, fmt == 'csv')


def spread(spark, df, partitions=0):
    """df over at least `partitions` partitions (default: Spark's parallelism): a multi-line CSV file is
    read by one task, and would otherwise be classified by one."""
    want = partitions or spark.sparkContext.defaultParallelism
    return df.repartition(want) if df.rdd.getNumPartitions() < want else df
