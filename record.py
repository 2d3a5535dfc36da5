"""Write the experiment record from run directories (see kobert_news/cli/record.py, or python record.py --help)."""
import sys

from kobert_news.cli.record import entry

if __name__ == '__main__':
    sys.exit(entry())
