"""The HTTP server against the offline predictor, on the same YNAT headlines, in one run.

The offline predictor runs in this process: its throughput on all the headlines (batches sorted by
length, as main.py runs), the time of one text alone and of one full batch. The server is
serve.py in a subprocess on 127.0.0.1, driven by one client, then by --clients concurrent clients,
each sending one headline per request (keep-alive connections). The two take turns, --rounds
times, so that a shared machine's load falls on both alike; every phase is bounded by a number of
requests and by --seconds, and the server is stopped with SIGTERM at the end.

    python bench/bench_serve.py --data ../shared/data/ynat/ynat_headlines.csv
    python bench/bench_serve.py --data ../shared/data/ynat/ynat_headlines.csv --precision int8
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def headlines(path, n, seed=0):
    titles = pd.read_csv(path, dtype=str, keep_default_na=False)['title'].tolist()
    rng = np.random.RandomState(seed)
    return [titles[i] for i in rng.choice(len(titles), size=min(n, len(titles)), replace=False)]


def median_time(fn, items, repeat=1):
    times = []
    for item in items:
        for _ in range(repeat):
            start = time.perf_counter()
            fn(item)
            times.append(time.perf_counter() - start)
    return float(np.median(times))


def load_predictor(args):
    from kobert_news.pipeline import Pipeline
    from kobert_news.options import PredictConfig
    cfg = PredictConfig(gluon_weight_path=args.gluon_weight_path, precision=args.precision,
                        calib_path=args.calib_path, kobert_dir=args.kobert_dir, batch_size=args.max_batch)
    return Pipeline.load(cfg).predictor


def offline(predictor, texts, max_batch, clients):
    """(texts/s over all texts, texts/s in groups of `clients` texts as they come, median seconds
    of one text, median seconds of one full batch, CPU seconds per text sorted, in groups and alone). The
    groups are what the server can batch when `clients` clients each wait for one headline: their
    lengths are mixed, so they pad more."""
    predictor.predict_articles(texts)  # warm-up
    cpu = time.process_time()
    best = min(_timed(lambda: predictor.predict_articles(texts)) for _ in range(2))
    cpu_sorted = (time.process_time() - cpu) / (2 * len(texts))
    cpu = time.process_time()
    groups = [texts[i:i + clients] for i in range(0, len(texts), clients)]
    grouped = _timed(lambda: [predictor.predict_articles(group) for group in groups])
    cpu_grouped = (time.process_time() - cpu) / len(texts)
    cpu = time.process_time()
    one = median_time(lambda t: predictor.predict_articles([t]), texts[:100])
    cpu_one = (time.process_time() - cpu) / 100
    rng = np.random.RandomState(1)
    batches = [[texts[i] for i in rng.choice(len(texts), max_batch, replace=False)] for _ in range(20)]
    full = median_time(predictor.predict_articles, batches)
    return len(texts) / best, len(texts) / grouped, one, full, cpu_sorted, cpu_grouped, cpu_one


def cpu_seconds(pid):
    """User + system CPU seconds of a process so far (all its threads)."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


class Server:
    def __init__(self, args):
        cmd = [sys.executable, os.path.join(ROOT, 'serve.py'), '--port', '0', '--max_batch', str(args.max_batch),
               '--max_wait_ms', str(args.max_wait_ms), '--precision', args.precision,
               '--max_queue', str(4 * args.clients + 16)]
        for name in ('gluon_weight_path', 'calib_path', 'kobert_dir'):
            if getattr(args, name):
                cmd += ['--' + name, getattr(args, name)]
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
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
        deadline = time.time() + 300
        while time.time() < deadline:
            status, _ = Client(self.port).get('/health')
            if status == 200:
                return
            time.sleep(0.2)
        raise SystemExit('the server was not ready within 300 s')

    def stats(self):
        return json.loads(Client(self.port).get('/info')[1])['stats']

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


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


