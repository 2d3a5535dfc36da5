"""Fine-tune a topic classifier (see kobert_news/cli/train.py, or python train.py --help)."""
import sys

from kobert_news.cli.train import entry

if __name__ == '__main__':
    sys.exit(entry())
