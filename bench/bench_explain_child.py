"""Word occlusion on the deploy path's ONNX Runtime engine, timed in a process of its own
(bench/bench_explain.py runs it, under .venv-deploy's Python).

    .venv-deploy/bin/python bench/bench_explain_child.py --model_dir D --texts T.json --threads 1

For each occlusion baseline: one warm-up explanation, then each text explained alone (kobert_news.explain:
tokenizing, the batched engine call, the attributions), timed in wall and CPU seconds (every thread's).
Prints one JSON object: {baseline: {'seconds', 'cpu', 'attributions': [per text, per word]}}.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--model_dir', required=True)
    p.add_argument('--texts', required=True, help='JSON: a list of the texts to explain')
    p.add_argument('--threads', type=int, default=None, help="ONNX Runtime's intra-op threads")
    a = p.parse_args()
    from kobert_base.explanations import OCCLUSION_BASELINES
    from kobert_news.engines.onnx import OnnxEngine
    from kobert_news.explain.occlusion import Occlusion
    with open(a.texts, encoding='utf-8') as f:
        texts = json.load(f)
    occlusion = Occlusion(OnnxEngine.load(a.model_dir, threads=a.threads))
    out = {}
    for baseline in OCCLUSION_BASELINES:
        occlusion.explain(texts[:1], baseline=baseline)
        tic, cpu = time.perf_counter(), time.process_time()
        found = [occlusion.explain([t], baseline=baseline)[0] for t in texts]
        out[baseline] = {'seconds': time.perf_counter() - tic, 'cpu': time.process_time() - cpu,
                         'attributions': [e.attributions.tolist() for e in found]}
    print(json.dumps(out))


if __name__ == '__main__':
    main()
