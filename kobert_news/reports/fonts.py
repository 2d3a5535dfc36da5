"""A Hangul font for pages: NanumGothic from the pinned koreanize-matplotlib package, served whole by
the web app or cut down to the characters a report uses and embedded in it, so Korean renders on
machines without a Korean system font and no page loads anything from outside. Both go through
fontTools as WOFF: browsers refuse the .ttf itself (its empty TSI3 hinting table fails their font
sanitizer). The web app's copy is made here once and shipped with the page (WEB_FONT, written by
write_web_font; a test checks it is still what web_font makes), so the server needs neither
matplotlib nor fontTools: the deploy server runs without them."""
import base64
import functools
import importlib.util
import io
import logging
import os

from kobert_base.paths import WEB_DIR

log = logging.getLogger('kobert_news.fonts')

FAMILY = 'KoNews Hangul'
# System fonts with Hangul, tried first (Linux, macOS, Windows); the embedded or served font after them.
STACK = ("'Noto Sans KR', 'Noto Sans CJK KR', 'Apple SD Gothic Neo', 'Malgun Gothic', 'NanumGothic', "
         "'Nanum Gothic', '%s', sans-serif" % FAMILY)
_WARNED = []


def hangul_font_file():
    """Path of NanumGothic.ttf (koreanize-matplotlib's copy), or None."""
    spec = importlib.util.find_spec('koreanize_matplotlib')
    if spec and spec.submodule_search_locations:
        path = os.path.join(spec.submodule_search_locations[0], 'fonts', 'NanumGothic.ttf')
        if os.path.isfile(path):
            return path
    return None


# Hinting sources (Microsoft VTT) that fontTools cannot cut and browsers reject when empty.
DROPPED_TABLES = ['TSI0', 'TSI1', 'TSI2', 'TSI3', 'TSI5']
WEB_FONT_NAME = 'NanumGothic.woff'  # the name the page's style.css asks for, beside it under fonts/
WEB_FONT = os.path.join(WEB_DIR, 'fonts', WEB_FONT_NAME)  # the copy the web app serves


def _woff(text=None):
    """NanumGothic as WOFF bytes, cut down to text's characters (all of it without text), or None
    with one warning when the font or fontTools is missing."""
    path = hangul_font_file()
    try:
        from fontTools import subset
    except ImportError:
        path = None
    if path is None:
        if not _WARNED:
            _WARNED.append(True)
            log.warning('no Hangul font to embed or serve (pip install koreanize-matplotlib fonttools): pages '
                        'rely on a Korean system font')
        return None
    options = subset.Options()
    options.flavor = 'woff'
    options.drop_tables += DROPPED_TABLES
    font = subset.load_font(path, options)
    cutter = subset.Subsetter(options)
    if text is None:
        cutter.populate(unicodes=font.getBestCmap().keys())
    else:
        cutter.populate(text=''.join(sorted(set(text) - set(' \t\r\n'))) or ' ')
    cutter.subset(font)
    out = io.BytesIO()
    subset.save_font(font, out, options)
    return out.getvalue()


@functools.lru_cache(maxsize=1)
def web_font():
    """The whole NanumGothic as WOFF bytes (made once per process, about 2 s), what the web app serves
    as fonts/NanumGothic.woff beside the page's style.css; None without the font."""
    return _woff()


def write_web_font(path=WEB_FONT):
    """Write web_font() where the web app serves it from (after a change of the font's package)."""
    from kobert_base.atomic import atomic_path
    data = web_font()
    if data is None:
        raise RuntimeError('no Hangul font to write: pip install koreanize-matplotlib fonttools')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, 'wb') as f:
        f.write(data)
    return path


def embedded_font_face(text):
    """A CSS @font-face rule with NanumGothic cut down to text's characters (WOFF, base64), or ''
    when there is no font to embed (the page then relies on system fonts)."""
    data = _woff(text)
    if data is None:
        return ''
    return "@font-face{font-family:'%s';src:url(data:font/woff;base64,%s) format('woff');}" % (
        FAMILY, base64.b64encode(data).decode('ascii'))
