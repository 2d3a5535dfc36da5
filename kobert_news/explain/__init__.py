"""Why this topic: each word's attribution to a topic, by one of two methods, behind one interface.

- occlusion (kobert_news.explain.occlusion): the drop in the topic's probability when the word is
  taken out. Gradient-free, so it runs on any engine: the ONNX Runtime engine of an export folder
  (the deploy path, where it is the only method) and the Gluon predictor of a weight file.
- integrated_gradients (kobert_gluon.attribution): the gradients of the weight's plain fp32 graph,
  integrated from a baseline; MXNet only, so a weight file only (its default there).

An explainer's results(texts, target=None, baseline=None, steps=..., progress=False, text_mode=None)
gives one JSON object per text, the same shape by either method: text, topic, probability, target,
probabilities, words, attributions (one per word), words_read, method, baseline; integrated
gradients add logit_change and completeness_error. kobert-news explain writes them, the server answers them
and the reports render them. Nothing here imports MXNet unless integrated gradients are asked for.
"""
from kobert_base.errors import UserError
from kobert_base.explanations import EXPLAIN_BASELINES, EXPLAIN_METHODS, EXPLAIN_STEPS, OCCLUSION_BASELINES

INTEGRATED_GRADIENTS = EXPLAIN_METHODS[1]


def is_onnx(engine):
    from kobert_news.engines.onnx import OnnxEngine
    return isinstance(engine, OnnxEngine)


def check_method(method, onnx):
    """The method to use (default: occlusion on an export folder, integrated gradients on a weight file)."""
    method = method or (EXPLAIN_METHODS[0] if onnx else INTEGRATED_GRADIENTS)
    if method not in EXPLAIN_METHODS:
        raise UserError('the explanation method must be one of %s, not %r' % (', '.join(EXPLAIN_METHODS), method))
    if onnx and method == INTEGRATED_GRADIENTS:
        raise UserError('integrated gradients need the gradients of a weight file\'s graph, which ONNX Runtime does '
                        'not give: an export folder is explained by occlusion (--method occlusion)')
    return method


def check_baseline(method, baseline):
    """The baseline to use: the method's first by default, else one of its own."""
    allowed = OCCLUSION_BASELINES if method == EXPLAIN_METHODS[0] else EXPLAIN_BASELINES
    if baseline is None:
        return allowed[0]
    if baseline not in allowed:
        raise UserError('the %s baseline must be one of %s, not %r' % (method.replace('_', ' '), ', '.join(allowed),
                                                                        baseline))
    return baseline


class Explainer:
    """One method over one model: results() as the module says."""

    def __init__(self, method, impl):
        self.method, self.impl = method, impl
        self.topics, self.mode, self.meta = list(impl.topics), impl.mode, impl.meta

    def topic_id(self, topic):
        """The target topic's id; an unknown topic is a UserError, before any work."""
        return self.impl.topic_id(topic)

    def results(self, texts, target=None, baseline=None, steps=EXPLAIN_STEPS, progress=False, text_mode=None):
        baseline = check_baseline(self.method, baseline)
        if self.method == EXPLAIN_METHODS[0]:
            return self.impl.results(texts, target, baseline, progress, text_mode)
        found = self.impl.results(texts, target, steps, baseline, progress, text_mode)
        return [dict(r, method=self.method, baseline=baseline) if r['topic'] is not None else r for r in found]


def for_engine(engine, method=None):
    """The explainer of a pipeline's engine: occlusion on it, or integrated gradients on the plain
    graph of the Gluon predictor's weight (loaded here)."""
    method = check_method(method, is_onnx(engine))
    if method == EXPLAIN_METHODS[0]:
        from kobert_news.explain.occlusion import Occlusion
        return Explainer(method, Occlusion(engine))
    from kobert_gluon.attribution import IntegratedGradients
    return Explainer(method, IntegratedGradients.from_predictor(engine))


def load(cfg):
    """The explainer of kobert-news explain's config: an export folder (--model_dir) on
    ONNX Runtime, or a weight file, explained by cfg.method. Integrated gradients on a weight file
    load its plain graph only; occlusion there runs the fp32 predictor."""
    if cfg.model_dir:
        from kobert_news.engines.onnx import OnnxEngine
        check_method(cfg.method, onnx=True)
        return for_engine(OnnxEngine.load(cfg.model_dir, 'fp32', cfg.max_len, cfg.batch_size), cfg.method)
    from kobert_base.paths import resolve_weight
    from kobert_news.pipeline import gluon
    method = check_method(cfg.method, onnx=False)
    predictor_lib, _ = gluon()
    weight = resolve_weight(cfg.gluon_weight_path)
    if method == EXPLAIN_METHODS[0]:
        engine = predictor_lib.Predictor.from_weight(weight, cfg.kobert_dir, cfg.max_len, cfg.batch_size,
                                                     cache_dir=cfg.cache_dir)
        return for_engine(engine, method)
    from kobert_gluon.attribution import IntegratedGradients
    return Explainer(method, IntegratedGradients.from_weight(weight, cfg.kobert_dir, cfg.max_len, cfg.batch_size,
                                                   cfg.cache_dir))

