"""KoBERT's input pipeline as a Hugging Face ``tokenizers`` pipeline (tokenizer.json).

The project tokenizes with gluonnlp 0.10's ``BERTSPTokenizer(sp_model, vocab, lower=False)``:

1. BERTBasicTokenizer: drop NUL, U+FFFD and control characters (Cc, Cf; tab, CR and LF are
   whitespace), turn whitespace into spaces, put spaces around CJK ideographs, strip; then NFD,
   drop nonspacing marks (Mn: accents, which NFD has split off) and put spaces around punctuation
   (ASCII symbols and every P* character); split on whitespace.
2. Each word separately through sentencepiece: its nmt_nfkc character map, a '▁' in front,
   then the unigram model's best segmentation; pieces map to BERTVocab ids ([UNK] if absent).

The pipeline below runs the same steps in the same order, with the character classes read
from the running Python's ``unicodedata`` (the database gluonnlp itself consults), so they
are Unicode 11's on Python 3.7 and not the newer tables of the regex engine.

Two parts need care, because ``tokenizers`` applies the whole normalizer before splitting:
- sentencepiece normalizes each word after the punctuation split: '㈜' becomes '(주)' and is
  not split. So the spaces around punctuation are inserted (zero-width regex replacements)
  before the character map, and the split afterwards is on whitespace only.
- sentencepiece's map holds composed forms for NFD sequences (the text is NFD by then), which
  ``tokenizers``' Precompiled normalizer, working per grapheme, does not find; NFC after the map
  composes them. A character whose compatibility decomposition has several characters ('㉮',
  '⑪') is never part of such a sequence in sentencepiece's map, so it is fenced off from its
  neighbours (with a control character, absent by then, removed after NFC).

What cannot match: the unigram model's exact ties. When two segmentations use the same
pieces in another order ('CCC' as C+CC or CC+C, 'Ⅲ' as I+II or II+I), their scores are equal;
sentencepiece sums scores in float32 and the rounding picks one, ``tokenizers`` sums in float64
where they stay equal and the first found wins. One of the 6,108 YNAT headlines has such a tie.
"""
import functools
import json
import os
import unicodedata

from tokenizers import Regex, Tokenizer
from tokenizers import decoders, models, normalizers, pre_tokenizers, processors

from preprocess.processor import tokenizer_drops

# gluonnlp's _is_chinese_char ranges (tokenizers' BertNormalizer has 0x2B920 for 0x2B820).
CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
              (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))
FENCE = '\x01'  # a control character: removed in step 1, so free to mark fences


def _category(ch):
    return unicodedata.category(ch)


_is_control = tokenizer_drops  # the characters the project's text building drops too


def _is_whitespace(ch):
    # gluonnlp's whitespace, plus what str.split() later splits on among the characters step 1
    # keeps (U+2028, U+2029).
    return ch in ' \t\n\r' or _category(ch) == 'Zs' or (ch.isspace() and not _is_control(ch))


def _is_cjk(ch):
    return any(lo <= ord(ch) <= hi for lo, hi in CJK_RANGES)


def _is_punctuation(ch):
    cp = ord(ch)
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 or _category(ch)[0] == 'P'


def _is_nonspacing_mark(ch):
    return _category(ch) == 'Mn'


def _expands(ch):
    """Characters whose compatibility decomposition has several characters (and that NFD left)."""
    if not unicodedata.decomposition(ch):
        return False
    nfkd = unicodedata.normalize('NFKD', ch)
    return len(nfkd) > 1 and nfkd != unicodedata.normalize('NFD', ch)


def char_class(ranges):
    """A regex character class of (first, last) code point ranges."""
    return '[%s]' % ''.join('\\x{%X}' % a if a == b else '\\x{%X}-\\x{%X}' % (a, b) for a, b in ranges)


def _ranges(code_points):
    """(first, last) runs of sorted code points."""
    runs = []
    for cp in code_points:
        if runs and cp == runs[-1][1] + 1:
            runs[-1][1] = cp
        else:
            runs.append([cp, cp])
    return runs


@functools.lru_cache(maxsize=None)
def _classes():
    """The character classes, from one pass over the assigned code points: gluonnlp's tests are
    by category, so unassigned code points belong to none, except to the CJK ranges."""
    tests = {'control': _is_control, 'whitespace': _is_whitespace, 'mark': _is_nonspacing_mark,
             'punctuation': _is_punctuation, 'expands': _expands}
    members = {name: [] for name in tests}
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF or unicodedata.category(chr(cp)) == 'Cn':
            continue
        for name, test in tests.items():
            if test(chr(cp)):
                members[name].append(cp)
    classes = {name: char_class(_ranges(cps)) for name, cps in members.items()}
    classes['cjk'] = char_class(sorted(CJK_RANGES))
    return classes


