"""Serve the classifier over HTTP (see kobert_news/cli/serve.py).

    python serve.py --port 8000
"""
import sys

from kobert_news.cli.serve import entry

if __name__ == '__main__':
    sys.exit(entry())
