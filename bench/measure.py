"""Run a command and measure it: wall time and peak resident memory, of the process itself
(getrusage through wait4) and of its whole process tree (Spark: the JVM and its Python workers),
sampled from /proc."""
import json
import os
import resource
import subprocess
import threading
import time

PAGE = os.sysconf('SC_PAGE_SIZE')
TICKS = os.sysconf('SC_CLK_TCK')


def _children():
    """{ppid: [pid]} of every process now alive."""
    tree = {}
    for name in os.listdir('/proc'):
        if name.isdigit():
            try:
                with open('/proc/%s/stat' % name) as f:
                    ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(name))
    return tree


def tree_rss(pid, cpu=None):
    """Resident bytes of pid and all its descendants. cpu: a dict given to be filled with each of their
    CPU seconds so far (user + system), by pid."""
    tree, todo, total = _children(), [pid], 0
    while todo:
        p = todo.pop()
        todo.extend(tree.get(p, []))
        try:
            with open('/proc/%d/statm' % p) as f:
                total += int(f.read().split()[1]) * PAGE
            if cpu is not None:
                with open('/proc/%d/stat' % p) as f:
                    fields = f.read().rsplit(')', 1)[1].split()
                cpu[p] = max(cpu.get(p, 0), (int(fields[11]) + int(fields[12])) / TICKS)
        except (OSError, IndexError, ValueError):
            pass
    return total


def run(cmd, env=None, every=0.2, cpu=None, **kw):
    """(seconds, peak RSS of the process in MiB, peak RSS of its process tree in MiB, returncode).
    cpu: a dict filled with the CPU seconds of each process of the tree, as last sampled."""
    tic = time.time()
    proc = subprocess.Popen(cmd, env=env, **kw)
    peak, done = [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss(proc.pid, cpu))
            done.wait(every)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.time() - tic
    done.set()
    sampler.join()
    proc.returncode = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)  # as Popen's
    return seconds, usage.ru_maxrss / 1024, peak[0] / 2 ** 20, proc.returncode


def report_task(predictor, texts, task, repeat, out):
    """A measuring process's one JSON line (bench_compare.py reads it): when it was ready to answer
    ('start'), or its best rate over `repeat` passes after a warm-up and its least CPU time a text
    ('speed'), and its peak RSS.
    Standard library only: the peers' processes run it under another Python."""
    if task == 'start':
        predictor.predict_proba(texts[:1])
        out['ready'] = time.time()
    elif task == 'speed':
        predictor.predict_proba(texts)  # warm-up: graphs and kernels for these shapes
        best, cpu = float('inf'), float('inf')
        for _ in range(repeat):
            tic, cpu_tic = time.perf_counter(), time.process_time()
            predictor.predict_proba(texts)
            best = min(best, time.perf_counter() - tic)
            cpu = min(cpu, time.process_time() - cpu_tic)  # every thread's: what the machine's load moves least
        out['rate'], out['cpu_ms'] = len(texts) / best, 1000 * cpu / len(texts)
    out['peak_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out), flush=True)
