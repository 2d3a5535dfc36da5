"""Finding, checking and downloading KoBERT's files, against a local HTTP server."""
import hashlib
import http.server
import os
import socket
import threading

import pytest

from kobert_base.errors import UserError
from kobert_gluon import hub
from tests.conftest import PAIR, locate_kobert

PAYLOAD = os.urandom(300000)
PREFIX = hashlib.md5(PAYLOAD).hexdigest()[:10]
REQUESTED = []


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        REQUESTED.append(self.path)
        kind = self.path.split('/')[1]
        if kind == 'missing':
            self.send_error(404)
            return
        body = PAYLOAD if kind == 'good' else PAYLOAD[::-1]
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if kind == 'drop':  # promise the whole file, send half, hang up
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope='module')
def server():
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield 'http://127.0.0.1:%d/' % httpd.server_address[1]
    httpd.shutdown()


@pytest.fixture
def fake_params(monkeypatch):
    """Let the test's payload stand for KoBERT's params file (same name, its own checksum)."""
    monkeypatch.setitem(hub.CHECKSUMS, hub.PARAMS, PREFIX)
    monkeypatch.delenv('KOBERT_HOME', raising=False)
    monkeypatch.setenv('HOME', '/nonexistent-home')
    return hub.PARAMS


def test_download_good_file(server, tmp_path, fake_params):
    path = hub.fetch(fake_params, str(tmp_path), url_base=server + 'good/')
    assert path == str(tmp_path / fake_params)
    assert open(path, 'rb').read() == PAYLOAD
    assert os.listdir(str(tmp_path)) == [fake_params]
    # Found on disk the second time: no request is made.
    assert hub.fetch(fake_params, str(tmp_path), url_base='http://127.0.0.1:9/') == path


def test_checksum_mismatch_keeps_nothing(server, tmp_path, fake_params):
    with pytest.raises(UserError, match='wrong checksum'):
        hub.fetch(fake_params, str(tmp_path), url_base=server + 'bad/')
    assert os.listdir(str(tmp_path)) == []


def test_connection_dropped_halfway_keeps_nothing(server, tmp_path, fake_params):
    with pytest.raises(UserError, match='cannot download|broke off'):
        hub.fetch(fake_params, str(tmp_path), url_base=server + 'drop/')
    assert os.listdir(str(tmp_path)) == []


def test_no_network_names_file_and_folder(tmp_path, fake_params):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    with pytest.raises(UserError) as e:
        hub.fetch(fake_params, str(tmp_path), url_base='http://127.0.0.1:%d/' % port)
    assert fake_params in str(e.value) and str(tmp_path) in str(e.value)
    assert '\n' not in str(e.value)


def test_not_found_on_server(server, tmp_path, fake_params):
    with pytest.raises(UserError, match='cannot download'):
        hub.fetch(fake_params, str(tmp_path), url_base=server + 'missing/')


def test_damaged_file_on_disk_is_refused(tmp_path, fake_params):
    (tmp_path / fake_params).write_bytes(b'not the params')
    with pytest.raises(UserError, match='damaged'):
        hub.fetch(fake_params, str(tmp_path), url_base='http://127.0.0.1:9/')


def test_search_order(tmp_path, monkeypatch):
    first, second, home = (tmp_path / n for n in ('explicit', 'env', 'home'))
    for d in (first, second, home / 'kobert'):
        d.mkdir(parents=True)
    monkeypatch.setenv('KOBERT_HOME', str(second))
    monkeypatch.setenv('HOME', str(home))
    assert hub.search_dirs(str(first)) == [str(first), str(second), str(home / 'kobert')]
    monkeypatch.delenv('KOBERT_HOME')
    assert hub.search_dirs() == [str(home / 'kobert')]
    assert hub.download_dir() == str(home / 'kobert')


