"""Classify Korean news articles in a CSV by topic (see kobert_news/cli/predict.py).

    python main.py --data_path in.csv --save_path out.csv
"""
import sys

from kobert_news.cli.predict import entry

if __name__ == '__main__':
    sys.exit(entry())