def main():
    # As serve.py runs: OpenMP threads that sleep when idle, memory on huge pages (bench/README.md).
    # The offline predictor runs in this process, the server in a child: both with the same setting.
    os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    from kobert_gluon import rerun_with_huge_pages
    rerun_with_huge_pages()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', required=True, help='CSV with a title column (YNAT headlines)')
    p.add_argument('--gluon_weight_path', default=None, help='default: the shipped default weight')
    p.add_argument('--precision', default='fp32', choices=('fp32', 'bf16', 'int8'))
    p.add_argument('--calib_path', default=None, help='int8/bf16 calibration CSV for both (default: --data)')
    p.add_argument('--kobert_dir', default=None)
    p.add_argument('--n', type=int, default=1024, help='headlines')
    p.add_argument('--clients', type=int, default=16)
    p.add_argument('--rounds', type=int, default=3, help='turns of offline, 1 client, N clients')
    p.add_argument('--requests', type=int, default=3000, help='requests per phase, at most')
    p.add_argument('--seconds', type=float, default=10.0, help='seconds per phase, at most')
    p.add_argument('--max_batch', type=int, default=32)
    p.add_argument('--max_wait_ms', type=float, default=5.0)
    args = p.parse_args()
    if args.precision != 'fp32' and not args.calib_path:
        args.calib_path = args.data
    texts = headlines(args.data, args.n)
    load = [os.getloadavg()[0]]

    predictor = load_predictor(args)
    server = Server(args)
    rows = []
    try:
        drive(server.port, texts, args.clients, 200, 5)  # warm-up: batch sizes and shapes
        for _ in range(args.rounds):
            rate, grouped, one, full, cpu_sorted, cpu_grouped, cpu_one = offline(predictor, texts, args.max_batch,
                                                                                args.clients)
            cpu_server1 = cpu_seconds(server.proc.pid)
            n1, wall1, lat1 = drive(server.port, texts, 1, args.requests // 4, args.seconds / 2)
            cpu_server1 = cpu_seconds(server.proc.pid) - cpu_server1
            before = server.stats()
            cpu_server, cpu_clients = cpu_seconds(server.proc.pid), time.process_time()
            n, wall, lat = drive(server.port, texts, args.clients, args.requests, args.seconds)
            cpu_server, cpu_clients = cpu_seconds(server.proc.pid) - cpu_server, time.process_time() - cpu_clients
            after = server.stats()
            rows.append(dict(rate=rate, grouped=grouped, one=one, full=full, rps1=n1 / wall1,
                             p50_1=np.percentile(lat1, 50), rps=n / wall, p50=np.percentile(lat, 50), p95=np.percentile(lat, 95),
                             p99=np.percentile(lat, 99), n=n, cpu_sorted=cpu_sorted, cpu_grouped=cpu_grouped,
                             cpu_server=cpu_server / n, cpu_clients=cpu_clients / n, cpu_one=cpu_one,
                             cpu_server1=cpu_server1 / n1,
                             batch=(after['items'] - before['items']) / max(1, after['batches'] - before['batches'])))
            load.append(os.getloadavg()[0])
    finally:
        code = server.stop()

    print('precision %s; %d headlines, %.1f characters on average; max_batch %d, max_wait_ms %g; '
          'OMP_NUM_THREADS=%s OMP_WAIT_POLICY=%s; 1-minute load average %s'
          % (predictor.precision, len(texts), np.mean([len(t) for t in texts]), args.max_batch, args.max_wait_ms,
             os.environ.get('OMP_NUM_THREADS'), os.environ['OMP_WAIT_POLICY'], ' -> '.join('%.1f' % x for x in load)))
    print('round | offline texts/s | in groups of %d | one text ms | full batch ms | 1 client req/s | p50 ms | '
          '%d clients req/s = texts/s | mean batch | p50 ms | p95 ms | p99 ms | vs offline | vs groups | '
          'p99 / full batch | 1-client p50 / one text' % (args.clients, args.clients))
    for i, r in enumerate(rows, 1):
        print('%5d | %15.1f | %15.1f | %11.2f | %13.2f | %14.1f | %6.2f | %26.1f | %10.1f | %6.2f | %6.2f | %6.2f | '
              '%9.0f%% | %8.0f%% | %15.2fx | %22.2fx'
              % (i, r['rate'], r['grouped'], r['one'] * 1e3, r['full'] * 1e3, r['rps1'], r['p50_1'] * 1e3, r['rps'],
                 r['batch'], r['p50'] * 1e3, r['p95'] * 1e3, r['p99'] * 1e3, 100 * r['rps'] / r['rate'],
                 100 * r['rps'] / r['grouped'], r['p99'] / r['full'], r['p50_1'] / r['one']))
    print('CPU milliseconds per text (all cores; the load moves wall times much more than these):')
    print('round | offline sorted | offline in groups of %d | server, %d clients | their clients | offline sorted / '
          '(server + clients) | offline, one text | server, 1 client | server / offline' % (args.clients, args.clients))
    for i, r in enumerate(rows, 1):
        print('%5d | %14.3f | %23.3f | %17.3f | %13.3f | %35.0f%% | %17.3f | %16.3f | %15.2fx'
              % (i, r['cpu_sorted'] * 1e3, r['cpu_grouped'] * 1e3, r['cpu_server'] * 1e3, r['cpu_clients'] * 1e3,
                 100 * r['cpu_sorted'] / (r['cpu_server'] + r['cpu_clients']), r['cpu_one'] * 1e3,
                 r['cpu_server1'] * 1e3, r['cpu_server1'] / r['cpu_one']))
    ratios = [(r['rps'] / r['rate'], r['p99'] / r['full'], r['p50_1'] / r['one']) for r in rows]
    med = np.median(ratios, axis=0)
    goals = [('%d clients: texts/s >= 70%% of offline' % args.clients, med[0] >= 0.7, '%.0f%%' % (100 * med[0])),
             ('%d clients: p99 <= 4x one full batch' % args.clients, med[1] <= 4.0, '%.2fx' % med[1]),
             ('1 client: p50 <= 1.5x one text alone', med[2] <= 1.5, '%.2fx' % med[2])]
    for name, ok, shown in goals:
        print('goal %-40s median of rounds %s  %s' % (name, shown, 'met' if ok else 'MISSED'))
    print('server exit status %d; %s' % (code, ''.join(l for l in server.log if l.startswith('stopped')).strip()))


if __name__ == '__main__':
    main()
