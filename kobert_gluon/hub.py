"""Find KoBERT's files (explicit path, $KOBERT_HOME, ~/kobert), check them, download the missing.

KoBERT names each file after the first 10 hex digits of its md5; a found file must match.
Downloads come from KoBERT's hub, or from $KOBERT_HUB_URL where that is set (a mirror, a local copy).
"""
import hashlib
import http.client
import os
import socket
import urllib.error
import urllib.request

from tqdm import tqdm

from kobert_base.errors import UserError
from kobert_base.paths import file_digest

HUB_URL = 'https://huggingface.co/skt/kobert-base-v1/resolve/main/legacy/'
SP_MODEL = 'tokenizer_78b3253a26.model'         # v0.1 tokenizer
VOCAB_JSON = 'kobertvocab_f38b8a4d6d.json'       # v0.1 gluonnlp BERTVocab
SPIECE = 'kobert_news_wiki_ko_cased-1087f8699e.spiece'  # later tokenizer + vocabulary in one
PARAMS = 'mxnet_kobert_45b6957552.params'        # pretrained bert_12_768_12 body

CHECKSUMS = {SP_MODEL: '78b3253a26', VOCAB_JSON: 'f38b8a4d6d', SPIECE: 'ae5711deb3', PARAMS: '45b6957552'}
DOWNLOADABLE = (SPIECE, PARAMS)  # the hub holds these two; the v0.1 pair only lives on disk


def hub_url():
    """Where missing files are downloaded from: $KOBERT_HUB_URL, else KoBERT's hub."""
    url = os.environ.get('KOBERT_HUB_URL') or HUB_URL
    return url if url.endswith('/') else url + '/'


def search_dirs(kobert_dir=None):
    """Directories looked in, in order."""
    dirs = [kobert_dir, os.environ.get('KOBERT_HOME'), os.path.join(os.path.expanduser('~'), 'kobert')]
    return [d for d in dirs if d]


def download_dir(kobert_dir=None):
    return search_dirs(kobert_dir)[0]


def md5sum(path):
    return file_digest(path, 'md5')


def check(path, name=None):
    """Raise if a file named after a KoBERT checksum does not carry it."""
    name = name or os.path.basename(path)
    want = CHECKSUMS.get(name)
    if want and not md5sum(path).startswith(want):
        raise UserError('%s is damaged or not KoBERT\'s %s (md5 does not start with %s); '
                        'delete it and let it download again' % (path, name, want))
    return path


def find(name, kobert_dir=None):
    """Path of a checked KoBERT file in the search directories, or None."""
    for d in search_dirs(kobert_dir):
        path = os.path.join(d, name)
        if os.path.isfile(path):
            return check(path)
    return None


def fetch(name, kobert_dir=None, explicit=None, url_base=None, timeout=30):
    """An explicit path as given, else a found file, else a download (from url_base, default
    hub_url()) into the first search dir."""
    if explicit:
        if not os.path.isfile(explicit):
            raise UserError('no such file: %s' % explicit)
        return check(explicit) if os.path.basename(explicit) in CHECKSUMS else explicit
    path = find(name, kobert_dir)
    if path:
        return path
    if name not in DOWNLOADABLE:
        raise UserError('%s not found in %s' % (name, ', '.join(search_dirs(kobert_dir))))
    dest = os.path.join(download_dir(kobert_dir), name)
    download((url_base or hub_url()) + name, dest, CHECKSUMS[name], timeout=timeout)
    return dest


def download(url, dest, md5_prefix, timeout=30):
    """Stream url to dest.part with a progress bar; rename only once the checksum matches."""
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    part = dest + '.part'
    name = os.path.basename(dest)
    h = hashlib.md5()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(part, 'wb') as out:
            total = int(resp.headers.get('Content-Length') or 0) or None
            with tqdm(total=total, unit='B', unit_scale=True, desc=name, disable=None) as bar:
                got = 0
                for block in iter(lambda: resp.read(1 << 16), b''):
                    out.write(block)
                    h.update(block)
                    got += len(block)
                    bar.update(len(block))
            if total is not None and got < total:
                raise UserError('download of %s broke off after %d of %d bytes; run again to retry'
                                % (name, got, total))
    except (urllib.error.URLError, http.client.HTTPException, socket.timeout, OSError) as e:
        _remove(part)
        raise UserError('cannot download %s from %s (%s): put the file in %s yourself'
                        % (name, url, getattr(e, 'reason', e), os.path.dirname(os.path.abspath(dest))))
    except BaseException:
        _remove(part)
        raise
    if not h.hexdigest().startswith(md5_prefix):
        _remove(part)
        raise UserError('downloaded %s has the wrong checksum (md5 %s, expected %s...); not kept'
                        % (name, h.hexdigest(), md5_prefix))
    os.replace(part, dest)
    return dest


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass
