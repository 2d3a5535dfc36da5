"""kobert-news: Korean news topic classification with KoBERT on MXNet GluonNLP.

    import kobert_news
    clf = kobert_news.load()                     # the default weight, or load('my.params')
    clf = kobert_news.load(model_dir='out/onnx') # an export folder: ONNX Runtime, no MXNet
    clf.classify([{'title': '손흥민 시즌 10호골', 'body': '...'}])

Importing this package does no work; MXNet (or ONNX Runtime) loads on the first load().
"""
__version__ = '0.2.0'


def load(weight_path=None, precision='fp32', **options):
    """A Classifier for a weight file (default: the shipped weight), or with model_dir=D for an export
    folder (kobert-news export --to onnx). options: any field of kobert_base.options.PredictOptions (model_dir,
    kobert_dir, max_len, batch_size, cache_dir, calib_path, ...)."""
    from kobert_news.api import Classifier
    return Classifier.load(weight_path, precision=precision, **options)
