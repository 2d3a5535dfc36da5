"""What runs in the executors' Python workers: one pipeline (one ONNX Runtime session) per worker
process, a module global, opened on its first batch and kept for every later batch and task."""
import logging
from dataclasses import dataclass, field

import pandas as pd

from kobert_news.output_csv import FLOAT_FORMAT

_PIPELINES = {}  # Job.key -> Pipeline, in each executor's Python worker


@dataclass
class Job:
    """model: the export folder (its name among the job's files when shipped, else the shared path);
    options: fields of kobert_base.options.PredictOptions; key: the folder's checksums and the
    settings; columns: the output's; counters: Spark accumulators reported to the driver; csv:
    whether batches leave as main.py's CSV text (else as typed columns, for Parquet); threads: ONNX
    Runtime's threads per worker (spark.task.cpus)."""
    model: str
    shipped: bool
    options: dict
    key: str
    columns: list
    counters: dict = field(default_factory=dict)
    csv: bool = False
    threads: int = 1


def pipeline(job):
    """This worker's pipeline for the job, opened on first use."""
    found = _PIPELINES.get(job.key)
    if found is None:
        from kobert_news.engines.onnx import OnnxEngine
        from kobert_base.options import PredictOptions
        from kobert_news.pipeline import Pipeline, processor_of
        from kobert_news.spark.model import executor_folder
        logging.getLogger('kobert_news').setLevel(logging.ERROR)  # rows without text are counted instead
        cfg = PredictOptions(**dict(job.options, model_dir=executor_folder(job.model, job.shipped)))
        engine = OnnxEngine.load(cfg.model_dir, cfg.precision, cfg.max_len, cfg.batch_size, threads=job.threads)
        found = _PIPELINES[job.key] = Pipeline(engine, processor_of(cfg, engine.meta), cfg.top_k)
        job.counters['loads'].add(1)
    return found


def csv_text(df, header):
    """df as main.py writes it (CsvWriter: UTF-8 with a BOM at the file's start, probabilities with 6
    decimals), less the last line break, which Spark's text writer adds."""
    text = df.to_csv(index=False, header=header, float_format=FLOAT_FORMAT)
    return ('\ufeff' if header else '') + text[:-1]


def classify_batches(job, frames):
    """mapInPandas, over one partition's batches: each batch of rows with the output columns added
    (the engine sorts each batch's texts by length into its forward passes). CSV: one text per
    batch, the first with the BOM and the header (one part file per partition); Parquet: typed
    columns, nulls for rows without text."""
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
            if not name.endswith('probability'):  # topics ('' without text), cluster ids (<NA>): nulls
                column = out[name].astype(object)
                out[name] = column.where(pred.has_text & (column != '').to_numpy(), None)
        yield out[job.columns]
