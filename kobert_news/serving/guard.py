"""What is checked before a request reaches the app, as plain ASGI middleware (no framework's
internals): the Host header, the requests in progress, and the body, read here whole, in time.

A request with a body takes one of max_requests places while it is read, queued, run and answered
(past them: 503 before its body is read); one without (GET /health, /info, the page) takes none,
so a crowd of slow uploads never hides the server's health. The body must arrive within
read_timeout seconds (else 408), hold at most max_bytes (else 413, by its Content-Length or as it
comes) and, as JSON, hold no more values than max_articles articles need and nest no deeper than
MAX_DEPTH (413, 422): counted on its punctuation, before any parser builds an object. Once the
server is told to stop, a body still coming is waited for STOP_WAIT seconds more at most (then
503). A refusal before the body is read whole closes the connection."""
import asyncio
import ipaddress
import re
import socket
import time

import numpy as np

from kobert_news.serving.errors import RETRY_AFTER, error

MAX_DEPTH = 32  # a request is 3 deep: {"articles": [{...}]}
STOP_WAIT = 1.0  # seconds a body still coming is waited for once the server is told to stop
VALUES_PER_ARTICLE = 4  # an article's object, its title and body, and the comma between articles
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b'[]{}')  # bytes.translate deletes these
_OPEN = np.zeros(256, np.int8)
_OPEN[[ord('['), ord('{')]], _OPEN[[ord(']'), ord('}')]] = 1, -1


class Stopping:
    """Set (from a signal handler too) when the server is told to stop."""

    def __init__(self):
        self.is_set, self.since, self._loop, self._future = False, None, None, None

    def set(self):
        if not self.is_set:
            self.is_set, self.since = True, time.monotonic()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self):
        if not self._future.done():
            self._future.set_result(None)

    def future(self):
        """Done once set: for the event loop's waits."""
        if self._future is None:
            self._loop = asyncio.get_event_loop()
            self._future = self._loop.create_future()
            if self.is_set:
                self._future.set_result(None)
        return self._future


def host_names(allowed):
    """The Host names a server answers to: those given (comma-separated; * for any), localhost,
    and this machine's name. IP addresses are always answered: a DNS-rebinding page reaches the
    server under a name of its own, never under an address."""
    names = {n.strip().lower().rstrip('.') for n in (allowed or '').split(',') if n.strip()}
    return names | {'localhost', socket.gethostname().lower()}


def host_allowed(host, names):
    if host is None or '*' in names:
        return True
    host = host.strip().lower()
    name = host[1:host.find(']')] if host.startswith('[') else host.rsplit(':', 1)[0]
    name = name.rstrip('.')
    if name in names or name.endswith('.localhost'):
        return True
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


def json_refusal(body, max_articles):
    """The error for a JSON body too deep or with too many values for max_articles, or None. It
    builds no object per value: a count of quotes first bounds the strings that are taken out."""
    limit = VALUES_PER_ARTICLE * max_articles + 16
    too_many = error(413, 'the request holds more JSON values than %d articles (the limit, --max_articles) '
                          'need' % max_articles)
    if body.count(b'"') - body.count(b'\\"') > 4 * limit:  # each string has 2 quotes; an escaped one is not one
        return too_many
    bare = _STRING.sub(b'', body)  # strings out: only the structure is left
    brackets = bare.translate(None, _NOT_BRACKETS)
    if len(brackets) > MAX_DEPTH:
        depth = int(np.cumsum(_OPEN[np.frombuffer(brackets, np.uint8)], dtype=np.int32).max())
        if depth > MAX_DEPTH:
            return error(422, 'body: JSON nested %d levels deep; a request needs 3, at most %d are read'
                         % (depth, MAX_DEPTH), field='body')
    if bare.count(b',') + len(brackets) // 2 + 1 > limit:
        return too_many
    return None


def _is_json(headers):
    kind = headers.get(b'content-type', b'').split(b';')[0].strip().lower()
    return not kind or kind == b'application/json' or kind.endswith(b'+json')  # what FastAPI parses as JSON


def _close(response):
    response.headers['Connection'] = 'close'  # the body was not read to its end
    return response


class Guard:
    def __init__(self, app, limits, stopping):
        self.app, self.limits, self.stopping = app, limits, stopping
        self.names = host_names(limits.allowed_hosts)
        self.active = 0  # requests with a body in progress: the event loop's own count, no lock needed

    async def __call__(self, scope, receive, send):
        if scope['type'] != 'http':
            return await self.app(scope, receive, send)
        headers = dict(scope['headers'])
        host = headers.get(b'host')
        if not host_allowed(None if host is None else host.decode('latin-1'), self.names):
            return await _close(error(400, 'the Host header %s is not a name this server answers to (add it with '
                                           '--allowed_hosts)' % host.decode('latin-1')))(scope, receive, send)
        length = headers.get(b'content-length')
        if (length is None or length == b'0') and b'transfer-encoding' not in headers:
            return await self.app(scope, receive, send)  # no body: takes no place
        refusal = self._refuse_early(length)
        if refusal is not None:
            return await _close(refusal)(scope, receive, send)
        self.active += 1
        try:
            body, refusal = await self._read(receive)
            if body is None and refusal is None:
                return  # the client has gone
            if refusal is None and _is_json(headers):
                refusal = json_refusal(body, self.limits.max_articles)
            if refusal is not None:
                return await refusal(scope, receive, send)
            await self.app(scope, _replay(body, receive), send)
        finally:
            self.active -= 1

    def _refuse_early(self, length):
        limits = self.limits
        if self.active >= limits.max_requests:
            return error(503, 'the server is busy (%d requests in progress): try again shortly' % self.active,
                         headers={'Retry-After': RETRY_AFTER})
        if length is not None and not length.isdigit():
            return error(400, 'Content-Length is not a number')
        if length is not None and int(length) > limits.max_body_bytes:
            return self._too_large()
        return None

    def _too_large(self):
        return error(413, 'the request body is over the limit of %d bytes (--max_body_kb)' % self.limits.max_body_bytes)

    async def _read(self, receive):
        """(body, None), (None, refusal), or (None, None) when the client disconnects."""
        deadline = time.monotonic() + self.limits.read_timeout
        chunks, size = [], 0
        while True:
            message = await self._next(receive, deadline)
            if not isinstance(message, dict):
                return None, _close(message)
            if message['type'] == 'http.disconnect':
                return None, None
            chunk = message.get('body', b'')
            size += len(chunk)
            if size > self.limits.max_body_bytes:
                return None, _close(self._too_large())
            chunks.append(chunk)
            if not message.get('more_body', False):
                return b''.join(chunks), None

    async def _next(self, receive, deadline):
        """The client's next message, or the refusal when it does not come in time: by the deadline,
        and once the server is told to stop, within STOP_WAIT seconds."""
        message = asyncio.ensure_future(receive())
        while not message.done():
            if self.stopping.is_set:
                deadline = min(deadline, self.stopping.since + STOP_WAIT)
            left = deadline - time.monotonic()
            if left <= 0:
                message.cancel()
                if self.stopping.is_set:
                    return error(503, 'the server is stopping: the request body was not complete')
                return error(408, 'the request body did not come within %g s (--read_timeout_s)'
                             % self.limits.read_timeout)
            await asyncio.wait((message, self.stopping.future()), timeout=left, return_when=asyncio.FIRST_COMPLETED)
        return message.result()


def _replay(body, receive):
    """The app's receive: the body read here, in one message; then the client's own messages (its
    disconnect, which a route waiting for the model watches for)."""
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return {'type': 'http.request', 'body': body, 'more_body': False}
        return await receive()
    return replayed
