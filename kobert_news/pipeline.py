"""Articles in, topics out: the one prediction step behind main.py, evaluate, the server and Spark.

A Pipeline holds an engine (kobert_news.engines: the Gluon predictor on a weight file, or ONNX
Runtime on an export folder) and the processor that builds its text from CSV columns. It keeps
rows without text (unclassified, with one warning) and adds the output columns, the same over
either engine (kobert_news.output_csv writes them). No MXNet here: it is imported only for a
weight file; and pandas only for frames (a server that classifies articles never loads it: 75 MB with pyarrow).
"""
import logging
import os
from dataclasses import dataclass, field

import numpy as np

from kobert_base.errors import UserError
from kobert_base.paths import resolve_weight
from preprocess.reading import text_mode
from preprocess import NewsProcessor, read_csv
from preprocess.processor import warn_no_text

log = logging.getLogger('kobert_news.pipeline')
# Rows are batched by length within blocks of this many records, counted from the file's start,
# so a row's batch, and so its numbers to the last digit, never depend on how the input is chunked.
WINDOW = 1024


def gluon():
    """(kobert_gluon.predictor, kobert_gluon.weights): the Gluon engine; an install without MXNet
    (the deploy path) is told to use an export folder."""
    try:
        from kobert_gluon import predictor, weights
    except ImportError as e:
        raise UserError('a weight file needs MXNet, which is not installed here (%s): classify an export '
                        'folder with --model_dir (kobert-news export --to onnx makes one)' % e)
    return predictor, weights


def model_files(cfg):
    """The files cfg's model is read from, which no output may land on: the export folder's, or the
    weight file with its description and centroids (cfg.gluon_weight_path resolved here)."""
    if getattr(cfg, 'model_dir', None):
        folder = cfg.model_dir
        return [os.path.join(folder, n) for n in sorted(os.listdir(folder))] if os.path.isdir(folder) else []
    cfg.gluon_weight_path = weight = resolve_weight(cfg.gluon_weight_path)
    _, weights = gluon()
    return [weight, weights.meta_path(weight), weights.centroids_path(weight)]


def processor_of(cfg, meta):
    """The NewsProcessor that builds a weight's input text from cfg's columns (and --mode)."""
    return NewsProcessor.from_args(cfg, text_mode(meta, cfg.mode), meta['topics'], meta.get('base_mode', 3))


@dataclass
class Prediction:
    """Per input row: its model text ('' without text), probabilities (NaN rows without text) and
    cluster (modes 4, 5; -1 without text)."""
    texts: list
    probs: np.ndarray
    clusters: np.ndarray = None
    has_text: np.ndarray = field(init=False, repr=False)  # per row: whether it had text (read per column)

    def __post_init__(self):
        self.has_text = np.array([bool(t) for t in self.texts], dtype=bool)

    def __len__(self):
        return len(self.texts)

    def __getitem__(self, rows):
        """The Prediction of a slice of the rows (the server answers each request its own)."""
        return Prediction(self.texts[rows], self.probs[rows], None if self.clusters is None else self.clusters[rows])


