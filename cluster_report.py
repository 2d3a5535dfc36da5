"""Cluster the articles for k in 8/16/32/64 and report how well clusters match topics.

    python cluster_report.py --data_path news.csv --mode 3 --k 8 16 32 64 --output_dir experiments/clusters

k-means is fitted on the training split (the 7:3 split of train.py, or --eval_path) and the test
split is placed with its centroids: cluster{k}_pivot.csv (the original's cluster x category
layout), cluster{k}.png, and clusters.md with NMI and purity per k.
"""
import argparse
import sys

from config import TrainConfig, UserError


def cli(argv=None):
    d = TrainConfig()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data_path', required=True)
    p.add_argument('--eval_path', default=None)
    p.add_argument('--mode', type=int, choices=(1, 2, 3), default=3, help='text that is embedded (default 3)')
    p.add_argument('--k', type=int, nargs='+', default=[8, 16, 32, 64])
    p.add_argument('--encoder', default='use', help='use, sbert or kobert:<weight>')
    p.add_argument('--output_dir', default='experiments/clusters')
    p.add_argument('--test_size', type=float, default=d.test_size)
    p.add_argument('--seed', type=int, default=d.seed)
    p.add_argument('--encoding', default=None)
    p.add_argument('--cache_dir', default=None)
    a = p.parse_args(argv)
    cfg = TrainConfig(data_path=a.data_path, eval_path=a.eval_path, mode=a.mode, test_size=a.test_size,
                      seed=a.seed, encoding=a.encoding, cache_dir=a.cache_dir)
    from reports.clusters import cluster_record
    try:
        rows = cluster_record(cfg, a.k, a.output_dir, a.encoder)
    except UserError as e:
        print('error: %s' % e, file=sys.stderr)
        return 2
    for r in rows:
        print('k=%(k)d NMI %(nmi).4f purity %(purity).4f' % r)
    return 0


if __name__ == '__main__':
    sys.exit(cli())
