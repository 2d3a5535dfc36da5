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
    calib: rows to prepare int8/bf16 on; counters: Spark accumulators reported to the driver."""
    weight: str
    options: dict
    key: str
    columns: list
    calib: pd.DataFrame = None
    counters: dict = field(default_factory=dict)


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


def classify_batches(job, frames):
    """mapInPandas: each batch of rows with the output columns added; rows without text get nulls."""
    classify = pipeline(job)
    for df in frames:
        out, pred = classify.predict_frame(df, 'the input')
        for name in job.columns[len(df.columns):]:
            if out[name].dtype == object or name == 'cluster':  # topics ('' without text), cluster ids
                column = out[name].astype(object)
                out[name] = column.where(pred.has_text & (column != '').to_numpy(), None)
        job.counters['rows'].add(len(df))
        job.counters['unclassified'].add(int((~pred.has_text).sum()))
        job.counters['batches'].add(1)
        yield out[job.columns]
