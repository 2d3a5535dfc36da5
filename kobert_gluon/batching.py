"""Texts to batches: token ids sorted by length, each batch padded to its longest text."""
import gluonnlp as nlp
import mxnet as mx
import numpy as np

from kobert_base.progress import Progress

# Batch lengths are rounded up to a multiple of this, so a graph with static memory (fp32, bf16)
# meets a handful of shapes instead of one per length. The int8 graph allocates per call and takes
# every length as it comes (round_to=1): headlines average 18 tokens, and rounding them up to 24
# was a third more work.
ROUND_TO = 8


class Batcher:
    def __init__(self, tokenizer, max_len, batch_size=32, ctx=mx.cpu(), round_to=ROUND_TO):
        self.tokenizer, self.max_len, self.batch_size, self.ctx = tokenizer, max_len, batch_size, ctx
        self.round_to = round_to
        self._pad = nlp.data.batchify.Pad(axis=0, pad_val=tokenizer.pad_id, ret_length=True, dtype='float32',
                                          round_to=round_to)

    def encode(self, texts):
        return [self.tokenizer.encode(t, self.max_len) for t in texts]

    def batches(self, texts, progress=False, desc='predict'):
        """(rows, tokens, valid_length) per batch; rows are the batch's positions in texts."""
        return self.id_batches(self.encode(texts), progress, desc)

    def id_batches(self, ids, progress=False, desc='predict'):
        """(rows, tokens, valid_length) per batch of token id lists ([CLS] ... [SEP]), sorted by length."""
        order = np.argsort([len(x) for x in ids], kind='stable')
        starts = range(0, len(order), self.batch_size)
        for start in Progress(starts, desc=desc, unit='batch') if progress else starts:
            rows = order[start:start + self.batch_size]
            tokens, lengths = self._pad([np.asarray(ids[i], dtype=np.int32) for i in rows])
            yield rows, tokens.as_in_context(self.ctx), lengths.astype('float32').as_in_context(self.ctx)
