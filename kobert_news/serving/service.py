"""A weight behind the batching worker: loaded and warmed in the worker thread, classifying
articles as main.py does (Pipeline's processor and predictor), explaining them as explain.py does
(kobert_news.api.Classifier.explain), and describing itself for /info."""
import logging
import os
import threading

import numpy as np

from kobert_news.api import Classifier
from kobert_news.config import sample_csv
from kobert_news.serving.batcher import Batcher

log = logging.getLogger('kobert_news.serve')
STATS = ('accepted', 'answered', 'rejected', 'dropped', 'batches', 'items', 'errors')


class Service:
    def __init__(self, cfg, max_batch=32, max_wait_ms=5.0, max_queue=128):
        """cfg: a PredictConfig (weight, precision, calib_path, kobert_dir, cache_dir, max_len,
        batch_size; top_k is the default of requests that give none)."""
        self.cfg = cfg
        self.batcher = Batcher(self._classify, max_batch, max_wait_ms / 1000.0, max_queue, load=self._load)
        self.settings = {'max_batch': max_batch, 'max_wait_ms': max_wait_ms, 'max_queue': max_queue,
                         'batch_size': cfg.batch_size, 'top_k': cfg.top_k or 1}
        self.pipeline = None
        self.classifier = None  # the pipeline's Classifier: its explainer loads on the first explanation
        self.model = None  # {weight, md5, mode, max_len, precision}: in every answer
        self.info = None  # the model's whole description, for /info
        self.ready = threading.Event()
        self.on_failure = None  # called in the worker thread when loading fails

    def start(self):
        self.batcher.start()

    def close(self):
        """Answer every accepted request, then end the worker. Before the model is ready nothing can
        have been accepted: the loading is not waited for (the thread ends with the process)."""
        self.batcher.close(timeout=None if self.ready.is_set() else 0)

    @property
    def error(self):
        return self.batcher.error

    @property
    def stats(self):
        return {k: self.batcher.stats[k] for k in STATS}

    # ------------------------------------------------------------ in the worker thread

    def _load(self):
        try:
            self._load_pipeline()
        except Exception:
            if self.on_failure:
                self.on_failure()
            raise

    def _load_pipeline(self):
        from kobert_news.pipeline import Pipeline, resolve_weight
        from kobert_gluon.weights import weight_md5
        from preprocess import read_csv

        cfg = self.cfg
        cfg.gluon_weight_path = resolve_weight(cfg.gluon_weight_path)
        calib_frame, calibration = None, None
        if cfg.precision != 'fp32':
            # No input to sample, as main.py does: the packaged sample articles, unless --calib_path.
            calibration = cfg.calib_path or sample_csv()
            if not cfg.calib_path:
                calib_frame = read_csv(calibration)
        log.info('loading %s (%s)', cfg.gluon_weight_path, cfg.precision)
        pipeline = Pipeline.load(cfg, calib_frame=calib_frame)
        predictor = pipeline.predictor
        self.pipeline, self.classifier = pipeline, Classifier(pipeline)
        self._warm_up()
        self.model = {'weight': os.path.basename(cfg.gluon_weight_path), 'md5': weight_md5(cfg.gluon_weight_path),
                      'mode': pipeline.processor.mode, 'max_len': predictor.max_len, 'precision': predictor.precision}
        self.info = dict(self.model, weight_path=os.path.abspath(cfg.gluon_weight_path),
                         config=predictor.meta.get('config'), topics=list(pipeline.topics),
                         requested_precision=cfg.precision, calibration=calibration,
                         columns={'title': pipeline.processor.title, 'body': pipeline.processor.body})
        self.ready.set()
        log.info('ready: %s (md5 %s), mode %d, max_len %d, %s', self.model['weight'], self.model['md5'],
                 self.model['mode'], self.model['max_len'], self.model['precision'])

    def _warm_up(self):
        """Run the graph on texts of several lengths, then on a single one, so that the first
        clients do not wait for MXNet to build and plan it."""
        from preprocess import read_csv
        path = sample_csv()
        texts = [t for t in self.pipeline.processor.texts(read_csv(path)) if t] if path else []
        texts = texts or ['손흥민 시즌 10호골']
        self.pipeline.predictor.predict_articles(texts)
        self.pipeline.predictor.predict_articles(texts[:1])

    def _classify(self, articles):
        """(text, probabilities, cluster or None) per article; no text for the mode: probabilities NaN."""
        pipeline = self.pipeline
        texts = [pipeline.processor.text(a.get('title'), a.get('body')) for a in articles]
        keep = [i for i, t in enumerate(texts) if t]
        probs = np.full((len(texts), len(pipeline.topics)), np.nan, dtype=np.float32)
        clusters = None
        if keep:
            got, placed = pipeline.predictor.predict_articles([texts[i] for i in keep])
            probs[keep] = got
            if placed is not None:
                clusters = np.full(len(texts), -1, dtype=np.int64)
                clusters[keep] = placed
        return [(texts[i], probs[i], None if clusters is None else clusters[i]) for i in range(len(texts))]

    # ------------------------------------------------------------ what the app calls

    def submit(self, articles):
        """A Future of _classify's results for the articles (raises QueueFull or Closed)."""
        return self.batcher.submit(articles)

    def submit_frame(self, frame, source, top_k=None):
        """A Future of (frame with main.py's output columns, Prediction): Pipeline.predict_frame, run
        alone in the worker, so its batches, and its numbers, are main.py's."""
        from kobert_news.pipeline import Pipeline
        pipeline = Pipeline(self.pipeline.predictor, self.pipeline.processor, top_k or self.cfg.top_k)
        return self.batcher.call(lambda: pipeline.predict_frame(frame, source))

    def submit_explain(self, article, target, steps):
        """A Future of Classifier.explain([article], target, steps), run alone in the worker."""
        return self.batcher.call(lambda: self.classifier.explain([article], target, steps))

    def prediction(self, rows):
        """The Prediction (kobert_gluon.pipeline) of some of _classify's results."""
        from kobert_news.pipeline import Prediction
        clusters = None
        if rows and rows[0][2] is not None:
            clusters = np.array([c for _, _, c in rows], dtype=np.int64)
        probs = np.stack([p for _, p, _ in rows]) if rows else np.zeros((0, len(self.pipeline.topics)), np.float32)
        return Prediction([t for t, _, _ in rows], probs, clusters)
