"""Run the app with uvicorn on a socket bound here first: a taken port is a one-line error, and
--port 0 takes any free port (the line 'listening on http://HOST:PORT' says which).

SIGTERM or Ctrl-C: uvicorn stops accepting connections and lets those open finish their request;
the app's shutdown then lets the worker answer every request it accepted; exit status 0.
"""
import logging
import os
import socket

from kobert_news.config import UserError, default_weight

log = logging.getLogger('kobert_news.serve')
BACKLOG = 2048  # uvicorn's default


def check_files(cfg):
    """What can be checked before the model loads (in the background): the files exist."""
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

    check_files(cfg)
    sock = bind(cfg.host, cfg.port)
    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(uvicorn.Config(app, log_level='warning', access_log=False, lifespan='on',
                                           backlog=BACKLOG))
    service.on_failure = lambda: setattr(server, 'should_exit', True)  # uvicorn looks at it every 0.1 s
    log.info('listening on http://%s:%d (API docs at /docs); the model is loading', _url_host(host), port)
    server.run(sockets=[sock])
    stats = service.stats
    log.info('stopped: %d requests accepted, %d answered, %d dropped (client gone), %d refused (queue full)',
             stats.get('accepted', 0), stats.get('answered', 0), stats.get('dropped', 0), stats.get('rejected', 0))
    if service.error is not None:
        raise service.error


def _url_host(host):
    return '[%s]' % host if ':' in host else host
