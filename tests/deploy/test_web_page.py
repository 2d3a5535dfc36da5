"""The page to try the classifier (kobert_news/web) as the deploy server serves it (`kobert-news serve
--model_dir D` on a loopback port, a tiny real export), in a real headless Chromium: an article
classified and explained word by word, a CSV, every bad input shown as a message on a page that
keeps working, and nothing loaded from anywhere but the app."""
import os
import re

import pytest
import requests

from kobert_base.topics import TOPICS_KO
from tests.conftest import ROOT
from tests.served import TIMEOUT, Served, explanation_in_flight

WAIT = 120  # seconds: the loaded CI machine is slow; a working page answers far sooner
SAMPLE = os.path.join(ROOT, 'data', 'sample.csv')
WEB = os.path.join(ROOT, 'kobert_news', 'web')
ARTICLE = {'title': '한국은행, 기준금리 0.25%p 인상…"물가 안정 우선"',
           'body': '한국은행 금융통화위원회가 기준금리를 연 3.5%로 올렸다. 소비자물가 상승률이 높다.'}


def served(folder):
    s = Served(folder)
    yield s
    code, log = s.stop()
    assert code == 0 and 'Traceback' not in log, log


@pytest.fixture(scope='module')
def server(tiny):
    yield from served(tiny[1])


@pytest.fixture(scope='module')
def title_server(titles):
    """A title-only weight (mode 2) whose description says it never saw entertain, as the default's does."""
    yield from served(titles[1])


@pytest.fixture(scope='module')
def long_server(long_reader):
    """A 512-token reader: a long article's explanation takes seconds."""
    yield from served(long_reader)


@pytest.fixture(scope='module')
def classifier(tiny):
    import kobert_news
    return kobert_news.load(model_dir=tiny[1])


def load(browser, server):
    browser.get(server.url('/'))
    wait(browser, lambda d: d.execute_script("return document.readyState === 'complete' && "
                                             "document.getElementById('target').options.length === 9"))
    return server


@pytest.fixture
def page(browser, server):
    """The page, loaded from the app, in the browser."""
    return load(browser, server)


def wait(browser, condition, timeout=WAIT):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(browser, timeout, poll_frequency=0.1).until(condition)


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


def test_the_app_serves_everything_the_page_uses(server):
    """No CDN: the page's script, style and font come from the app, and its policy allows nothing else."""
    index = requests.get(server.url('/'), timeout=TIMEOUT)
    assert index.status_code == 200 and index.headers['content-type'].startswith('text/html')
    assert "default-src 'self'" in index.headers['content-security-policy']
    assets = re.findall(r'(?:src|href)="([^"]+)"', index.text)
    assert sorted(assets) == ['data:,', 'web/app.js', 'web/csv.js', 'web/style.css']
    kinds = {}
    for asset in ('web/app.js', 'web/csv.js', 'web/style.css'):
        r = requests.get(server.url('/' + asset), timeout=TIMEOUT)
        assert r.status_code == 200, asset
        kinds[asset] = r.headers['content-type'].split(';')[0]
    assert kinds == {'web/app.js': 'text/javascript', 'web/csv.js': 'text/javascript', 'web/style.css': 'text/css'}
    css = requests.get(server.url('/web/style.css'), timeout=TIMEOUT).text
    fonts = re.findall(r"url\('([^']+)'\)", css)
    assert fonts == ['fonts/NanumGothic.woff']
    font = requests.get(server.url('/web/' + fonts[0]), timeout=TIMEOUT)
    assert font.status_code == 200 and font.headers['content-type'] == 'font/woff' and font.content[:4] == b'wOFF'
    for name in os.listdir(WEB):
        if name.endswith(('.html', '.js', '.css')):
            with open(os.path.join(WEB, name), encoding='utf-8') as f:
                assert not re.search(r'https?:|//[a-z]', f.read()), name
    assert sorted(os.listdir(WEB)) == ['app.js', 'csv.js', 'fonts', 'index.html', 'style.css']


