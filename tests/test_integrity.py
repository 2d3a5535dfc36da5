"""Nothing lost, nothing silently wrong: outputs never land on inputs or project files, keep their
permissions, fail before the work (or in one line after it), and the caches can be listed and cleared."""
import os
import resource
import signal
import stat
import subprocess
import sys
import time

import pandas as pd
import pytest

from tests.conftest import KOBERT_HOME, ROOT

SAMPLE = os.path.join(ROOT, 'data', 'sample.csv')


@pytest.fixture
def data(tmp_path):
    path = tmp_path / 'news.csv'
    pd.read_csv(SAMPLE).to_csv(path, index=False)
    return path


def test_outputs_never_land_on_inputs_however_spelled(tmp_path, data, tiny_weight, call, monkeypatch):
    original = data.read_bytes()
    (tmp_path / 'sub').mkdir()
    os.symlink(str(data), str(tmp_path / 'link.csv'))
    monkeypatch.chdir(str(tmp_path / 'sub'))
    for spelling in (str(data), '../news.csv', str(tmp_path / 'sub' / '..' / 'news.csv'), str(tmp_path / 'link.csv')):
        r = call('predict', '--gluon_weight_path', tiny_weight, '--data_path', data, '--save_path', spelling)
        assert r.returncode == 2 and 'is the input' in r.stderr, (spelling, r.stderr)
        r = call('baseline', '--data_path', data, '--save_path', spelling)
        assert r.returncode == 2 and 'is the input' in r.stderr, (spelling, r.stderr)
    r = call('predict', '--gluon_weight_path', tiny_weight, '--data_path', data, '--save_path', tiny_weight)
    assert r.returncode == 2 and 'is the input' in r.stderr
    assert data.read_bytes() == original


def test_project_files_are_not_outputs(data, tiny_weight, call):
    for target in ('main.py', os.path.join('weights', 'kobert-news-small-ynat.json'),
                   os.path.join('kobert_gluon', 'model.py'), os.path.join('kobert_news', 'out.csv')):
        path = os.path.join(ROOT, target)
        before = open(path, 'rb').read() if os.path.exists(path) else None
        r = call('predict', '--gluon_weight_path', tiny_weight, '--data_path', data, '--save_path', path)
        assert r.returncode == 2 and 'will not write' in r.stderr, (target, r.stderr)
        assert (open(path, 'rb').read() if os.path.exists(path) else None) == before
    r = call('record', '--runs', ROOT, '--output_dir', os.path.join(ROOT, 'kobert_gluon'))
    assert r.returncode == 2 and 'will not write into' in r.stderr


def test_replaced_output_keeps_its_permissions_and_read_only_is_refused(tmp_path, data, tiny_weight, call):
    out = tmp_path / 'out.csv'
    out.write_text('old\n')
    os.chmod(str(out), 0o640)
    assert call('predict', '--gluon_weight_path', tiny_weight, '--data_path', data, '--save_path', out).returncode == 0
    assert stat.S_IMODE(os.stat(str(out)).st_mode) == 0o640 and len(pd.read_csv(str(out))) == 24
    os.chmod(str(out), 0o444)
    before = out.read_bytes()
    r = call('predict', '--gluon_weight_path', tiny_weight, '--data_path', data, '--save_path', out)
    assert r.returncode == 2 and 'is read-only: not replaced' in r.stderr
    assert out.read_bytes() == before and sorted(os.listdir(str(tmp_path))) == ['news.csv', 'out.csv']


def test_output_folder_that_is_a_file_fails_before_the_work(tmp_path, data, tiny_weight, call):
    (tmp_path / 'afile').write_text('x')
    r = call('predict', '--gluon_weight_path', tiny_weight, '--data_path', data,
             '--save_path', tmp_path / 'afile' / 'out.csv')
    assert r.returncode == 2 and 'is not a folder' in r.stderr
    r = call('train', '--data_path', data, '--output_dir', tmp_path / 'afile', '--model', 'tiny', '--epochs', 1)
    assert r.returncode == 2 and 'is a file, not a folder' in r.stderr


def _limited_run(args, limit_bytes):
    """main.py in a process that may not write files over limit_bytes: a full disk, as the writer sees it."""
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    env = dict(os.environ, KOBERT_HOME=KOBERT_HOME or '', GLIBC_TUNABLES='')
    return subprocess.run([sys.executable, os.path.join(ROOT, 'main.py')] + [str(a) for a in args],
                          preexec_fn=limit, capture_output=True, text=True, env=env, timeout=300)


def test_full_disk_is_one_error_line_and_leaves_nothing(tmp_path, tiny_weight):
    data = tmp_path / 'news.csv'
    pd.concat([pd.read_csv(SAMPLE)] * 100).to_csv(data, index=False)  # about 800 kB of output
    # 200 kB: room for MXNet's small shared-memory batches, none for the whole output.
    r = _limited_run(['--gluon_weight_path', tiny_weight, '--data_path', data, '--save_path', tmp_path / 'o.csv'],
                     200000)
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith('error: File too large')
    assert sorted(os.listdir(str(tmp_path))) == ['news.csv']


def test_ctrl_c_says_interrupted(tmp_path, tiny_weight):
    data = tmp_path / 'many.csv'
    pd.concat([pd.read_csv(SAMPLE)] * 1000).to_csv(data, index=False)
    env = dict(os.environ, KOBERT_HOME=KOBERT_HOME or '', GLIBC_TUNABLES='')
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, 'main.py'), '--gluon_weight_path', tiny_weight,
                          '--data_path', str(data), '--save_path', str(tmp_path / 'o.csv'), '--chunk_rows', '1024'],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                         preexec_fn=_ctrl_c_default)
    # Interrupt in the middle of the work: once the first chunk is in the temporary output, many are left.
    deadline = time.time() + 120
    while p.poll() is None and time.time() < deadline and not _written_part(tmp_path):
        time.sleep(0.02)
    assert p.poll() is None, 'main.py ended before it wrote its first chunk'
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and err.strip().splitlines()[-1] == 'interrupted' and 'Traceback' not in err
    assert not (tmp_path / 'o.csv').exists() and not [n for n in os.listdir(str(tmp_path)) if n.endswith('.part')]


def test_ctrl_c_that_a_library_turns_into_an_error_is_still_ctrl_c(capsys):
    """pandas' C reader turns a KeyboardInterrupt raised while it reads into a ParserError ('Calling
    read(nbytes) on source failed'): on a busy machine main.py's Ctrl-C landed there and exited 2."""
    from kobert_news.cli.common import run

    class Interrupting:  # a file whose second read is interrupted, as Ctrl-C interrupts a slow disk
        def __init__(self):
            self.f, self.reads = open(SAMPLE, encoding='utf-8-sig', newline=''), 0

        def read(self, n=-1):
            self.reads += 1
            if self.reads == 2:
                os.kill(os.getpid(), signal.SIGINT)
            return self.f.read(n)

        def __iter__(self):
            return self

        def __next__(self):
            return self.f.__next__()

    def main(argv):
        reader = Interrupting()
        with reader.f:
            for _ in pd.read_csv(reader, dtype=str, chunksize=2):
                pass
    old = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
    try:
        status = run(main, [])
    finally:
        signal.signal(signal.SIGINT, old)
    assert status == 130 and capsys.readouterr().err.strip().splitlines()[-1] == 'interrupted'


def _ctrl_c_default():
    """SIGINT as a terminal gives it: a suite started in the background (`make test &`) ignores it,
    and Python then leaves it ignored in main.py too."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _written_part(folder):
    for n in os.listdir(str(folder)):
        try:
            if n.endswith('.part') and os.path.getsize(str(folder / n)):
                return True
        except OSError:  # renamed meanwhile
            pass
    return False


def test_caches_can_be_listed_and_cleared(tmp_path, call):
    import numpy as np
    from kobert_gluon import cache_entries
    root = tmp_path / 'cache'
    cache_entries.store(str(root / 'embeddings'), 'k1', lambda d: np.save(os.path.join(d, 'vectors.npy'), np.zeros((2, 3))))
    (root / 'keep.txt').parent.mkdir(exist_ok=True)
    (root / 'keep.txt').write_text('not a cache entry')
    r = call('cache', 'list', '--root', root)
    assert r.returncode == 0 and 'embeddings' in r.stdout and '1 entries' in r.stdout
    r = call('cache', 'clear', '--root', root)
    assert r.returncode == 0 and 'removed 1 entries' in r.stdout
    assert os.listdir(str(root / 'embeddings')) == [] and (root / 'keep.txt').exists()


@pytest.mark.parametrize('how', ['rewritten in place', 'renamed over'])
def test_a_replaced_weight_gets_its_own_md5_even_with_its_time_restored(tmp_path, tokenizer, monkeypatch, how):
    """The md5 remembered for a weight is never that of a file it replaced: a same-size file copied
    in place or renamed over it, its modification time set back, is hashed again."""
    import shutil
    from kobert_gluon.hub import md5sum
    from kobert_gluon.weights import weight_md5
    from tests.conftest import make_weight
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    weight = make_weight(tmp_path / 'w.params', tokenizer, seed=0)
    other = make_weight(tmp_path / 'other.params', tokenizer, seed=1)
    assert os.path.getsize(weight) == os.path.getsize(other) > 1 << 20 and md5sum(weight) != md5sum(other)
    old = os.stat(weight)
    time.sleep(2.5)  # a weight is remembered only once its last change is older than the clock's grain
    assert weight_md5(weight) == md5sum(weight)
    assert os.path.isfile(str(tmp_path / 'xdg' / 'kobert-news' / 'md5.json'))  # remembered
    if how == 'renamed over':
        shutil.copyfile(other, str(tmp_path / 'new.params'))
        os.replace(str(tmp_path / 'new.params'), weight)
    else:
        shutil.copyfile(other, weight)
    os.utime(weight, ns=(old.st_atime_ns, old.st_mtime_ns))
    assert os.stat(weight).st_mtime_ns == old.st_mtime_ns and os.path.getsize(weight) == old.st_size
    assert weight_md5(weight) == md5sum(other)


def _int8_supported():
    from kobert_gluon import precision
    return precision.supported('int8')


@pytest.mark.parametrize('where', ['a file as --cache_dir', 'a file as its int8 folder', 'a full disk'])
def test_int8_without_a_writable_cache_quantizes_for_the_run(tmp_path, data, tiny_weight, where):
    """The int8 cache cannot be written: the model is quantized for this run only, with one warning
    naming --cache_dir, and the answers are those of a run with a cache."""
    if not _int8_supported():
        pytest.skip('this CPU lacks int8 instructions')
    flags = ['--gluon_weight_path', tiny_weight, '--data_path', data, '--precision', 'int8']
    r = _limited_run(flags + ['--cache_dir', tmp_path / 'cache', '--save_path', tmp_path / 'expected.csv'], 1 << 40)
    assert r.returncode == 0 and 'warning' not in r.stderr, r.stderr
    cache = tmp_path / 'blocked'
    if where == 'a file as --cache_dir':
        cache.write_text('not a folder')
    elif where == 'a file as its int8 folder':
        cache.mkdir()
        (cache / 'int8').write_text('not a folder')
    # A full disk, as the writer sees it: the tiny model's int8 params (4 MB) do not fit, the output does.
    r = _limited_run(flags + ['--cache_dir', cache, '--save_path', tmp_path / 'got.csv'],
                     1 << 20 if where == 'a full disk' else 1 << 40)
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr
    warnings = [l for l in r.stderr.splitlines() if l.startswith('warning:')]
    assert len(warnings) == 1 and '--cache_dir' in warnings[0] and 'tmp-' not in warnings[0], r.stderr
    assert (tmp_path / 'got.csv').read_bytes() == (tmp_path / 'expected.csv').read_bytes()
    if where == 'a full disk':
        assert os.listdir(str(cache / 'int8')) == []  # nothing half-written left


def test_a_cache_entry_stored_meanwhile_by_another_writer_is_kept(tmp_path):
    """Two writers fill one entry at once: the second finds the first's sound entry and keeps it
    (replacing it would take its files from under the first while it loads them)."""
    import numpy as np
    from kobert_gluon import cache_entries
    root, seen = str(tmp_path / 'c'), {}

    def first(folder):
        np.save(os.path.join(folder, 'v.npy'), np.ones(3))

    def second(folder):
        np.save(os.path.join(folder, 'v.npy'), np.zeros(3))
        seen['first'] = cache_entries.store(root, 'k', first)  # the other writer finishes first
        seen['inode'] = os.stat(os.path.join(seen['first'], 'v.npy')).st_ino
    got = cache_entries.store(root, 'k', second)
    assert got == seen['first'] and cache_entries.lookup(root, 'k') == got
    assert os.stat(os.path.join(got, 'v.npy')).st_ino == seen['inode']
    assert np.load(os.path.join(got, 'v.npy')).tolist() == [1, 1, 1] and os.listdir(root) == ['k']


def test_cache_clear_removes_only_the_projects_entries(tmp_path, call):
    """Folders under the cache's kinds that the project did not write (no manifest of theirs, a
    link, a plain file) are kept by clear, and named."""
    import numpy as np
    from kobert_gluon import cache_entries
    root = tmp_path / 'cache'
    ours = [cache_entries.store(str(root / kind), 'k-' + kind, lambda d: np.save(os.path.join(d, 'v.npy'), np.zeros(3)))
            for kind in ('int8', 'embeddings')]
    (root / 'int8' / 'photos').mkdir()
    (root / 'int8' / 'photos' / 'cat.jpg').write_bytes(b'\xff\xd8 a photo')
    (root / 'embeddings' / 'notes.txt').write_text('mine')
    impostor = root / 'embeddings' / 'other'
    impostor.mkdir()
    (impostor / 'manifest.json').write_text('{"key": "not-other", "files": {}}')
    elsewhere = tmp_path / 'elsewhere'
    cache_entries.store(str(elsewhere), 'linked', lambda d: np.save(os.path.join(d, 'v.npy'), np.zeros(3)))
    os.symlink(str(elsewhere / 'linked'), str(root / 'int8' / 'linked'))
    r = call('cache', 'list', '--root', root)
    assert r.returncode == 0 and '2 entries' in r.stdout, r.stdout
    assert 'not made by kobert-news' in r.stdout and 'int8/photos' in r.stdout
    r = call('cache', 'clear', '--root', root)
    assert r.returncode == 0 and 'removed 2 entries' in r.stdout, r.stdout
    assert not any(os.path.exists(p) for p in ours)
    assert 'kept 4 not made by kobert-news: embeddings/notes.txt, embeddings/other, int8/linked, int8/photos' \
        in r.stdout, r.stdout
    assert (root / 'int8' / 'photos' / 'cat.jpg').exists() and (root / 'embeddings' / 'notes.txt').exists()
    assert (impostor / 'manifest.json').exists() and os.path.islink(str(root / 'int8' / 'linked'))
    assert cache_entries.lookup(str(elsewhere), 'linked') is not None
