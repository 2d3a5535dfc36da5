"""The input CSV files: which, in what encoding, with which columns, and Spark's reader for them.

Local files are checked on the driver before any job, as main.py checks its CSV: each must be a
CSV in UTF-8 (with or without BOM) or CP949/EUC-KR, all in the same encoding and with the same
header (Spark takes the columns from the first file). Files behind a URL (hdfs://, s3a://, ...)
are read as --encoding says (default UTF-8).
"""
import codecs
import glob
import os
import re

import pandas as pd

from kobert_base.errors import UserError
from preprocess.processor import detect_encoding

UNICODE = ('UTF-8', 'UTF-16', 'UTF-16BE', 'UTF-16LE', 'UTF-32', 'US-ASCII', 'ISO-8859-1')  # Spark 4's own set
URL = re.compile(r'^[a-zA-Z][a-zA-Z0-9+.-]*://')


def local_path(path):
    """The local path a path or a file:// URL names; None for a URL Spark reads itself (hdfs://, ...)."""
    if path.startswith('file://'):
        return path[len('file://'):]
    return None if URL.match(path) else path


def local_files(path):
    """The local files a path, a folder (its *.csv) or a glob names; None for a URL Spark reads itself."""
    path = local_path(path)
    if path is None:
        return None
    if os.path.isdir(path):
        found = sorted(glob.glob(os.path.join(path, '*.csv')))
    else:
        found = sorted(p for p in glob.glob(path) if os.path.isfile(p))
    if not found:
        raise UserError('no CSV file at --input %s' % path)
    return found


def _header(path, encoding):
    with open(path, encoding=encoding, newline='') as f:
        try:
            return list(pd.read_csv(f, dtype=str, nrows=0).columns)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
            raise UserError('%s is not a readable CSV: %s' % (path, str(e).strip().splitlines()[-1]))


def check_files(files, processor, encoding=None, output=None):
    """The files' one encoding, after checking each file's start and header, and that the output
    folder (which a rerun replaces) holds none of them."""
    local = local_path(output) if output else None
    if local:
        out = os.path.realpath(local)
        inside = [p for p in files if os.path.realpath(p).startswith(out + os.sep) or os.path.realpath(p) == out]
        if inside:
            raise UserError('the input %s is inside --output %s, which the job replaces: choose another folder'
                            % (inside[0], output))
    found, header = {}, None
    for path in files:
        found[path] = detect_encoding(path, encoding)
        columns = _header(path, found[path])
        processor.texts(pd.DataFrame(columns=columns), path)  # a missing column, named
        if header is not None and columns != header:
            raise UserError('%s has other columns than %s (%s): Spark reads every file with the first one\'s'
                            % (path, files[0], ', '.join(columns)))
        header = columns
    names = {codecs.lookup(e).name for e in found.values()}
    if len(names) > 1:
        raise UserError('the input files are in different encodings (%s): pass files of one encoding'
                        % ', '.join('%s %s' % (os.path.basename(p), e) for p, e in found.items()))
    return found[files[0]]


def java_charset(encoding):
    """Python's name of an encoding -> Java's, for Spark's CSV reader (which skips a UTF-8 BOM itself)."""
    name = codecs.lookup(encoding).name
    return {'utf-8': 'UTF-8', 'utf-8-sig': 'UTF-8', 'cp949': 'x-windows-949', 'euc_kr': 'EUC-KR'}.get(name, name)


def read(spark, paths, encoding):
    """The CSV files as a DataFrame of strings (empty cells null), quoted fields over several lines
    kept whole (multiLine), quotes doubled inside quotes (escape '"'), as pandas and Excel write them."""
    charset = java_charset(encoding)
    if charset not in UNICODE:  # Spark 4 reads other charsets (CP949, EUC-KR) only when told to use Java's
        spark.conf.set('spark.sql.legacy.javaCharsets', 'true')
    return spark.read.csv(paths, header=True, multiLine=True, escape='"', encoding=charset, inferSchema=False,
                          mode='PERMISSIVE')
