"""The Python interface: load a weight (or an export folder), classify articles. What a notebook or a
service calls."""
import numpy as np

from kobert_base.explanations import EXPLAIN_STEPS
from kobert_base.options import PredictOptions


class Classifier:
    """Classifies articles ({'title': ..., 'body': ...}) with one weight, as main.py does."""

    def __init__(self, pipeline):
        self.pipeline = pipeline
        self._explainers = {}  # method -> explainer

    @classmethod
    def load(cls, weight_path=None, precision='fp32', calib_articles=None, **options):
        """options: fields of kobert_base.options.PredictOptions (model_dir=D: the export folder D on
        ONNX Runtime). The Gluon engine's bf16/int8 are prepared on calib_articles (or
        options['calib_path'])."""
        from kobert_news.pipeline import Pipeline
        cfg = PredictOptions(gluon_weight_path=weight_path, precision=precision, **options)
        frame = None
        if calib_articles:
            frame = Pipeline.articles_frame_for(cfg, calib_articles)
        return cls(Pipeline.load(cfg, calib_frame=frame))

    @property
    def topics(self):
        return list(self.pipeline.topics)

    @property
    def mode(self):
        return self.pipeline.processor.mode

    def classify(self, articles, top_k=1):
        """One result per article, in order: {'topic', 'probability', 'top_k': [{'topic',
        'probability'}], 'cluster'}; an article without text for the mode gets topic None and a reason."""
        pred = self.pipeline.predict(self.pipeline.articles_frame(articles), 'the articles')
        return results(pred, self.topics, top_k, self.mode)

    def explain(self, articles, target=None, steps=EXPLAIN_STEPS, baseline=None, method=None):
        """Why each article got its topic: one JSON-ready object per article, in order, as kobert-news explain
        --format json writes them: {'text', 'topic', 'probability', 'target', 'probabilities': {topic:
        p}, 'words', 'attributions' (one per word), 'words_read', 'method', 'baseline'}, and with
        integrated gradients 'logit_change' and 'completeness_error'; an article without text gets
        topic None and a reason. target: a topic name (default: each article's predicted topic).
        method (kobert_news.explain): 'occlusion' (an export folder's default and only method: one
        batched run of the article and a copy per word) or 'integrated_gradients' (a weight file's
        default: seconds per article, steps x the model's cost, so a server should answer one such
        request at a time). UserError for a bad target, method, steps or baseline."""
        texts = self.pipeline.article_texts(articles)
        return self.explainer(method).results(texts, target, baseline, steps, text_mode=self.mode)

    def explainer(self, method=None):
        """The explainer of this model by a method (kobert_news.explain), made on first use: integrated
        gradients load the weight's plain fp32 graph."""
        from kobert_news.explain import check_method, for_engine, is_onnx
        method = check_method(method, is_onnx(self.pipeline.engine))
        if method not in self._explainers:
            self._explainers[method] = for_engine(self.pipeline.engine, method)
        return self._explainers[method]

    def classify_frame(self, df, top_k=None):
        """A DataFrame with the weight's columns in, the same with main.py's output columns added."""
        if top_k:
            self.pipeline.top_k = min(top_k, len(self.topics))
        return self.pipeline.predict_frame(df, 'the frame')[0]


def results(pred, topics, top_k, mode):
    """JSON-ready results of a Prediction (kobert_news.pipeline)."""
    out = []
    k = max(1, min(int(top_k or 1), len(topics)))
    for i, text in enumerate(pred.texts):
        cluster = None if pred.clusters is None or pred.clusters[i] < 0 else int(pred.clusters[i])
        if not text:
            out.append({'topic': None, 'probability': None, 'top_k': [], 'cluster': None,
                        'reason': 'no text for mode %d' % mode})
            continue
        order = np.argsort(-pred.probs[i], kind='stable')[:k]
        out.append({'topic': topics[order[0]], 'probability': float(pred.probs[i, order[0]]),
                    'top_k': [{'topic': topics[j], 'probability': float(pred.probs[i, j])} for j in order],
                    'cluster': cluster})
    return out
