"""The page to try the classifier (kobert_news/web), in a real headless Chromium, against a loopback
server whose routes run the real library on a real (tiny) weight: an article classified and
explained word by word, a CSV, and every bad input shown as a message on a page that keeps working."""
import os

import pytest

from kobert_news.config import TOPICS_KO
from tests.conftest import ROOT

WAIT = 120  # seconds: the loaded CI machine is slow; a working page answers far sooner
SAMPLE = os.path.join(ROOT, 'data', 'sample.csv')
ARTICLE = {'title': '한국은행, 기준금리 0.25%p 인상…"물가 안정 우선"',
           'body': '한국은행 금융통화위원회가 기준금리를 연 3.5%로 올렸다. 소비자물가 상승률이 높다.'}


@pytest.fixture(scope='module')
def classifier(tiny_weight, kobert_home):
    from kobert_news.api import Classifier
    return Classifier.load(tiny_weight, kobert_dir=kobert_home)


@pytest.fixture(scope='module')
def page(classifier, browser, tmp_path_factory):
    from tests.web_server import PageServer
    with PageServer(classifier, tmp_path_factory.mktemp('uploads')) as server:
        yield server


def wait(browser, condition, timeout=WAIT):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(browser, timeout, poll_frequency=0.1).until(condition)


def open_page(browser, page):
    browser.get(page.url)
    wait(browser, lambda d: d.execute_script("return document.readyState === 'complete' && "
                                             "document.getElementById('target').options.length === 9"))


def by_id(browser, name):
    return browser.find_element('id', name)


def submit_article(browser, title, body):
    # Set through the DOM: typing 100,000 characters key by key would take minutes.
    browser.execute_script("document.getElementById('title').value = arguments[0];"
                           "document.getElementById('body').value = arguments[1];", title, body)
    by_id(browser, 'classify').click()


def settled(browser):
    """Wait until no request is in flight (the buttons are enabled again)."""
    wait(browser, lambda d: by_id(d, 'classify').is_enabled() and not by_id(d, 'status').is_displayed())


def message(browser):
    box = by_id(browser, 'message')
    return box.text if box.is_displayed() else ''


def shown_words(browser):
    return browser.execute_script("return Array.from(document.querySelectorAll('#words .w')).map("
                                  "s => [s.textContent, s.title, s.classList.contains('unread')])")


def test_article_is_classified_and_explained(browser, page, classifier, tmp_path):
    open_page(browser, page)
    submit_article(browser, ARTICLE['title'], ARTICLE['body'])
    wait(browser, lambda d: shown_words(d))
    settled(browser)
    assert message(browser) == ''
    expected = classifier.explain([ARTICLE])[0]
    # The bars: every topic, most likely first, as the library computed them.
    bars = browser.execute_script("return Array.from(document.querySelectorAll('#bars .name')).map("
                                  "(n, i) => [n.textContent, document.querySelectorAll('#bars .num')[i].textContent])")
    ranked = sorted(expected['probabilities'].items(), key=lambda kv: -kv[1])
    assert bars == [['%s (%s)' % (TOPICS_KO[t], t), '%.3f' % p] for t, p in ranked]
    assert by_id(browser, 'result-topic').text.startswith('%s (%s)' % (TOPICS_KO[expected['topic']], expected['topic']))
    # The words: the model text's words in order, each with its attribution.
    words = shown_words(browser)
    assert [w for w, _, _ in words] == expected['words']
    assert [float(t) for _, t, _ in words] == pytest.approx(expected['attributions'], abs=1e-4)
    # Hangul is drawn with the font the server serves, not left to whatever the machine has.
    faces = browser.execute_async_script("const done = arguments[0]; document.fonts.load("
                                         "'16px \"KoNews Hangul\"', '가').then(f => done(f.length), () => done(-1));")
    assert faces == 1
    from tests.browser import full_page_screenshot
    shot = full_page_screenshot(browser, tmp_path / 'page.png')
    assert shot.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_empty_text_is_refused_on_the_page(browser, page):
    open_page(browser, page)
    submit_article(browser, '   ', '\n')
    wait(browser, message)
    assert 'Enter a title or a body' in message(browser)
    assert not by_id(browser, 'result').is_displayed()


def test_100000_character_text(browser, page, classifier):
    open_page(browser, page)
    body = ('국회는 오늘 본회의를 열어 예산안을 처리했다. ' * 4000)[:100000]
    submit_article(browser, '예산안 국회 통과', body)
    wait(browser, lambda d: shown_words(d))
    settled(browser)
    assert message(browser) == ''
    words = shown_words(browser)
    read = [w for w in words if not w[2]]
    unread = [w for w in words if w[2]]
    assert 0 < len(read) < 64 and len(unread) == 60  # max_len 64 pieces read; 60 unread words shown
    assert 'words were read' in by_id(browser, 'words-note').text
    # The page still works afterwards.
    submit_article(browser, ARTICLE['title'], '')
    wait(browser, lambda d: [w[0] for w in shown_words(d)][:1] == ['기사제목::'] and len(shown_words(d)) < 20)
    settled(browser)
    assert message(browser) == ''


def test_csv_upload_and_a_row_explained(browser, page):
    open_page(browser, page)
    by_id(browser, 'csv').send_keys(SAMPLE)
    by_id(browser, 'classify-csv').click()
    wait(browser, lambda d: d.find_elements('css selector', '#csv-table tbody tr'))
    settled(browser)
    rows = browser.find_elements('css selector', '#csv-table tbody tr')
    assert len(rows) == 24 and message(browser) == ''
    browser.find_element('css selector', '#csv-table tbody tr button').click()
    wait(browser, lambda d: shown_words(d))
    settled(browser)
    assert by_id(browser, 'title').get_attribute('value') == rows[0].find_elements('tag name', 'td')[1].text


def test_csv_with_wrong_columns_shows_the_reason(browser, page, tmp_path):
    bad = tmp_path / 'wrong.csv'
    bad.write_text('headline,text\n가,나\n', encoding='utf-8')
    open_page(browser, page)
    by_id(browser, 'csv').send_keys(str(bad))
    by_id(browser, 'classify-csv').click()
    wait(browser, message)
    settled(browser)
    assert 'lacks' in message(browser) and '(400)' in message(browser)
    assert not by_id(browser, 'csv-result').is_displayed()


def test_busy_server_shows_503(browser, page):
    open_page(browser, page)
    page.explaining.acquire()  # an explanation is running
    try:
        submit_article(browser, ARTICLE['title'], ARTICLE['body'])
        wait(browser, message)
        settled(browser)
    finally:
        page.explaining.release()
    assert 'busy (503)' in message(browser)
    assert by_id(browser, 'bars').text  # the prediction came; only the explanation was refused
    submit_article(browser, ARTICLE['title'], ARTICLE['body'])  # and the next try works
    wait(browser, lambda d: shown_words(d) and not message(d))


def test_page_topics_are_the_projects():
    with open(os.path.join(ROOT, 'kobert_news', 'web', 'app.js'), encoding='utf-8') as f:
        script = f.read()
    for topic, korean in TOPICS_KO.items():
        assert "%s: '%s'" % (topic, korean) in script



