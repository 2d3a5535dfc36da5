"""Outputs appear whole or not at all: written to a temporary file beside them, then renamed.
An existing output keeps its permissions; a read-only one is refused, not replaced."""
import contextlib
import os
import shutil
import stat
import tempfile

from kobert_news.config import UserError


def check_writable(path):
    """Raise unless path can be written: its folder exists and is a folder, and it is not a
    read-only file (judged by its mode bits, which root's os.access would ignore)."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UserError('cannot write %s: %s is not a folder' % (path, folder))
    if os.path.isdir(path):
        raise UserError('cannot write %s: it is a folder' % path)
    if os.path.exists(path) and not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise UserError('%s is read-only: not replaced (make it writable, or choose another path)' % path)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError('cannot write into %s (no permission)' % folder)


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path in path's folder; rename it to path when the block succeeds."""
    check_writable(path)
    directory = os.path.dirname(os.path.abspath(path))
    mode = os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.' + os.path.basename(path), suffix='.part')
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, mode)  # mkstemp makes 0600: give the old file's, or the usual, permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write_text(path, text):
    with atomic_path(path) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(text)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_dir(path, overwrite=False, is_ours=lambda folder: False):
    """Yield a fresh folder beside path, renamed to path when the block succeeds and removed
    otherwise: an output folder appears whole or not at all. An existing path is refused, or with
    overwrite replaced once the new one is complete, but only if is_ours(path) recognises it (a
    folder of the user's is never removed)."""
    path = os.path.abspath(path)
    if os.path.exists(path):
        if not overwrite:
            raise UserError('%s already exists: choose another output folder, or pass --overwrite' % path)
        if not (os.path.isdir(path) and is_ours(path)):
            raise UserError('%s exists and is not an output of this command: not replaced, choose another '
                            'output folder' % path)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix='.' + os.path.basename(path) + '.')
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
        old = None
        if os.path.exists(path):
            old = tmp + '.old'
            os.rename(path, old)
        os.rename(tmp, path)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
