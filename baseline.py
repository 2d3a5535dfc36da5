"""TF-IDF + linear SVM baseline (see kobert_news/cli/baseline.py, or python baseline.py --help)."""
import sys

from kobert_news.cli.baseline import entry

if __name__ == '__main__':
    sys.exit(entry())
