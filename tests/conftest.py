"""Shared fixtures: KoBERT's real vocabulary (fetched once, or skipped when absent) and a tiny real weight."""
import os
import subprocess
import sys

import pytest

from kobert_base.errors import UserError
from kobert_gluon import hub

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), 'shared')
PAIR = (hub.SP_MODEL, hub.VOCAB_JSON)
FETCH_TIMEOUT = 10  # seconds: a hub that does not answer sooner counts as unreachable, the tests skip


def _has(d, names):
    return bool(d) and all(os.path.isfile(os.path.join(d, n)) for n in names)


def locate_kobert(dirs, url_base=None, timeout=FETCH_TIMEOUT):
    """(folder, None) for the first of dirs holding either KoBERT set (the v0.1 pair or the
    .spiece); else the .spiece downloaded as main.py does it (hub.fetch: the hub or
    $KOBERT_HUB_URL, into $KOBERT_HOME or ~/kobert) and its folder; offline, (None, why)."""
    for d in dirs:
        if _has(d, PAIR) or _has(d, [hub.SPIECE]):
            return os.path.abspath(d), None
    try:
        return os.path.dirname(hub.fetch(hub.SPIECE, url_base=url_base, timeout=timeout)), None
    except UserError as e:
        return None, str(e)


SEARCHED = [os.environ.get('KOBERT_HOME'), os.path.join(SHARED, 'kobert'),
            os.path.join(os.path.expanduser('~'), 'kobert')]
# Resolved once, when the suite is collected: the skip marks below need it, and it is the one try.
KOBERT_HOME, FETCH_ERROR = locate_kobert(SEARCHED)
KOBERT_PAIR = next((os.path.abspath(d) for d in SEARCHED if _has(d, PAIR)), None)
YNAT = os.path.join(SHARED, 'data', 'ynat', 'ynat_headlines.csv')
SAMPLE = os.path.join(ROOT, 'data', 'sample.csv')
HEADLINES = ['손흥민 시즌 10호골…토트넘 3연승 이끌어', '코스피 2,600선 회복…외국인 순매수',
             '美 연준, 기준금리 0.25%p 인상…"물가 잡겠다"', '北, 동해상으로 탄도미사일 발사…합참 "추가 도발 대비"']


def headlines(n, step):
    """Real headlines: the ones above, and n YNAT headlines, every step-th, where the data is at hand."""
    import pandas as pd
    found = list(HEADLINES)
    if os.path.isfile(YNAT):
        found += list(pd.read_csv(YNAT)['title'][::step][:n])
    return found

NO_KOBERT = ('no KoBERT vocabulary (the v0.1 pair or the .spiece) in $KOBERT_HOME, ../shared/kobert or ~/kobert, '
             'and %s' % FETCH_ERROR)
NO_PAIR = ("needs KoBERT's v0.1 pair (%s), which no hub serves, in $KOBERT_HOME or ../shared/kobert%s"
           % (' + '.join(PAIR), '; only the .spiece is found' if KOBERT_HOME else ''))
needs_kobert = pytest.mark.skipif(KOBERT_HOME is None, reason=NO_KOBERT)
needs_kobert_pair = pytest.mark.skipif(KOBERT_PAIR is None, reason=NO_PAIR)
needs_ynat = pytest.mark.skipif(not os.path.isfile(YNAT), reason='../shared/data/ynat is absent')


@pytest.fixture(scope='session')
def kobert_home():
    """A folder with either KoBERT set."""
    if KOBERT_HOME is None:
        pytest.skip(NO_KOBERT)
    return KOBERT_HOME


@pytest.fixture(scope='session')
def kobert_pair():
    """A folder with KoBERT's v0.1 pair, for tests about those very files."""
    if KOBERT_PAIR is None:
        pytest.skip(NO_PAIR)
    return KOBERT_PAIR


@pytest.fixture(scope='session')
def tokenizer(kobert_home):
    from kobert_gluon.tokenizer import KoBERTTokenizer
    return KoBERTTokenizer.load(kobert_home)


