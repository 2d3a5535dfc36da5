"""BERTClassifier with the original's structure, and its weight files.

A weight file is a Gluon params file (``bert.*`` + ``classifier.1.weight/bias``, 201 keys for
bert_12_768_12 with 8 topics, exactly what the original saved). Beside it, ``<name>.json``
records the configuration, topics, mode, max_len and vocabulary, so inference never guesses.
"""
import json
import os
import re

import mxnet as mx
import numpy as np
from gluonnlp.model import BERTClassifier, BERTEncoder, BERTModel
from mxnet.gluon import HybridBlock, nn

from config import MODEL_CONFIGS, TOPICS, ModelConfig, UserError
from kobert_gluon.atomic import atomic_path, atomic_write_text

META_FORMAT = 1
# What the original's meta-less weight file was trained with (its README: MODE==2).
ORIGINAL_DEFAULTS = {'mode': 2, 'max_len': 128, 'dropout': 0.1}


def build_bert(cfg, use_decoder=False, use_classifier=False):
    """A BERT body named exactly as gluonnlp's bert_12_768_12 (and KoBERT's params file)."""
    encoder = BERTEncoder(num_layers=cfg.num_layers, units=cfg.units, hidden_size=cfg.hidden_size,
                          max_length=cfg.max_length, num_heads=cfg.num_heads, dropout=cfg.dropout)
    return BERTModel(encoder, cfg.vocab_size, token_type_vocab_size=2, units=cfg.units,
                     embed_size=cfg.units, use_pooler=True, use_decoder=use_decoder,
                     use_classifier=use_classifier)


