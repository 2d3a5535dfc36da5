"""The page to try the classifier (kobert_news/web): index.html at /, its script and style under
/web, and the Hangul font its style asks for, web/fonts/NanumGothic.woff (NanumGothic as WOFF,
shipped with the page: kobert_news.reports.fonts makes it). Everything the page uses comes from this
server: its Content-Security-Policy allows nothing else."""
import os

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse
from starlette.staticfiles import StaticFiles

from kobert_base.paths import WEB_DIR
from kobert_news.reports.fonts import WEB_FONT, WEB_FONT_NAME

POLICY = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
          "frame-ancestors 'none'")


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
    # Named here: not every Python's mimetypes knows .woff.
    if not os.path.isfile(WEB_FONT):
        raise HTTPException(404, 'no Hangul font on this server (%s is missing from the install)' % WEB_FONT_NAME)
    return FileResponse(WEB_FONT, media_type='font/woff', headers={'Cache-Control': 'public, max-age=86400'})
