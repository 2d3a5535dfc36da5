"""Cluster x category report (see kobert_news/cli/cluster_report.py, or python cluster_report.py --help)."""
import sys

from kobert_news.cli.cluster_report import entry

if __name__ == '__main__':
    sys.exit(entry())
