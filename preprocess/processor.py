"""Read a news CSV and build the model's input text for each mode (the original's ``NLPdata``).

Rows are named by their record number: the n-th data row of the file, the header not counted
(a body with line breaks spans several lines of the file but is one record).
"""
import codecs
import csv
import functools
import logging
import os
import re
import sys
import unicodedata

import numpy as np

from kobert_base.errors import UserError
from kobert_base.modes import CLUSTER_MODES, CLUSTER_PREFIX, MODES, TEXT_FORMATS
from kobert_base.topics import TOPICS, TOPICS_KO, topic_key

log = logging.getLogger('kobert_news.data')
# Korean Excel saves CSV as CP949 (a superset of EUC-KR); everything else is UTF-8.
FALLBACK_ENCODINGS = ('utf-8-sig', 'cp949')
SNIFF_BYTES = 1 << 20  # encoding detection reads this much, so a huge file is never read whole for it


def detect_encoding(path, encoding=None):
    """The encoding to read path with: the one given (checked on the file's start), else UTF-8 or CP949."""
    if not os.path.isfile(path):
        raise UserError('no such CSV file: %s' % path)
    with open(path, 'rb') as f:
        head = f.read(SNIFF_BYTES)
    if not head.strip():
        raise UserError('%s is empty' % path)
    for enc in ([encoding] if encoding else FALLBACK_ENCODINGS):
        try:
            codec = codecs.lookup(enc)
        except LookupError:
            raise UserError('unknown encoding %r: check --encoding' % enc)
        if not getattr(codec, '_is_text_encoding', True):  # what open() refuses: rot13, hex, base64, zlib
            raise UserError('%r is not a text encoding (it does not turn bytes into text): check --encoding' % enc)
        try:
            codec.incrementaldecoder().decode(head, final=len(head) < SNIFF_BYTES)
            return 'utf-8-sig' if enc.lower().replace('_', '-') in ('utf-8', 'utf8') else enc
        except UnicodeError as e:  # a decoding error, or UTF-16's "does not start with BOM"
            if encoding:
                raise UserError('%s is not valid %s (%s); check --encoding'
                                % (path, encoding, 'byte %d' % e.start if hasattr(e, 'start') else e))
    raise UserError('%s is neither UTF-8 nor CP949/EUC-KR text; pass its encoding with --encoding' % path)


def read_csv(path, encoding=None, chunk_rows=None):
    """A DataFrame of strings (empty cells ''), or with chunk_rows an iterator of them."""
    enc = detect_encoding(path, encoding)
    chunks = _read(path, enc, chunk_rows or 0)
    first = next(chunks)
    if chunk_rows:
        return _chain(first, chunks)
    return first


def _read(path, enc, chunk_rows):
    import pandas as pd  # here, not at the top: a process that predicts from texts never loads it (50 MB)
    try:
        with open(path, encoding=enc, newline='') as f:
            # A blank line is a record (an empty cell in a one-column file): skipping it would drop the
            # row and shift every later record number.
            reader = pd.read_csv(f, dtype=str, keep_default_na=False, skip_blank_lines=False,
                                 chunksize=chunk_rows or None)
            if not chunk_rows:
                reader = [reader]
            for n, df in enumerate(reader):
                if n == 0 and len(df) == 0:
                    raise UserError('%s has a header but no rows' % path)
                yield df
    except UnicodeError as e:
        raise UserError('%s is not valid %s past its start (%s); pass its encoding with --encoding'
                        % (path, enc, getattr(e, 'reason', e)))
    except (pd.errors.ParserError, csv.Error) as e:
        raise UserError('%s is not a readable CSV: %s' % (path, str(e).strip().splitlines()[-1]))
    except pd.errors.EmptyDataError:
        raise UserError('%s is empty' % path)


def _chain(first, rest):
    yield first
    yield from rest


def warn_no_text(records, source, what):
    """The one warning for rows without text: how many, and which records."""
    shown = ', '.join(str(r) for r in records[:10]) + (' ...' if len(records) > 10 else '')
    log.warning('%d row(s) of %s have no text: %s (record %s)', len(records), source, what, shown)


def topic_ids(values, topics=TOPICS, source='the data', column='category', records=None):
    """Label ids in the topics' order; English or Korean topic names. An unknown one names its record
    (records: each value's record number, by default 1, 2, ...)."""
    index = {t: i for i, t in enumerate(topics)}
    out = np.empty(len(values), dtype=np.int32)
    for row, value in enumerate(values):
        key = topic_key(value)
        if key not in index:
            raise UserError('record %d of %s: unknown topic %r in column %r (expected one of %s, or their Korean '
                            'names %s)' % (row + 1 if records is None else records[row], source, value, column,
                                           ', '.join(topics),
                                           ', '.join(TOPICS_KO[t] for t in topics if t in TOPICS_KO)))
        out[row] = index[key]
    return out


