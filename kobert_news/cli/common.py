"""What every command shares: the parser built from option dataclasses, the output guard, and
the wrapper that turns failures into one ``error:`` line and an exit status."""
import argparse
import contextlib
import errno
import json
import logging
import os
import signal
import sys
import threading
import warnings
from dataclasses import MISSING, fields, is_dataclass

from kobert_base.errors import UserError
from kobert_base.paths import CHECKOUT_DIR, PACKAGE_DIR
from kobert_base.flags import flag_meta, help_text

# Files of a run directory that train.py writes and kobert-news record reads: no other command writes them.
RUN_FILES = ('train_config.json', 'metrics.json', 'best.json', 'predictions.csv', 'model.params', 'model.json',
             'model.centroids.npy', 'log.txt', 'cv.json', 'oof_predictions.csv')
# Files a checkout needs (outputs never land on them), besides everything in the packages.
CHECKOUT_FILES = ('main.py', 'config.py', 'train.py', 'setup.py', 'setup.cfg', 'Makefile',
                  'README.md', 'LICENSE', 'requirements.txt', 'requirements-hf.txt', 'environment.yml')
CHECKOUT_DIRS = ('weights', 'tests', 'bench', 'configs', 'data', '.ci', 'kobert_gluon', 'preprocess')
PROG = None  # the program name in usage lines: 'kobert-news predict' under kobert-news, else the script's


class Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one UserError line instead of usage + message."""

    def error(self, message):
        raise UserError('%s (see --help)' % message)


def _groups(cls):
    """(defining class, its fields) for every option group a config class is made of."""
    for base in cls.__mro__:
        own = base.__dict__.get('__annotations__', {})
        if own and is_dataclass(base):
            yield base, [f for f in fields(cls) if f.name in own]


def build_parser(doc, *classes):
    """A parser with a flag per field of the option dataclasses, grouped as they are defined.
    Defaults are not filled in by argparse (see parse), so an options file can sit between them
    and the flags."""
    p = Parser(prog=PROG, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter,
               argument_default=argparse.SUPPRESS)
    seen = set()
    for cls in classes:
        for base, group_fields in _groups(cls):
            group = None
            for f in group_fields:
                meta = flag_meta(cls, f)
                if f.name in seen or 'help' not in meta:
                    continue
                seen.add(f.name)
                group = group or p.add_argument_group((base.__doc__ or base.__name__).strip().splitlines()[0])
                kw = {'help': help_text(f, meta)}
                if f.type is bool:
                    kw['action'] = 'store_true'
                elif meta.get('nargs'):
                    kw.update(nargs=meta['nargs'], type=meta.get('item_type', str), metavar='N')
                else:
                    kw['type'] = f.type
                    if meta.get('choices'):
                        kw['choices'] = meta['choices']
                group.add_argument('--' + f.name, **kw)
    return p


def parse(doc, classes, argv=None, file_flag=None):
    """One instance per option class: defaults, then the JSON file named by file_flag (train.py's
    --config), then the flags given. Checked on construction (kobert_base.options)."""
    p = build_parser(doc, *classes)
    if file_flag:
        p.add_argument('--' + file_flag, help='a JSON file of these options (flags given here win)')
    given = vars(p.parse_args(argv))
    values = read_options_file(given.pop(file_flag, None), classes) if file_flag else {}
    values.update(given)
    out = []
    for cls in classes:
        names = {f.name for f in fields(cls)}
        out.append(cls(**{k: v for k, v in values.items() if k in names}))
    return out


def read_options_file(path, classes):
    if not path:
        return {}
    try:
        with open(path, encoding='utf-8') as f:
            values = json.load(f)
    except (OSError, ValueError, RecursionError) as e:
        raise UserError('cannot read options file %s: %s' % (path, type(e).__name__ if isinstance(e, RecursionError)
                                                              else e))
    if not isinstance(values, dict):
        raise UserError('%s must hold a JSON object of options' % path)
    values.pop('description', None)
    known = {f.name for c in classes for f in fields(c)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise UserError('unknown option(s) in %s: %s' % (path, ', '.join(unknown)))
    return values


def defaults(cls):
    return {f.name: f.default for f in fields(cls) if f.default is not MISSING}


# ---------------------------------------------------------------- outputs

def _real(path):
    return os.path.realpath(os.path.abspath(path))


def _protected(real):
    """Why a path may not be written, or None."""
    roots = [PACKAGE_DIR] + ([os.path.join(CHECKOUT_DIR, d) for d in CHECKOUT_DIRS]
                             if os.path.isfile(os.path.join(CHECKOUT_DIR, 'setup.py')) else [])
    for root in roots:
        if real == _real(root) or real.startswith(_real(root) + os.sep):
            return 'it is inside %s, which the project needs' % root
    if os.path.dirname(real) == _real(CHECKOUT_DIR) and os.path.basename(real) in CHECKOUT_FILES:
        return 'the project needs it'
    folder = os.path.dirname(real)
    if os.path.basename(real) in RUN_FILES and os.path.isfile(os.path.join(folder, 'train_config.json')):
        return 'it is a file of the training run in %s' % folder
    return None


def guard_outputs(outputs, inputs=()):
    """Refuse outputs that would land on an input or on a file the project needs, however the path is
    spelled (relative, absolute, '..', links), and outputs that cannot be written; before any work."""
    from kobert_base.atomic import check_writable
    ins = {_real(p): p for p in inputs if p}
    for out in outputs:
        if not out:
            continue
        real = _real(out)
        if real in ins:
            raise UserError('the output %s is the input %s: choose another output path' % (out, ins[real]))
        why = _protected(real)
        if why:
            raise UserError('will not write %s: %s' % (out, why))
        check_writable(out)


@contextlib.contextmanager
def output_folder(path):
    """Create path (and its missing parents) for a command's outputs. If the command fails, the
    folders it created that are still empty are removed again: a failed run leaves nothing behind."""
    made, p = [], os.path.abspath(path)
    while not os.path.lexists(p):
        made.append(p)
        p = os.path.dirname(p)
    if os.path.lexists(path) and not os.path.isdir(path):
        raise UserError('cannot write into %s: it is a file, not a folder' % path)
    os.makedirs(path, exist_ok=True)
    try:
        yield path
    except BaseException:
        for folder in made:  # the deepest first
            try:
                os.rmdir(folder)
            except OSError:  # holds something, or was made by someone else meanwhile
                break
        raise


def guard_folder(path):
    """Refuse an output folder inside the project's own folders."""
    why = _protected(_real(path))
    if why and 'training run' not in why:
        raise UserError('will not write into %s: %s' % (path, why))


