"""KoBERT's vocabulary and tokenizer, built the original's way.

The original fed text through ``BERTSPTokenizer(sp_model, vocab, lower=False)`` and
``BERTSentenceTransform(max_len, pad=True, pair=False)``. BERTSPTokenizer first splits
punctuation off words, so '합니다.' becomes '합니다', '▁', '.' (plain sentencepiece gives
'합니다', '.'); a trained weight expects the ids it was trained on, so this stays as it was.
"""
import hashlib
import json
import os

import gluonnlp as nlp
import numpy as np

from kobert_gluon import hub
from kobert_base.errors import UserError
from preprocess.reading import prefixes

# The special roles BERT's input uses, spelled as KoBERT's v0.1 json spells them. A weight needs
# each ordinary piece and each role at the id it was trained with; how a vocabulary spells its
# roles (a sentencepiece file may say '<unk>' where the json says '[UNK]') feeds it nothing.
ROLES = (('unknown', '[UNK]'), ('padding', '[PAD]'), ('cls', '[CLS]'), ('sep', '[SEP]'), ('mask', '[MASK]'))


def _role_ids(vocab):
    """role -> id of the token playing it (None where there is none)."""
    return {role: vocab.token_to_idx.get(getattr(vocab, role + '_token')) for role, _ in ROLES}


def tokens_md5(vocab, spell_roles=False):
    """md5 of the id -> token list, all that weights recorded before mapping_md5. With
    spell_roles, the tokens playing a role are first written as the v0.1 json spells them."""
    tokens = list(vocab.idx_to_token)
    if spell_roles:
        ids = _role_ids(vocab)
        for role, spelling in reversed(ROLES):  # a token playing two roles takes the first's spelling
            if ids[role] is not None:
                tokens[ids[role]] = spelling
    return hashlib.md5('\n'.join(tokens).encode('utf-8')).hexdigest()


def mapping_md5(vocab):
    """md5 of what a weight depends on: the ordinary tokens in id order (roles' ids left blank)
    and the role -> id map. Equal fingerprints feed a weight equal ids."""
    ids = _role_ids(vocab)
    taken = set(ids.values())
    tokens = [None if i in taken else t for i, t in enumerate(vocab.idx_to_token)]
    return hashlib.md5(json.dumps([tokens, ids], sort_keys=True).encode('utf-8')).hexdigest()


def same_vocab(recorded, vocab):
    """Whether vocab gives the ids of the vocabulary a weight recorded (its meta's 'vocab').
    Weights from before mapping_md5 recorded only tokens_md5, of KoBERT's v0.1 json (which is
    not on a user's machine): compared with vocab's roles spelled as the json spells them."""
    recorded = recorded or {}
    if 'mapping_md5' in recorded:
        return recorded['mapping_md5'] == mapping_md5(vocab)
    want = recorded.get('tokens_md5')
    return not want or want in (tokens_md5(vocab), tokens_md5(vocab, spell_roles=True))


def _vocab_files(kobert_dir):
    """(sp_model, vocab_json or None) from the first search dir holding either KoBERT set."""
    for d in hub.search_dirs(kobert_dir):
        pair = [os.path.join(d, n) for n in (hub.SP_MODEL, hub.VOCAB_JSON)]
        if all(os.path.isfile(p) for p in pair):
            return hub.check(pair[0]), hub.check(pair[1])
        spiece = os.path.join(d, hub.SPIECE)
        if os.path.isfile(spiece):
            return hub.check(spiece), None
    return None


class KoBERTTokenizer:
    """Text -> (token ids, valid length) with KoBERT's vocabulary."""

    def __init__(self, sp_path, vocab, names=None):
        self.sp_path = sp_path
        self.vocab = vocab
        self.names = names or [os.path.basename(sp_path)]
        self._sp = nlp.data.BERTSPTokenizer(sp_path, vocab, lower=False)

    @classmethod
    def load(cls, kobert_dir=None, url_base=None):
        """Use the v0.1 pair or the .spiece found first; download the .spiece (from url_base,
        default hub.hub_url()) if neither is there."""
        found = _vocab_files(kobert_dir)
        if found is None:
            try:
                found = hub.fetch(hub.SPIECE, kobert_dir, url_base=url_base), None
            except UserError as e:
                raise UserError('KoBERT vocabulary not found (%s + %s, or %s, in %s) and %s'
                                % (hub.SP_MODEL, hub.VOCAB_JSON, hub.SPIECE,
                                   ' or '.join(hub.search_dirs(kobert_dir)), e))
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
    def paths(self):
        """The files the vocabulary was read from: the v0.1 pair, or the .spiece."""
        return [os.path.join(os.path.dirname(self.sp_path), n) for n in self.names]

    @property
    def pad_id(self):
        return self.vocab[self.vocab.padding_token]

    def info(self):
        """What a weight file records about the vocabulary it was trained with."""
        return {'files': self.names, 'size': len(self.vocab), 'tokens_md5': tokens_md5(self.vocab),
                'mapping_md5': mapping_md5(self.vocab)}

    def tokenize(self, text):
        return self._sp(text)

    def encode(self, text, max_len):
        """[CLS] tokens [SEP] as int32 ids, cut to max_len, unpadded (BERTSentenceTransform's
        ids without its padding)."""
        tokens = self._head_tokens(text, max_len - 2)
        ids = self.vocab[[self.vocab.cls_token] + tokens + [self.vocab.sep_token]]
        return np.asarray(ids, dtype=np.int32)

    def _head_tokens(self, text, need):
        """The first `need` tokens of text, tokenized from a prefix (preprocess.reading.prefixes)."""
        tokens = []
        for part in (prefixes(text, need) if need >= 1 else ()):
            tokens = self._sp(part)
            if len(tokens) >= need:
                break
        return tokens[:need]
