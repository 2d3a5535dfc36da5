"""Word occlusion: a word's attribution is how much the target topic's probability drops when the
word is taken out of the article (Captum's FeatureAblation, with words as the features).

No gradients: the engine is only asked for probabilities, so any engine runs it, ONNX Runtime's
on an export folder (the deploy path) as well as the Gluon predictor, and both give the same
numbers (to fp32 rounding) on the same export.

The words are the text's whitespace-separated words. The tokenizer splits on whitespace before
anything else, so a word's tokens alone are its tokens in the text, and together they are the ids
the engine reads (kobert_gluon.attribution.word_pieces says why). They are read up to max_len, as
the engine reads the text; words past it are not read and get 0. A word is taken out by a
baseline: 'remove' drops its tokens, 'mask' and 'pad' put [MASK] or [PAD] in place of each of
them. The article and its occluded copies (at most max_len - 1 inputs) go to the engine together,
GROUP articles per batched call. Modes 4 and 5: the article is placed in its cluster once, from
its own text; mode 4's cluster id is words of the text, occluded like the others, and mode 5's
cluster vector stays the article's in every copy.
"""
from dataclasses import dataclass

import numpy as np

from kobert_base.errors import UserError
from kobert_base.explanations import OCCLUSION_BASELINES, no_text, target_id
from kobert_base.modes import CLUSTER_MODES
from preprocess.reading import MAX_WORD_CHARS

GROUP = 16  # articles whose occluded copies go to the engine in one call: a /explain request's at most


@dataclass
class Occluded:
    """One article: its words, each word's attribution to the target topic, and the model's view."""
    text: str
    words: list
    attributions: np.ndarray  # per word: p(target) - p(target with the word taken out); 0 past max_len
    probs: np.ndarray         # topic probabilities of the article
    target: int               # topic id explained
    words_read: int
    baseline: str

    def to_dict(self, topics):
        """JSON-ready, in the shape of kobert_gluon.attribution.Explanation.to_dict."""
        best = int(np.argmax(self.probs))
        return {'text': self.text, 'topic': topics[best], 'probability': float(self.probs[best]),
                'target': topics[self.target], 'probabilities': {t: float(p) for t, p in zip(topics, self.probs)},
                'words': list(self.words), 'attributions': [float(a) for a in self.attributions],
                'words_read': self.words_read, 'method': 'occlusion', 'baseline': self.baseline}


def word_pieces(engine, text, need):
    """(words, token ids of each word read): the words are text.split(); those read are the ones
    within the text's first `need` tokens (the last one cut there). Words are tokenized a chunk at
    a time, of at most `need` words and about need x MAX_WORD_CHARS characters (a token is never
    longer), until `need` tokens are found: a long text costs what max_len allows."""
    words, pieces, total, start = text.split(), [], 0, 0
    budget = need * MAX_WORD_CHARS
    while total < need and start < len(words):
        chunk, size = [], 0
        for w in words[start:start + need]:
            chunk.append(w[:budget])
            size += len(chunk[-1])
            if size >= budget:
                break
        start += len(chunk)
        for own in engine.piece_ids(chunk):
            if total >= need:
                break
            pieces.append(list(own[:need - total]))
            total += len(pieces[-1])
    return words, pieces


def occlude(ids, start, length, baseline, specials):
    """ids with ids[start:start + length] removed, or each replaced by the baseline's token."""
    if baseline == 'remove':
        return ids[:start] + ids[start + length:]
    return ids[:start] + [specials[baseline]] * length + ids[start + length:]


class Occlusion:
    """Word occlusion over an engine (kobert_news.engines: the Gluon predictor or OnnxEngine)."""
    method = 'occlusion'

    def __init__(self, engine):
        self.engine, self.topics, self.mode, self.meta = engine, list(engine.topics), engine.mode, engine.meta

    def topic_id(self, topic):
        return target_id(self.topics, topic)

    def explain(self, texts, target=None, baseline=OCCLUSION_BASELINES[0], progress=False):
        """An Occluded per article text (the mode's text, as predict_articles takes it), None for
        ''. target: a topic name, by default each article's predicted topic."""
        if baseline not in OCCLUSION_BASELINES:
            raise UserError('occlusion baseline must be one of %s, not %r' % (', '.join(OCCLUSION_BASELINES), baseline))
        topic = self.topic_id(target)
        texts = list(texts)
        rows = [i for i, t in enumerate(texts) if t]
        out = [None] * len(texts)
        starts = range(0, len(rows), GROUP)
        if progress:
            from kobert_base.progress import Progress
            starts = Progress(starts, desc='explain', unit='group of %d' % GROUP)
        for start in starts:
            group = rows[start:start + GROUP]
            for i, e in zip(group, self._group([texts[i] for i in group], topic, baseline)):
                out[i] = e
        return out

    def results(self, texts, target=None, baseline=OCCLUSION_BASELINES[0], progress=False, text_mode=None):
        """JSON-ready objects, one per text; a row without text says so, naming text_mode (the mode
        its text was built for, by default the weight's)."""
        return [e.to_dict(self.topics) if e else no_text(text_mode or self.mode)
                for e in self.explain(texts, target, baseline, progress)]

    def _group(self, texts, topic, baseline):
        """The Occluded of each text, from one batched call of the engine."""
        clusters = None
        if self.mode in CLUSTER_MODES:
            texts, placed = self.engine.place(texts)
            clusters = list(placed) if self.mode == 5 else None
        specials = self.engine.special_ids()
        inputs, owner, read = [], [], []
        for a, text in enumerate(texts):
            words, pieces = word_pieces(self.engine, text, self.engine.max_len - 2)
            ids = [specials['cls']] + [p for own in pieces for p in own] + [specials['sep']]
            inputs.append(ids)
            owner.append(a)
            start = 1
            for own in pieces:  # a word without tokens is not read: its copy would be the article
                if own:
                    inputs.append(occlude(ids, start, len(own), baseline, specials))
                    owner.append(a)
                start += len(own)
            read.append((words, pieces))
        probs = self.engine.predict_ids(inputs, clusters=None if clusters is None else [clusters[a] for a in owner])
        out, at = [], 0
        for text, (words, pieces) in zip(texts, read):
            full = probs[at].astype(np.float64)
            t = int(np.argmax(full)) if topic is None else topic
            attributions = np.zeros(len(words), dtype=np.float64)
            k = at + 1
            for w, own in enumerate(pieces):
                if own:
                    attributions[w] = full[t] - float(probs[k, t])
                    k += 1
            out.append(Occluded(text, words, attributions, probs[at], t, len(pieces), baseline))
            at = k
        return out
