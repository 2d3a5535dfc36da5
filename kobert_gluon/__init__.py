"""KoBERT on MXNet/GluonNLP: files, tokenizer, classifier and predictor.

MXNet reads OMP_NUM_THREADS once, when it is imported, and on its own uses only half the
cores; so the thread count is set here, before any submodule imports mxnet. So is OpenMP's wait
policy: libgomp's threads spin while they wait for each other, and when another process holds a
core they spin against it; a passive wait sleeps instead (bench/README.md: speed on a busy CPU).
Settings the user made are kept; KOBERT_NEWS_OMP_WAIT=library leaves libgomp's own default.
"""
import os
import platform
import sys

HUGE_PAGES = 'glibc.malloc.hugetlb=1'
USER_THREADS = None  # OMP_NUM_THREADS as the user set it (None: unset, and set here to the core count)


def cores():
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _set_threads():
    global USER_THREADS
    USER_THREADS = os.environ.get('OMP_NUM_THREADS')
    if 'mxnet' in sys.modules:
        return
    os.environ.setdefault('OMP_NUM_THREADS', str(cores()))
    if os.environ.get('KOBERT_NEWS_OMP_WAIT') != 'library':
        os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')


def huge_pages_available(thp_path='/sys/kernel/mm/transparent_hugepage/enabled'):
    """Whether glibc's malloc can be asked for transparent huge pages: glibc 2.35 or later, and
    the kernel's THP setting 'always' or 'madvise'."""
    libc, version = platform.libc_ver()
    try:
        major, minor = (int(x) for x in version.split('.')[:2])
        with open(thp_path) as f:
            mode = f.read()
    except (ValueError, OSError):
        return False
    return libc == 'glibc' and (major, minor) >= (2, 35) and '[never]' not in mode


def rerun_with_huge_pages():
    """Start this command again, same interpreter and arguments, with glibc's malloc on huge pages.

    On 4 KiB pages the int8 model's speed depended on where its buffers happened to land: the same
    run gave 32 or 42 sentences/s at seq 128 from one process to the next; on huge pages it was
    at the fast end each time (bench/README.md). Returns without doing anything when
    GLIBC_TUNABLES is already set (by an earlier pass or by the user) or huge pages are not
    available. Only for command-line entry points: it replaces the running process.
    """
    if 'GLIBC_TUNABLES' in os.environ or not huge_pages_available():
        return
    os.environ['GLIBC_TUNABLES'] = HUGE_PAGES
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable] + command_line())


def command_line():
    """This process's arguments after the interpreter's path, as it was started: python -m kobert_news
    restarts as python -m kobert_news (sys.argv holds the module's file path instead)."""
    if getattr(sys, 'orig_argv', None):  # Python 3.10+
        return sys.orig_argv[1:]
    spec = getattr(sys.modules.get('__main__'), '__spec__', None)
    if spec is not None and spec.name:
        name = spec.name[:-len('.__main__')] if spec.name.endswith('.__main__') else spec.name
        return ['-m', name] + sys.argv[1:]
    return sys.argv


def run_on_huge_pages(cli):
    """cli() of a command-line entry point, in a process whose memory is on huge pages."""
    rerun_with_huge_pages()
    return cli()


_set_threads()
