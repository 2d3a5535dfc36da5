"""An inference graph of the same BERT: one QKV weight per layer, an additive attention mask, and a
last layer that computes only the position the classifier reads.

GluonNLP's self-attention rebuilds its interleaved QKV weight from three parameters on every call
and masks padding with ``softmax(use_length=True)``, a kernel outside oneDNN. At seq 128 that
softmax took a third of an int8 pass, and a weight computed per call cannot be quantized ahead
(int8 then requantizes it on every call, and tensor-wise scales do not apply at all). Fused, the
outputs are the same up to float rounding. The classifier reads the last layer at [CLS] alone, so
past its attention (which needs every position's key and value) that layer runs on one position
instead of all: 6% of the model's multiply-adds at any length. Only for inference: the fused net no
longer saves in the weight-file layout and its attention has no dropout.
"""
import mxnet as mx
from gluonnlp.model.bert import DotProductSelfAttentionCell

# Names this graph in the keys of cached int8 models.
GRAPH = 'fused-qkv-additive-mask-cls-last-2'
# Added to the scores of padding positions; exp() of it is exactly 0 in fp32 and bf16.
MASKED = -1e4


class FusedSelfAttention(DotProductSelfAttentionCell):
    """A trained DotProductSelfAttentionCell with its QKV weight interleaved once, ahead."""

    def __init__(self, cell):
        # Skip the parent's __init__ (it would create the three separate weights again); the class
        # is kept so that Gluon accepts it in the encoder cell's attention_cell slot.
        mx.gluon.HybridBlock.__init__(self, prefix=cell.prefix + 'fused_')
        self._num_heads, self.units = cell._num_heads, cell.units
        weight, bias = interleaved_qkv(cell)
        with self.name_scope():
            self.qkv_weight = self.params.get('qkv_weight', shape=weight.shape, dtype=weight.dtype)
            self.qkv_bias = self.params.get('qkv_bias', shape=bias.shape, dtype=bias.dtype)
        for param, value in ((self.qkv_weight, weight), (self.qkv_bias, bias)):
            param.initialize(ctx=value.context)
            param.set_data(value)

    def hybrid_forward(self, F, qkv, valid_len=None, qkv_weight=None, qkv_bias=None):
        heads = self._num_heads
        proj = F.FullyConnected(data=qkv, weight=qkv_weight, bias=qkv_bias, num_hidden=self.units * 3,
                                no_bias=False, flatten=False)
        score = F.contrib.interleaved_matmul_selfatt_qk(proj, heads=heads)  # (batch * heads, seq, seq)
        if valid_len is not None:
            # The encoder passes valid_len as (batch, seq), each row one length repeated.
            length = F.cast(F.slice_axis(valid_len, axis=1, begin=0, end=1), 'float32')        # (batch, 1)
            keep = F.broadcast_lesser(F.contrib.arange_like(qkv, axis=0).reshape((1, -1)), length)
            mask = ((1 - keep) * MASKED).reshape((0, 1, 1, -1))                                  # (batch, 1, 1, seq)
            score = F.broadcast_add(score.reshape((-4, -1, heads, -2)), mask).reshape((-3, -2))
        weights = F.softmax(score, axis=-1)
        context = F.contrib.interleaved_matmul_selfatt_valatt(proj, weights, heads=heads)
        return context, weights.reshape(shape=(-1, heads, 0, 0), reverse=True)


def interleaved_qkv(cell):
    """(weight, bias) laid out as interleaved_matmul_selfatt_qk expects: per head, its query,
    key and value rows, as GluonNLP's cell builds them on each call."""
    heads = cell._num_heads
    w = [getattr(cell, n + '_weight').data().reshape((heads, -1, cell.units)) for n in ('query', 'key', 'value')]
    b = [getattr(cell, n + '_bias').data().reshape((heads, -1)) for n in ('query', 'key', 'value')]
    return mx.nd.concat(*w, dim=1).reshape((-1, cell.units)), mx.nd.stack(*b, axis=1).reshape((-1,))


class FirstPositionCell(mx.gluon.HybridBlock):
    """The last encoder cell, run past its attention on position 0 ([CLS]) alone: projection,
    residual, LayerNorm and feed-forward of one row per text. Its output has length 1."""

    def __init__(self, cell):
        super().__init__(prefix=cell.prefix + 'first_')
        self.cell = cell

    def hybrid_forward(self, F, inputs, valid_len=None):
        cell = self.cell
        context, _ = cell.attention_cell(inputs, valid_len)  # (seq, batch, C)
        outputs = cell.proj(F.slice_axis(context, axis=0, begin=0, end=1))
        outputs = cell.layer_norm(outputs + F.slice_axis(inputs, axis=0, begin=0, end=1))
        return cell.ffn(outputs), []


def fuse_attention(net):
    """Swap every self-attention cell of net's BERT body for a FusedSelfAttention and its last cell
    for a FirstPositionCell, in place, and return net. Call it before hybridizing; cells already
    fused (or without biases) are left."""
    cells = net.bert.encoder.transformer_cells
    for cell in cells:
        cell = getattr(cell, 'cell', cell)
        att = cell.attention_cell
        if type(att) is DotProductSelfAttentionCell and att._use_bias:
            cell.attention_cell = FusedSelfAttention(att)
    last = cells[len(cells) - 1]
    if not isinstance(last, FirstPositionCell):
        # The encoder runs its cells in order: a new sequence of the same cells, the last wrapped.
        swapped = mx.gluon.nn.HybridSequential(prefix=cells.prefix)
        for i in range(len(cells) - 1):
            swapped.add(cells[i])
        swapped.add(FirstPositionCell(last))
        net.bert.encoder.transformer_cells = swapped
    return net
