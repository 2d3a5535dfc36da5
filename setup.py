from setuptools import find_packages, setup

setup(
    name='kobert-news',
    version='0.1.0',
    description='Korean news topic classifier: KoBERT fine-tuned with MXNet GluonNLP',
    license='Apache-2.0',
    python_requires='>=3.7,<3.8',
    packages=find_packages(include=['kobert_gluon', 'kobert_gluon.*', 'preprocess', 'preprocess.*',
                                    'reports', 'reports.*']),
    py_modules=['config', 'main', 'train', 'baseline', 'evaluate', 'record', 'cluster_report'],
    install_requires=[line.strip() for line in open('requirements.txt')
                      if line.strip() and not line.startswith('#') and not line.startswith('pytest')],
    entry_points={'console_scripts': ['kobert-news-predict=main:script', 'kobert-news-train=train:cli',
                                      'kobert-news-baseline=baseline:cli', 'kobert-news-evaluate=evaluate:script',
                                      'kobert-news-record=record:cli', 'kobert-news-clusters=cluster_report:cli']},
)
