"""A Spark standalone cluster on loopback for the tests: a master and workers started with the daemon
script that ships with pyspark (sbin/spark-daemon.sh, which sbin/start-master.sh and start-worker.sh
call in a Spark distribution), on free ports, every socket on 127.0.0.1, logs, pid files and work
folders under one temporary folder; stopped by the same script, each step bounded in time."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

MASTER = 'org.apache.spark.deploy.master.Master'
WORKER = 'org.apache.spark.deploy.worker.Worker'
IDENT = 'kobert-news-test'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def spark_home():
    import pyspark
    return os.path.dirname(os.path.abspath(pyspark.__file__))


class Cluster:
    """cluster.url (spark://127.0.0.1:port) once start() returns; cluster.env: the environment a
    driver on this machine uses (the Python of the workers' executors, loopback addresses)."""

    def __init__(self, folder, workers=2, cores=1, memory='1g', timeout=180):
        self.folder, self.workers, self.cores, self.memory, self.timeout = str(folder), workers, cores, memory, timeout
        self.home = spark_home()
        self.env = dict(os.environ, SPARK_HOME=self.home, SPARK_LOCAL_IP='127.0.0.1', SPARK_MASTER_HOST='127.0.0.1',
                        SPARK_LOG_DIR=os.path.join(self.folder, 'logs'), SPARK_PID_DIR=os.path.join(self.folder, 'pids'),
                        SPARK_WORKER_DIR=os.path.join(self.folder, 'work'), SPARK_IDENT_STRING=IDENT,
                        PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
        self.env.pop('SPARK_CONF_DIR', None)
        self.url = self.ui = None
        self.started = []

    def _daemon(self, action, cls, instance, *args):
        script = os.path.join(self.home, 'sbin', 'spark-daemon.sh')
        r = subprocess.run(['bash', script, action, cls, str(instance)] + [str(a) for a in args], env=self.env,
                           capture_output=True, text=True, timeout=120)
        if r.returncode:
            raise RuntimeError('spark-daemon.sh %s %s %d failed: %s' % (action, cls, instance, r.stdout + r.stderr))

    def start(self):
        port, ui = free_port(), free_port()
        self.url, self.ui = 'spark://127.0.0.1:%d' % port, 'http://127.0.0.1:%d/json/' % ui
        self._daemon('start', MASTER, 1, '--host', '127.0.0.1', '--port', port, '--webui-port', ui)
        self.started.append((MASTER, 1))
        for i in range(1, self.workers + 1):
            self._daemon('start', WORKER, i, '--host', '127.0.0.1', '--webui-port', free_port(), '--cores', self.cores,
                         '--memory', self.memory, self.url)
            self.started.append((WORKER, i))
        deadline = time.time() + self.timeout
        while self.alive_workers() < self.workers:
            if time.time() > deadline:
                raise RuntimeError('the cluster did not come up in %d s; logs in %s' % (self.timeout, self.folder))
            time.sleep(0.5)
        return self

    def alive_workers(self):
        try:
            with urllib.request.urlopen(self.ui, timeout=5) as r:
                return int(json.load(r).get('aliveworkers', 0))
        except (OSError, ValueError):
            return 0

    def pids(self):
        """The daemons' process ids, from the pid files the daemon script wrote."""
        found = {}
        for cls, i in self.started:
            path = os.path.join(self.folder, 'pids', 'spark-%s-%s-%d.pid' % (IDENT, cls, i))
            if os.path.isfile(path):
                found[(cls, i)] = int(open(path).read().strip())
        return found

    def stop(self):
        """Workers first, then the master, each by the daemon script; any daemon still alive after
        that (its pid file says which) is killed."""
        pids = self.pids()
        for cls, i in reversed(self.started):
            try:
                self._daemon('stop', cls, i)
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        for pid in pids.values():
            deadline = time.time() + 30
            while _alive(pid) and time.time() < deadline:
                time.sleep(0.2)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.started = []


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