def test_article_is_classified_and_explained(browser, page, classifier, tmp_path):
    submit_article(browser, ARTICLE['title'], ARTICLE['body'])
    wait(browser, lambda d: shown_words(d))
    settled(browser)
    assert message(browser) == ''
    # The topic shown is /predict's.
    predicted = page.post({'articles': [ARTICLE]}).json()['predictions'][0]
    shown = '%s (%s) %.3f' % (TOPICS_KO[predicted['topic']], predicted['topic'], predicted['probability'])
    assert by_id(browser, 'result-topic').text == shown
    # The bars: every topic, most likely first, as the library computes them.
    expected = classifier.explain([ARTICLE])[0]
    bars = browser.execute_script("return Array.from(document.querySelectorAll('#bars .name')).map("
                                  "(n, i) => [n.textContent, document.querySelectorAll('#bars .num')[i].textContent])")
    ranked = sorted(expected['probabilities'].items(), key=lambda kv: -kv[1])
    assert bars == [['%s (%s)' % (TOPICS_KO[t], t), '%.3f' % p] for t, p in ranked]
    # The words: the model text's words in order, each with its attribution, shaded by it.
    words = shown_words(browser)
    assert [w for w, _, _ in words] == expected['words']
    assert [float(t) for _, t, _ in words] == pytest.approx(expected['attributions'], abs=1e-4)
    shades = browser.execute_script("return Array.from(document.querySelectorAll('#words .w')).map("
                                    "s => getComputedStyle(s).backgroundColor)")
    assert len(set(shades)) > 2 and 'rgba(0, 0, 0, 0)' not in shades
    # The legend names the answer's method; occlusion (an export folder's) has no steps to choose.
    occlusion = expected['method'] == 'occlusion'
    legend = browser.execute_script("return document.getElementById('method').textContent")
    assert legend == ('word occlusion: how much the topic\'s probability drops when the word is removed' if occlusion
                      else 'integrated gradients')
    assert (by_id(browser, 'steps-field').get_attribute('hidden') is not None) == occlusion
    # Hangul is drawn with the font the app serves, and nothing came from elsewhere.
    faces = browser.execute_async_script("const done = arguments[0]; document.fonts.load("
                                         "'16px \"KoNews Hangul\"', '가').then(f => done(f.length), () => done(-1));")
    assert faces == 1
    loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert page.url('/web/fonts/NanumGothic.woff') in loaded
    assert all(url.startswith(page.url('/')) for url in loaded), loaded
    from tests.browser import full_page_screenshot
    shot = full_page_screenshot(browser, tmp_path / 'page.png')
    assert shot.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_empty_text_is_refused_on_the_page(browser, page):
    submit_article(browser, '   ', '\n')
    wait(browser, message)
    assert 'Enter a title or a body' in message(browser)
    assert not by_id(browser, 'result').is_displayed()


def test_steps_over_the_servers_limit(browser, page):
    browser.execute_script("document.getElementById('steps').value = '999';")
    submit_article(browser, ARTICLE['title'], '')
    wait(browser, message)
    settled(browser)
    assert 'steps: at most 200 on this server' in message(browser) and '(422)' in message(browser)
    assert by_id(browser, 'bars').text and 'No explanation' in by_id(browser, 'words-note').text


def test_100000_character_text(browser, page):
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
    by_id(browser, 'csv').send_keys(SAMPLE)
    by_id(browser, 'classify-csv').click()
    wait(browser, lambda d: d.find_elements('css selector', '#csv-table tbody tr'))
    settled(browser)
    rows = browser.find_elements('css selector', '#csv-table tbody tr')
    assert len(rows) == 24 and message(browser) == ''
    with open(SAMPLE, 'rb') as f:
        main_csv = requests.post(page.url('/predict/csv'), files={'file': ('sample.csv', f)}, timeout=TIMEOUT)
    first = main_csv.content.decode('utf-8-sig').splitlines()[1]
    assert rows[0].find_elements('tag name', 'td')[2].text.endswith('(%s)' % first.split(',')[-2])
    browser.find_element('css selector', '#csv-table tbody tr button').click()
    wait(browser, lambda d: shown_words(d))
    settled(browser)
    assert by_id(browser, 'title').get_attribute('value') == rows[0].find_elements('tag name', 'td')[1].text