def _pad(char_class_, with_):
    """Insert with_ before and after every character of the class (zero-width matches)."""
    return [normalizers.Replace(Regex('(?=%s)' % char_class_), with_),
            normalizers.Replace(Regex('(?<=%s)' % char_class_), with_)]


def sentencepiece_model(sp_path):
    """(piece -> score of normal pieces, precompiled character map) of a sentencepiece model."""
    from sentencepiece import sentencepiece_model_pb2
    proto = sentencepiece_model_pb2.ModelProto()
    with open(sp_path, 'rb') as f:
        proto.ParseFromString(f.read())
    spec = proto.normalizer_spec
    if not (spec.add_dummy_prefix and spec.remove_extra_whitespaces and spec.escape_whitespaces) \
            or proto.trainer_spec.model_type != sentencepiece_model_pb2.TrainerSpec.UNIGRAM:
        raise ValueError('%s is not a unigram model with the default whitespace handling' % sp_path)
    normal = sentencepiece_model_pb2.ModelProto.SentencePiece.NORMAL
    return {p.piece: p.score for p in proto.pieces if p.type == normal}, spec.precompiled_charsmap


def build(sp_path, vocab, max_len):
    """A tokenizers.Tokenizer whose ids are KoBERTTokenizer.encode(text, max_len)'s (vocab: a gluonnlp
    BERTVocab)."""
    scores, charsmap = sentencepiece_model(sp_path)
    classes = _classes()
    # Tokens that are no sentencepiece piece ([CLS], ...) can never be matched: the punctuation
    # split takes their brackets apart first.
    tokenizer = Tokenizer(models.Unigram([(t, scores.get(t, 0.0)) for t in vocab.idx_to_token],
                                         unk_id=vocab[vocab.unknown_token], byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.Replace(Regex(classes['control']), ''),
         normalizers.Replace(Regex(classes['whitespace']), ' '),
         normalizers.Prepend(' ')]  # no zero-width insert at offset 0: tokenizers 0.20 panics on it
        + _pad(classes['cjk'], ' ')
        + [normalizers.NFD(), normalizers.Replace(Regex(classes['mark']), '')]
        + _pad(classes['punctuation'], ' ')
        + _pad(classes['expands'], FENCE)
        + [normalizers.Precompiled(charsmap), normalizers.NFC(), normalizers.Replace(FENCE, '')])
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.Metaspace(replacement='\u2581', prepend_scheme='always', split=False)])
    cls, sep = vocab.cls_token, vocab.sep_token
    tokenizer.post_processor = processors.TemplateProcessing(
        single='%s $A %s' % (cls, sep), pair='%s $A %s $B:1 %s:1' % (cls, sep, sep),
        special_tokens=[(cls, vocab[cls]), (sep, vocab[sep])])
    # The special tokens are not registered as added tokens: tokenizers would then match '[CLS]'
    # typed in a text as the token (gluonnlp splits it as text); transformers registers them
    # itself, and tokenizer_config.json's split_special_tokens keeps them out of texts there.
    tokenizer.decoder = decoders.Metaspace(replacement='\u2581', prepend_scheme='always', split=False)
    tokenizer.enable_truncation(max_len)  # what tokenizers alone does; transformers: truncation=True
    return tokenizer


def save(tokenizer, vocab, output_dir, max_len):
    """tokenizer.json plus the transformers files that make AutoTokenizer load it as it is."""
    tokenizer.save(os.path.join(output_dir, 'tokenizer.json'))
    special = {'unk_token': vocab.unknown_token, 'pad_token': vocab.padding_token, 'cls_token': vocab.cls_token,
               'sep_token': vocab.sep_token, 'mask_token': vocab.mask_token}
    config = dict(special, tokenizer_class='PreTrainedTokenizerFast', model_max_length=max_len,
                  # '[CLS]' typed in a text is text, as in gluonnlp, not the special token
                  split_special_tokens=True, clean_up_tokenization_spaces=False,
                  padding_side='right', truncation_side='right',
                  model_input_names=['input_ids', 'token_type_ids', 'attention_mask'])
    for name, obj in (('tokenizer_config.json', config), ('special_tokens_map.json', special)):
        with open(os.path.join(output_dir, name), 'w', encoding='utf-8') as f:
            json.dump(obj, f, ensure_ascii=False, indent=2)

