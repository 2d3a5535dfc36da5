"""Write the experiment record from run directories.

    kobert-news record --runs runs/default runs/exp1 runs/exp2           # into runs/record
    make record                                                          # the committed experiments/

Writes exp.md (the original's table: condition, best test accuracy and epoch, and the original's
number beside runs whose settings match its experiment), exp_metric.md (per experiment and
topic: precision, recall, F1, support), and under figures/: F1/recall/precision per experiment,
a training curve and a confusion matrix per run, the topic distribution of the first run's data
and a t-SNE of its sentence embeddings (these two need its data).
"""
import sys
from dataclasses import dataclass

from kobert_news.cli.common import commands, guard_folder, parse
from kobert_base.options import FilesArgs, Options, OutputDirArgs, flag


@dataclass
class RecordArgs(Options):
    """Record"""
    runs: list = flag([], help='run directories of train.py (required)', nargs='+')
    no_tsne: bool = flag(False, help='skip the t-SNE figure')
    tsne_samples: int = flag(1000, help='articles in the t-SNE figure', low=5, high=100000)


def main(argv=None):
    a, files, out = parse(__doc__, [RecordArgs, FilesArgs, OutputDirArgs], argv)
    output_dir = out.output_dir or 'runs/record'
    if not a.runs:
        from kobert_base.errors import UserError
        raise UserError('give the run directories with --runs')
    guard_folder(output_dir)
    from kobert_news.reports.experiments import write_record
    for path in write_record(a.runs, output_dir, tsne=not a.no_tsne, tsne_samples=a.tsne_samples,
                             kobert_dir=files.kobert_dir):
        print(path)


cli, entry = commands(main)


if __name__ == '__main__':
    sys.exit(entry())
