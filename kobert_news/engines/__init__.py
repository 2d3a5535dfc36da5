"""The engines a Pipeline (kobert_news.pipeline) runs over.

An engine has ``topics`` (label order), ``untrained_topics`` (topics the weight never saw in
training), ``mode``, ``max_len``, ``precision`` ('fp32', 'bf16', 'int8'), ``meta`` (the weight's
description) and ``predict_articles(texts, progress=False) -> (probabilities float32 [n, topics],
cluster ids or None)`` on articles' mode text. Two exist: kobert_gluon.predictor.Predictor (MXNet,
on a weight file) and kobert_news.engines.onnx.OnnxEngine (ONNX Runtime, on an export folder).
``describe()`` names its files, never their paths: {'engine': 'gluon' or 'onnx', 'weight': the
weight file's name, 'md5': its md5, and for an export 'model_dir', 'model_file'} (the server shows it).

What word occlusion (kobert_news.explain.occlusion) needs, both have too: ``piece_ids(texts)``
(each text's token ids alone, no [CLS]/[SEP]), ``special_ids()`` ({'cls', 'sep', 'pad', 'mask'}
-> id), ``predict_ids(ids, clusters=None)`` (probabilities of token id lists, batched by length)
and, for modes 4 and 5, ``place(texts) -> (model texts, cluster ids)``.
"""
