"""The "Why this topic?" report: one self-contained HTML page (no script, no outside resource) with
each article's predicted topic, its topic probabilities as bars, and its words shaded by attribution.
It renders the JSON objects kobert-news explain writes (kobert_news.explain: occlusion or integrated gradients)."""
import html

from kobert_base.topics import TOPICS_KO
from kobert_news.reports.fonts import STACK, embedded_font_face

METHOD_NAMES = {'integrated_gradients': 'integrated gradients', 'occlusion': 'word occlusion'}
OCCLUDED = {'remove': 'removed', 'mask': 'replaced by [MASK]', 'pad': 'replaced by [PAD]'}
# Words past max_len are shown (greyed) up to this many, then counted: a 100,000-character article
# makes no 15,000-span report.
UNREAD_SHOWN = 60

STYLE = """
body{font-family:%(stack)s;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1d1d1f;line-height:1.5}
h1{font-size:1.6rem;margin-bottom:.2rem}.meta,.note{color:#555;font-size:.9rem}
article{border:1px solid #ddd;border-radius:8px;padding:1rem 1.2rem;margin:1.2rem 0}
article h2{font-size:1.1rem;margin:0 0 .6rem}.record{color:#777;font-weight:normal;margin-right:.4rem}
.bars{display:grid;grid-template-columns:max-content 1fr 4rem;gap:.15rem .6rem;align-items:center;
font-size:.85rem;margin-bottom:.8rem}.track{display:block;background:#eee;border-radius:3px;height:.8rem}
.fill{display:block;background:#4a78c2;height:100%%;border-radius:3px}.best .fill{background:#1f4f9c}
.best{font-weight:bold}.num{text-align:right;font-variant-numeric:tabular-nums}
.words{font-size:1.15rem;line-height:2.1;margin:.4rem 0;word-break:keep-all;overflow-wrap:anywhere}
.w{padding:.15rem .25rem;border-radius:4px;margin-right:.1rem}.unread{color:#999;border-bottom:1px dotted #bbb}
.legend .w{font-size:.95rem}.empty{color:#999;font-style:italic}
"""


def _color(value, scale):
    """Blue for words that raise the explained topic's logit, red for those that lower it."""
    if not scale or not value:
        return 'transparent'
    alpha = 0.08 + 0.72 * min(abs(value) / scale, 1.0)
    return 'rgba(%s,%.3f)' % ('37,99,235' if value > 0 else '220,38,38', alpha)


def topic_name(topic):
    """'경제 (economy)' for a topic id."""
    return '%s (%s)' % (TOPICS_KO[topic], topic) if topic in TOPICS_KO else str(topic)


def _bars(result):
    probs = sorted(result['probabilities'].items(), key=lambda kv: -kv[1])
    rows = []
    for topic, p in probs:
        best = ' class="best"' if topic == result['topic'] else ''
        rows.append('<span%s>%s</span><span class="track"><span class="fill" style="width:%.1f%%"></span></span>'
                    '<span class="num%s">%.3f</span>' % (best, html.escape(topic_name(topic)), 100 * p,
                                                         ' best' if best else '', p))
    return '<div class="bars" role="table" aria-label="topic probabilities">%s</div>' % ''.join(rows)


def _words(result):
    words, attributions, read = result['words'], result['attributions'], result['words_read']
    scale = max((abs(a) for a in attributions), default=0.0)
    spans = ['<span class="w" style="background:%s" title="%+.4f">%s</span>'
             % (_color(a, scale), a, html.escape(w)) for w, a in zip(words[:read], attributions[:read])]
    unread = words[read:]
    spans += ['<span class="w unread" title="not read (past max_len)">%s</span>' % html.escape(w)
              for w in unread[:UNREAD_SHOWN]]
    if len(unread) > UNREAD_SHOWN:
        spans.append('<span class="note">... and %d more words not read</span>' % (len(unread) - UNREAD_SHOWN))
    return '<p class="words" lang="ko">%s</p>' % ' '.join(spans)


def _article(n, result):
    if result.get('topic') is None:
        return ('<article><h2><span class="record">#%d</span><span class="empty">%s: not classified</span></h2>'
                '</article>' % (n, html.escape(result.get('reason', 'no text'))))
    head = '<h2><span class="record">#%d</span>%s <span class="num">%.3f</span></h2>' % (
        n, html.escape(topic_name(result['topic'])), result['probability'])
    notes = []
    if result['target'] != result['topic']:
        notes.append('words shaded for %s' % topic_name(result['target']))
    if result['words_read'] < len(result['words']):
        notes.append('%d of %d words read (max_len); the rest count 0' % (result['words_read'], len(result['words'])))
    if result.get('logit_change') is not None:
        notes.append('attributions sum to the logit change %+.3f (relative error %.1e)'
                     % (result['logit_change'], result['completeness_error']))
    elif result.get('method') == 'occlusion':
        notes.append("each word's value: the drop in the topic's probability when it is %s"
                     % OCCLUDED.get(result.get('baseline'), 'taken out'))
    return '<article>%s%s%s<p class="note">%s</p></article>' % (
        head, _bars(result), _words(result), html.escape('; '.join(notes)))


def _shown_text(results):
    """Every character the page shows, for the embedded font."""
    parts = [topic_name(t) for r in results for t in (r.get('probabilities') or {})]
    for r in results:
        read = r.get('words_read', 0)
        parts += r.get('words', [])[:read + UNREAD_SHOWN]
    return ''.join(parts) + '가나다 0123456789.,:;+-()#%'


def method_name(results):
    """How the results were computed, in words: the method of those explained (kobert-news explain runs one)."""
    methods = {r.get('method', 'integrated_gradients') for r in results if r.get('topic') is not None}
    return ' and '.join(METHOD_NAMES.get(m, m) for m in sorted(methods)) or 'no article explained'


def render(results, title='Why this topic?', details=''):
    """The report's HTML for kobert-news explain's JSON objects; details: one line about the run."""
    legend = ('<p class="legend note">Each article: its predicted topic and probability, every topic\'s '
              'probability, and its words shaded by how much they raised '
              '<span class="w" style="background:%s">this topic</span> or lowered '
              '<span class="w" style="background:%s">it</span> (%s; hover a word for '
              'its value).</p>' % (_color(1, 1), _color(-1, 1), html.escape(method_name(results))))
    body = ''.join(_article(n, r) for n, r in enumerate(results, 1))
    return ('<!DOCTYPE html>\n<html lang="ko"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<title>%s</title><style>%s%s</style></head>\n<body><h1>%s</h1><p class="meta">%s</p>%s\n%s\n'
            '</body></html>\n' % (html.escape(title), embedded_font_face(_shown_text(results) + title + details),
                                  STYLE % {'stack': STACK}, html.escape(title), html.escape(details), legend, body))
