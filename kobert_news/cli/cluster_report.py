"""Cluster the articles for k in 8/16/32/64 and report how well clusters match topics.

    kobert-news clusters --data_path news.csv --mode 3 --k 8 16 32 64     # into runs/clusters

k-means is fitted on the training split (the 7:3 split of train.py, or --eval_path) and the test
split is placed with its centroids: cluster{k}_pivot.csv (the original's cluster x category
layout), cluster{k}.png, and clusters.md with NMI and purity per k.
"""
import sys
from dataclasses import dataclass

from kobert_news.cli.common import commands, guard_folder, parse
from kobert_base.errors import UserError
from kobert_base.options import DataOptions, EncoderArgs, FilesArgs, Options, OutputDirArgs, flag


@dataclass
class ClusterReportArgs(Options):
    """Cluster report"""
    k: list = flag([8, 16, 32, 64], help='numbers of clusters', nargs='+', item_type=int)

    def check_k(self):
        if any(not isinstance(k, int) or k < 2 for k in self.k):
            raise UserError('--k takes numbers of clusters of at least 2')


def main(argv=None):
    data, enc, files, a, out = parse(__doc__, [DataOptions, EncoderArgs, FilesArgs, ClusterReportArgs, OutputDirArgs],
                                     argv)
    output_dir = out.output_dir or 'runs/clusters'
    data.mode = 3 if data.mode is None else data.mode
    if data.mode not in (1, 2, 3):
        raise UserError('--mode must be 1, 2 or 3 here: the text that is embedded')
    if not data.data_path:
        raise UserError('give the labelled CSV with --data_path')
    guard_folder(output_dir)
    from kobert_news.reports.cluster_tables import cluster_record
    for r in cluster_record(data, a.k, output_dir, enc.cluster_encoder, files.cache_dir, files.kobert_dir):
        print('k=%(k)d NMI %(nmi).4f purity %(purity).4f' % r)


cli, entry = commands(main)


if __name__ == '__main__':
    sys.exit(entry())
