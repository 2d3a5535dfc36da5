"""Finding, checking and downloading KoBERT's files, against a local HTTP server."""
import hashlib
import http.server
import os
import socket
import threading

import pytest

from config import UserError
from kobert_gluon import files

PAYLOAD = os.urandom(300000)
PREFIX = hashlib.md5(PAYLOAD).hexdigest()[:10]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
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
    monkeypatch.setitem(files.CHECKSUMS, files.PARAMS, PREFIX)
    monkeypatch.delenv('KOBERT_HOME', raising=False)
    monkeypatch.setenv('HOME', '/nonexistent-home')
    return files.PARAMS


def test_download_good_file(server, tmp_path, fake_params):
    path = files.fetch(fake_params, str(tmp_path), url_base=server + 'good/')
    assert path == str(tmp_path / fake_params)
    assert open(path, 'rb').read() == PAYLOAD
    assert os.listdir(str(tmp_path)) == [fake_params]
    # Found on disk the second time: no request is made.
    assert files.fetch(fake_params, str(tmp_path), url_base='http://127.0.0.1:9/') == path


def test_checksum_mismatch_keeps_nothing(server, tmp_path, fake_params):
    with pytest.raises(UserError, match='wrong checksum'):
        files.fetch(fake_params, str(tmp_path), url_base=server + 'bad/')
    assert os.listdir(str(tmp_path)) == []


def test_connection_dropped_halfway_keeps_nothing(server, tmp_path, fake_params):
    with pytest.raises(UserError, match='cannot download|broke off'):
        files.fetch(fake_params, str(tmp_path), url_base=server + 'drop/')
    assert os.listdir(str(tmp_path)) == []


def test_no_network_names_file_and_folder(tmp_path, fake_params):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    with pytest.raises(UserError) as e:
        files.fetch(fake_params, str(tmp_path), url_base='http://127.0.0.1:%d/' % port)
    assert fake_params in str(e.value) and str(tmp_path) in str(e.value)
    assert '\n' not in str(e.value)


def test_not_found_on_server(server, tmp_path, fake_params):
    with pytest.raises(UserError, match='cannot download'):
        files.fetch(fake_params, str(tmp_path), url_base=server + 'missing/')


def test_damaged_file_on_disk_is_refused(tmp_path, fake_params):
    (tmp_path / fake_params).write_bytes(b'not the params')
    with pytest.raises(UserError, match='damaged'):
        files.fetch(fake_params, str(tmp_path), url_base='http://127.0.0.1:9/')


def test_search_order(tmp_path, monkeypatch):
    first, second, home = (tmp_path / n for n in ('explicit', 'env', 'home'))
    for d in (first, second, home / 'kobert'):
        d.mkdir(parents=True)
    monkeypatch.setenv('KOBERT_HOME', str(second))
    monkeypatch.setenv('HOME', str(home))
    assert files.search_dirs(str(first)) == [str(first), str(second), str(home / 'kobert')]
    monkeypatch.delenv('KOBERT_HOME')
    assert files.search_dirs() == [str(home / 'kobert')]
    assert files.download_dir() == str(home / 'kobert')


def test_explicit_path_under_another_name_is_taken_as_is(tmp_path):
    other = tmp_path / 'my-kobert.params'
    other.write_bytes(b'anything')
    assert files.fetch(files.PARAMS, explicit=str(other)) == str(other)
    renamed = tmp_path / files.PARAMS
    renamed.write_bytes(b'anything')
    with pytest.raises(UserError, match='damaged'):
        files.fetch(files.PARAMS, explicit=str(renamed))
    with pytest.raises(UserError, match='no such file'):
        files.fetch(files.PARAMS, explicit=str(tmp_path / 'nope.params'))


def test_real_vocabulary_checksums(kobert_home):
    for name in (files.SP_MODEL, files.VOCAB_JSON):
        assert files.find(name, kobert_home) == os.path.join(kobert_home, name)
