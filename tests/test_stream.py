"""main.py on a long CSV, as a user at a terminal sees it: a bar that counts the rows, chunk by chunk.
(That its memory stays flat as the input grows is measured by bench/bench_stream.py.)"""
import os
import pty
import subprocess
import sys

import pandas as pd

from tests.conftest import KOBERT_HOME, ROOT

SAMPLE = os.path.join(ROOT, 'data', 'sample.csv')


def test_the_progress_bar_counts_rows(tmp_path, tiny_weight):
    data = tmp_path / 'many.csv'
    pd.concat([pd.read_csv(SAMPLE)] * 90).to_csv(data, index=False)  # 2,160 rows
    master, slave = pty.openpty()  # stderr a terminal: tqdm draws its bar
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, 'main.py'), '--gluon_weight_path', tiny_weight,
                             '--data_path', data, '--save_path', tmp_path / 'out.csv', '--chunk_rows', '1024'],
                            env=dict(os.environ, KOBERT_HOME=KOBERT_HOME or '', OMP_NUM_THREADS='1'),
                            stdout=subprocess.DEVNULL,
                            stderr=slave)
    os.close(slave)
    seen = b''
    while True:
        try:
            block = os.read(master, 4096)
        except OSError:  # the other end closed
            break
        if not block:
            break
        seen += block
    os.close(master)
    assert proc.wait(timeout=600) == 0, seen.decode('utf-8', 'replace')
    counts = [line.split('rows')[0].rsplit(' ', 1)[-1] for line in seen.decode('utf-8', 'replace').replace('\r', '\n')
              .splitlines() if line.startswith('classify: ')]
    assert [c for c in counts if c] and {'1024', '2048', '2160'} <= set(counts), counts
