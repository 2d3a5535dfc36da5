"""The PyTorch side of the export, run by .venv-hf's Python (torch, transformers, onnx,
onnxruntime), never imported by the project (no mxnet there, no Python 3.7 here).

    python kobert_gluon/export/torch_worker.py onnx HF_DIR OUT.onnx [--int8 OUT_INT8.onnx]
    python kobert_gluon/export/torch_worker.py bin2safetensors pytorch_model.bin model.safetensors
    python kobert_gluon/export/torch_worker.py predict DIR TEXTS.json OUT.npz [--onnx FILE]... [--clusters IDS.json]
    python kobert_gluon/export/torch_worker.py tokenize DIR TEXTS.json

An exported folder is read exactly as a user would: AutoTokenizer, AutoModelForSequenceClassification,
onnxruntime.InferenceSession. Errors: one line 'error: ...' and exit status 2.
"""
import argparse
import json
import os
import sys

ONNX_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids']


def load_model(hf_dir):
    from transformers import AutoModelForSequenceClassification
    # eager attention: the plain matmul/softmax graph, which the ONNX exporter writes as such
    return AutoModelForSequenceClassification.from_pretrained(hf_dir, attn_implementation='eager').eval()


class ClusterInput:
    """Mode 5: the cluster's vector (clusters.safetensors' cluster_embed) added to the [CLS]
    position's word embedding, as the Gluon ClusterBERTClassifier does."""

    def __init__(self, hf_dir):
        from safetensors.torch import load_file
        self.weight = load_file(os.path.join(hf_dir, 'clusters.safetensors'))['cluster_embed']

    def embeds(self, model, input_ids, clusters):
        embeds = model.bert.embeddings.word_embeddings(input_ids).clone()
        embeds[:, 0] += self.weight[clusters]
        return embeds


def mode_of(hf_dir):
    with open(os.path.join(hf_dir, 'config.json'), encoding='utf-8') as f:
        return json.load(f).get('kobert_news', {}).get('mode')


def export_onnx(hf_dir, out, int8=None):
    import torch
    model = load_model(hf_dir)
    names, dynamic = list(ONNX_INPUTS), {n: {0: 'batch', 1: 'sequence'} for n in ONNX_INPUTS}
    ids = torch.tensor([[2, 517, 54, 3], [2, 517, 3, 1]])
    args = (ids, (ids != 1).long(), torch.zeros_like(ids))
    if mode_of(hf_dir) == 5:
        clusters = ClusterInput(hf_dir)

        class WithClusters(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask, token_type_ids, cluster_ids):
                return self.model(inputs_embeds=clusters.embeds(self.model, input_ids, cluster_ids),
                                  attention_mask=attention_mask, token_type_ids=token_type_ids).logits
        net = WithClusters().eval()
        names.append('cluster_ids')
        dynamic['cluster_ids'] = {0: 'batch'}
        args = args + (torch.tensor([0, 0]),)
    else:
        class Logits(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.model(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=token_type_ids).logits
        net = Logits().eval()
    dynamic['logits'] = {0: 'batch'}
    with torch.no_grad():
        torch.onnx.export(net, args, out, input_names=names, output_names=['logits'], dynamic_axes=dynamic,
                          opset_version=17, dynamo=False)
    import onnx
    onnx.checker.check_model(out)
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic
        quantize_dynamic(out, int8, weight_type=QuantType.QInt8)


def bin_to_safetensors(src, dst):
    import torch
    from safetensors.torch import save_file
    state = torch.load(src, map_location='cpu', weights_only=True)
    # Tied or shared tensors (embeddings and decoder) cannot be saved twice by safetensors.
    save_file({k: v.detach().clone().contiguous() for k, v in state.items() if hasattr(v, 'shape')}, dst)


def batches(tokenizer, texts, size=32):
    for start in range(0, len(texts), size):
        yield start, tokenizer(texts[start:start + size], padding=True, truncation=True, return_tensors='np')


def predict(model_dir, texts, onnx_file=None, clusters=None):
    """Softmax probabilities of texts, from the folder's tokenizer and its model (torch) or an ONNX file."""
    import numpy as np
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    out = []
    if onnx_file:
        import onnxruntime as ort
        session = ort.InferenceSession(onnx_file, providers=['CPUExecutionProvider'])
        wanted = {i.name for i in session.get_inputs()}
        for start, enc in batches(tokenizer, texts):
            feed = {k: v.astype(np.int64) for k, v in enc.items() if k in wanted}
            if 'cluster_ids' in wanted:
                feed['cluster_ids'] = np.asarray(clusters[start:start + len(enc['input_ids'])], dtype=np.int64)
            out.append(session.run(['logits'], feed)[0])
    else:
        import torch
        model = load_model(model_dir)
        extra = ClusterInput(model_dir) if clusters is not None else None
        with torch.inference_mode():
            for start, enc in batches(tokenizer, texts):
                enc = {k: torch.from_numpy(v) for k, v in enc.items()}
                if extra:
                    ids = torch.tensor(clusters[start:start + len(enc['input_ids'])])
                    enc['inputs_embeds'] = extra.embeds(model, enc.pop('input_ids'), ids)
                out.append(model(**enc).logits.numpy())
    logits = np.concatenate(out).astype(np.float64)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def predict_all(model_dir, texts, onnx_files, clusters, out):
    """out.npz: 'torch' (when the folder has the transformers weights) and each ONNX file's name."""
    import numpy as np
    results = {}
    if os.path.isfile(os.path.join(model_dir, 'model.safetensors')):
        results['torch'] = predict(model_dir, texts, None, clusters)
    for path in onnx_files:
        results[os.path.basename(path)] = predict(model_dir, texts, path, clusters)
    np.savez(out, **results)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='command', required=True)
    o = sub.add_parser('onnx')
    o.add_argument('hf_dir')
    o.add_argument('out')
    o.add_argument('--int8', default=None)
    b = sub.add_parser('bin2safetensors')
    b.add_argument('src')
    b.add_argument('dst')
    r = sub.add_parser('predict')
    r.add_argument('model_dir')
    r.add_argument('texts')
    r.add_argument('out')
    r.add_argument('--onnx', action='append', default=[], help='an ONNX file to run too (repeatable)')
    r.add_argument('--clusters', default=None)
    t = sub.add_parser('tokenize')
    t.add_argument('model_dir')
    t.add_argument('texts')
    a = p.parse_args(argv)
    try:
        if a.command == 'onnx':
            export_onnx(a.hf_dir, a.out, a.int8)
        elif a.command == 'bin2safetensors':
            bin_to_safetensors(a.src, a.dst)
        elif a.command == 'predict':
            clusters = _read_json(a.clusters) if a.clusters else None
            predict_all(a.model_dir, _read_json(a.texts), a.onnx, clusters, a.out)
        else:
            from transformers import AutoTokenizer
            tokenizer = AutoTokenizer.from_pretrained(a.model_dir)
            json.dump(tokenizer(_read_json(a.texts), truncation=True)['input_ids'], sys.stdout)
    except (OSError, ValueError, RuntimeError, KeyError) as e:
        text = str(e).strip()
        print('error: %s' % (text.splitlines()[0] if text else type(e).__name__), file=sys.stderr)
        return 2
    return 0


def _read_json(path):
    with open(path, encoding='utf-8') as f:
        return json.load(f)


if __name__ == '__main__':
    sys.exit(main())
