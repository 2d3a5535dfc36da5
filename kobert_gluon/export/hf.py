"""Gluon weights <-> Hugging Face BERT checkpoints (config.json + model.safetensors + tokenizer).

gluonnlp's BERT and transformers' BertModel are the same network: post-LayerNorm cells, exact
(erf) GELU, LayerNorm epsilon 1e-12, learned positions added before the embedding LayerNorm,
a tanh pooler over [CLS]. Only names differ; NAMES lists them, and both directions use it.
The export runs in the project's Python 3.7 environment (safetensors and tokenizers have
wheels for it); reading a pytorch_model.bin needs torch, in the second environment (.venv-hf).
"""
import json
import os
import shutil
import subprocess
import tempfile

import numpy as np

from kobert_base.atomic import atomic_dir
from kobert_gluon.hub import md5sum
from kobert_base.errors import UserError
from kobert_base.paths import CHECKOUT_DIR, default_cache_dir

# gluonnlp BERTModel parameter -> transformers BertModel parameter (per layer: {i}).
NAMES = [('word_embed.0.weight', 'embeddings.word_embeddings.weight'),
         ('token_type_embed.0.weight', 'embeddings.token_type_embeddings.weight'),
         ('encoder.position_weight', 'embeddings.position_embeddings.weight'),
         ('encoder.layer_norm.gamma', 'embeddings.LayerNorm.weight'),
         ('encoder.layer_norm.beta', 'embeddings.LayerNorm.bias'),
         ('pooler.weight', 'pooler.dense.weight'),
         ('pooler.bias', 'pooler.dense.bias')]
CELL = [('attention_cell.proj_query', 'attention.self.query'),
        ('attention_cell.proj_key', 'attention.self.key'),
        ('attention_cell.proj_value', 'attention.self.value'),
        ('proj', 'attention.output.dense'),
        ('layer_norm', 'attention.output.LayerNorm'),
        ('ffn.ffn_1', 'intermediate.dense'),
        ('ffn.ffn_2', 'output.dense'),
        ('ffn.layer_norm', 'output.LayerNorm')]
HEAD = [('classifier.1.weight', 'classifier.weight'), ('classifier.1.bias', 'classifier.bias')]
CLUSTERS_FILE = 'clusters.safetensors'  # modes 4 and 5: centroids (and mode 5's cluster_embed)
# Every file an export may write (--to hf or onnx): --overwrite replaces or removes these, nothing else.
EXPORT_FILES = ('config.json', 'model.safetensors', CLUSTERS_FILE, 'tokenizer.json', 'tokenizer_config.json',
                'special_tokens_map.json', 'model.onnx', 'model_int8.onnx')


def body_names(num_layers):
    """(gluon, hf) names of every body parameter, names relative to the BERT model."""
    names = list(NAMES)
    for i in range(num_layers):
        for gluon, hf in CELL:
            kinds = [('gamma', 'weight'), ('beta', 'bias')] if gluon.endswith('layer_norm') else \
                [('weight', 'weight'), ('bias', 'bias')]
            names += [('encoder.transformer_cells.%d.%s.%s' % (i, gluon, g), 'encoder.layer.%d.%s.%s' % (i, hf, h))
                      for g, h in kinds]
    return names


def bert_config(cfg, pad_id):
    """config.json's BertConfig keys for a project Architecture."""
    return {'model_type': 'bert', 'vocab_size': cfg.vocab_size, 'hidden_size': cfg.units,
            'num_hidden_layers': cfg.num_layers, 'num_attention_heads': cfg.num_heads,
            'intermediate_size': cfg.hidden_size, 'hidden_act': 'gelu', 'hidden_dropout_prob': cfg.dropout,
            'attention_probs_dropout_prob': cfg.dropout, 'max_position_embeddings': cfg.max_length,
            'type_vocab_size': 2, 'initializer_range': 0.02, 'layer_norm_eps': 1e-12, 'pad_token_id': pad_id,
            'position_embedding_type': 'absolute'}


# ---------------------------------------------------------------- export

