"""Read a news CSV and build the model's input text for each mode (the original's ``NLPdata``)."""
import csv
import io
import os

import numpy as np
import pandas as pd

from config import CLUSTER_MODES, MODES, TITLE_BODY_FORMAT, TOPICS, Columns, UserError

# Korean Excel saves CSV as CP949 (a superset of EUC-KR); everything else is UTF-8.
FALLBACK_ENCODINGS = ('utf-8-sig', 'cp949')


def _decode(raw, path, encoding):
    if encoding:
        try:
            return raw.decode(encoding)
        except LookupError:
            raise UserError('unknown encoding %r' % encoding)
        except UnicodeDecodeError as e:
            raise UserError('%s is not valid %s (byte %d); check --encoding' % (path, encoding, e.start))
    for enc in FALLBACK_ENCODINGS:
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise UserError('%s is neither UTF-8 nor CP949/EUC-KR text; pass its encoding with --encoding' % path)


def read_csv(path, encoding=None):
    """Read a CSV into a DataFrame of strings, detecting UTF-8 (BOM or not) and CP949."""
    if not os.path.isfile(path):
        raise UserError('no such CSV file: %s' % path)
    with open(path, 'rb') as f:
        raw = f.read()
    text = _decode(raw, path, encoding)
    if text.startswith('\ufeff'):  # a BOM under an explicit utf-8
        text = text[1:]
    if not text.strip():
        raise UserError('%s is empty' % path)
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, csv.Error) as e:
        raise UserError('%s is not a readable CSV: %s' % (path, str(e).strip().splitlines()[-1]))
    if len(df) == 0:
        raise UserError('%s has a header but no rows' % path)
    return df


class NewsProcessor:
    """Turns a DataFrame into model text for a mode, and categories into label ids."""

    def __init__(self, mode, columns=None, topics=TOPICS, base_mode=3):
        """base_mode: the article text of modes 4 and 5 (3 title + body, 2 title only, 1 body only)."""
        if mode not in MODES:
            raise UserError('mode %s is not supported (choose from %s)'
                            % (mode, ', '.join('%d: %s' % kv for kv in MODES.items())))
        if mode in CLUSTER_MODES and base_mode not in (1, 2, 3):
            raise UserError('the base text of mode %d must be mode 1, 2 or 3, not %s' % (mode, base_mode))
        self.mode = mode
        self.text_mode = base_mode if mode in CLUSTER_MODES else mode
        self.columns = columns or Columns()
        self.topics = tuple(topics)

    def needed_columns(self):
        if self.text_mode == 1:
            return [self.columns.body]
        if self.text_mode == 2:
            return [self.columns.title]
        return [self.columns.title, self.columns.body]

    def texts(self, df):
        """Model input text per row; '' where the row's text columns are all empty. Modes 4 and 5
        give their base mode's text: the cluster is added once it is known (preprocess.clusters)."""
        missing = [c for c in self.needed_columns() if c not in df.columns]
        if missing:
            raise UserError('mode %d needs column(s) %s; the CSV has %s'
                            % (self.mode, ', '.join(missing), ', '.join(map(str, df.columns))))
        cols = {c: df[c].fillna('').astype(str).str.strip() for c in self.needed_columns()}
        if self.text_mode == 1:
            return list(cols[self.columns.body])
        if self.text_mode == 2:
            return list(cols[self.columns.title])
        titles, bodies = cols[self.columns.title], cols[self.columns.body]
        return ['' if not (t or b) else TITLE_BODY_FORMAT.format(title=t, body=b)
                for t, b in zip(titles, bodies)]

    def has_labels(self, df):
        return self.columns.label in df.columns

    def labels(self, df):
        """Label ids in the topics' order; an unknown category names its CSV line."""
        if not self.has_labels(df):
            raise UserError('training data needs a %r column' % self.columns.label)
        index = {t: i for i, t in enumerate(self.topics)}
        out = np.empty(len(df), dtype=np.int32)
        for row, value in enumerate(df[self.columns.label].fillna('').astype(str)):
            key = value.strip().lower()
            if key not in index:
                # +2: the header is line 1 and rows count from 0.
                raise UserError('line %d: unknown category %r (expected one of %s)'
                                % (row + 2, value, ', '.join(self.topics)))
            out[row] = index[key]
        return out
