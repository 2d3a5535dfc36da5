"""Run the app with uvicorn on a socket bound here first: a taken port is a one-line error, and
--port 0 takes any free port (the line 'listening on http://HOST:PORT' says which).

A connection must bring a request's headers within --read_timeout_s of its opening (or of its
last answer), else it is closed: uvicorn has no such timeout, so its HTTP protocol is extended here
(the app's middleware, kobert_news.serving.guard, times the body).

SIGTERM or Ctrl-C: uvicorn stops accepting connections and lets those open finish their request;
a body still coming is waited for a second at most (then 503); the app's shutdown then lets the
worker answer every request it accepted; exit status 0, within GRACE seconds whatever the clients do.
"""
import asyncio
import logging
import os
import socket

from kobert_base.errors import UserError
from kobert_base.paths import default_weight

log = logging.getLogger('kobert_news.serve')
BACKLOG = 2048  # uvicorn's default
GRACE = 20  # seconds for connections to finish once told to stop; then their requests are given up


def check_files(cfg):
    """What can be checked before the model loads (in the background): the files exist, and an
    export folder is one, with a model for the precision (its checksums are checked as it loads)."""
    if cfg.model_dir:
        from kobert_base import export_folder as folder
        described = folder.read(cfg.model_dir)
        if folder.MODELS.get(cfg.precision) not in described['files']:
            raise UserError('%s has no model for --precision %s: an export folder runs fp32 (model.onnx), or int8 '
                            '(model_int8.onnx, kobert-news export --int8)' % (cfg.model_dir, cfg.precision))
        return
    from kobert_news.pipeline import gluon
    gluon()  # a weight file needs MXNet: where it is missing (the deploy path), one line says to use --model_dir
    if cfg.gluon_weight_path and not os.path.isfile(cfg.gluon_weight_path):
        raise UserError('no weight file at %s (check --gluon_weight_path)' % cfg.gluon_weight_path)
    if not cfg.gluon_weight_path and default_weight()[0] is None:
        raise UserError('%s: pass --gluon_weight_path' % default_weight()[1])
    if cfg.calib_path and not os.path.isfile(cfg.calib_path):
        raise UserError('no such CSV file: %s (check --calib_path)' % cfg.calib_path)


def bind(host, port):
    """A listening socket on host:port (port 0: a free one)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except (socket.gaierror, OSError) as e:
        raise UserError('cannot listen on %s: %s (check --host)' % (host, getattr(e, 'strerror', None) or e))
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)  # from here on, connections wait for the server instead of being refused
    except OSError as e:
        sock.close()
        raise UserError('cannot listen on %s:%d: %s (check --host and --port)' % (host, port, e.strerror or e))
    return sock


def serve(cfg, service, app):
    """Serve app on cfg.host:cfg.port until SIGTERM or Ctrl-C; raises the model's loading error."""
    import uvicorn
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    check_files(cfg)
    sock = bind(cfg.host, cfg.port)
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(app, log_level='warning', access_log=False, lifespan='on', backlog=BACKLOG,
                            http=headers_in_time(AutoHTTPProtocol, cfg.read_timeout_s),
                            timeout_graceful_shutdown=GRACE)
    server = _server(config, app.state.stopping)
    service.on_failure = lambda: setattr(server, 'should_exit', True)  # uvicorn looks at it every 0.1 s
    log.info('listening on http://%s:%d (API docs at /docs); the model is loading', _url_host(host), port)
    server.run(sockets=[sock])
    stats = service.stats
    log.info('stopped: %d requests accepted: %d answered, %d failed, %d dropped (client gone); '
             '%d refused (queue full)', stats['accepted'], stats['answered'], stats['failed'], stats['dropped'],
             stats['rejected'])
    if service.error is not None:
        raise service.error


def _server(config, stopping):
    """uvicorn's Server, which also sets the app's Stopping when a signal tells it to stop. It does
    what uvicorn's handle_exit does (a second Ctrl-C forces the exit) without keeping the signal to
    raise again at the end, as uvicorn's newer releases do: the exit status stays 0."""
    import signal

    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame):
            stopping.set()
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
            else:
                self.should_exit = True
    return Server(config)


def headers_in_time(protocol, seconds):
    """uvicorn's HTTP protocol class, closing a connection that has not brought a request's headers
    within seconds of its opening or of its last answer (a request under way is the app's to time)."""

    class Timed(protocol):
        _deadline = None

        def connection_made(self, transport):
            super().connection_made(transport)
            self._await_headers()

        def on_response_complete(self):
            super().on_response_complete()
            self._await_headers()

        def connection_lost(self, exc):
            if self._deadline is not None:
                self._deadline.cancel()
            super().connection_lost(exc)

        def _await_headers(self):
            if self._deadline is not None:
                self._deadline.cancel()
            # A new request replaces self.cycle (set once its headers are in): until then, the old one.
            self._deadline = asyncio.get_event_loop().call_later(seconds, self._expire, self.cycle)

        def _expire(self, cycle):
            if self.cycle is cycle and not self.transport.is_closing():
                self.transport.close()
    return Timed


def _url_host(host):
    return '[%s]' % host if ':' in host else host
