"""Why this topic? Explain each article's prediction word by word.

    kobert-news explain --data_path in.csv --save_path report.html        # one self-contained page
    kobert-news explain --data_path in.csv --save_path out.json --format json
    kobert-news explain --data_path in.csv --target economy --steps 100   # prints a line per article
    kobert-news explain --model_dir D --data_path in.csv                # an export folder: no MXNet

Two methods (kobert_news.explain). Integrated gradients, a weight file's default: each word of the
article's text (whitespace-separated) gets its share of the change in the topic's logit from a
baseline, where every token but [CLS] and [SEP] is [PAD] (or [MASK]), to the article; computed on
the weight's plain fp32 graph, --batch_size path points per pass. Occlusion, an export folder's
(ONNX Runtime gives no gradients) and --method occlusion on a weight file: each word's attribution
is the drop in the topic's probability when the word is removed (or its tokens replaced by [MASK]
or [PAD]); the article and its copies run as batches of --batch_size.
"""
import json
import sys
from dataclasses import dataclass

import numpy as np

from kobert_news.cli.common import commands, guard_outputs, parse
from kobert_base.errors import UserError
from kobert_base.explanations import (EXPLAIN_BASELINES, EXPLAIN_MAX_STEPS, EXPLAIN_METHODS, EXPLAIN_STEPS,
                                      OCCLUSION_BASELINES)
from kobert_base.paths import sample_csv
from kobert_base.topics import TOPICS
from kobert_base.options import (FilesArgs, FormatArgs, InputArgs, ModelDirArgs, Options, OutputArgs, ShapeArgs,
                                 WeightArgs, flag)

SNIPPET = 40   # characters of the text printed beside each explanation
TOP_WORDS = 3  # words printed per article


@dataclass
class ExplainArgs(Options):
    """Explanations"""
    method: str = flag(help='occlusion (no gradients: the only method for --model_dir) or integrated_gradients '
                            '(default for a weight file)', choices=EXPLAIN_METHODS)
    steps: int = flag(EXPLAIN_STEPS, help='integrated gradients: points on the path (Gauss-Legendre)',
                      low=1, high=EXPLAIN_MAX_STEPS)
    target: str = flag(help="topic to explain (default: each article's predicted topic)", choices=TOPICS)
    baseline: str = flag(help='what stands in for a word: occlusion %s (default %s); integrated gradients: the '
                              'embedding of %s (default %s) at every word'
                              % ('/'.join(OCCLUSION_BASELINES), OCCLUSION_BASELINES[0], '/'.join(EXPLAIN_BASELINES),
                                 EXPLAIN_BASELINES[0]),
                         choices=tuple(dict.fromkeys(OCCLUSION_BASELINES + EXPLAIN_BASELINES)))


@dataclass
class ExplainOptions(WeightArgs, ModelDirArgs, InputArgs, ShapeArgs, FilesArgs, OutputArgs, ExplainArgs, FormatArgs):
    """An explanation job (kobert-news explain)."""
    FLAGS = {'format': dict(help='html (one page) or json (one object per row); default: json for a .json '
                                 '--save_path, else html', choices=('html', 'json'))}


def main(argv=None):
    cfg, = parse(__doc__, [ExplainOptions], argv)
    explain_csv(cfg)


def explain_csv(cfg, out=None):
    from kobert_news.explain import check_baseline, check_method, load
    from kobert_news.pipeline import model_files, processor_of
    from preprocess import read_csv
    from preprocess.processor import warn_no_text

    data = cfg.data_path or sample_csv()
    if not data:
        raise UserError('give the CSV to explain with --data_path')
    baseline = check_baseline(check_method(cfg.method, onnx=bool(cfg.model_dir)), cfg.baseline)
    guard_outputs([cfg.save_path], [data] + model_files(cfg))
    df = read_csv(data, cfg.encoding)
    explainer = load(cfg)
    explainer.topic_id(cfg.target)  # an unknown target fails before any work
    processor = processor_of(cfg, explainer.meta)
    texts = processor.texts(df, data)
    empty = np.flatnonzero([not t for t in texts])
    if len(empty) == len(texts):
        raise UserError('no row of %s has text for mode %d' % (data, processor.mode))
    if len(empty):
        warn_no_text(empty + 1, data, 'left unexplained')
    results = explainer.results(texts, cfg.target, baseline, cfg.steps, progress=True, text_mode=processor.mode)
    if cfg.save_path:
        how = '%s, %s baseline' % (explainer.method.replace('_', ' '), baseline)
        if explainer.method == 'integrated_gradients':
            how += ', %d steps' % cfg.steps
        write(results, cfg, details='%s, %d rows; %s %s (mode %d); %s'
                                    % (data, len(df), 'export' if cfg.model_dir else 'weight',
                                       cfg.model_dir or cfg.gluon_weight_path, processor.mode, how))
        print('wrote %d explanations to %s' % (len(results), cfg.save_path), file=sys.stderr)
    else:
        print_lines(results, out or sys.stdout)


def output_format(cfg):
    if cfg.format:
        return cfg.format
    return 'json' if cfg.save_path.lower().endswith('.json') else 'html'


def write(results, cfg, details=''):
    from kobert_base.atomic import atomic_write_text
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