def export(weight_path, output_dir, kobert_dir=None, max_len=None, overwrite=False, then=None):
    """Write a transformers BertForSequenceClassification directory for a weight file, beside
    output_dir first and renamed to it when complete. then(folder): more work on the folder
    before the rename (the ONNX export)."""
    import mxnet as mx
    from safetensors.numpy import save_file
    from kobert_gluon import model as model_lib
    from kobert_gluon.export import hf_tokenizer
    from kobert_gluon.predictor import check_vocab
    from kobert_gluon.tokenizer import KoBERTTokenizer
    from kobert_base.architectures import Architecture

    meta = model_lib.read_meta(weight_path)
    cfg = Architecture(**meta['config'])
    tokenizer = KoBERTTokenizer.load(kobert_dir)
    check_vocab(meta, tokenizer, weight_path)
    max_len = max_len or meta['max_len']
    if not 2 < max_len <= cfg.max_length:
        raise UserError('max_len must be between 3 and %d for this weight' % cfg.max_length)
    arrays = {k: v.asnumpy() for k, v in mx.nd.load(weight_path).items()}
    state = {'bert.' + hf: arrays['bert.' + gluon] for gluon, hf in body_names(cfg.num_layers)}
    state.update({hf: arrays[gluon] for gluon, hf in HEAD})
    topics = list(meta['topics'])
    config = dict(bert_config(cfg, tokenizer.pad_id), architectures=['BertForSequenceClassification'],
                  classifier_dropout=meta.get('dropout', 0.1), problem_type='single_label_classification',
                  id2label={str(i): t for i, t in enumerate(topics)}, label2id={t: i for i, t in enumerate(topics)},
                  dtype='float32', kobert_news=_project_keys(weight_path, meta, max_len))
    with atomic_dir(output_dir, overwrite, is_ours=is_export, own=EXPORT_FILES) as tmp:
        save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()},
                  os.path.join(tmp, 'model.safetensors'), metadata={'format': 'pt'})
        if meta['mode'] in (4, 5):
            save_file(_cluster_arrays(weight_path, meta, arrays), os.path.join(tmp, CLUSTERS_FILE))
        with open(os.path.join(tmp, 'config.json'), 'w', encoding='utf-8') as f:
            json.dump(config, f, ensure_ascii=False, indent=2)
        hf_tokenizer.save(hf_tokenizer.build(tokenizer.sp_path, tokenizer.vocab, max_len), tokenizer.vocab,
                          tmp, max_len)
        if then:
            then(tmp)
    return output_dir


def is_export(folder):
    """Whether a folder is one this project exported (its config.json names kobert_news)."""
    try:
        with open(os.path.join(folder, 'config.json'), encoding='utf-8') as f:
            return isinstance(json.load(f).get('kobert_news'), dict)
    except (OSError, ValueError, AttributeError, RecursionError):
        return False


def _project_keys(weight_path, meta, max_len):
    """What config.json records beyond BertConfig: how the weight reads its input."""
    keys = {'mode': meta['mode'], 'max_len': max_len, 'weight': os.path.basename(weight_path),
            'vocab': meta.get('vocab')}
    if meta['mode'] in (4, 5):
        from kobert_base.modes import CLUSTER_PREFIX
        keys.update(base_mode=meta.get('base_mode', 3), clusters=meta['clusters'], clusters_file=CLUSTERS_FILE)
        keys['cluster_input'] = ("text = '%s' + article text" % CLUSTER_PREFIX if meta['mode'] == 4 else
                                 "inputs_embeds = word_embeddings(input_ids); inputs_embeds[:, 0] += "
                                 "cluster_embed[cluster]")
    return keys


def _cluster_arrays(weight_path, meta, arrays):
    from kobert_gluon.model import load_centroids
    out = {'centroids': np.ascontiguousarray(load_centroids(weight_path, meta))}
    if meta['mode'] == 5:
        out['cluster_embed'] = np.ascontiguousarray(arrays['cluster_embed.weight'], dtype=np.float32)
    return out


# ---------------------------------------------------------------- import

def import_body(hf_dir, cfg, tokenizer, cache_dir=None):
    """Path of a Gluon params file holding the BERT body of a transformers checkpoint (config.json
    and model.safetensors or pytorch_model.bin, a BertModel or Bert*For* with a pooler), converted
    once and cached. The checkpoint must have cfg's shape and, where it names its vocabulary,
    the tokenizer's token order."""
    config = _read_config(hf_dir)
    _check_shape(hf_dir, config, cfg)
    _check_vocab(hf_dir, tokenizer)
    weights = _weights_file(hf_dir)
    digest = md5sum(weights)
    name = '%s-%s.params' % (os.path.basename(os.path.abspath(hf_dir)) or 'hf', digest[:10])
    path = os.path.join(cache_dir or default_cache_dir('hf-import'), name)
    if os.path.isfile(path):
        return path
    arrays = _state_dict(weights)
    prefix = 'bert.' if 'bert.embeddings.word_embeddings.weight' in arrays else ''
    body = {}
    for gluon, hf in body_names(cfg.num_layers):
        body[gluon] = _find(arrays, prefix + hf)
        if body[gluon] is None:
            raise UserError('%s has no %s%s: a BertModel checkpoint (with its pooler) is needed'
                            % (weights, prefix, hf))
    import mxnet as mx
    from kobert_base.atomic import atomic_path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with atomic_path(path) as tmp:
        mx.nd.save(tmp, {k: mx.nd.array(v, dtype='float32') for k, v in body.items()})
    return path


def _find(arrays, key):
    """arrays[key], or under the LayerNorm name old checkpoints use (gamma/beta); None if absent."""
    legacy = key.replace('LayerNorm.weight', 'LayerNorm.gamma').replace('LayerNorm.bias', 'LayerNorm.beta')
    return arrays.get(key, arrays.get(legacy))


