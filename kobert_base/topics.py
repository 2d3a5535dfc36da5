"""The eight topics in the original's label order, their Korean names, and what a weight never saw."""

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
