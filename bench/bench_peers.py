"""The same architecture in PyTorch and ONNX Runtime, for comparison with the project's predictor.

Runs under a second Python that has torch, transformers and onnxruntime (+ onnx), not the
project's Python 3.7 environment; bench/bench_compare.py calls it. Prints one JSON line per
measurement: {"engine", "precision", "seq_len", "batch", "sentences_per_s", "peak_rss_mb"}.

    /path/to/python311 bench/bench_peers.py --seq_len 128 32 --batch_size 32
"""
import argparse
import json
import os
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(config):
    import torch
    from transformers import BertConfig, BertForSequenceClassification
    from kobert_news.config import MODEL_CONFIGS, TOPICS  # plain data: imports under any Python
    torch.manual_seed(0)
    m = MODEL_CONFIGS[config]
    cfg = BertConfig(vocab_size=m.vocab_size, hidden_size=m.units, num_hidden_layers=m.num_layers,
                     num_attention_heads=m.num_heads, intermediate_size=m.hidden_size,
                     max_position_embeddings=m.max_length, type_vocab_size=2, num_labels=len(TOPICS))
    return BertForSequenceClassification(cfg).eval()


def timed(fn, n, repeat):
    fn()
    best = float('inf')
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n / best


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--config', default='kobert')
    p.add_argument('--seq_len', type=int, nargs='+', default=[128, 32])
    p.add_argument('--batch_size', type=int, default=32)
    p.add_argument('--n', type=int, default=64, help='sentences per timed pass')
    p.add_argument('--repeat', type=int, default=2)
    p.add_argument('--engines', nargs='+', default=['torch-fp32', 'torch-int8', 'ort-fp32', 'ort-int8'])
    a = p.parse_args()
    import numpy as np
    import torch
    cores = len(os.sched_getaffinity(0))
    torch.set_num_threads(cores)
    model = build(a.config)
    tmp = tempfile.mkdtemp()
    for seq in a.seq_len:
        ids = torch.randint(5, 8002, (a.batch_size, seq))
        mask = torch.ones_like(ids)
        batches = max(1, a.n // a.batch_size)
        for engine in a.engines:
            kind, precision = engine.split('-')
            if kind == 'torch':
                net = model if precision == 'fp32' else torch.ao.quantization.quantize_dynamic(
                    model, {torch.nn.Linear}, dtype=torch.qint8)

                def run():
                    with torch.inference_mode():
                        for _ in range(batches):
                            net(input_ids=ids, attention_mask=mask)
            else:
                import onnxruntime as ort
                path = os.path.join(tmp, 'bert-%d.onnx' % seq)
                if not os.path.exists(path):
                    torch.onnx.export(model, (ids, mask), path, input_names=['input_ids', 'attention_mask'],
                                      output_names=['logits'], opset_version=17, dynamo=False,
                                      dynamic_axes={'input_ids': {0: 'b', 1: 's'}, 'attention_mask': {0: 'b', 1: 's'}})
                model_path = path
                if precision == 'int8':
                    from onnxruntime.quantization import QuantType, quantize_dynamic
                    model_path = path.replace('.onnx', '-int8.onnx')
                    if not os.path.exists(model_path):
                        quantize_dynamic(path, model_path, weight_type=QuantType.QInt8)
                opts = ort.SessionOptions()
                opts.intra_op_num_threads = cores
                sess = ort.InferenceSession(model_path, opts, providers=['CPUExecutionProvider'])
                feed = {'input_ids': ids.numpy().astype(np.int64), 'attention_mask': mask.numpy().astype(np.int64)}

                def run():
                    for _ in range(batches):
                        sess.run(None, feed)
            rate = timed(run, batches * a.batch_size, a.repeat)
            print(json.dumps({'engine': kind, 'precision': precision, 'seq_len': seq, 'batch': a.batch_size,
                              'sentences_per_s': round(rate, 2), 'peak_rss_mb': round(peak_mb())}), flush=True)


if __name__ == '__main__':
    main()