def make_weight(path, tokenizer, config='tiny', mode=3, max_len=64, seed=0, topics=None, untrained_topics=None):
    """A real (randomly initialised) weight file with its meta, as training writes it (untrained_topics:
    recorded as training on data without them records them; modes 4 and 5: 4 random centroids)."""
    import mxnet as mx
    import numpy as np
    from kobert_base.architectures import ARCHITECTURES
    from kobert_base.topics import TOPICS
    from kobert_gluon import model
    mx.random.seed(seed)
    topics = list(topics or TOPICS)
    k = 4 if mode in (4, 5) else 0
    net = model.build_classifier(ARCHITECTURES[config], len(topics), num_clusters=k if mode == 5 else 0)
    meta = {'config': ARCHITECTURES[config].to_dict(), 'topics': topics, 'mode': mode, 'max_len': max_len,
            'dropout': 0.1, 'vocab': tokenizer.info()}
    if k:
        meta['clusters'] = {'k': k, 'encoder': 'use', 'encoder_key': 'use-m3-0.2.1'}
    if untrained_topics is not None:
        meta['untrained_topics'] = list(untrained_topics)
    centroids = np.random.RandomState(seed).rand(k, 512).astype(np.float32) if k else None
    model.save(net, str(path), meta, centroids)
    return str(path)


@pytest.fixture(scope='session')
def original_weight(tmp_path_factory, tokenizer):
    """A weight file built as the original built its own: GluonNLP's bert_12_768_12 with
    BERTClassifier (dropout 0.1), 8 topics, saved without a description (random weights)."""
    import gluonnlp as nlp
    import mxnet as mx
    mx.random.seed(1)
    bert, _ = nlp.model.get_model('bert_12_768_12', dataset_name=None, vocab=tokenizer.vocab, pretrained=False,
                                  use_pooler=True, use_decoder=False, use_classifier=False)
    net = nlp.model.BERTClassifier(bert, num_classes=8, dropout=0.1)
    net.initialize(mx.init.Normal(0.02))
    ids = mx.nd.array([[2, 3]])
    net(ids, mx.nd.zeros_like(ids), mx.nd.array([2]))
    path = str(tmp_path_factory.mktemp('original') / 'ko-news-clf-gluon-weight.pth')
    net.save_parameters(path)
    return path


@pytest.fixture(scope='session')
def tiny_weight(tmp_path_factory, tokenizer):
    return make_weight(tmp_path_factory.mktemp('weight') / 'tiny.params', tokenizer)


def run_script(script, *args, cwd=ROOT, env_extra=None, timeout=600):
    """A root script (main.py, train.py) or a kobert-news command (explain, export, ...) as a user runs it,
    in its own process: for exit codes, signals and restarts."""
    env = dict(os.environ)
    if KOBERT_HOME:
        env['KOBERT_HOME'] = KOBERT_HOME
    env.update(env_extra or {})
    command = [os.path.join(ROOT, script)] if script.endswith('.py') else ['-m', 'kobert_news', script]
    return subprocess.run([sys.executable] + command + [str(a) for a in args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def run_main(*args, **kw):
    return run_script('main.py', *args, **kw)


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def call(capsys):
    """A command's cli() in this process, as the user would run it: call('predict', '--data_path', ...)
    -> Result(returncode, stdout, stderr)."""
    import importlib

    def run(command, *args):
        if KOBERT_HOME:
            os.environ.setdefault('KOBERT_HOME', KOBERT_HOME)
        capsys.readouterr()
        module = importlib.import_module('kobert_news.cli.' + command)
        code = module.cli([str(a) for a in args])
        out, err = capsys.readouterr()
        return Result(code, out, err)
    return run


@pytest.fixture(scope='session')
def browser(tmp_path_factory):
    """A headless Chromium driven by selenium (tests/browser.py), with a fresh profile. Skips, saying
    why, only where the browser or selenium is not installed (`make browser` installs the browser)."""
    from tests import browser as chromium
    why = chromium.missing()
    if why:
        pytest.skip(why)
    driver = chromium.start(tmp_path_factory.mktemp('chromium-profile'))
    yield driver
    driver.quit()