# ---------------------------------------------------------------- the wrapper

class _Stderr(logging.Handler):
    """'warning: ...' for warnings, plain lines for the rest, on whatever sys.stderr is at the time."""

    def emit(self, record):
        try:
            prefix = 'warning: ' if record.levelno >= logging.WARNING else ''
            sys.stderr.write(prefix + record.getMessage() + '\n')
        except Exception:
            self.handleError(record)


def setup_logging(level=logging.INFO):
    """The project's messages on stderr."""
    root = logging.getLogger('kobert_news')
    if not any(isinstance(h, _Stderr) for h in root.handlers):
        root.addHandler(_Stderr())
    root.setLevel(level)
    # Known-harmless warnings of the libraries, silenced here rather than scrolling past each run.
    warnings.filterwarnings('ignore', message='Some buckets are empty')
    warnings.filterwarnings('ignore', category=FutureWarning, module='sklearn')
    warnings.filterwarnings('ignore', category=DeprecationWarning)


def run(main, argv=None, interrupted='interrupted'):
    """main(argv) with failures as one stderr line: UserError and I/O errors exit 2, Ctrl-C 130, a
    closed stdout (| head) quietly 141, as Unix tools do."""
    setup_logging()
    with _noting_interrupts() as interrupts:
        try:
            return main(argv) or 0
        except KeyboardInterrupt:
            pass
        except BrokenPipeError:
            _silence_stdout()
            return 141
        except Exception as e:
            if not interrupts:  # an error that a Ctrl-C caused is still the Ctrl-C
                if isinstance(e, UserError):
                    print('error: %s' % e, file=sys.stderr)
                    return 2
                if isinstance(e, OSError) and e.errno in IO_ERRORS:
                    print('error: %s%s' % (e.strerror or e, ': %s' % e.filename if e.filename else ''),
                          file=sys.stderr)
                    return 2
                if isinstance(e, ModuleNotFoundError) and e.name in LEGACY_ONLY:
                    print('error: this command needs %s, which is not installed here: it runs in the Python 3.7 '
                          'environment (make env); the deploy path classifies export folders (--model_dir)'
                          % e.name, file=sys.stderr)
                    return 2
                raise
        print(interrupted, file=sys.stderr)
        return 130


@contextlib.contextmanager
def _noting_interrupts():
    """Yield a list that gets an entry on each Ctrl-C. Some libraries turn the KeyboardInterrupt
    raised inside their callbacks into errors of their own (pandas' C reader into a ParserError,
    'Calling read(nbytes) on source failed', which read_csv reports as an unreadable CSV), so the
    exception alone cannot tell."""
    seen = []
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield seen  # Ctrl-C ignored (a background job) or handled by the caller: left as it is
        return

    def note(signum, frame):
        seen.append(signum)
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, note)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


# What only the Python 3.7 environment has (the Gluon stack, training and reports); the deploy path lacks them.
LEGACY_ONLY = ('mxnet', 'gluonnlp', 'sentencepiece', 'sklearn', 'scipy', 'matplotlib')
IO_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG, errno.ENOTDIR,
             errno.EISDIR, errno.ENOENT, errno.EIO}


def _silence_stdout():
    """Python would report the failed flush of a closed stdout at exit; point it at /dev/null."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def script(main, huge_pages=False, interrupted='interrupted', argv=None):
    """A console entry: run(main) on argv (default sys.argv), in a process restarted onto huge pages
    if asked (kobert_gluon.run_on_huge_pages: inference commands)."""
    if huge_pages:
        from kobert_gluon import rerun_with_huge_pages
        rerun_with_huge_pages()
    return run(main, argv, interrupted)


def commands(main, huge_pages=False, interrupted='interrupted'):
    """(cli, entry) of a front end: cli(argv) runs it in this process (the tests' way), entry(argv=None)
    is its console script, and kobert-news's (huge_pages: restarted on huge pages first, for inference
    commands)."""
    return (lambda argv=None: run(main, argv, interrupted)), \
        (lambda argv=None: script(main, huge_pages, interrupted, argv))
