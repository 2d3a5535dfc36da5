"""BERTClassifier with the original's structure, and its weight files.

A weight file is a Gluon params file (``bert.*`` + ``classifier.1.weight/bias``, 201 keys for
bert_12_768_12 with 8 topics, exactly what the original saved). Beside it, ``<name>.json``
describes it: configuration, topics, mode, max_len, vocabulary, the params file's size and md5,
and a checksum of the description itself, so inference never guesses and refuses a file that is
not the one described (kobert_gluon.weights checks descriptions).
"""
import mxnet as mx
from gluonnlp.model import BERTClassifier, BERTEncoder, BERTModel
from mxnet.gluon import HybridBlock, nn

from kobert_gluon.weights import (centroids_path, load_centroids, meta_path, read_meta, weight_md5,  # noqa: F401
                                  write_weight)
from kobert_base.architectures import Architecture
from kobert_base.errors import UserError


def build_bert(cfg, use_decoder=False, use_classifier=False):
    """A BERT body named exactly as gluonnlp's bert_12_768_12 (and KoBERT's params file)."""
    encoder = BERTEncoder(num_layers=cfg.num_layers, units=cfg.units, hidden_size=cfg.hidden_size,
                          max_length=cfg.max_length, num_heads=cfg.num_heads, dropout=cfg.dropout)
    return BERTModel(encoder, cfg.vocab_size, token_type_vocab_size=2, units=cfg.units,
                     embed_size=cfg.units, use_pooler=True, use_decoder=use_decoder,
                     use_classifier=use_classifier)


def _head(block, num_classes, dropout):
    """classifier = Dropout, Dense: always two layers, so the Dense is ``classifier.1`` (the original's
    keys) whatever the rate; a rate of 0 makes the Dropout an identity."""
    block.classifier = nn.HybridSequential()
    block.classifier.add(nn.Dropout(rate=dropout))
    block.classifier.add(nn.Dense(units=num_classes))


class ClusterBERTClassifier(HybridBlock):
    """Mode 5: BERTClassifier plus a learned vector per cluster, added to the input embedding at
    the [CLS] position (word + token-type + cluster; the encoder adds positions). Its params are
    the original's (``bert.*``, ``classifier.1.*``) and ``cluster_embed.weight``."""

    def __init__(self, bert, num_classes, num_clusters, dropout=0.1, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self.bert = bert
        with self.name_scope():
            _head(self, num_classes, dropout)
            self.cluster_embed = nn.Embedding(num_clusters, bert._units)

    def hybrid_forward(self, F, inputs, token_types, valid_length, clusters):
        bert = self.bert
        embedding = bert.word_embed(inputs) + bert.token_type_embed(token_types)   # (batch, seq, C)
        first = (F.contrib.arange_like(inputs, axis=1) == 0).reshape((1, -1, 1))  # (1, seq, 1)
        embedding = embedding + F.broadcast_mul(first, self.cluster_embed(clusters).expand_dims(1))
        seq, _ = bert.encoder(embedding.transpose((1, 0, 2)), valid_length=valid_length)
        return self.classifier(bert._apply_pooling(seq.transpose((1, 0, 2))))


class TopicBERT(BERTClassifier):
    """GluonNLP's BERTClassifier with the head always Dropout + Dense (see _head)."""

    def __init__(self, bert, num_classes=2, dropout=0.0, prefix=None, params=None):
        HybridBlock.__init__(self, prefix=prefix, params=params)
        self.bert = bert
        with self.name_scope():
            _head(self, num_classes, dropout)


def materialize(net, ctx=mx.cpu()):
    """Run one tiny forward pass so deferred shapes are fixed (Gluon cannot save them before)."""
    ids = mx.nd.array([[2, 3]], ctx=ctx)
    extra = [mx.nd.zeros((1,), ctx=ctx)] if isinstance(net, ClusterBERTClassifier) else []
    net(ids, mx.nd.zeros_like(ids), mx.nd.array([2], ctx=ctx, dtype='float32'), *extra)


def build_classifier(cfg, num_classes, dropout=0.1, ctx=mx.cpu(), num_clusters=0):
    """Body and head both start from Normal(0.02) (LayerNorm keeps its ones/zeros); with
    num_clusters, the mode-5 model. ctx may be a list (one copy per device)."""
    bert = build_bert(cfg)
    if num_clusters:
        net = ClusterBERTClassifier(bert, num_classes, num_clusters, dropout=dropout)
    else:
        net = TopicBERT(bert, num_classes=num_classes, dropout=dropout)
    net.initialize(mx.init.Normal(0.02), ctx=ctx)
    materialize(net, ctx[0] if isinstance(ctx, (list, tuple)) else ctx)
    return net


def load_pretrained_body(net, path, ctx=mx.cpu()):
    """Load KoBERT's pretrained params into the body. Every body parameter must be in the file
    (a renamed or missing one fails); the file's pretraining heads (decoder, NSP) are skipped."""
    try:
        net.bert.load_parameters(path, ctx=ctx, allow_missing=False, ignore_extra=True)
    except (AssertionError, ValueError, mx.base.MXNetError) as e:
        raise UserError('%s does not fit this BERT body: %s' % (path, _first_line(e)))


def load(weight_path, ctx=mx.cpu()):
    """(net, meta) from a weight file and its description: the plain training graph, fp32."""
    meta = read_meta(weight_path)
    net = build_classifier(Architecture(**meta['config']), len(meta['topics']), dropout=meta.get('dropout', 0.1),
                           ctx=ctx, num_clusters=meta['clusters']['k'] if meta['mode'] == 5 else 0)
    try:
        net.load_parameters(weight_path, ctx=ctx, allow_missing=False, ignore_extra=False)
    except (AssertionError, ValueError, mx.base.MXNetError) as e:
        raise UserError('%s does not load: %s' % (weight_path, _first_line(e)))
    return net, meta


def save(net, weight_path, meta, centroids=None):
    """The params, then the centroids (modes 4, 5) and the description that names the params'
    md5; each written whole or not at all (kobert_gluon.weights.write_weight)."""
    check_layout(net)
    write_weight(weight_path, net.save_parameters, meta, centroids)


def _saved_keys(net):
    return set(net._collect_params_with_prefix())


def check_layout(net):
    """Fail before training, not after it, if the net would not save in the original's layout."""
    keys = _saved_keys(net)
    if 'classifier.1.weight' not in keys or not all(k.startswith(('bert.', 'classifier.1.', 'cluster_embed.'))
                                                     for k in keys):
        raise UserError('this model would not save in the original layout (bert.*, classifier.1.*): %s'
                        % ', '.join(sorted(k for k in keys if not k.startswith('bert.'))))


def _first_line(e):
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
