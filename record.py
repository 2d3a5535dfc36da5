"""Regenerate the experiment record from run directories.

    python record.py --runs runs/default runs/exp1 runs/exp2 --output_dir experiments

Writes exp.md (the original's table: condition, best test accuracy and epoch, and the original's
number where the run is named after one of its experiments), exp_metric.md (per experiment and
topic: precision, recall, F1, support), and under figures/: F1/recall/precision per experiment,
a training curve per run, the topic distribution of the first run's training and test sets and a
t-SNE of its sentence embeddings (these two need its data).
"""
import argparse
import logging
import sys


def cli(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--runs', nargs='+', required=True, help='run directories of train.py')
    p.add_argument('--output_dir', default='experiments')
    p.add_argument('--no_tsne', action='store_true', help='skip the t-SNE figure')
    p.add_argument('--tsne_samples', type=int, default=1000)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(message)s', stream=sys.stderr)
    from reports.record import write_record
    try:
        written = write_record(a.runs, a.output_dir, tsne=not a.no_tsne, tsne_samples=a.tsne_samples)
    except ValueError as e:
        print('error: %s' % e, file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == '__main__':
    sys.exit(cli())
