"""Classify Korean news articles in a CSV into 8 topics.

    python main.py --data_path in.csv --save_path out.csv

Writes the input columns plus ``predicted``, ``probability`` (and the top k with --top_k);
without --save_path it prints one ``Predicted news topic: <topic>`` line per row.
"""
import argparse
import os
import sys

from config import DEFAULT_DATA, DEFAULT_WEIGHT, Columns, PredictConfig, UserError


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Korean news topic classifier (KoBERT, MXNet GluonNLP)')
    p.add_argument('--gluon_weight_path', default=DEFAULT_WEIGHT, help='weight file (default %(default)s)')
    p.add_argument('--data_path', default=DEFAULT_DATA, help='input CSV (default %(default)s)')
    p.add_argument('--save_path', default=None, help='output CSV; without it, predictions are printed')
    p.add_argument('--mode', type=int, choices=(1, 2, 3, 4, 5), default=None,
                   help='1 body, 2 title, 3 title + body, 4 and 5 with clusters (default and only choice '
                        'for 4 and 5: the mode the weight was trained with)')
    p.add_argument('--max_len', type=int, default=None, help="tokens per text (default: the weight's)")
    p.add_argument('--batch_size', type=int, default=32)
    p.add_argument('--top_k', type=int, default=1, help='also write the k most likely topics')
    p.add_argument('--encoding', default=None, help='input encoding (default: detect UTF-8 or CP949)')
    p.add_argument('--kobert_dir', default=None,
                   help='folder with KoBERT files (default: $KOBERT_HOME, then ~/kobert)')
    p.add_argument('--cache_dir', default=None,
                   help='cache of sentence embeddings (modes 4 and 5) and, under int8/, quantized models '
                        '(default ~/.cache/kobert-news/{embeddings,int8})')
    p.add_argument('--precision', choices=('fp32', 'bf16', 'int8'), default='fp32',
                   help='bf16 needs AVX-512 BF16, int8 AVX-512 VNNI; other CPUs fall back to fp32')
    p.add_argument('--calib_path', default=None,
                   help='int8: a CSV whose texts calibrate the quantization (default: a sample of the input '
                        'spread over its text lengths)')
    p.add_argument('--title_column', default=Columns.title)
    p.add_argument('--body_column', default=Columns.body)
    a = p.parse_args(argv)
    if a.batch_size < 1:
        p.error('--batch_size must be at least 1')
    if a.top_k < 1:
        p.error('--top_k must be at least 1')
    return PredictConfig(weight_path=a.gluon_weight_path, data_path=a.data_path, save_path=a.save_path,
                         mode=a.mode, max_len=a.max_len, batch_size=a.batch_size, top_k=a.top_k,
                         encoding=a.encoding, kobert_dir=a.kobert_dir, cache_dir=a.cache_dir,
                         precision=a.precision, calib_path=a.calib_path,
                         columns=Columns(title=a.title_column, body=a.body_column))


def predict_frame(cfg, df, predictor):
    """The input frame with prediction columns added; rows without text stay unclassified."""
    import numpy as np
    import pandas as pd

    proc = predictor.processor(cfg.columns, cfg.mode)
    mode = proc.mode
    texts = proc.texts(df)
    has_text = np.array([bool(t) for t in texts])
    if not has_text.any():
        raise UserError('no row of %s has text for mode %d' % (cfg.data_path, mode))
    if not has_text.all():
        lines = [str(i + 2) for i in np.flatnonzero(~has_text)]
        print('warning: %d row(s) with no text left unclassified (CSV line %s)'
              % (len(lines), ', '.join(lines[:10]) + (' ...' if len(lines) > 10 else '')), file=sys.stderr)
    if cfg.precision != 'fp32':
        calib = texts
        if cfg.calib_path:
            from preprocess import read_csv
            calib = proc.texts(read_csv(cfg.calib_path, cfg.encoding))
        used = predictor.set_precision(cfg.precision, [t for t in calib if t])
        print('precision: %s' % used, file=sys.stderr)
    probs = np.full((len(df), len(predictor.topics)), np.nan, dtype=np.float32)
    probs[has_text], clusters = predictor.predict_articles([t for t in texts if t], progress=True)

    k = min(cfg.top_k, len(predictor.topics))
    ranked = np.argsort(-probs, axis=1, kind='stable')
    topic = np.array(predictor.topics + [''], dtype=object)
    out = df.copy()
    best = np.where(has_text, ranked[:, 0], len(predictor.topics))
    out['predicted'] = topic[best]
    out['probability'] = probs[np.arange(len(df)), ranked[:, 0]]
    if clusters is not None:  # modes 4 and 5: the cluster the article was placed in
        out['cluster'] = pd.Series(clusters, index=np.flatnonzero(has_text)).reindex(range(len(df))).astype('Int64')
    if k > 1:
        for j in range(k):
            out['top%d' % (j + 1)] = topic[np.where(has_text, ranked[:, j], len(predictor.topics))]
            out['top%d_probability' % (j + 1)] = probs[np.arange(len(df)), ranked[:, j]]
    return out


def write_csv(df, path):
    """UTF-8 with BOM (Excel shows Hangul), written to a temporary file and renamed."""
    from kobert_gluon.atomic import atomic_path
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, encoding='utf-8-sig', float_format='%.6f')


def run(cfg):
    from kobert_gluon.predictor import Predictor
    from preprocess import read_csv

    df = read_csv(cfg.data_path, cfg.encoding)
    if cfg.save_path and not os.path.isdir(os.path.dirname(os.path.abspath(cfg.save_path))):
        raise UserError('output folder does not exist: %s' % os.path.dirname(os.path.abspath(cfg.save_path)))
    if not os.path.isfile(cfg.weight_path):
        hint = (' (train one with train.py, or put the original weight file there)'
                if os.path.normpath(cfg.weight_path) == os.path.normpath(DEFAULT_WEIGHT) else '')
        raise UserError('no weight file at %s%s' % (cfg.weight_path, hint))
    predictor = Predictor.from_weight(cfg.weight_path, cfg.kobert_dir, cfg.max_len, cfg.batch_size,
                                      cache_dir=cfg.cache_dir)
    out = predict_frame(cfg, df, predictor)
    if cfg.save_path:
        write_csv(out, cfg.save_path)
        print('wrote %d predictions to %s' % (len(out), cfg.save_path), file=sys.stderr)
    else:
        for topic in out['predicted']:
            print('Predicted news topic: %s' % (topic or '-'))


def cli(argv=None):
    cfg = parse_args(argv)
    try:
        run(cfg)
    except UserError as e:
        print('error: %s' % e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


def script():
    """The command line's entry (see kobert_gluon.run_on_huge_pages)."""
    from kobert_gluon import run_on_huge_pages
    return run_on_huge_pages(cli)


if __name__ == '__main__':
    sys.exit(script())
