"""One measurement of the deploy path's ONNX Runtime engine, in a process of its own (bench/bench_deploy.py
runs it, under .venv-deploy's Python).

    .venv-deploy/bin/python bench/bench_deploy_child.py --model_dir D --engine onnx --texts T.json

--engine onnx: kobert_news.engines.onnx.OnnxEngine on the export folder; the timed pass takes texts
               and does everything: tokenizing, batching by length, the model, the softmax.
--engine bare: a bare onnxruntime.InferenceSession with the engine's options (its threads wait
               passively) on the same model file, fed the engine's own batches, made before timing:
               only session.run is timed.
--engine bare-default: the same with ONNX Runtime's default options (spinning threads).
Prints bench_child.py's JSON line (sentences/s, the best of --repeat passes after a warm-up; peak RSS).
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from measure import report_task  # noqa: E402


class Bare:
    """session.run over batches made beforehand: what the engine adds is all that is left out."""

    def __init__(self, model_dir, precision, texts, max_len, defaults=False):
        import onnxruntime as ort
        from kobert_base import export_folder as folder
        from kobert_news.engines.onnx import OnnxEngine, session_options
        self.feeds = [feed for _, feed in OnnxEngine.load(model_dir, precision, max_len).batches(texts)]
        self.session = ort.InferenceSession(os.path.join(model_dir, folder.MODELS[precision]),
                                            ort.SessionOptions() if defaults else session_options(ort),
                                            providers=['CPUExecutionProvider'])

    def predict_proba(self, texts):
        return [self.session.run(['logits'], feed)[0] for feed in self.feeds]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--model_dir', required=True)
    p.add_argument('--engine', default='onnx', choices=('onnx', 'bare', 'bare-default'))
    p.add_argument('--precision', default='int8', choices=('fp32', 'int8'))
    p.add_argument('--texts', required=True, help="JSON: {'max_len': N or null, 'texts': [...]}")
    p.add_argument('--repeat', type=int, default=3)
    a = p.parse_args()
    with open(a.texts, encoding='utf-8') as f:
        spec = json.load(f)
    texts = spec['texts']
    if a.engine.startswith('bare'):
        predictor = Bare(a.model_dir, a.precision, texts, spec['max_len'], a.engine == 'bare-default')
    else:
        from kobert_news.engines.onnx import OnnxEngine
        predictor = OnnxEngine.load(a.model_dir, a.precision, spec['max_len'])
    report_task(predictor, texts, 'speed', a.repeat, {'precision': a.precision})


if __name__ == '__main__':
    main()
