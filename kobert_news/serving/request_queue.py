"""Dynamic batching: many clients, one model thread.

MXNet's hybridized graph must not run from several threads at once, so one worker thread does
everything with the model, loading included. Requests wait in a bounded queue. The worker takes
the requests at its head, up to max_batch items in all, and runs them as one batch; so clients
that each send one headline at the same time are answered at batch speed.

The worker waits up to max_wait for more while it holds fewer requests than came in the last
round (the last batch's, whose clients are about to send again, plus those that queued while it
ran): concurrent clients are gathered into one batch, and a lone client is answered at once
instead of waiting for company that does not come.
"""
import collections
import logging
import threading
import time
from concurrent.futures import Future

log = logging.getLogger('kobert_news.serve')


class QueueFull(Exception):
    """The queue holds max_queue requests."""


class Closed(Exception):
    """The queue is stopping, or its model failed to load."""


class Queued:
    """A request: its items (run with other requests' items), or a function run alone (solo)."""
    __slots__ = ('items', 'solo', 'future')

    def __init__(self, items=None, solo=None):
        self.items, self.solo, self.future = items, solo, Future()


class RequestQueue:
    def __init__(self, run, max_batch=32, max_wait=0.005, max_queue=128, load=None):
        """run(items) -> one result per item, in order; load() runs first. Both run in the worker
        thread, and nothing else there runs at the same time."""
        self.run, self.load = run, load
        self.max_batch, self.max_wait, self.max_queue = max_batch, max_wait, max_queue
        self.stats = collections.Counter()
        self.error = None  # what load() raised
        self._jobs = collections.deque()
        self._cond = threading.Condition()
        self._closing = False
        self._expect = max_batch  # requests in the last round: how many to wait for
        self._thread = threading.Thread(target=self._work, name='kobert-news-model', daemon=True)

    def start(self):
        self._thread.start()

    def submit(self, items):
        """A Future of the items' results (a list). Raises QueueFull, or Closed."""
        return self._put(Queued(items=list(items)))

    def call(self, fn):
        """A Future of fn(), run alone in the worker thread (a whole CSV, or any other model work)."""
        return self._put(Queued(solo=fn))

    def _put(self, job):
        with self._cond:
            if self._closing or self.error is not None:
                raise Closed('the server is stopping' if self._closing else 'the model failed to load')
            if len(self._jobs) >= self.max_queue:
                self.stats['rejected'] += 1
                raise QueueFull('%d requests are waiting' % len(self._jobs))
            self._jobs.append(job)
            self.stats['accepted'] += 1
            self._cond.notify()
        return job.future

    def close(self, timeout=None):
        """Stop taking requests, finish those accepted, and end the worker."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # ------------------------------------------------------------ the worker thread

    def _work(self):
        if self.load is not None:
            try:
                self.load()
            except Exception as e:  # reported by whoever started the server; queued requests fail
                self._fail_queued(e)
                return
        while True:
            jobs = self._next_batch()
            if jobs is None:
                return
            self._run(jobs)
            if jobs[0].solo is None:
                with self._cond:
                    self._expect = len(jobs) + len(self._jobs)

    def _head(self):
        """(number of jobs at the queue's head that make the next batch, whether it can take no more)."""
        count = items = 0
        for job in self._jobs:
            if job.solo is not None:  # runs alone: it closes the batch before it
                return max(count, 1), True
            if count and items + len(job.items) > self.max_batch:
                return count, True
            count, items = count + 1, items + len(job.items)
            if items >= self.max_batch:
                return count, True
        return count, False

    def _next_batch(self):
        with self._cond:
            while not self._jobs and not self._closing:
                self._cond.wait()
            if not self._jobs:
                return None  # closing, and every accepted request is answered
            deadline = time.monotonic() + self.max_wait
            while True:
                count, full = self._head()
                left = deadline - time.monotonic()
                if full or count >= self._expect or left <= 0 or self._closing:
                    break
                self._cond.wait(left)
            return [self._jobs.popleft() for _ in range(count)]

    def _run(self, jobs):
        # A job whose client has gone was cancelled: it is dropped here, before its batch runs.
        live = [j for j in jobs if j.future.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            if live[0].solo is not None:
                result = live[0].solo()
                live[0].future.set_result(result)
                return
            items = [item for job in live for item in job.items]
            results = self.run(items)
            self.stats['batches'] += 1
            self.stats['items'] += len(items)
            start = 0
            for job in live:
                job.future.set_result(results[start:start + len(job.items)])
                start += len(job.items)
        except Exception as e:  # the requests fail, the worker goes on
            self.stats['errors'] += 1
            for job in live:
                if not job.future.done():
                    job.future.set_exception(e)

    def _fail_queued(self, error):
        with self._cond:
            self.error = error
            jobs, self._jobs = list(self._jobs), collections.deque()
        for job in jobs:
            if job.future.set_running_or_notify_cancel():
                job.future.set_exception(Closed('the model failed to load'))
