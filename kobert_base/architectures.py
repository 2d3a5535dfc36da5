"""The BERT bodies a weight can have (KoBERT's size and the smaller ones the tests and the default weight
use), and the precisions a model runs at."""
from dataclasses import asdict, dataclass

@dataclass(frozen=True)
class Architecture:
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


ARCHITECTURES = {
    'kobert': Architecture('kobert', num_layers=12, units=768, hidden_size=3072, num_heads=12),
    'small': Architecture('small', num_layers=4, units=256, hidden_size=1024, num_heads=4),
    'tiny': Architecture('tiny', num_layers=2, units=128, hidden_size=512, num_heads=2),
}

# Every precision, listed here only: the option's choices, the Gluon engine's preparation
# (kobert_gluon.precision), the export folder's models and the benchmarks read it.
PRECISIONS = ('fp32', 'bf16', 'int8')
