"""The page to try the classifier (kobert_news/web): index.html at /, its script and style under
/web, and the Hangul font its style asks for, web/fonts/NanumGothic.woff: NanumGothic as WOFF from
kobert_news.reports.fonts, made on the first request (about 2 s, in a worker thread) and kept.
Everything the page uses comes from this server: its Content-Security-Policy allows nothing else."""
import os
import threading

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

from kobert_news.config import WEB_DIR
from kobert_news.reports.fonts import WEB_FONT_NAME, web_font

POLICY = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
          "frame-ancestors 'none'")
_making_font = threading.Lock()  # two first visitors make the font once


def add_web(app):
    """The page's routes, where kobert_news/web is there (an install without it serves the API only)."""
    index = os.path.join(WEB_DIR, 'index.html')
    if not os.path.isfile(index):
        return
    app.add_api_route('/', lambda: FileResponse(index, headers={'Content-Security-Policy': POLICY}),
                      include_in_schema=False)
    app.add_api_route('/web/fonts/' + WEB_FONT_NAME, font, include_in_schema=False)
    app.mount('/web', StaticFiles(directory=WEB_DIR), name='web')


async def font():
    data = await run_in_threadpool(_font)
    if data is None:
        raise HTTPException(404, 'no Hangul font on this server (koreanize-matplotlib and fonttools are missing)')
    return Response(data, media_type='font/woff', headers={'Cache-Control': 'public, max-age=86400'})


def _font():
    with _making_font:
        return web_font()