class Pipeline:
    def __init__(self, engine, processor, top_k=1):
        self.engine, self.processor, self.top_k = engine, processor, min(top_k or 1, len(engine.topics))

    @classmethod
    def load(cls, cfg, calib_frame=None):
        """The pipeline of a PredictOptions (kobert_base.options), or of another config with its fields:
        ONNX Runtime on cfg.model_dir's export folder, else the Gluon predictor on the weight file.
        Gluon's bf16/int8 are prepared on --calib_path's texts, else on calib_frame's (a sample of
        the input)."""
        if getattr(cfg, 'model_dir', None):  # options without the flag (evaluate's) read weight files
            from kobert_news.engines.onnx import OnnxEngine
            engine = OnnxEngine.load(cfg.model_dir, cfg.precision, cfg.max_len, cfg.batch_size)
            return cls(engine, processor_of(cfg, engine.meta), cfg.top_k)
        weight = resolve_weight(cfg.gluon_weight_path)
        predictor_lib, weights = gluon()
        meta = weights.read_meta(weight)
        processor = processor_of(cfg, meta)
        if meta.get('original') and cfg.mode is None:
            log.info("the original's weight: classifying the %r column, as the original's main.py did "
                     "(--mode 2 reads titles, 3 both)", cfg.body_column)
        calib = ()
        if cfg.precision != 'fp32':
            if cfg.calib_path:
                calib = processor.texts(read_csv(cfg.calib_path, cfg.encoding), '--calib_path %s' % cfg.calib_path)
            elif calib_frame is not None:
                calib = processor.texts(calib_frame)
            calib = [t for t in calib if t]
        predictor = predictor_lib.Predictor.from_weight(weight, cfg.kobert_dir, cfg.max_len, cfg.batch_size,
                                          cache_dir=cfg.cache_dir, precision=cfg.precision, calib_texts=calib)
        if cfg.precision != 'fp32':
            log.info('precision: %s', predictor.precision)
        return cls(predictor, processor, cfg.top_k)

    @property
    def topics(self):
        return self.engine.topics

    def describe(self):
        """The model, for the server's answers and /info: the engine's files (names, never paths),
        mode, max_len, precision, topics, untrained topics, configuration and the columns read."""
        engine, proc = self.engine, self.processor
        return dict(engine.describe(), mode=proc.mode, max_len=engine.max_len, precision=engine.precision,
                    untrained_topics=list(engine.untrained_topics), topics=list(self.topics),
                    config=engine.meta.get('config'), columns={'title': proc.title, 'body': proc.body})

    def predict(self, df, source='the input', progress=False, first_record=1):
        """A Prediction for every row of df (rows without text included, unclassified, with a warning
        naming their records; df's first row is record first_record of the source)."""
        pred = self.predict_texts(self.processor.texts(df, source), progress, first_record)
        if not pred.has_text.all():
            warn_no_text(np.flatnonzero(~pred.has_text) + first_record, source, 'left unclassified')
        return pred

    def article_texts(self, articles):
        """The model text of articles ({'title': ..., 'body': ...}, missing keys empty), as for CSV rows
        with these cells ('' without text)."""
        return [self.processor.text(a.get('title'), a.get('body')) for a in articles]

    def predict_articles(self, articles):
        """A Prediction of articles (article_texts); those without text are kept, unclassified, unwarned."""
        return self.predict_texts(self.article_texts(articles))

    def predict_texts(self, texts, progress=False, first_record=1):
        """The Prediction of model texts ('': no text), in WINDOW blocks counted from first_record."""
        pred = Prediction(list(texts), np.full((len(texts), len(self.topics)), np.nan, dtype=np.float32))
        keep = np.flatnonzero(pred.has_text)
        window = (np.arange(len(texts)) + first_record - 1) // WINDOW
        for w in np.unique(window[keep]):
            rows = keep[window[keep] == w]
            probs, clusters = self.engine.predict_articles([texts[i] for i in rows], progress)
            pred.probs[rows] = probs
            if clusters is not None:
                if pred.clusters is None:
                    pred.clusters = np.full(len(texts), -1, dtype=np.int64)
                pred.clusters[rows] = clusters
        return pred

    def columns(self, pred):
        """The output columns of a Prediction: predicted, probability, cluster (modes 4, 5) and top k."""
        n, topics = len(pred.texts), np.array(self.topics + [''], dtype=object)
        ranked = np.argsort(-np.nan_to_num(pred.probs, nan=-1.0), axis=1, kind='stable')
        blank = np.where(pred.has_text[:, None], ranked, len(self.topics))
        out = {'predicted': topics[blank[:, 0]], 'probability': pred.probs[np.arange(n), ranked[:, 0]]}
        if pred.clusters is not None:
            import pandas as pd
            out['cluster'] = pd.array([int(c) if c >= 0 else None for c in pred.clusters], dtype='Int64')
        if self.top_k > 1:
            for j in range(self.top_k):
                out['top%d' % (j + 1)] = topics[blank[:, j]]
                out['top%d_probability' % (j + 1)] = pred.probs[np.arange(n), ranked[:, j]]
        return out

    def predict_frame(self, df, source='the input', progress=False, first_record=1):
        """(df with the output columns added, the Prediction); the input's own columns come first, untouched."""
        pred = self.predict(df, source, progress, first_record)
        columns = self.columns(pred)
        clash = [c for c in columns if c in df.columns]
        if clash:
            raise UserError('%s already has column(s) %s, which the output adds: rename or drop them '
                            '(is it an earlier output?)' % (source, ', '.join(clash)))
        out = df.copy()
        for name, values in columns.items():
            out[name] = values
        return out, pred

    def articles_frame(self, articles):
        """A frame of the processor's columns from [{'title': ..., 'body': ...}] (missing keys empty)."""
        return articles_frame(articles, self.processor.title, self.processor.body)

    @staticmethod
    def articles_frame_for(cfg, articles):
        return articles_frame(articles, cfg.title_column, cfg.body_column)


def articles_frame(articles, title='title', body='cleanBody'):
    import pandas as pd
    return pd.DataFrame({title: [a.get('title') or '' for a in articles],
                         body: [a.get('body') or '' for a in articles]})