def test_csv_with_wrong_columns_shows_the_reason(browser, page, tmp_path):
    bad = tmp_path / 'wrong.csv'
    bad.write_text('headline,text\n가,나\n', encoding='utf-8')
    by_id(browser, 'csv').send_keys(str(bad))
    by_id(browser, 'classify-csv').click()
    wait(browser, message)
    settled(browser)
    assert 'lacks' in message(browser) and '(422)' in message(browser)
    assert 'title' in message(browser) and '--' not in message(browser)  # the page's terms, not main.py's flags
    assert not by_id(browser, 'csv-result').is_displayed()


def test_busy_server_shows_503(browser, long_server):
    """Another client's long explanation is in progress: the page gets its prediction, and for its
    explanation the app's 503, shown as a message; once the other client leaves, it works."""
    page = load(browser, long_server)
    with explanation_in_flight(page, sentences=25):
        submit_article(browser, ARTICLE['title'], ARTICLE['body'])
        wait(browser, message)
        settled(browser)
        assert '(503)' in message(browser) and 'busy' in message(browser)
        assert by_id(browser, 'bars').text  # the prediction came; only the explanation was refused
    submit_article(browser, ARTICLE['title'], ARTICLE['body'])  # and the next try works
    wait(browser, lambda d: shown_words(d) and not message(d))


def test_page_topics_are_the_projects():
    with open(os.path.join(WEB, 'app.js'), encoding='utf-8') as f:
        script = f.read()
    for topic, korean in TOPICS_KO.items():
        assert "%s: '%s'" % (topic, korean) in script


def test_the_legend_names_no_topic_by_mistake(browser, page):
    legend = browser.find_element('css selector', '#result .legend').get_attribute('textContent')
    assert 'raised' in legend and 'lowered' in legend
    assert not re.search(r'\b(%s)\b' % '|'.join(TOPICS_KO), legend), legend  # "lowered it" read as the topic it


def test_a_weight_that_never_saw_a_topic_says_so_and_greys_it_out(browser, title_server):
    """The weight never saw entertain: one line says it cannot predict it, its bar is greyed out;
    it reads titles only: a filled body is said to be unread."""
    load(browser, title_server)
    wait(browser, lambda d: by_id(d, 'weight-note').is_displayed())  # from /info, before any article
    line = 'This weight was never trained on 연예 (entertain): it cannot predict that topic.'
    assert by_id(browser, 'weight-note').text == line
    submit_article(browser, ARTICLE['title'], ARTICLE['body'])
    wait(browser, lambda d: shown_words(d))
    settled(browser)
    assert message(browser) == ''
    assert browser.find_element('tag name', 'body').text.count('cannot predict') == 1
    bars = browser.execute_script("return Array.from(document.querySelectorAll('#bars .name')).map("
                                  "n => [n.textContent, n.classList.contains('untrained'), getComputedStyle(n).color])")
    assert len(bars) == 8
    grey = [b for b in bars if b[1]]
    assert [b[0] for b in grey] == ['연예 (entertain)']
    assert all(color != grey[0][2] for _, greyed, color in bars if not greyed)
    assert by_id(browser, 'read-note').text == 'The body was not read: this weight reads the title only.'
    submit_article(browser, ARTICLE['title'], '')  # nothing unread: no note
    wait(browser, lambda d: shown_words(d) and not by_id(d, 'read-note').is_displayed())
    settled(browser)
