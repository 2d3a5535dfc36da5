"""What runs in the executors' Python workers: one pipeline per worker process, loaded on its first
batch from the files shipped with the job, and kept for every later batch and task."""
import logging
from dataclasses import dataclass, field

import pandas as pd

_PIPELINES = {}  # Job.key -> Pipeline, in each executor's Python worker


@dataclass
class Job:
    """weight: the weight's file name among the shipped files (SparkFiles); options: fields of
    kobert_news.options.PredictConfig; key: the weight's md5 and the settings; columns: the output's;
    calib: rows to prepare int8/bf16 on; counters: Spark accumulators reported to the driver;
    csv: whether batches leave as main.py's CSV text (else as typed columns, for Parquet)."""
    weight: str
    options: dict
    key: str
    columns: list
    calib: pd.DataFrame = None
    counters: dict = field(default_factory=dict)
    csv: bool = False


def pipeline(job):
    """This worker's pipeline for the job, loaded on first use."""
    found = _PIPELINES.get(job.key)
    if found is None:
        from pyspark import SparkFiles
        from kobert_news.pipeline import Pipeline
        from kobert_news.options import PredictConfig
        logging.getLogger('kobert_news').setLevel(logging.ERROR)  # rows without text are counted instead
        cfg = PredictConfig(**dict(job.options, gluon_weight_path=SparkFiles.get(job.weight),
                                   kobert_dir=SparkFiles.getRootDirectory(), calib_path=None))
        found = _PIPELINES[job.key] = Pipeline.load(cfg, calib_frame=job.calib)
        job.counters['loads'].add(1)
    return found


def csv_text(df, header):
    """df as main.py writes it (CsvWriter: UTF-8 with a BOM at the file's start, probabilities with 6
    decimals), less the last line break, which Spark's text writer adds."""
    text = df.to_csv(index=False, header=header, float_format='%.6f')
    return ('\ufeff' if header else '') + text[:-1]


def classify_batches(job, frames):
    """mapInPandas, over one partition's batches: each batch of rows with the output columns added.
    CSV: one text per batch, the first with the BOM and the header (one part file per partition);
    Parquet: typed columns, nulls for rows without text."""
    classify = pipeline(job)
    header = True
    for df in frames:
        if not len(df):
            continue
        out, pred = classify.predict_frame(df, 'the input')
        job.counters['rows'].add(len(df))
        job.counters['unclassified'].add(int((~pred.has_text).sum()))
        job.counters['batches'].add(1)
        if job.csv:
            yield pd.DataFrame({'value': [csv_text(out[job.columns], header)]})
            header = False
            continue
        for name in job.columns[len(df.columns):]:
            if out[name].dtype == object or name == 'cluster':  # topics ('' without text), cluster ids
                column = out[name].astype(object)
                out[name] = column.where(pred.has_text & (column != '').to_numpy(), None)
        yield out[job.columns]
