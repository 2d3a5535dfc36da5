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

from config import UserError
from kobert_gluon import files

# Long articles are cut to max_len * CHARS_PER_TOKEN characters before tokenizing (tokenizing
# a whole 100,000-character article is wasted work). Korean text averages 2-3 characters per
# KoBERT token, so the first max_len tokens come out the same.
CHARS_PER_TOKEN = 64


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
        self._transforms = {}

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
        """[CLS] tokens [SEP] as int32 ids, cut to max_len, unpadded."""
        transform = self._transforms.get(max_len)
        if transform is None:
            transform = nlp.data.BERTSentenceTransform(self._sp, max_seq_length=max_len,
                                                       pad=False, pair=False)
            self._transforms[max_len] = transform
        ids, _, _ = transform((text[:max_len * CHARS_PER_TOKEN],))
        return np.asarray(ids, dtype=np.int32)