def _read_config(hf_dir):
    path = os.path.join(hf_dir, 'config.json')
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except OSError:
        raise UserError('%s is not a Hugging Face checkpoint: no config.json' % hf_dir)
    except ValueError as e:
        raise UserError('%s is not valid JSON: %s' % (path, e))


def _check_shape(hf_dir, config, cfg):
    if config.get('model_type', 'bert') != 'bert':
        raise UserError('%s holds a %s model, not BERT' % (hf_dir, config.get('model_type')))
    want = bert_config(cfg, None)
    keys = ('vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size',
            'max_position_embeddings', 'type_vocab_size')
    got = {k: config.get(k) for k in keys}
    if got != {k: want[k] for k in keys}:
        raise UserError("%s holds a BERT of %s; configuration '%s' needs %s" % (
            hf_dir, _shape_text(got), cfg.name, _shape_text(want)))
    # The Gluon body computes exact GELU, LayerNorm eps 1e-12 and absolute positions; other
    # settings would load but compute another function.
    for key, value in (('hidden_act', 'gelu'), ('layer_norm_eps', 1e-12), ('position_embedding_type', 'absolute')):
        if config.get(key, value) != value:
            raise UserError('%s has %s=%r; the Gluon BERT body computes %s=%r' % (hf_dir, key, config[key], key, value))


def _shape_text(c):
    return '%s layers x %s units (%s heads, FFN %s), vocabulary %s, %s positions' % (
        c['num_hidden_layers'], c['hidden_size'], c['num_attention_heads'], c['intermediate_size'],
        c['vocab_size'], c['max_position_embeddings'])


def _check_vocab(hf_dir, tokenizer):
    """Where the checkpoint names its tokens (tokenizer.json or vocab.txt), they must be the
    tokenizer's in the same order: the embedding rows are looked up by id."""
    tokens = None
    path = os.path.join(hf_dir, 'tokenizer.json')
    if os.path.isfile(path):
        with open(path, encoding='utf-8') as f:
            vocab = json.load(f).get('model', {}).get('vocab')
        if isinstance(vocab, dict):
            tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
        elif isinstance(vocab, list):
            tokens = [entry[0] for entry in vocab]
    elif os.path.isfile(os.path.join(hf_dir, 'vocab.txt')):
        with open(os.path.join(hf_dir, 'vocab.txt'), encoding='utf-8') as f:
            tokens = f.read().splitlines()
    if tokens is None:
        return
    mine = list(tokenizer.vocab.idx_to_token)
    if tokens != mine:
        first = next((i for i, (a, b) in enumerate(zip(tokens, mine)) if a != b), min(len(tokens), len(mine)))
        raise UserError('%s has another token order than KoBERT\'s vocabulary here (%s): id %d is %r there, %r here'
                        % (hf_dir, '+'.join(tokenizer.names), first, tokens[first] if first < len(tokens) else None,
                           mine[first] if first < len(mine) else None))


def _weights_file(hf_dir):
    for name in ('model.safetensors', 'pytorch_model.bin'):
        path = os.path.join(hf_dir, name)
        if os.path.isfile(path):
            return path
    raise UserError('%s has neither model.safetensors nor pytorch_model.bin' % hf_dir)


def _state_dict(path):
    """name -> numpy array; a pytorch_model.bin is read by torch in .venv-hf."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file
    if path.endswith('.bin'):
        tmp = tempfile.mkdtemp()
        try:
            out = os.path.join(tmp, 'model.safetensors')
            run_hf('bin2safetensors', path, out)
            return load_file(out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    try:
        return load_file(path)
    except (SafetensorError, OSError) as e:
        raise UserError('%s does not read as safetensors: %s' % (path, e))


# ---------------------------------------------------------------- the second environment

def hf_python():
    """The Python of the second environment (torch, transformers, onnx, onnxruntime): .venv-hf in
    the project, or the folder $KOBERT_HF_VENV names."""
    venv = os.environ.get('KOBERT_HF_VENV') or os.path.join(CHECKOUT_DIR, '.venv-hf')
    python = os.path.join(venv, 'bin', 'python')
    if not os.path.isfile(python):
        raise UserError('this needs the Hugging Face environment %s, which is missing: run make hf-env in a '
                        'checkout, or set KOBERT_HF_VENV to a venv made from requirements-hf.txt' % venv)
    return python


def run_hf(*args, timeout=None):
    """Run kobert_gluon/export/torch_worker.py in .venv-hf; its error line becomes a UserError."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'torch_worker.py')
    done = subprocess.run([hf_python(), script] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=timeout)
    if done.returncode:
        lines = [l for l in done.stderr.strip().splitlines() if l.strip()]
        last = lines[-1] if lines else 'exit status %d' % done.returncode
        raise UserError(last[len('error: '):] if last.startswith('error: ') else 'torch_worker.py %s failed: %s'
                        % (args[0], last))
    return done.stdout