class ClusterBERTClassifier(HybridBlock):
    """Mode 5: BERTClassifier plus a learned vector per cluster, added to the input embedding at
    the [CLS] position (word + token-type + cluster; the encoder adds positions). Its params are
    the original's (``bert.*``, ``classifier.1.*``) and ``cluster_embed.weight``."""

    def __init__(self, bert, num_classes, num_clusters, dropout=0.1, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self.bert = bert
        with self.name_scope():
            self.classifier = nn.HybridSequential()
            if dropout:
                self.classifier.add(nn.Dropout(rate=dropout))
            self.classifier.add(nn.Dense(units=num_classes))
            self.cluster_embed = nn.Embedding(num_clusters, bert._units)

    def hybrid_forward(self, F, inputs, token_types, valid_length, clusters):
        bert = self.bert
        embedding = bert.word_embed(inputs) + bert.token_type_embed(token_types)   # (batch, seq, C)
        first = (F.contrib.arange_like(inputs, axis=1) == 0).reshape((1, -1, 1))  # (1, seq, 1)
        embedding = embedding + F.broadcast_mul(first, self.cluster_embed(clusters).expand_dims(1))
        seq, _ = bert.encoder(embedding.transpose((1, 0, 2)), valid_length=valid_length)
        return self.classifier(bert._apply_pooling(seq.transpose((1, 0, 2))))


def materialize(net, ctx=mx.cpu()):
    """Run one tiny forward pass so deferred shapes are fixed (Gluon cannot save them before)."""
    ids = mx.nd.array([[2, 3]], ctx=ctx)
    extra = [mx.nd.zeros((1,), ctx=ctx)] if isinstance(net, ClusterBERTClassifier) else []
    net(ids, mx.nd.zeros_like(ids), mx.nd.array([2], ctx=ctx, dtype='float32'), *extra)


def build_classifier(cfg, num_classes, dropout=0.1, ctx=mx.cpu(), num_clusters=0):
    """Body and head both start from Normal(0.02) (LayerNorm keeps its ones/zeros); with
    num_clusters, the mode-5 model."""
    if num_clusters:
        net = ClusterBERTClassifier(build_bert(cfg), num_classes, num_clusters, dropout=dropout)
    else:
        net = BERTClassifier(build_bert(cfg), num_classes=num_classes, dropout=dropout)
    net.initialize(mx.init.Normal(0.02), ctx=ctx)
    materialize(net, ctx)
    return net


def load_pretrained_body(net, path, ctx=mx.cpu()):
    """Load KoBERT's pretrained params into the body. Every body parameter must be in the file
    (a renamed or missing one fails); the file's pretraining heads (decoder, NSP) are skipped."""
    try:
        net.bert.load_parameters(path, ctx=ctx, allow_missing=False, ignore_extra=True)
    except (AssertionError, ValueError, mx.base.MXNetError) as e:
        raise UserError('%s does not fit this BERT body: %s' % (path, _first_line(e)))


def meta_path(weight_path):
    return os.path.splitext(weight_path)[0] + '.json'


def centroids_path(weight_path):
    """Modes 4 and 5: the k-means centroids that place new articles in clusters."""
    return os.path.splitext(weight_path)[0] + '.centroids.npy'


def load_centroids(weight_path, meta):
    path = centroids_path(weight_path)
    try:
        centroids = np.load(path)
    except (OSError, ValueError):
        raise UserError('%s is a mode-%d weight; its cluster centroids %s are missing or damaged'
                        % (weight_path, meta['mode'], path))
    if centroids.shape[0] != meta['clusters']['k']:
        raise UserError('%s holds %d centroids; the weight was trained with %d clusters'
                        % (path, centroids.shape[0], meta['clusters']['k']))
    return centroids


def describe_params(path):
    """Architecture read off a params file's shapes."""
    try:
        arrays = mx.nd.load(path)
    except mx.base.MXNetError:
        raise UserError('%s is not a complete MXNet params file (truncated or another format)' % path)
    if not isinstance(arrays, dict):
        raise UserError('%s holds no named parameters' % path)
    try:
        word = arrays['bert.word_embed.0.weight'].shape
        layers = {int(m.group(1)) for k in arrays
                  for m in [re.match(r'bert\.encoder\.transformer_cells\.(\d+)\.', k)] if m}
        return {
            'num_layers': len(layers), 'units': word[1], 'vocab_size': word[0],
            'hidden_size': arrays['bert.encoder.transformer_cells.0.ffn.ffn_1.weight'].shape[0],
            'max_length': arrays['bert.encoder.position_weight'].shape[0],
            'num_classes': arrays['classifier.1.weight'].shape[0],
            'num_clusters': arrays['cluster_embed.weight'].shape[0] if 'cluster_embed.weight' in arrays else 0,
        }
    except KeyError as e:
        raise UserError('%s is not a BERTClassifier weight (no %s)' % (path, e))


def _shape(d):
    return (d['num_layers'], d['units'], d['hidden_size'], d['max_length'], d['vocab_size'])


def fitting_config(desc):
    for name, cfg in MODEL_CONFIGS.items():
        if cfg.shape() == _shape(desc):
            return name
    return None


def _describe(desc):
    fit = fitting_config(desc)
    return '%d layers x %d units, vocabulary %d, %d classes (%s)' % (
        desc['num_layers'], desc['units'], desc['vocab_size'], desc['num_classes'],
        "configuration '%s' fits" % fit if fit else 'no known configuration fits')


def read_meta(weight_path):
    """The weight's meta; for a meta-less file (the original's), what its shapes imply."""
    desc = describe_params(weight_path)
    path = meta_path(weight_path)
    if os.path.isfile(path):
        try:
            with open(path, encoding='utf-8') as f:
                meta = json.load(f)
            cfg = ModelConfig(**meta['config'])
            topics = list(meta['topics'])
        except (ValueError, KeyError, TypeError) as e:
            raise UserError('%s is not a valid weight description: %s' % (path, _first_line(e)))
        clusters = meta['clusters']['k'] if meta.get('mode') == 5 else 0
        if cfg.shape() != _shape(desc) or len(topics) != desc['num_classes'] or clusters != desc['num_clusters']:
            raise UserError("%s holds %s, but %s describes configuration '%s' with %d topics"
                            % (weight_path, _describe(desc), path, cfg.name, len(topics)))
        return meta
    name = fitting_config(desc)
    if name is None or desc['num_classes'] != len(TOPICS) or desc['num_clusters']:
        raise UserError('%s holds %s and has no %s beside it to say what it is'
                        % (weight_path, _describe(desc), os.path.basename(path)))
    return dict(ORIGINAL_DEFAULTS, format=META_FORMAT, config=MODEL_CONFIGS[name].to_dict(),
                topics=list(TOPICS), vocab=None)


def load(weight_path, ctx=mx.cpu()):
    """(net, meta) from a weight file and its meta."""
    if not os.path.isfile(weight_path):
        raise UserError('no weight file at %s' % weight_path)
    meta = read_meta(weight_path)
    net = build_classifier(ModelConfig(**meta['config']), len(meta['topics']), dropout=meta.get('dropout', 0.1),
                           ctx=ctx, num_clusters=meta['clusters']['k'] if meta.get('mode') == 5 else 0)
    try:
        net.load_parameters(weight_path, ctx=ctx, allow_missing=False, ignore_extra=False)
    except (AssertionError, ValueError, mx.base.MXNetError) as e:
        raise UserError('%s does not load: %s' % (weight_path, _first_line(e)))
    return net, meta


def save(net, weight_path, meta, centroids=None):
    """Write the centroids (modes 4, 5), the meta, then the params; each whole or not at all."""
    meta = dict(meta, format=META_FORMAT)
    os.makedirs(os.path.dirname(os.path.abspath(weight_path)), exist_ok=True)
    if centroids is not None:
        with atomic_path(centroids_path(weight_path)) as tmp:
            with open(tmp, 'wb') as f:
                np.save(f, centroids)
    atomic_write_text(meta_path(weight_path), json.dumps(meta, ensure_ascii=False, indent=2))
    with atomic_path(weight_path) as tmp:
        net.save_parameters(tmp)


def _first_line(e):
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
