"""Classify CSV files on Apache Spark (see kobert_news/cli/spark_predict.py).

    python spark_predict.py --input news.csv --output topics/ --master local[2]
"""
import sys

from kobert_news.cli.spark_predict import entry

if __name__ == '__main__':
    sys.exit(entry())
