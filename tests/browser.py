"""Headless Chromium for the browser tests: Debian's chromium and chromium-driver (`make browser`
installs them, as root), driven by selenium. Each browser gets a fresh profile and nothing that
reaches for the network (the test machines have none)."""
import base64
import os
import shutil

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
DRIVER = shutil.which('chromedriver')
FLAGS = ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--disable-dev-shm-usage', '--lang=ko-KR')
PAGE_LOAD_TIMEOUT = 30  # seconds


def missing():
    """Why no browser test can run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return 'selenium is not installed (it is pinned in requirements-deploy.txt: make deploy-env)'
    if not CHROMIUM or not DRIVER:
        return ('chromium and chromium-driver are not installed (make browser installs them with apt-get, '
                'as root)')
    return None


def start(profile_dir, width=1280, height=900):
    """A headless Chromium through chromedriver, with a fresh --user-data-dir."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in FLAGS + ('--user-data-dir=%s' % profile_dir, '--window-size=%d,%d' % (width, height)):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER, log_output=os.devnull), options=options)
    driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT)
    driver.set_script_timeout(PAGE_LOAD_TIMEOUT)
    return driver


def full_page_screenshot(driver, path):
    """A PNG of the whole page, however long (Chromium's DevTools capture beyond the viewport)."""
    shot = driver.execute_cdp_cmd('Page.captureScreenshot', {'format': 'png', 'captureBeyondViewport': True})
    with open(str(path), 'wb') as f:
        f.write(base64.b64decode(shot['data']))
    return path
