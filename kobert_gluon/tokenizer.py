"""KoBERT's vocabulary and tokenizer, built the original's way.

The original fed text through ``BERTSPTokenizer(sp_model, vocab, lower=False)`` and
``BERTSentenceTransform(max_len, pad=True, pair=False)``. BERTSPTokenizer first splits
punctuation off words, so '합니다.' becomes '합니다', '▁', '.' (plain sentencepiece gives
'합니다', '.'); a trained weight expects the ids it was trained on, so this stays as it was.
"""
import hashlib
import os

import gluonnlp as nlp
import numpy as np

from kobert_news.config import UserError
from kobert_gluon import files

# Long articles are tokenized from a prefix (a whole 100,000-character article is wasted
# work): first this many characters per token wanted, cut at a space, grown until it is enough.
CHARS_PER_TOKEN = 4

def tokens_md5(vocab):
    """Fingerprint of the id -> token mapping: equal fingerprints, interchangeable vocabularies."""
    return hashlib.md5('\n'.join(vocab.idx_to_token).encode('utf-8')).hexdigest()


def _vocab_files(kobert_dir):
    """(sp_model, vocab_json or None) from the first search dir holding either KoBERT set."""
    for d in files.search_dirs(kobert_dir):
        pair = [os.path.join(d, n) for n in (files.SP_MODEL, files.VOCAB_JSON)]
        if all(os.path.isfile(p) for p in pair):
            return files.check(pair[0]), files.check(pair[1])
        spiece = os.path.join(d, files.SPIECE)
        if os.path.isfile(spiece):
            return files.check(spiece), None
    return None


class KoBERTTokenizer:
    """Text -> (token ids, valid length) with KoBERT's vocabulary."""

    def __init__(self, sp_path, vocab, names=None):
        self.sp_path = sp_path
        self.vocab = vocab
        self.names = names or [os.path.basename(sp_path)]
        self._sp = nlp.data.BERTSPTokenizer(sp_path, vocab, lower=False)

    @classmethod
    def load(cls, kobert_dir=None, url_base=files.HUB_URL):
        """Use the v0.1 pair or the .spiece found first; download the .spiece if neither is there."""
        found = _vocab_files(kobert_dir)
        if found is None:
            try:
                found = files.fetch(files.SPIECE, kobert_dir, url_base=url_base), None
            except UserError as e:
                raise UserError('KoBERT vocabulary not found (%s + %s, or %s, in %s) and %s'
                                % (files.SP_MODEL, files.VOCAB_JSON, files.SPIECE,
                                   ' or '.join(files.search_dirs(kobert_dir)), e))
        sp_path, json_path = found
        if json_path:
            with open(json_path, encoding='utf-8') as f:
                vocab = nlp.vocab.BERTVocab.from_json(f.read())
            names = [os.path.basename(sp_path), os.path.basename(json_path)]
        else:
            vocab = nlp.vocab.BERTVocab.from_sentencepiece(sp_path, padding_token='[PAD]')
            names = [os.path.basename(sp_path)]
        return cls(sp_path, vocab, names)

    @property
    def pad_id(self):
        return self.vocab[self.vocab.padding_token]

    def info(self):
        """What a weight file records about the vocabulary it was trained with."""
        return {'files': self.names, 'size': len(self.vocab), 'tokens_md5': tokens_md5(self.vocab)}

    def tokenize(self, text):
        return self._sp(text)

    def encode(self, text, max_len):
        """[CLS] tokens [SEP] as int32 ids, cut to max_len, unpadded (BERTSentenceTransform's
        ids without its padding)."""
        tokens = self._head_tokens(text, max_len - 2)
        ids = self.vocab[[self.vocab.cls_token] + tokens + [self.vocab.sep_token]]
        return np.asarray(ids, dtype=np.int32)

    def _head_tokens(self, text, need):
        """The first `need` tokens of text. A prefix that ends at a space keeps every word
        before it whole, so its tokens are the full text's first tokens."""
        limit = need * CHARS_PER_TOKEN
        while len(text) > limit:
            cut = text.rfind(' ', 0, limit)
            if cut > 0:
                tokens = self._sp(text[:cut])
                if len(tokens) >= need:
                    return tokens[:need]
            limit *= 4
        return self._sp(text)[:need]
