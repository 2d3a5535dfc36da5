"""Start MXNet's parameter server on this machine: a scheduler, servers and workers.

The scheduler and the servers are Python processes that import mxnet with DMLC_ROLE set (MXNet
then serves until the workers are done); each worker runs the given command with DMLC_ROLE=worker.
Every process finds the scheduler through DMLC_PS_ROOT_URI:DMLC_PS_ROOT_PORT. When a worker fails,
the others would wait for it forever: every process is then stopped, and the first failure's exit
status returned. Children also stop when this process dies (Linux: PR_SET_PDEATHSIG).
"""
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time

import kobert_gluon

log = logging.getLogger('kobert_news.launch')
SERVE = [sys.executable, '-c', 'import mxnet']  # with DMLC_ROLE scheduler/server, importing mxnet serves
GRACE = 30.0  # seconds the scheduler and servers get to finish once the workers are done


def free_port(host='127.0.0.1'):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _die_with_parent():
    """In the child, before exec: get SIGTERM when the launcher dies, however it dies."""
    try:
        ctypes.CDLL('libc.so.6', use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def dmlc_env(role, workers, servers, host, port):
    env = dict(os.environ, DMLC_ROLE=role, DMLC_PS_ROOT_URI=host, DMLC_PS_ROOT_PORT=str(port),
               DMLC_NUM_WORKER=str(workers), DMLC_NUM_SERVER=str(servers))
    if host in ('127.0.0.1', 'localhost'):
        env['DMLC_NODE_HOST'] = '127.0.0.1'  # every node on the loopback interface
    return env


def threads_per_worker(workers):
    """Cores shared by the local workers (OMP_NUM_THREADS), unless the user set it."""
    if kobert_gluon.USER_THREADS:
        return kobert_gluon.USER_THREADS
    return str(max(1, kobert_gluon.cores() // workers))


def launch(command, workers=2, servers=1, host='127.0.0.1', port=0, poll=0.2):
    """Run command as `workers` workers with a scheduler and `servers` servers on this machine.
    Returns 0 when every worker succeeded, else the first failing worker's (or server's) status."""
    port = port or free_port(host)
    procs = []

    def start(role, cmd, **extra):
        env = dmlc_env(role, workers, servers, host, port)
        env.update(extra)
        procs.append((role, subprocess.Popen(cmd, env=env, preexec_fn=_die_with_parent)))

    try:
        start('scheduler', SERVE, OMP_NUM_THREADS='1')
        for _ in range(servers):
            start('server', SERVE, OMP_NUM_THREADS='1')
        threads = threads_per_worker(workers)
        for _ in range(workers):
            start('worker', command, OMP_NUM_THREADS=threads)
        log.info('parameter server on %s:%d: 1 scheduler, %d server(s), %d worker(s)', host, port, servers, workers)
        return _wait(procs, poll)
    finally:
        _stop(procs)


def _wait(procs, poll):
    workers = [p for role, p in procs if role == 'worker']
    done_at = None
    while True:
        if any(p.poll() not in (None, 0) for _, p in procs):
            return _failure(procs)
        if all(p.poll() == 0 for p in workers):
            done_at = done_at or time.time()
            if all(p.poll() is not None for _, p in procs) or time.time() - done_at > GRACE:
                return 0
        time.sleep(poll)


def _failure(procs, settle=2.0):
    """The status to report once a process has failed. The others may fail in turn (ps-lite aborts
    when a peer vanishes), so after a moment the first process that exited with an error status of
    its own wins over those killed by a signal."""
    time.sleep(settle)
    failed = [(role, p.poll()) for role, p in procs if p.poll() not in (None, 0)]
    role, code = next(((r, c) for r, c in failed if c > 0), failed[0])
    log.warning('a %s exited with status %d: stopping the others', role, code)
    return code


def _stop(procs):
    alive = [p for _, p in procs if p.poll() is None]
    for p in alive:
        p.terminate()
    deadline = time.time() + 10
    for p in alive:
        try:
            p.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
