"""The deploy server against the ONNX Runtime engine offline and against the Gluon server, in one run.

    .venv/bin/python bench/bench_serve.py --data ../shared/data/ynat/ynat_headlines.csv --models default kobert

Per model (the shipped weight, small; a kobert-size weight of random values, bert_12_768_12), each
exported by kobert-news export --to onnx --int8 (bench_deploy.py's setup), on --n YNAT headlines (a seeded draw):
- the deploy server, `kobert-news serve --model_dir D --precision int8` (.venv-deploy, ONNX Runtime), and
  today's Gluon server, `kobert-news serve --precision int8` (this Python, MXNet; calibrated on the same
  headlines, its int8 model cached beforehand), each on 127.0.0.1:0. Cold start: process start to
  /health 200, each started once beforehand so that both find their files cached.
- per round, in turn: the ONNX engine offline (bench_serve_child.py, a fresh process: all headlines
  length-sorted as main.py runs them, in groups of --clients as the clients send them, one alone, a
  full batch), then each server driven by one client, then by --clients concurrent clients, each
  sending one headline per request (keep-alive raw sockets: a light load generator). Every phase is
  bounded by a number of requests and by --seconds.
- memory: each server's peak RSS (VmHWM) at the end, beside a bare onnxruntime InferenceSession's
  load-and-run peak on the same model and headlines (bench_serve_child.py --task bare_memory).
The servers are stopped with SIGTERM (exit status 0, every accepted request answered).
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from bench_deploy import headlines, setup  # noqa: E402
from common import cpu_line  # noqa: E402


def cpu_seconds(pid):
    """User + system CPU seconds of a process so far (all its threads)."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def vm_hwm_mb(pid):
    with open('/proc/%d/status' % pid) as f:
        return int(re.search(r'VmHWM:\s+(\d+) kB', f.read()).group(1)) / 1024


class Server:
    """A server in a child process on a free port; cold_s: process start to /health 200."""

    def __init__(self, cmd, env):
        start = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
        self.log = []
        for line in self.proc.stderr:
            self.log.append(line)
            m = re.search(r'listening on http://127\.0\.0\.1:(\d+)', line)
            if m:
                self.port = int(m.group(1))
                break
        else:
            raise SystemExit('the server did not start:\n' + ''.join(self.log))
        threading.Thread(target=lambda: self.log.extend(self.proc.stderr), daemon=True).start()
        deadline = time.time() + 600
        while time.time() < deadline:
            try:
                if Client(self.port).get('/health')[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.01)
        else:
            raise SystemExit('the server was not ready within 600 s:\n' + ''.join(self.log))
        self.cold_s = time.perf_counter() - start

    def stats(self):
        return json.loads(Client(self.port).get('/info')[1])['stats']

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=120)
        time.sleep(0.2)
        return code, ''.join(l for l in self.log if l.startswith('stopped')).strip()


class Client:
    """A keep-alive HTTP/1.1 connection. The load generator is kept light (a request's bytes are
    built once, the answer is read by its Content-Length): it shares the machine with the server."""

    def __init__(self, port):
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=60)
        self.buf = b''

    def send(self, raw):
        self.sock.sendall(raw)
        while b'\r\n\r\n' not in self.buf:
            self.buf += self._recv()
        head, _, rest = self.buf.partition(b'\r\n\r\n')
        length = int(re.search(rb'(?i)content-length: *(\d+)', head).group(1))
        while len(rest) < length:
            rest += self._recv()
        self.buf = rest[length:]
        return int(head[9:12]), rest[:length]

    def _recv(self):
        data = self.sock.recv(1 << 16)
        if not data:
            raise ConnectionError('the server closed the connection')
        return data

    def get(self, path):
        return self.send(b'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' % path.encode())

    def predict(self, raw):
        status, body = self.send(raw)
        if status != 200 or not body.startswith(b'{"model"'):
            raise RuntimeError('HTTP %d: %s' % (status, body[:200]))
        return body


def predict_request(title):
    body = json.dumps({'articles': [{'title': title}]}, ensure_ascii=False).encode('utf-8')
    return (b'POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n'
            b'Content-Length: %d\r\n\r\n' % len(body)) + body


def drive(port, texts, clients, requests, seconds):
    """(requests done, wall seconds, latencies): clients threads, each sending one headline per
    request, until `requests` are sent in all or `seconds` have passed."""
    raws = [predict_request(t) for t in texts]
    lock = threading.Lock()
    sent = [0]
    latencies = []
    stop_at = time.perf_counter() + seconds

    def work(k):
        client = Client(port)
        mine = []
        while time.perf_counter() < stop_at:
            with lock:
                if sent[0] >= requests:
                    break
                i = sent[0]
                sent[0] += 1
            start = time.perf_counter()
            client.predict(raws[(i * 7 + k) % len(raws)])
            mine.append(time.perf_counter() - start)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies), time.perf_counter() - start, np.array(latencies)


def servers(a, work, env, weight, folder, texts_csv):
    """{'onnx': command, 'gluon': command} of the two servers on a model, int8."""
    common = ['--port', '0', '--precision', 'int8', '--max_batch', str(a.max_batch), '--max_wait_ms',
              str(a.max_wait_ms), '--max_queue', str(4 * a.clients + 16)]
    return {'onnx': [a.deploy_python, '-m', 'kobert_news', 'serve', '--model_dir', folder] + common,
            'gluon': [sys.executable, '-m', 'kobert_news', 'serve', '--gluon_weight_path', weight, '--calib_path',
                      texts_csv, '--cache_dir', os.path.join(work, 'cache')] + common}


def child(a, env, *args):
    cmd = [a.deploy_python, os.path.join(HERE, 'bench_serve_child.py')] + [str(x) for x in args]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode:
        raise SystemExit('failed: %s\n%s' % (' '.join(cmd), done.stderr[-2000:]))
    return json.loads(done.stdout.splitlines()[-1])


def phase(server, texts, clients, requests, seconds):
    """A server driven by clients: texts/s, latencies, CPU ms a text of the server, mean batch."""
    before, cpu = server.stats(), cpu_seconds(server.proc.pid)
    n, wall, lat = drive(server.port, texts, clients, requests, seconds)
    after = server.stats()
    return {'rps': n / wall, 'p50': 1000 * np.percentile(lat, 50), 'p95': 1000 * np.percentile(lat, 95),
            'p99': 1000 * np.percentile(lat, 99), 'cpu_ms': 1000 * (cpu_seconds(server.proc.pid) - cpu) / n,
            'batch': (after['items'] - before['items']) / max(1, after['batches'] - before['batches'])}


def run_model(a, work, env, name, weight, folder, texts_path, texts):
    csv = os.path.join(work, 'headlines.csv')
    with open(csv, 'w', encoding='utf-8') as f:
        f.write('title\n' + ''.join('"%s"\n' % t.replace('"', '""') for t in texts))
    cmds = servers(a, work, env, weight, folder, csv)
    for kind, cmd in cmds.items():  # once beforehand: the Gluon int8 model cached, every file read once
        print('%s: %s server, first start' % (name, kind), file=sys.stderr, flush=True)
        Server(cmd, env).stop()
    live, out = {}, {'rounds': []}
    try:
        for kind, cmd in cmds.items():
            live[kind] = Server(cmd, env)
            out['cold_' + kind] = live[kind].cold_s
        for k in range(a.rounds):
            print('%s: round %d' % (name, k + 1), file=sys.stderr, flush=True)
            row = {'offline': child(a, env, '--model_dir', folder, '--texts', texts_path, '--clients', a.clients,
                                    '--max_batch', a.max_batch)}
            for kind in (('onnx', 'gluon') if k % 2 == 0 else ('gluon', 'onnx')):
                drive(live[kind].port, texts, a.clients, 200, 5)  # warm-up: batch sizes and shapes
                row[kind + '1'] = phase(live[kind], texts, 1, a.requests // 4, a.seconds / 2)
                row[kind] = phase(live[kind], texts, a.clients, a.requests, a.seconds)
            out['rounds'].append(row)
        for kind, server in live.items():
            out['rss_' + kind] = vm_hwm_mb(server.proc.pid)
    finally:
        for kind, server in live.items():
            out['exit_' + kind] = server.stop()
    out['bare'] = child(a, env, '--model_dir', folder, '--texts', texts_path, '--task', 'bare_memory',
                        '--max_batch', a.max_batch)['peak_mb']
    return out


def spread(values, fmt):
    return (fmt % statistics.median(values)) + (' (%s-%s)' % (fmt % min(values), fmt % max(values))
                                                if len(values) > 1 else '')


def report(a, results, n, load):
    print('CPU: %s; 1-minute load average %s' % (cpu_line(), ' -> '.join('%.1f' % x for x in load)))
    print('%d YNAT headlines; int8; --max_batch %d --max_wait_ms %g; %d clients; %d round(s): median (range)\n'
          % (n, a.max_batch, a.max_wait_ms, a.clients, a.rounds))
    print('| model | what | texts/s | p50 ms | p95 ms | p99 ms | CPU ms a text | mean batch |')
    print('|---|---|---|---|---|---|---|---|')
    for name, r in results.items():
        rows = r['rounds']
        off = [x['offline'] for x in rows]
        print('| %s | ONNX engine offline, length-sorted batches | %s | | | | %s | |'
              % (name, spread([o['rate'] for o in off], '%.1f'), spread([o['cpu_ms'] for o in off], '%.3f')))
        print('| %s | ONNX engine offline, groups of %d as sent | %s | | | | %s | |'
              % (name, a.clients, spread([o['grouped'] for o in off], '%.1f'),
                 spread([o['grouped_cpu_ms'] for o in off], '%.3f')))
        print('| %s | ONNX engine offline: one text / a full batch (ms) | | %s / %s | | | | |'
              % (name, spread([o['one_ms'] for o in off], '%.2f'), spread([o['full_ms'] for o in off], '%.2f')))
        for kind, label in (('onnx', 'deploy server (ONNX Runtime)'), ('gluon', 'Gluon server (MXNet)')):
            for key, who in ((kind + '1', '1 client'), (kind, '%d clients' % a.clients)):
                got = [x[key] for x in rows]
                print('| %s | %s, %s | %s | %s | %s | %s | %s | %s |' % (
                    name, label, who, spread([g['rps'] for g in got], '%.1f'), spread([g['p50'] for g in got], '%.2f'),
                    spread([g['p95'] for g in got], '%.2f'), spread([g['p99'] for g in got], '%.2f'),
                    spread([g['cpu_ms'] for g in got], '%.3f'), spread([g['batch'] for g in got], '%.1f')))
    print('\n| model | deploy server cold start s | Gluon server cold start s | deploy server peak RSS MB | '
          'Gluon server peak RSS MB | bare session load-and-run peak MB | exit statuses |')
    print('|---|---|---|---|---|---|---|')
    for name, r in results.items():
        print('| %s | %.2f | %.2f | %.0f | %.0f | %.0f | %s; %s |' % (
            name, r['cold_onnx'], r['cold_gluon'], r['rss_onnx'], r['rss_gluon'], r['bare'],
            r['exit_onnx'][0], r['exit_gluon'][0]))
    print('\ngoals (medians of the rounds, range):')
    for name, r in results.items():
        rows = r['rounds']
        ratios = {'vs groups': [x['onnx']['rps'] / x['offline']['grouped'] for x in rows],
                  'p99 / full batch': [x['onnx']['p99'] / x['offline']['full_ms'] for x in rows],
                  'vs Gluon server': [x['onnx']['rps'] / x['gluon']['rps'] for x in rows]}
        goals = [('%d clients: texts/s >= 85%% of the engine offline on the same groups' % a.clients,
                  statistics.median(ratios['vs groups']) >= 0.85, spread([100 * v for v in ratios['vs groups']], '%.0f%%')),
                 ('%d clients: p99 <= 4x one full batch' % a.clients, statistics.median(ratios['p99 / full batch']) <= 4,
                  spread(ratios['p99 / full batch'], '%.2fx')),
                 ('%d clients: >= 1.5x the Gluon int8 server' % a.clients,
                  statistics.median(ratios['vs Gluon server']) >= 1.5, spread(ratios['vs Gluon server'], '%.2fx')),
                 ('peak RSS <= 1.3x a bare session', r['rss_onnx'] <= 1.3 * r['bare'], '%.2fx' % (r['rss_onnx'] / r['bare'])),
                 ('cold start no slower than the Gluon server', r['cold_onnx'] <= r['cold_gluon'],
                  '%.2f s vs %.2f s' % (r['cold_onnx'], r['cold_gluon']))]
        for goal, ok, shown in goals:
            print('%s: %-75s %s  %s' % (name, goal, shown, 'met' if ok else 'MISSED'))
        print('%s: stop lines: %s | %s' % (name, r['exit_onnx'][1], r['exit_gluon'][1]))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', required=True, help='CSV with a title column (YNAT headlines)')
    p.add_argument('--models', nargs='*', default=['default', 'kobert'], choices=('default', 'kobert'))
    p.add_argument('--n', type=int, default=1024, help='headlines')
    p.add_argument('--clients', type=int, default=16)
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--requests', type=int, default=3000, help='requests per phase, at most')
    p.add_argument('--seconds', type=float, default=8.0, help='seconds per phase, at most')
    p.add_argument('--max_batch', type=int, default=32)
    p.add_argument('--max_wait_ms', type=float, default=5.0)
    p.add_argument('--deploy_python', default=os.path.join(ROOT, '.venv-deploy', 'bin', 'python'))
    p.add_argument('--workdir', default=None, help='kept when given (weights, exports, cache)')
    a = p.parse_args()
    work = a.workdir or tempfile.mkdtemp(prefix='bench-serve-')
    os.makedirs(work, exist_ok=True)
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(work, 'home'))  # md5 book, not the user's cache
    try:
        models = setup(a, work, env)
        texts_path, n = headlines(a, work)
        with open(texts_path, encoding='utf-8') as f:
            texts = json.load(f)['texts']
        load, results = [os.getloadavg()[0]], {}
        for name, (weight, folder) in models.items():
            results[name] = run_model(a, work, env, name, weight, folder, texts_path, texts)
            load.append(os.getloadavg()[0])
        report(a, results, n, load)
    finally:
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