def test_explicit_path_under_another_name_is_taken_as_is(tmp_path):
    other = tmp_path / 'my-kobert.params'
    other.write_bytes(b'anything')
    assert hub.fetch(hub.PARAMS, explicit=str(other)) == str(other)
    renamed = tmp_path / hub.PARAMS
    renamed.write_bytes(b'anything')
    with pytest.raises(UserError, match='damaged'):
        hub.fetch(hub.PARAMS, explicit=str(renamed))
    with pytest.raises(UserError, match='no such file'):
        hub.fetch(hub.PARAMS, explicit=str(tmp_path / 'nope.params'))


def test_real_vocabulary_checksums(kobert_pair):
    for name in (hub.SP_MODEL, hub.VOCAB_JSON):
        assert hub.find(name, kobert_pair) == os.path.join(kobert_pair, name)


def test_hub_url_from_the_environment(server, tmp_path, fake_params, monkeypatch):
    monkeypatch.delenv('KOBERT_HUB_URL', raising=False)
    assert hub.hub_url() == hub.HUB_URL
    monkeypatch.setenv('KOBERT_HUB_URL', server + 'good')  # a missing final '/' is added
    assert hub.hub_url() == server + 'good/'
    assert hub.fetch(fake_params, str(tmp_path)) == str(tmp_path / fake_params)


@pytest.fixture
def fake_spiece(monkeypatch, tmp_path):
    """Let the test's payload stand for KoBERT's .spiece; a new user's empty home, no KOBERT_HOME."""
    monkeypatch.setitem(hub.CHECKSUMS, hub.SPIECE, PREFIX)
    monkeypatch.delenv('KOBERT_HOME', raising=False)
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    return hub.SPIECE


def test_suite_fetches_the_spiece_when_no_kobert_set_is_found(server, tmp_path, fake_spiece, monkeypatch):
    """tests/conftest.py's one try: nothing in the folders searched, so the .spiece is
    downloaded as main.py would, into ~/kobert (or $KOBERT_HOME), and that folder is used."""
    empty = tmp_path / 'empty'
    empty.mkdir()
    del REQUESTED[:]
    folder, why = locate_kobert([None, str(empty)], url_base=server + 'good/')
    assert (folder, why) == (str(tmp_path / 'home' / 'kobert'), None)
    assert os.listdir(folder) == [fake_spiece] and REQUESTED == ['/good/' + fake_spiece]
    # Found the next time, without a request.
    assert locate_kobert([str(empty), folder], url_base=server + 'good/') == (folder, None)
    assert len(REQUESTED) == 1
    # Into $KOBERT_HOME where it is set, from $KOBERT_HUB_URL where that is set.
    monkeypatch.setenv('HOME', str(tmp_path / 'other-home'))
    monkeypatch.setenv('KOBERT_HOME', str(tmp_path / 'kh'))
    monkeypatch.setenv('KOBERT_HUB_URL', server + 'good/')
    assert locate_kobert([str(empty)]) == (str(tmp_path / 'kh'), None)
    assert len(REQUESTED) == 2


def test_suite_takes_either_kobert_set_without_a_request(tmp_path, fake_spiece):
    pair, spiece = tmp_path / 'pair', tmp_path / 'spiece'
    for d, names in ((pair, PAIR), (spiece, [fake_spiece])):
        d.mkdir()
        for name in names:
            (d / name).write_bytes(b'x')
    closed = 'http://127.0.0.1:9/'
    assert locate_kobert([str(tmp_path), str(spiece), str(pair)], url_base=closed) == (str(spiece), None)
    assert locate_kobert([str(pair), str(spiece)], url_base=closed) == (str(pair), None)


def test_suite_offline_says_why(tmp_path, fake_spiece):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    folder, why = locate_kobert([str(tmp_path)], url_base='http://127.0.0.1:%d/' % port)
    assert folder is None and fake_spiece in why and str(tmp_path / 'home' / 'kobert') in why
    assert '\n' not in why
    assert not os.path.exists(str(tmp_path / 'home' / 'kobert' / (fake_spiece + '.part')))