class NewsProcessor:
    """Turns a DataFrame into model text for a mode, and topics into label ids."""

    def __init__(self, mode, title='title', body='cleanBody', label='category', topics=TOPICS, base_mode=3):
        """base_mode: the article text of modes 4 and 5 (3 title + body, 2 title only, 1 body only)."""
        if mode not in MODES:
            raise UserError('mode %s is not supported (choose from %s)'
                            % (mode, ', '.join('%d: %s' % kv for kv in MODES.items())))
        if mode in CLUSTER_MODES and base_mode not in (1, 2, 3):
            raise UserError('the base text of mode %d must be mode 1, 2 or 3, not %s' % (mode, base_mode))
        self.mode = mode
        self.text_mode = base_mode if mode in CLUSTER_MODES else mode
        self.title, self.body, self.label = title, body, label
        self.topics = tuple(topics)

    @classmethod
    def from_args(cls, args, mode, topics=TOPICS, base_mode=3):
        """The processor for an options object with title/body/label columns (kobert_base.options.InputArgs)."""
        return cls(mode, args.title_column, args.body_column, args.label_column, topics, base_mode)

    def needed_columns(self):
        return {1: [self.body], 2: [self.title], 3: [self.title, self.body]}[self.text_mode]

    def texts(self, df, source='the CSV'):
        """Model input text per row; '' where the row's text columns are all empty. Modes 4 and 5
        give their base mode's text: the cluster is put in front once it is known (with_cluster)."""
        missing = [c for c in self.needed_columns() if c not in df.columns]
        if missing:
            raise UserError('mode %d reads column(s) %s, which %s lacks (it has %s)%s'
                            % (self.mode, ', '.join(missing), source, ', '.join(map(str, df.columns)),
                               self._hint(df)))
        cols = {c: df[c].fillna('').astype(str).map(clean) for c in self.needed_columns()}
        blank = [''] * len(df)
        return [self._join(t, b) for t, b in zip(cols.get(self.title, blank), cols.get(self.body, blank))]

    def text(self, title=None, body=None):
        """One article's model text, as texts() builds it for a row with these cells (None: empty)."""
        return self._join(clean(str(title or '')), clean(str(body or '')))

    def _join(self, title, body):
        if self.text_mode == 1:
            return body
        if self.text_mode == 2:
            return title
        layout = TEXT_FORMATS[4 if self.mode in CLUSTER_MODES else 3]
        return layout.format(title=title, body=body) if title or body else ''

    def _hint(self, df):
        """What to pass instead, when another mode's columns are there."""
        has_title, has_body = self.title in df.columns, self.body in df.columns
        flag = '--base_mode' if self.mode in CLUSTER_MODES else '--mode'
        if has_title and not has_body:
            return ': for titles only pass %s 2, or name the body column with --body_column' % flag
        if has_body and not has_title:
            return ': for bodies only pass %s 1, or name the title column with --title_column' % flag
        return ': name the columns with --title_column and --body_column'

    def labels(self, df, source='the CSV', rows=None):
        """Label ids in the topics' order, from the label column; rows: only those rows' (positions in
        df; rows without text need no topic)."""
        if self.label not in df.columns:
            raise UserError('%s has no %r column with the true topics (it has %s): name it with --label_column'
                            % (source, self.label, ', '.join(map(str, df.columns))))
        values = df[self.label].fillna('').astype(str)
        if rows is None:
            return topic_ids(list(values), self.topics, source, self.label)
        rows = np.asarray(rows, dtype=np.int64)
        return topic_ids(list(values.iloc[rows]), self.topics, source, self.label, rows + 1)


def clean(cell):
    """A cell's text as the tokenizer reads it: without the characters it drops (control and format
    characters, U+FFFD), stripped; '' when nothing it reads is left (spaces and lone combining marks
    give no token). Both the model's text and the words kobert-news explain splits it into come from here."""
    probe = cell.replace('\n', ' ').replace('\t', ' ').replace('\r', ' ')
    if not probe.isprintable() or '\ufffd' in cell:  # the others dropped are unprintable: most texts stop here
        cell = _dropped().sub('', cell)
    cell = cell.strip()
    return cell if any(_gives_token(ch) for ch in cell) else ''


def _gives_token(ch):
    """Whether a character alone gives a token: not whitespace, sentencepiece's '▁' or a nonspacing
    mark (gluonnlp drops those after NFD)."""
    return not (ch.isspace() or ch == '\u2581' or unicodedata.category(ch) == 'Mn')


def tokenizer_drops(ch):
    """Whether gluonnlp's BERTBasicTokenizer deletes a character: NUL, U+FFFD and Cc/Cf characters
    but tab, LF and CR (whitespace to it)."""
    return ch in '\x00\ufffd' or (ch not in '\t\n\r' and unicodedata.category(ch) in ('Cc', 'Cf'))


@functools.lru_cache(maxsize=None)
def _dropped():
    """A pattern of every character tokenizer_drops (format characters live in planes 0, 1 and 14 only)."""
    dropped = [cp for plane in (0, 1, 14) for cp in range(plane << 16, min((plane + 1) << 16, sys.maxunicode + 1))
               if tokenizer_drops(chr(cp))]
    spans = []
    for cp in dropped:
        if spans and spans[-1][1] == cp - 1:
            spans[-1][1] = cp
        else:
            spans.append([cp, cp])
    return re.compile('[%s]' % ''.join('\\U%08x-\\U%08x' % (lo, hi) for lo, hi in spans))


def with_cluster(texts, clusters):
    """Mode 4's text: the cluster id in front of the article."""
    return [CLUSTER_PREFIX.format(cluster=int(c)) + t for t, c in zip(texts, clusters)]
