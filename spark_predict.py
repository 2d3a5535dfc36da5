"""Classify CSV files on Apache Spark (see kobert_news/cli/spark_predict.py); the file spark-submit runs.

    python spark_predict.py --model_dir export/ --input news.csv --output topics/ --master 'local[2]'
    spark-submit --master spark://host:7077 spark_predict.py --model_dir export/ --input ... --output ...
"""
import sys

from kobert_news.cli.spark_predict import entry

if __name__ == '__main__':
    sys.exit(entry())
