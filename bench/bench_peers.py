"""ONNX Runtime on a model that kobert-news export saved, in a process of its own (bench/bench_compare.py runs it).

Runs under the second environment (.venv-hf: onnxruntime, tokenizers), not the project's. The
process only loads what kobert-news export wrote (model.onnx or model_int8.onnx and tokenizer.json) and
predicts: tokenizing with the exported tokenizer (the project's token ids), texts sorted by
length into batches padded to their longest text, as the project's predictor batches them.

    .venv-hf/bin/python bench/bench_peers.py --model_dir D --engine ort-int8 --texts T.json --task speed

Tasks as bench/bench_child.py's (speed, start); prints one JSON line.
"""
import argparse
import json
import os

from measure import report_task

MODELS = {'ort-fp32': 'model.onnx', 'ort-int8': 'model_int8.onnx'}


class OrtPredictor:
    def __init__(self, model_dir, engine, max_len, batch_size=32):
        import onnxruntime as ort
        from tokenizers import Tokenizer
        self.tokenizer = Tokenizer.from_file(os.path.join(model_dir, 'tokenizer.json'))
        self.tokenizer.enable_truncation(max_len)
        self.pad = self.tokenizer.token_to_id('[PAD]')
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = len(os.sched_getaffinity(0))
        self.session = ort.InferenceSession(os.path.join(model_dir, MODELS[engine]), opts,
                                            providers=['CPUExecutionProvider'])
        self.batch_size = batch_size

    def predict_proba(self, texts):
        import numpy as np
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        order = np.argsort([len(x) for x in ids], kind='stable')
        probs = None
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            width = max(len(ids[i]) for i in rows)
            batch = np.full((len(rows), width), self.pad, dtype=np.int64)
            for j, i in enumerate(rows):
                batch[j, :len(ids[i])] = ids[i]
            logits = self.session.run(['logits'], {'input_ids': batch, 'attention_mask': (batch != self.pad).astype(np.int64),
                                                   'token_type_ids': np.zeros_like(batch)})[0]
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            if probs is None:
                probs = np.zeros((len(ids), logits.shape[1]), dtype=np.float32)
            probs[rows] = e / e.sum(axis=1, keepdims=True)
        return probs


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--model_dir', required=True)
    p.add_argument('--engine', default='ort-int8', choices=sorted(MODELS))
    p.add_argument('--texts', required=True)
    p.add_argument('--task', default='speed', choices=('speed', 'start'))
    p.add_argument('--repeat', type=int, default=3)
    a = p.parse_args()
    with open(a.texts, encoding='utf-8') as f:
        spec = json.load(f)
    texts = spec['texts']
    predictor = OrtPredictor(a.model_dir, a.engine, spec['max_len'])
    report_task(predictor, texts, a.task, a.repeat, {'precision': a.engine.split('-')[1]})


if __name__ == '__main__':
    main()
