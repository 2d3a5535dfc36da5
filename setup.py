"""kobert-news: one importable package (kobert_news) with the library beside it (kobert_gluon,
preprocess). The shipped weight, the experiment configs and the sample CSV travel as package data
of kobert_news, so every console script works from any folder."""
import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def requirements(name):
    with open(os.path.join(HERE, name)) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith('#')]


# Needed by the tests and the build only (pytest; build for the wheel test; selenium drives the browser
# tests; cython builds gluonnlp's extension when pip compiles it). protobuf stays: the export reads
# sentencepiece's model proto.
TEST_ONLY = ('pytest', 'build', 'pyproject_hooks', 'tomli', 'cython', 'selenium')
SPARK = ('pyspark', 'py4j', 'pyarrow')  # spark_predict.py only: pip install kobert-news[spark]
runtime = [r for r in requirements('requirements.txt') if not r.startswith(TEST_ONLY + SPARK)]

with open(os.path.join(HERE, 'README.md'), encoding='utf-8') as f:
    long_description = f.read()

setup(
    name='kobert-news',
    version='0.2.0',
    description='Korean news topic classifier: KoBERT fine-tuned with MXNet GluonNLP',
    long_description=long_description,
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.7,<3.8',
    packages=find_packages(include=['kobert_news', 'kobert_news.*', 'kobert_gluon', 'kobert_gluon.*',
                                    'preprocess', 'preprocess.*']) + ['kobert_news.weights', 'kobert_news.configs',
                                                                      'kobert_news.data'],
    package_dir={'kobert_news.weights': 'weights', 'kobert_news.configs': 'configs', 'kobert_news.data': 'data'},
    package_data={'kobert_news.weights': ['kobert-news-small-ynat.pth', 'kobert-news-small-ynat.json', 'README.md'],
                  'kobert_news.configs': ['*.json'], 'kobert_news.data': ['sample.csv'],
                  'kobert_news': ['web/*', 'spark/log4j2.properties']},
    install_requires=runtime,
    extras_require={'test': [r for r in requirements('requirements.txt') if r.startswith(TEST_ONLY)],
                    'spark': [r for r in requirements('requirements.txt') if r.startswith(SPARK)]},
    entry_points={'console_scripts': [
        'kobert-news-predict=kobert_news.cli.predict:entry', 'kobert-news-train=kobert_news.cli.train:entry',
        'kobert-news-evaluate=kobert_news.cli.evaluate:entry', 'kobert-news-baseline=kobert_news.cli.baseline:entry',
        'kobert-news-record=kobert_news.cli.record:entry', 'kobert-news-clusters=kobert_news.cli.cluster_report:entry',
        'kobert-news-cache=kobert_news.cli.cache:entry',
        'kobert-news-serve=kobert_news.cli.serve:entry',
        'kobert-news-explain=kobert_news.cli.explain:entry',
        'kobert-news-export=kobert_news.cli.export:entry',
        'kobert-news-spark=kobert_news.cli.spark_predict:entry', 'kobert-news-launch=kobert_news.cli.launch:entry',
    ]},
)
