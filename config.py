"""Project-wide definitions: topics, model configurations and run-time defaults.

Everything here is plain data: importing this module does no work.
"""
import os
from dataclasses import asdict, dataclass, field

# The original's fixed label order; label id = position in this tuple.
TOPICS = ('international', 'economy', 'society', 'sport', 'it', 'politics', 'entertain', 'culture')

# Korean names, for figures (YNAT's names where YNAT has the topic).
TOPICS_KO = {'international': '세계', 'economy': '경제', 'society': '사회', 'sport': '스포츠', 'it': 'IT과학',
             'politics': '정치', 'entertain': '연예', 'culture': '생활문화'}

# Text layout of mode 3 (and 4): the original's Korean field markers.
TITLE_BODY_FORMAT = '기사제목: {title} 기사본문: {body}'
MODES = {1: 'body only', 2: 'title only', 3: 'title + body',
         4: 'title + body, cluster id in the text', 5: 'title + body, cluster vector at [CLS]'}
CLUSTER_MODES = (4, 5)

PROJECT_ROOT = os.path.dirname(os.path.abspath(__file__))
DEFAULT_WEIGHT = os.path.join('weights', 'ko-news-clf-gluon-weight.pth')
DEFAULT_DATA = os.path.join('data', 'sample.csv')


def default_cache_dir(kind):
    """~/.cache/kobert-news/<kind> (or under $XDG_CACHE_HOME): sentence embeddings, int8 models."""
    root = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(root, 'kobert-news', kind)


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


@dataclass
class Columns:
    """CSV column names (the original's by default)."""
    title: str = 'title'
    body: str = 'cleanBody'
    label: str = 'category'


@dataclass
class PredictConfig:
    """What main.py needs to run a prediction job."""
    weight_path: str = DEFAULT_WEIGHT
    data_path: str = DEFAULT_DATA
    save_path: str = None
    mode: int = None          # None: the mode the weight was trained with
    max_len: int = None       # None: the weight's max_len
    batch_size: int = 32
    top_k: int = 1
    encoding: str = None      # None: detect UTF-8 (with or without BOM) or CP949
    kobert_dir: str = None
    cache_dir: str = None
    precision: str = 'fp32'   # fp32, bf16 or int8
    calib_path: str = None    # int8: CSV of texts to calibrate on (default: a sample of the input)
    columns: Columns = field(default_factory=Columns)


@dataclass
class TrainConfig:
    """A training run: the original's recipe as defaults (bertadam, warmup 10%, accumulation 4)."""
    data_path: str = None         # training CSV (split test_size off it when eval_path is None)
    eval_path: str = None
    output_dir: str = os.path.join('runs', 'run')
    test_size: float = 0.3        # the original's 7:3 split, stratified
    mode: int = 2
    model: str = 'small'          # a MODEL_CONFIGS name
    pretrained: str = 'auto'      # auto: KoBERT's body for 'kobert' when available; none; or a path
    max_len: int = 128
    batch_size: int = 32
    epochs: int = 20
    lr: float = 5e-5
    epsilon: float = 1e-9
    weight_decay: float = 0.01    # not on LayerNorm gamma/beta nor biases
    warmup_ratio: float = 0.1
    accumulate: int = 4
    max_grad_norm: float = 1.0
    dropout: float = 0.1
    token_dropout: float = 0.0    # share of tokens replaced by [MASK] in training batches
    embed_init: str = 'random'    # or 'lsa': word embeddings from the training texts (scratch only)
    clusters: int = 16            # modes 4 and 5: k of k-means
    base_mode: int = 3            # modes 4 and 5: their article text (3 title + body, 2 title, 1 body)
    cluster_encoder: str = 'use'  # use, sbert or kobert:<weight>
    cache_dir: str = None         # embedding cache (default ~/.cache/kobert-news/embeddings)
    patience: int = 5             # epochs without improvement before stopping; 0: never stop early
    early_stop: str = 'accuracy'  # or 'macro_f1'
    num_buckets: int = 10         # length buckets of the batch sampler; 1: one shuffled pool
    log_interval: int = 50        # batches between log lines
    seed: int = 42
    encoding: str = None
    kobert_dir: str = None
    title_column: str = 'title'
    body_column: str = 'cleanBody'
    label_column: str = 'category'

    def columns(self):
        return Columns(self.title_column, self.body_column, self.label_column)

    def to_dict(self):
        return asdict(self)
