"""The engines a Pipeline (kobert_news.pipeline) runs over.

An engine has ``topics`` (label order), ``untrained_topics`` (topics the weight never saw in
training), ``mode``, ``max_len``, ``precision`` ('fp32', 'bf16', 'int8'), ``meta`` (the weight's
description) and ``predict_articles(texts, progress=False) -> (probabilities float32 [n, topics],
cluster ids or None)`` on articles' mode text. Two exist: kobert_gluon.predictor.Predictor (MXNet,
on a weight file) and kobert_news.engines.onnx.OnnxEngine (ONNX Runtime, on an export folder).
"""
