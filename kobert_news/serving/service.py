"""A model behind the batching worker: loaded and warmed in the worker thread, on either engine of
the pipeline (an export folder on ONNX Runtime, or a weight file on MXNet), classifying articles
with the pipeline's own call (kobert_news.pipeline.Pipeline.predict_articles: main.py's texts and
numbers), explaining them as kobert-news explain does (kobert_news.api.Classifier.explain: word occlusion on
an export folder, integrated gradients on a weight file), and describing itself for /info."""
import logging
import os
import threading

from kobert_news.api import Classifier
from kobert_base.paths import sample_csv
from kobert_base.topics import untrained_note
from kobert_news.serving.request_queue import RequestQueue

log = logging.getLogger('kobert_news.serve')
STATS = ('accepted', 'answered', 'failed', 'dropped', 'rejected', 'batches', 'items', 'errors')
# What every answer says of the model (the whole description is /info's).
MODEL_KEYS = ('engine', 'weight', 'md5', 'model_file', 'mode', 'max_len', 'precision', 'untrained_topics')


class Service:
    def __init__(self, cfg, max_batch=32, max_wait_ms=5.0, max_queue=128):
        """cfg: a PredictOptions (model_dir, or weight, precision, calib_path, kobert_dir, cache_dir;
        max_len, batch_size; top_k is the default of requests that give none)."""
        self.cfg = cfg
        self.queue = RequestQueue(self._classify, max_batch, max_wait_ms / 1000.0, max_queue, load=self._load)
        self.settings = {'max_batch': max_batch, 'max_wait_ms': max_wait_ms, 'max_queue': max_queue,
                         'batch_size': cfg.batch_size, 'top_k': cfg.top_k or 1}
        self.pipeline = None
        self.classifier = None  # the pipeline's Classifier: its explainer is made on the first explanation
        self.explain_method = None  # the method /explain uses: the engine's default (kobert_news.explain)
        self.model = None  # MODEL_KEYS of the description: in every answer
        self.info = None  # the model's whole description, for /info
        self.window = None  # rows of a CSV run as one job: main.py's window
        self.ready = threading.Event()
        self.on_failure = None  # called in the worker thread when loading fails

    def start(self):
        self.queue.start()

    def close(self):
        """Answer every accepted request, then end the worker. Before the model is ready nothing can
        have been accepted: the loading is not waited for (the thread ends with the process)."""
        self.queue.close(timeout=None if self.ready.is_set() else 0)

    @property
    def error(self):
        return self.queue.error

    @property
    def stats(self):
        return {k: self.queue.stats[k] for k in STATS}

    # ------------------------------------------------------------ in the worker thread

    def _load(self):
        try:
            self._load_pipeline()
        except Exception:
            if self.on_failure:
                self.on_failure()
            raise

    def _load_pipeline(self):
        from kobert_news.explain import check_method, is_onnx
        from kobert_base.paths import resolve_weight
        from kobert_news.pipeline import WINDOW, Pipeline
        from preprocess import read_csv

        cfg = self.cfg
        calib_frame, calibration = None, None
        if not cfg.model_dir:
            cfg.gluon_weight_path = resolve_weight(cfg.gluon_weight_path)
            if cfg.precision != 'fp32':
                # No input to sample, as main.py does: the packaged sample articles, unless --calib_path.
                calibration = cfg.calib_path or sample_csv()
                if not cfg.calib_path:
                    calib_frame = read_csv(calibration)
        log.info('loading %s (%s)', cfg.model_dir or cfg.gluon_weight_path, cfg.precision)
        pipeline = Pipeline.load(cfg, calib_frame=calib_frame)
        self.pipeline, self.classifier = pipeline, Classifier(pipeline)
        self.explain_method = check_method(None, is_onnx(pipeline.engine))
        self._warm_up()
        described = pipeline.describe()
        self.model = {k: described[k] for k in MODEL_KEYS if k in described}
        # File names only: where the server's files lie is none of its clients' business.
        self.info = dict(described, requested_precision=cfg.precision, explain_method=self.explain_method,
                         calibration=calibration and os.path.basename(calibration))
        self.window = WINDOW
        self.ready.set()
        log.info('ready: %s (md5 %s) on %s, mode %d, max_len %d, %s', self.model['weight'], self.model['md5'],
                 self.model['engine'], self.model['mode'], self.model['max_len'], self.model['precision'])
        if pipeline.engine.untrained_topics:
            log.warning(untrained_note(pipeline.engine.untrained_topics))

    def _warm_up(self):
        """Run the model on the sample articles (texts of several lengths), then on a single one, so
        that the first clients do not wait for the engine to plan its graph (MXNet builds one per
        shape). Read with the csv module: a server that is only sent articles never loads pandas."""
        import csv
        path, articles = sample_csv(), []
        if path:
            with open(path, encoding='utf-8-sig', newline='') as f:
                articles = [{'title': r.get('title'), 'body': r.get('cleanBody')} for r in csv.DictReader(f)]
        pred = self.pipeline.predict_articles(articles)
        texts = [t for t in pred.texts if t] or ['손흥민 시즌 10호골']
        self.pipeline.predict_texts(texts[:1])

    def _classify(self, articles):
        """The Prediction (kobert_news.pipeline) of a batch of articles from one or several requests:
        the queue answers each request its slice."""
        return self.pipeline.predict_articles(articles)

    # ------------------------------------------------------------ what the app calls

    def submit(self, articles):
        """A Future of _classify's results for the articles (raises QueueFull or Closed)."""
        return self.queue.submit(articles)

    def submit_frame(self, frame, source, top_k=None, first_record=1):
        """A Future of (frame with main.py's output columns, Prediction): Pipeline.predict_frame, run
        alone in the worker, so its batches, and its numbers, are main.py's (frame: rows of the
        source from first_record on, a whole number of windows)."""
        from kobert_news.pipeline import Pipeline
        pipeline = Pipeline(self.pipeline.engine, self.pipeline.processor, top_k or self.cfg.top_k)
        return self.queue.call(lambda: pipeline.predict_frame(frame, source, first_record=first_record))

    def submit_explain(self, article, target, steps):
        """A Future of Classifier.explain([article], target, steps) by the engine's method, run alone in
        the worker."""
        return self.queue.call(lambda: self.classifier.explain([article], target, steps, method=self.explain_method))
