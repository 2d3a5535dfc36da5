"""Project-wide definitions: topics, text layouts, model configurations, where files live.

Plain data and small pure functions: importing this module does no work. The command-line
options, with their help and ranges, are in kobert_news.options.
"""
import os
from dataclasses import asdict, dataclass

# The original's fixed label order; label id = position in this tuple.
TOPICS = ('international', 'economy', 'society', 'sport', 'it', 'politics', 'entertain', 'culture')

# Korean names (YNAT's, and 연예 for entertainment): figures show them, and topic columns accept them.
TOPICS_KO = {'international': '세계', 'economy': '경제', 'society': '사회', 'sport': '스포츠', 'it': 'IT과학',
             'politics': '정치', 'entertain': '연예', 'culture': '생활문화'}


def untrained_topics(topics, labels):
    """The topics (in label order) that no label id in labels names: what a weight trained on
    labels never saw, and so cannot predict (its description records them)."""
    seen = {int(i) for i in labels}
    return [t for i, t in enumerate(topics) if i not in seen]


def untrained_note(untrained):
    """The one line that says which topics a weight cannot predict."""
    names = ', '.join('%s (%s)' % (t, TOPICS_KO[t]) if t in TOPICS_KO else t for t in untrained)
    return 'this weight was never trained on %s: it cannot predict %s' % (
        names, 'that topic' if len(untrained) == 1 else 'those topics')


def topic_key(name):
    """The topic a label names, in English or Korean (case and surrounding spaces ignored), or None."""
    key = str(name).strip().lower()
    if key in TOPICS:
        return key
    for topic, korean in TOPICS_KO.items():
        if key == korean.lower():
            return topic
    return None


# The original's text layouts (its src/preprocess/processor.py): mode 3 has a double colon and six
# spaces, mode 4 one colon and five. Spaces collapse in the tokenizer; the colon is a token.
TEXT_FORMATS = {3: '기사제목:: {title}      기사본문: {body}', 4: '기사제목: {title}     기사본문: {body}'}
CLUSTER_PREFIX = '군집 {cluster} '  # mode 4: "군집 3 기사제목: ... 기사본문: ..."
MODES = {1: 'body only', 2: 'title only', 3: 'title + body',
         4: 'title + body, cluster id in the text', 5: 'title + body, cluster vector at [CLS]'}
CLUSTER_MODES = (4, 5)


# Integrated gradients (kobert_gluon.attribution): points on the path by default and at most, and
# the token whose embedding the baseline puts at every position but [CLS] and [SEP] (the first is
# the default; bench/bench_explain.py measures both).
EXPLAIN_STEPS = 50
EXPLAIN_MAX_STEPS = 1000
EXPLAIN_BASELINES = ('pad', 'mask')
# Word occlusion (kobert_news.explain.occlusion): what stands in for each word in turn, its tokens
# removed or each replaced by [MASK] or [PAD] (the first is the default; bench/bench_explain.py
# measures all three). The methods: occlusion runs on any engine, integrated gradients on a weight file.
OCCLUSION_BASELINES = ('remove', 'mask', 'pad')
EXPLAIN_METHODS = ('occlusion', 'integrated_gradients')


def no_text(mode):
    """The explanation of a row without text for the mode: kept, unexplained."""
    return {'text': '', 'topic': None, 'probability': None, 'target': None, 'probabilities': None,
            'words': [], 'attributions': [], 'words_read': 0, 'reason': 'no text for mode %d' % mode}


def target_id(topics, topic):
    """The label id of the topic to explain (None: each article's predicted topic)."""
    if topic is None:
        return None
    if topic not in topics:
        raise UserError('unknown target topic %r: this weight knows %s' % (topic, ', '.join(topics)))
    return list(topics).index(topic)


class UserError(Exception):
    """A problem with the user's input or files: shown as one line, never a traceback."""


@dataclass(frozen=True)
class ModelConfig:
    """Shape of a BERT body. ``kobert`` is bert_12_768_12 on KoBERT's 8002-token vocabulary."""
    name: str
    num_layers: int
    units: int
    hidden_size: int
    num_heads: int
    max_length: int = 512
    vocab_size: int = 8002
    dropout: float = 0.1

    def to_dict(self):
        return asdict(self)

    def shape(self):
        """What a params file can tell about the architecture (dropout and heads it cannot)."""
        return (self.num_layers, self.units, self.hidden_size, self.max_length, self.vocab_size)


MODEL_CONFIGS = {
    'kobert': ModelConfig('kobert', num_layers=12, units=768, hidden_size=3072, num_heads=12),
    'small': ModelConfig('small', num_layers=4, units=256, hidden_size=1024, num_heads=4),
    'tiny': ModelConfig('tiny', num_layers=2, units=128, hidden_size=512, num_heads=2),
}

# ---------------------------------------------------------------- where files live

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
# The page to try the classifier (index.html, app.js, style.css), served by the web app.
WEB_DIR = os.path.join(PACKAGE_DIR, 'web')
# A source checkout: the folder above the package (weights/, data/ and the root scripts are there).
CHECKOUT_DIR = os.path.dirname(PACKAGE_DIR)
# The original's weight file name; in a checkout, weights/ is where its README says to put it.
ORIGINAL_WEIGHT = 'ko-news-clf-gluon-weight.pth'
# The shipped default (weights/README.md); the wheel carries it as kobert_news/weights/.
DEFAULT_WEIGHT = 'kobert-news-small-ynat.pth'
SAMPLE_CSV = 'sample.csv'


def weights_dirs():
    """The wheel's package data, then a checkout's weights/."""
    return [os.path.join(PACKAGE_DIR, 'weights'), os.path.join(CHECKOUT_DIR, 'weights')]


def default_weight():
    """(path, why): the original's weight where its README says to put it, else the shipped default."""
    for folder in ('weights', os.path.join(CHECKOUT_DIR, 'weights')):
        path = os.path.join(folder, ORIGINAL_WEIGHT)
        if os.path.isfile(path):
            return path, "the original's weight"
    for folder in weights_dirs():
        path = os.path.join(folder, DEFAULT_WEIGHT)
        if os.path.isfile(path):
            return path, 'the default weight'
    return None, 'no weight: neither %s nor the default %s was found' % (ORIGINAL_WEIGHT, DEFAULT_WEIGHT)


def sample_csv():
    """The 24 sample articles (data/sample.csv of a checkout, or the wheel's copy)."""
    for folder in (os.path.join(PACKAGE_DIR, 'data'), os.path.join(CHECKOUT_DIR, 'data')):
        path = os.path.join(folder, SAMPLE_CSV)
        if os.path.isfile(path):
            return path
    return None


def cache_root():
    root = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(root, 'kobert-news')


def default_cache_dir(kind, cache_dir=None):
    """<cache_dir>/<kind>, by default ~/.cache/kobert-news/<kind>: sentence embeddings, int8 models."""
    return os.path.join(cache_dir or cache_root(), kind)
