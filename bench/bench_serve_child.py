"""The offline side of bench_serve.py, in a process of its own under the deploy environment's Python.

    .venv-deploy/bin/python bench/bench_serve_child.py --model_dir D --texts T.json --task offline
    .venv-deploy/bin/python bench/bench_serve_child.py --model_dir D --texts T.json --task bare_memory

--task offline: the ONNX Runtime engine (kobert_news.engines.onnx) on the texts as the server gets them
               from --clients clients that each send one: groups of --clients texts in their order;
               and on all texts sorted by length (main.py's batches), one text alone, a full batch.
               Rates are the best of --repeat passes after a warm-up; CPU time is every thread's.
--task bare_memory: the least a process needs to answer: numpy, tokenizers and one onnxruntime
               InferenceSession (ONNX Runtime's default options) load the model and run every text
               in length-sorted batches; its peak RSS is what a server's is compared with.
Prints one JSON line.
"""
import argparse
import json
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def timed(fn, repeat):
    """(best wall seconds, least CPU seconds) of fn over repeat passes."""
    best = cpu = float('inf')
    for _ in range(repeat):
        tic, cpu_tic = time.perf_counter(), time.process_time()
        fn()
        best, cpu = min(best, time.perf_counter() - tic), min(cpu, time.process_time() - cpu_tic)
    return best, cpu


def offline(a, texts):
    import numpy as np
    from kobert_news.engines.onnx import OnnxEngine
    engine = OnnxEngine.load(a.model_dir, a.precision, batch_size=a.max_batch)
    groups = [texts[i:i + a.clients] for i in range(0, len(texts), a.clients)]
    engine.predict_articles(texts)  # warm-up
    wall, cpu = timed(lambda: engine.predict_articles(texts), a.repeat)
    gwall, gcpu = timed(lambda: [engine.predict_articles(g) for g in groups], a.repeat)
    ones = []
    for t in texts[:100]:
        tic = time.perf_counter()
        engine.predict_articles([t])
        ones.append(time.perf_counter() - tic)
    rng = np.random.RandomState(1)
    fulls = []
    for _ in range(20):
        batch = [texts[i] for i in rng.choice(len(texts), a.max_batch, replace=False)]
        tic = time.perf_counter()
        engine.predict_articles(batch)
        fulls.append(time.perf_counter() - tic)
    n = len(texts)
    return {'rate': n / wall, 'cpu_ms': 1000 * cpu / n, 'grouped': n / gwall, 'grouped_cpu_ms': 1000 * gcpu / n,
            'one_ms': 1000 * float(np.median(ones)), 'full_ms': 1000 * float(np.median(fulls))}


def bare_memory(a, texts):
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer
    with open(os.path.join(a.model_dir, 'description.json'), encoding='utf-8') as f:
        desc = json.load(f)
    tokenizer = Tokenizer.from_file(os.path.join(a.model_dir, 'tokenizer.json'))
    tokenizer.enable_truncation(desc['max_len'])
    name = 'model_int8.onnx' if a.precision == 'int8' else 'model.onnx'
    session = ort.InferenceSession(os.path.join(a.model_dir, name), providers=['CPUExecutionProvider'])
    ids = sorted((e.ids for e in tokenizer.encode_batch(texts)), key=len)
    for start in range(0, len(ids), a.max_batch):
        rows = ids[start:start + a.max_batch]
        tokens = np.full((len(rows), max(map(len, rows))), desc['pad_id'], dtype=np.int64)
        mask = np.zeros_like(tokens)
        for j, r in enumerate(rows):
            tokens[j, :len(r)], mask[j, :len(r)] = r, 1
        session.run(['logits'], {'input_ids': tokens, 'attention_mask': mask, 'token_type_ids': np.zeros_like(tokens)})
    return {}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--model_dir', required=True)
    p.add_argument('--texts', required=True, help="JSON: {'texts': [...]}")
    p.add_argument('--task', default='offline', choices=('offline', 'bare_memory'))
    p.add_argument('--precision', default='int8', choices=('fp32', 'int8'))
    p.add_argument('--clients', type=int, default=16)
    p.add_argument('--max_batch', type=int, default=32)
    p.add_argument('--repeat', type=int, default=2)
    a = p.parse_args()
    with open(a.texts, encoding='utf-8') as f:
        texts = json.load(f)['texts']
    out = offline(a, texts) if a.task == 'offline' else bare_memory(a, texts)
    out['peak_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out), flush=True)


if __name__ == '__main__':
    main()
