"""Progress on every long wait: a bar on a terminal, and a log line now and then where stderr is
redirected (a bar there would be silent, or garble the log)."""
import logging
import sys
import time

from tqdm import tqdm

log = logging.getLogger('kobert_news.progress')
LOG_EVERY = 30.0  # seconds between log lines when stderr is not a terminal


class Progress:
    def __init__(self, iterable=None, total=None, desc='', unit='it', log_every=LOG_EVERY):
        self.iterable, self.desc, self.unit, self.n = iterable, desc, unit, 0
        if total is None and hasattr(iterable, '__len__'):
            total = len(iterable)
        self.bar = tqdm(total=total, desc=desc, unit=unit, disable=None, file=sys.stderr)  # None: on a tty only
        self.log_every = log_every
        self._start = self._last = time.time()

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update(1)
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def update(self, n=1):
        self.n += n
        self.bar.update(n)
        now = time.time()
        if self.bar.disable and now - self._last >= self.log_every:
            self._last = now
            total = ' of %d' % self.bar.total if self.bar.total else ''
            log.info('%s: %d%s %s (%.1f/s)', self.desc, self.n, total, self.unit, self.n / (now - self._start))

    def set_postfix(self, **kw):
        self.bar.set_postfix(**kw)

    def close(self):
        self.bar.close()
