"""Why this topic? Explain each article's prediction word by word (see kobert_news/cli/explain.py).

    python explain.py --data_path in.csv --save_path report.html
"""
import sys

from kobert_news.cli.explain import entry

if __name__ == '__main__':
    sys.exit(entry())
