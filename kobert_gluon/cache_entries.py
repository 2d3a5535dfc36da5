"""Cache entries that check themselves: each entry is a folder of files plus a manifest (its key,
and each file's size and sha1), written last. An entry whose files do not match its manifest, or
whose manifest names another key, is removed and rebuilt, with a one-line warning naming it.
"""
import json
import logging
import os
import shutil
import tempfile
import time

from kobert_base.paths import file_digest

log = logging.getLogger('kobert_news.cache')
MANIFEST = 'manifest.json'
STALE_SECONDS = 3600  # leftovers of a killed writer older than this are removed


def lookup(cache_dir, key):
    """The folder of a sound entry for key, or None (a damaged one is removed with a warning)."""
    folder = os.path.join(cache_dir, key)
    if not os.path.isdir(folder):
        return None
    problem = _problem(folder, key)
    if problem is None:
        return folder
    log.warning('cache entry %s is damaged (%s): rebuilding it', folder, problem)
    shutil.rmtree(folder, ignore_errors=True)
    return None


def _problem(folder, key):
    try:
        with open(os.path.join(folder, MANIFEST), encoding='utf-8') as f:
            manifest = json.load(f)
        if manifest.get('key') != key:
            return 'made for another key'
        for name, want in manifest['files'].items():
            path = os.path.join(folder, name)
            if not os.path.isfile(path):
                return '%s is missing' % name
            if os.path.getsize(path) != want['size'] or file_digest(path, 'sha1') != want['sha1']:
                return '%s does not match its checksum' % name
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as e:
        return 'unreadable manifest: %s' % type(e).__name__
    return None


def store(cache_dir, key, write, info=None):
    """Build an entry: write(folder) fills a temporary folder, the manifest is added, then the folder
    is renamed into place (whole or not at all). Returns the entry's folder: where another process
    stored a sound entry for key meanwhile, that one (a sound entry is never replaced, so whoever
    reads one is never left without its files)."""
    os.makedirs(cache_dir, exist_ok=True)
    clean_stale(cache_dir)
    tmp = tempfile.mkdtemp(dir=cache_dir, prefix='tmp-')
    try:
        write(tmp)
        paths = {n: os.path.join(tmp, n) for n in sorted(os.listdir(tmp))}
        files = {n: {'size': os.path.getsize(p), 'sha1': file_digest(p, 'sha1')} for n, p in paths.items()}
        with open(os.path.join(tmp, MANIFEST), 'w', encoding='utf-8') as f:
            json.dump({'key': key, 'files': files, 'info': info or {}, 'created': time.time()}, f, indent=1)
        folder = os.path.join(cache_dir, key)
        try:
            os.rename(tmp, folder)  # fails where a folder with files is there
        except OSError:
            if lookup(cache_dir, key) is None:  # none, or a damaged one, now removed
                os.rename(tmp, folder)
        return folder
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def clean_stale(cache_dir, age=STALE_SECONDS):
    """Remove what killed writers left: tmp-* folders and *.part files older than `age` seconds."""
    now = time.time()
    try:
        names = os.listdir(cache_dir)
    except OSError:
        return
    for name in names:
        path = os.path.join(cache_dir, name)
        if (name.startswith('tmp') or name.endswith('.part')) and now - os.path.getmtime(path) > age:
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    os.remove(path)
                except OSError:
                    pass


def entries(cache_root, kinds):
    """(entries, others) under cache_root/<kind> for each kind: entries are (kind, folder, size in
    bytes) of the folders this project wrote (a manifest naming the folder's key, the folder itself
    and not a link to one); others, the paths of everything else there, which is not the
    project's to remove."""
    found, others = [], []
    for kind in sorted(kinds):
        base = os.path.join(cache_root, kind)
        for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
            folder = os.path.join(base, name)
            if _is_entry(folder, name):
                found.append((kind, folder, sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder))))
            else:
                others.append(folder)
    return found, others


def _is_entry(folder, key):
    if os.path.islink(folder) or not os.path.isdir(folder):
        return False
    try:
        with open(os.path.join(folder, MANIFEST), encoding='utf-8') as f:
            manifest = json.load(f)
        return manifest.get('key') == key and isinstance(manifest.get('files'), dict)
    except (OSError, ValueError, AttributeError, RecursionError):
        return False
