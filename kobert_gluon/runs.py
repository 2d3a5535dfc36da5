"""A training run's folder: what it holds, whether it may be resumed or cleared, and its lock.

Layout: train_config.json (written first: it marks the folder as a run), log.txt, checkpoints/
(epoch-N.params + .json [+ .centroids.npy], the last epoch's .states, state.json), metrics.json,
and once finished model.params/.json, predictions.csv and best.json. ``state.json`` with
"finished" is the last file written; everything else can be derived again from the checkpoints.
"""
import errno
import fcntl
import json
import os
import re

from kobert_base.atomic import atomic_write_text
from kobert_base.errors import UserError
from kobert_base.options import DEVICE_OPTIONS

CHECKPOINTS = 'checkpoints'
CONFIG = 'train_config.json'
RUN_FILES = (CONFIG, 'log.txt', 'metrics.json', 'best.json', 'predictions.csv', 'model.params', 'model.json',
             'model.centroids.npy', 'cv.json', 'oof_predictions.csv', '.lock')
CHECKPOINT_FILE = re.compile(r'^(epoch-\d+\.(params|json|states|centroids\.npy)|state\.json)$')
SUB_RUN = re.compile(r'^(fold-\d+|final)$')  # cross-validation's runs inside a run


class Run:
    """One output directory: config, checkpoints, metrics, log."""

    def __init__(self, output_dir):
        self.dir = output_dir
        self.ckpt = os.path.join(output_dir, CHECKPOINTS)
        self._lock = None

    def path(self, *names):
        return os.path.join(self.dir, *names)

    def checkpoint(self, epoch, ext='params'):
        return os.path.join(self.ckpt, 'epoch-%d.%s' % (epoch, ext))

    def is_run(self):
        return os.path.isfile(self.path(CONFIG))

    def state(self):
        return read_json(os.path.join(self.ckpt, 'state.json'))

    def saved_config(self):
        return read_json(self.path(CONFIG))

    def write_json(self, name, obj):
        atomic_write_text(self.path(name), json.dumps(obj, ensure_ascii=False, indent=2))

    def write_state(self, state):
        atomic_write_text(os.path.join(self.ckpt, 'state.json'), json.dumps(state, indent=2))

    def lock(self):
        """Hold the run's lock for this process's life: a second train.py on the folder is refused."""
        os.makedirs(self.dir, exist_ok=True)
        fd = os.open(self.path('.lock'), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EAGAIN, errno.EACCES):
                raise UserError('another train.py is running in %s: wait for it, or choose another --output_dir'
                                % self.dir)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock = fd

    def unlock(self):
        if self._lock is not None:
            os.close(self._lock)  # closing the file releases the flock
            self._lock = None

    def clear(self):
        """Remove the run's own files (nothing else that may be in the folder)."""
        for name in RUN_FILES:
            if (name != '.lock' or self._lock is None) and os.path.isfile(self.path(name)):
                os.remove(self.path(name))
        for name in os.listdir(self.dir):
            if SUB_RUN.match(name) and os.path.isdir(self.path(name)):
                Run(self.path(name)).clear()
                _rmdir_if_empty(self.path(name))
        if os.path.isdir(self.ckpt):
            for name in os.listdir(self.ckpt):
                if CHECKPOINT_FILE.match(name):
                    os.remove(os.path.join(self.ckpt, name))
            _rmdir_if_empty(self.ckpt)


def _rmdir_if_empty(folder):
    try:
        os.rmdir(folder)
    except OSError:
        pass


def read_json(path):
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError, RecursionError):
        return None


def same_settings(saved, config):
    """Whether a saved train_config.json asks for the same run as config. Where a run trains (devices,
    kvstore) is not part of it: a run may resume on other devices (and runs saved before those
    options existed lack them)."""
    def recipe(c):
        return {k: v for k, v in c.items() if k not in DEVICE_OPTIONS}
    return saved is not None and recipe(saved) == recipe(config)


def prepare(run, config, fingerprint, overwrite=False):
    """Lock the run folder and decide: a fresh start (None), or the state to resume from.
    Nothing is written or removed before every check has passed."""
    if os.path.exists(run.dir) and not os.path.isdir(run.dir):
        raise UserError('--output_dir %s is a file, not a folder' % run.dir)
    used = os.path.isdir(run.dir) and any(n != '.lock' for n in os.listdir(run.dir))
    if used and not run.is_run():
        raise UserError('%s holds files but no training run (no %s): choose an empty or new --output_dir'
                        % (run.dir, CONFIG))
    run.lock()
    try:
        return _resumable(run, config, fingerprint, overwrite, used)
    except BaseException:
        run.unlock()
        raise


def _resumable(run, config, fingerprint, overwrite, used):
    state = run.state() if used else None
    if used and overwrite:
        run.clear()
        return None
    if used:
        if not same_settings(run.saved_config(), config):
            raise UserError('%s already holds a run with other settings: choose another --output_dir, or pass '
                            '--overwrite to replace that run' % run.dir)
        if state and state.get('fingerprint') not in (None, fingerprint):
            raise UserError('%s was trained on other data (the CSV changed since): pass --overwrite to start '
                            'over, or choose another --output_dir' % run.dir)
        if state and state.get('finished') and os.path.isfile(run.path('best.json')):
            raise UserError('%s holds a finished run; pass --overwrite to train again' % run.dir)
    return state
