"""Why this topic? Explain each article's prediction word by word (integrated gradients).

    python explain.py --data_path in.csv --save_path report.html        # one self-contained page
    python explain.py --data_path in.csv --save_path out.json --format json
    python explain.py --data_path in.csv --target economy --steps 100   # prints a line per article

Each word of the article's text (whitespace-separated) gets its share of the change in the topic's
logit from a baseline, where every token but [CLS] and [SEP] is [PAD] (or [MASK]), to the article.
Computed on the weight's plain fp32 graph; --batch_size is the number of path points per pass.
"""
import json
import sys
from dataclasses import dataclass

import numpy as np

from kobert_news.cli.common import commands, guard_outputs, parse
from kobert_news.config import EXPLAIN_BASELINES, EXPLAIN_MAX_STEPS, EXPLAIN_STEPS, TOPICS, UserError, sample_csv
from kobert_news.options import (FilesArgs, FormatArgs, InputArgs, Options, OutputArgs, ShapeArgs, WeightArgs,
                                  flag)

SNIPPET = 40   # characters of the text printed beside each explanation
TOP_WORDS = 3  # words printed per article


@dataclass
class ExplainArgs(Options):
    """Explanations"""
    steps: int = flag(EXPLAIN_STEPS, help='points on the integrated-gradients path (Gauss-Legendre)',
                      low=1, high=EXPLAIN_MAX_STEPS)
    target: str = flag(help="topic to explain (default: each article's predicted topic)", choices=TOPICS)
    baseline: str = flag(EXPLAIN_BASELINES[0], help='token whose embedding replaces every word in the baseline',
                         choices=EXPLAIN_BASELINES)


@dataclass
class ExplainConfig(WeightArgs, InputArgs, ShapeArgs, FilesArgs, OutputArgs, ExplainArgs, FormatArgs):
    """An explanation job (explain.py)."""
    FLAGS = {'format': dict(help='html (one page) or json (one object per row); default: json for a .json '
                                 '--save_path, else html', choices=('html', 'json'))}


def main(argv=None):
    cfg, = parse(__doc__, [ExplainConfig], argv)
    explain_csv(cfg)


def explain_csv(cfg, out=None):
    from kobert_gluon.attribution import Explainer
    from kobert_news.pipeline import resolve_weight
    from kobert_gluon.predictor import text_mode
    from kobert_gluon.weights import centroids_path, meta_path
    from preprocess import NewsProcessor, read_csv
    from preprocess.processor import warn_no_text

    data = cfg.data_path or sample_csv()
    if not data:
        raise UserError('give the CSV to explain with --data_path')
    weight = resolve_weight(cfg.gluon_weight_path)
    guard_outputs([cfg.save_path], [data, weight, meta_path(weight), centroids_path(weight)])
    df = read_csv(data, cfg.encoding)
    explainer = Explainer.from_weight(weight, cfg.kobert_dir, cfg.max_len, cfg.batch_size, cfg.cache_dir)
    explainer.topic_id(cfg.target)  # an unknown target fails before any work
    meta = explainer.meta
    processor = NewsProcessor.from_args(cfg, text_mode(meta, cfg.mode), explainer.topics, meta.get('base_mode', 3))
    texts = processor.texts(df, data)
    empty = np.flatnonzero([not t for t in texts])
    if len(empty) == len(texts):
        raise UserError('no row of %s has text for mode %d' % (data, processor.mode))
    if len(empty):
        warn_no_text(empty + 1, data, 'left unexplained')
    results = explainer.results(texts, cfg.target, cfg.steps, cfg.baseline, progress=True, text_mode=processor.mode)
    if cfg.save_path:
        write(results, cfg, details='%s, %d rows; weight %s (mode %d); %d steps, %s baseline'
                                    % (data, len(df), weight, processor.mode, cfg.steps, cfg.baseline))
        print('wrote %d explanations to %s' % (len(results), cfg.save_path), file=sys.stderr)
    else:
        print_lines(results, out or sys.stdout)


def output_format(cfg):
    if cfg.format:
        return cfg.format
    return 'json' if cfg.save_path.lower().endswith('.json') else 'html'


def write(results, cfg, details=''):
    from kobert_gluon.atomic import atomic_write_text
    if output_format(cfg) == 'json':
        text = json.dumps(results, ensure_ascii=False, indent=1) + '\n'
    else:
        from kobert_news.reports.explain_html import render
        text = render(results, details=details)
    atomic_write_text(cfg.save_path, text)


def print_lines(results, out):
    """A line per row: its topic and the words that raised the explained topic most."""
    for n, r in enumerate(results, 1):
        if r['topic'] is None:
            print('Predicted news topic: - | record %d | %s' % (n, r['reason']), file=out)
            continue
        order = np.argsort(-np.asarray(r['attributions']), kind='stable')[:TOP_WORDS]
        top = ', '.join('%s %+.3g' % (r['words'][i], r['attributions'][i]) for i in order)
        print('Predicted news topic: %s (%.3f) | %s: %s | record %d | %s'
              % (r['topic'], r['probability'], 'most for ' + r['target'], top, n, r['text'][:SNIPPET]), file=out)


cli, entry = commands(main)


if __name__ == '__main__':
    sys.exit(entry())
