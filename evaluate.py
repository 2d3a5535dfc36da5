"""Evaluate predictions against labelled topics (see kobert_news/cli/evaluate.py, or python evaluate.py --help)."""
import sys

from kobert_news.cli.evaluate import entry

if __name__ == '__main__':
    sys.exit(entry())
