"""What explanations share on every engine: their methods, baselines, steps, and the target topic."""
from kobert_base.errors import UserError

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
