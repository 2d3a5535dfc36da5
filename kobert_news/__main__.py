"""python -m kobert_news <command> [flags]: the kobert-news command (kobert_news.cli.dispatch)."""
import sys

from kobert_news.cli.dispatch import entry

if __name__ == '__main__':
    sys.exit(entry())
