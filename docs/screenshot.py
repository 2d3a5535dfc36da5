"""The README's picture of the page: kobert-news serve with the default weight on a loopback port, a
headline submitted in headless Chromium (tests/browser.py), the page saved as a PNG.

    KOBERT_HOME=... .venv/bin/python docs/screenshot.py docs/web-page.png
"""
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from kobert_base.paths import default_weight  # noqa: E402
from tests import browser as chromium  # noqa: E402
from tests.served import Served  # noqa: E402

ARTICLE = ('코스피, 외국인 매수에 2600선 회복…반도체株 강세',
           '코스피가 외국인과 기관의 동반 매수에 힘입어 2600선을 회복했다. 반도체 업종이 상승을 이끌었다.')
WAIT = 120  # seconds


def main(out):
    from selenium.webdriver.support.ui import WebDriverWait
    why = chromium.missing()
    if why:
        sys.exit('error: ' + why)
    server = Served(default_weight()[0])
    try:
        with tempfile.TemporaryDirectory() as profile:
            driver = chromium.start(profile, width=1000, height=1000)
            try:
                driver.get(server.url('/'))
                driver.execute_script("document.getElementById('title').value = arguments[0];"
                                      "document.getElementById('body').value = arguments[1];"
                                      "document.getElementById('classify').click();", *ARTICLE)
                WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(
                    "return document.querySelectorAll('#words .w').length > 0 && document.fonts.status === 'loaded'"
                    " && document.getElementById('classify').disabled === false"))
                chromium.full_page_screenshot(driver, out)
            finally:
                driver.quit()
    finally:
        server.stop()
    print('wrote %s (%d KB)' % (out, os.path.getsize(out) >> 10))


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'docs', 'web-page.png'))
