"""Outputs appear whole or not at all: written to a temporary file beside them, then renamed.
An existing output keeps its permissions; a read-only one is refused, not replaced."""
import contextlib
import logging
import os
import shutil
import stat
import tempfile

from kobert_base.errors import UserError

log = logging.getLogger('kobert_news.atomic')


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
def atomic_dir(path, overwrite=False, is_ours=lambda folder: False, own=()):
    """Yield a fresh folder beside path, renamed to path when the block succeeds and removed
    otherwise: an output folder appears whole or not at all. An existing path is refused, or with
    overwrite updated once the new files are complete, but only if is_ours(path) recognises it (a
    folder of the user's is never touched): each file written replaces its namesake, the names in
    `own` that were not written this time are removed, and everything else in it (a README.md, a
    .git/ folder) is kept. A link to a folder stays a link: the folder it points to is written."""
    path = os.path.realpath(path)
    if os.path.exists(path):
        if not overwrite:
            raise UserError('%s already exists: choose another output folder, or pass --overwrite' % path)
        if not (os.path.isdir(path) and is_ours(path)):
            raise UserError('%s exists and is not an output of this command: not replaced, choose another '
                            'output folder' % path)
        taken = [n for n in own if os.path.isdir(os.path.join(path, n))]
        if taken:
            raise UserError('%s is a folder in %s, where this command writes a file: not replaced'
                            % (taken[0], path))
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix='.' + os.path.basename(path) + '.')
    try:
        yield tmp
        if os.path.isdir(path):
            _update(path, tmp, own)
        else:
            os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
            os.rename(tmp, path)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def _update(path, tmp, own):
    """Move tmp's files into the folder path, each replacing its namesake whole; remove the names in
    own that tmp lacks; say what else path holds (kept)."""
    written = sorted(os.listdir(tmp), key=lambda n: n == 'config.json')  # a description last
    for name in written:
        os.replace(os.path.join(tmp, name), os.path.join(path, name))
    for name in set(own) - set(written):
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(path, name))
    kept = sorted(set(os.listdir(path)) - set(written))
    if kept:
        log.info('kept in %s what this command did not write: %s', path, ', '.join(kept))
