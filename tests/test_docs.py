"""The README and docs/ as a reader meets them: a README of at most 300 lines whose table of contents
names every page of docs/, links that lead somewhere, the CSV format beside the first prediction,
and every command shown naming a real command and only flags that command's --help lists."""
import functools
import glob
import os
import re
import shlex
import subprocess
import sys

import pytest

from kobert_news.cli.dispatch import COMMANDS
from tests.conftest import ROOT

README = os.path.join(ROOT, 'README.md')
DEPLOY_PYTHON = os.path.join(ROOT, '.venv-deploy', 'bin', 'python')
FENCE = re.compile(r'^```([^\n`]*)\n(.*?)^```[ \t]*$', re.M | re.S)
LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)\)')
SHELL_BLOCKS = ('bash', 'sh', 'console', 'shell')
ROOT_SCRIPTS = {'main.py': 'predict', 'train.py': 'train'}  # the original's two scripts, kept in a checkout
SEPARATORS = {'&&', '||', ';', '|', '&'}


def pages():
    return [README] + sorted(glob.glob(os.path.join(ROOT, 'docs', '*.md')))


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def prose(text):
    """The text without its fenced code blocks (a '# comment' in a shell block is no heading)."""
    return FENCE.sub('', text)


def anchor(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r'[^\w\- ]', '', heading.strip().lower()).replace(' ', '-')


def anchors(path):
    return {anchor(m.group(1)) for m in re.finditer(r'^#{1,6} +(.+?) *#*$', prose(read(path)), re.M)}


def section(text, heading):
    """The lines under '## heading' up to the next heading of that level or above."""
    m = re.search(r'^## %s *$(.*?)(?=^#{1,2} |\Z)' % re.escape(heading), text, re.M | re.S)
    assert m, 'no section "## %s"' % heading
    return m.group(1)


def test_readme_is_short_and_keeps_its_title():
    lines = read(README).splitlines()
    assert lines[0] == '# kobert-news'
    assert len(lines) <= 300, 'README.md has %d lines: move the depth to docs/' % len(lines)


def test_readme_table_of_contents_names_every_page_of_docs():
    toc = section(read(README), 'Documentation')
    linked = {os.path.normpath(l) for l in LINK.findall(toc) if l.startswith('docs/')}
    on_disk = {os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, 'docs', '*.md'))}
    assert on_disk and linked == on_disk, 'not in the table of contents: %s; no such page: %s' % (
        sorted(on_disk - linked), sorted(linked - on_disk))


def test_every_relative_link_leads_to_a_file_and_heading():
    broken = []
    for page in pages() + [os.path.join(ROOT, 'bench', 'README.md')]:  # bench/README.md links docs/ too
        for target in LINK.findall(prose(read(page))):
            if re.match(r'[a-z][a-z0-9+.-]*:', target):  # https:, mailto:: not ours to check offline
                continue
            path, _, frag = target.partition('#')
            dest = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
            if not os.path.exists(dest):
                broken.append('%s: %s (no such file)' % (os.path.relpath(page, ROOT), target))
            elif frag and dest.endswith('.md') and frag not in anchors(dest):
                broken.append('%s: %s (no such heading)' % (os.path.relpath(page, ROOT), target))
    assert not broken, '\n'.join(broken)


def test_the_csv_format_sits_beside_the_first_prediction():
    first = section(read(README), 'A first prediction on your own CSV')
    for column in ('title', 'cleanBody', 'category'):
        assert '`%s`' % column in first, column
    assert re.search(r'^\.venv/bin/python main\.py --data_path \S+\.csv', first, re.M)


# --- the commands shown ---------------------------------------------------------------------------------

def shell_lines(text):
    """Each command line of the text's bash/sh/console blocks, continuations joined, comments cut."""
    for m in FENCE.finditer(text):
        if m.group(1).strip().split(' ')[0] not in SHELL_BLOCKS:
            continue
        joined = re.sub(r'\s*\\\n\s*', ' ', m.group(2))
        for line in joined.splitlines():
            line = re.sub(r'(^|\s)#.*$', '', line.strip()).strip()
            if line.startswith('$ '):
                line = line[2:]
            if line:
                yield line


def invocations(line):
    """(ground, command, flags) for each call of this project in a shell line: ground is 'deploy' for
    .venv-deploy's programs, else 'legacy'; command a kobert-news command or a root script."""
    try:
        words = shlex.split(line)
    except ValueError:  # an unbalanced quote in a shown line is itself a mistake
        yield 'legacy', None, ['unparsable: %s' % line]
        return
    segments, current = [], []
    for w in words:
        if w in SEPARATORS:
            segments.append(current)
            current = []
        else:
            current.append(w)
    segments.append(current)
    while segments:
        seg = segments.pop(0)
        while seg and re.match(r'^[A-Za-z_][A-Za-z0-9_]*=', seg[0]):  # VAR=value before the program
            seg = seg[1:]
        if not seg:
            continue
        ground = 'deploy' if '.venv-deploy/' in seg[0] else 'legacy'
        program = re.sub(r'^.*/bin/', '', seg[0])
        if program == 'spark-submit':
            script = next((i for i, w in enumerate(seg) if w.endswith('spark_predict.py')), None)
            if script is not None:
                yield 'deploy', 'spark', seg[script + 1:]
            continue
        if program == 'kobert-news':
            command, rest = (seg[1] if len(seg) > 1 else None), seg[2:]
        elif re.match(r'^python[0-9.]*$', program) and seg[1:3] == ['-m', 'kobert_news']:
            command, rest = (seg[3] if len(seg) > 3 else None), seg[4:]
        elif re.match(r'^python[0-9.]*$', program) and len(seg) > 1 and seg[1].endswith('.py'):
            command, rest = seg[1], seg[2:]
        elif program in ROOT_SCRIPTS:  # after kobert-news launch's --
            command, rest = program, seg[1:]
        else:
            continue
        if command == 'spark':  # the Spark job is the deploy path's alone
            ground = 'deploy'
        if '--' in rest:  # kobert-news launch ... -- train.py ...: the command after -- on its own
            segments.insert(0, rest[rest.index('--') + 1:])
            rest = rest[:rest.index('--')]
        yield ground, command, rest


@functools.lru_cache(maxsize=None)
def usage_flags(python, command):
    """The flags the usage line of a command's --help lists (every option argparse knows)."""
    argv = [python, command] if command.endswith('.py') else [python, '-m', 'kobert_news', command]
    r = subprocess.run(argv + ['--help'], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, '%s --help failed: %s' % (' '.join(argv), r.stderr[-2000:])
    usage = r.stdout.split('\n\n', 1)[0]
    return frozenset(re.findall(r'(?<![\w-])(--?[A-Za-z][\w-]*)', usage)) | {'--help'}


def problems(line, python):
    """What is wrong with one shown line for the environment whose Python is given: an unknown
    command, a script that does not exist, a flag its --help does not list."""
    found = []
    for _, command, flags in invocations(line):
        if command is None:
            found.append('%s: no command (kobert-news takes one of %s)' % (line, ', '.join(COMMANDS)))
            continue
        if command.endswith('.py') and command not in ROOT_SCRIPTS:
            if not os.path.isfile(os.path.join(ROOT, command)):
                found.append('%s: no script %s (write kobert-news <command>)' % (line, command))
                continue
            if not command.startswith('bench/'):  # a benchmark's flags are checked as a command's are
                continue
        elif command not in COMMANDS and command not in ROOT_SCRIPTS:
            found.append('%s: no command %r' % (line, command))
            continue
        known = usage_flags(python, command)
        for flag in flags:
            if flag.startswith('unparsable'):
                found.append(flag)
            elif flag.startswith('--') and len(flag) > 2 and flag.split('=')[0] not in known:
                found.append('%s: %s is not a flag of %s' % (line, flag.split('=')[0], command))
    return found


def inline_commands(text):
    """The commands the prose shows in code spans: `kobert-news predict --model_dir D`, `python train.py --help`
    (`kobert-news <command>` and `kobert-news --help` name no one command)."""
    for span in re.findall(r'`((?:kobert-news|python -m kobert_news|python (?:main|train)\.py) [^`]+)`', prose(text)):
        span = re.sub(r'\s+', ' ', span)
        if not re.match(r'^(kobert-news|python -m kobert_news) (<|-)', span):
            yield span


def shown_lines(ground):
    for page in pages():
        text = read(page)
        for line in list(shell_lines(text)) + list(inline_commands(text)):
            if any(g == ground for g, _, _ in invocations(line)):
                yield os.path.relpath(page, ROOT), line


def test_every_command_shown_exists_with_the_flags_it_shows():
    lines = list(shown_lines('legacy'))
    assert len(lines) >= 30  # the pages show commands: a parser that found none would pass anything
    found = ['%s: %s' % (page, p) for page, line in lines for p in problems(line, sys.executable)]
    assert not found, '\n'.join(found)


@pytest.mark.skipif(not os.path.isfile(DEPLOY_PYTHON), reason='no .venv-deploy (make deploy-env builds it): '
                    'the commands shown for the deploy path are checked there')
def test_every_deploy_command_shown_exists_with_the_flags_it_shows():
    lines = list(shown_lines('deploy'))
    assert len(lines) >= 5
    found = ['%s: %s' % (page, p) for page, line in lines for p in problems(line, DEPLOY_PYTHON)]
    assert not found, '\n'.join(found)


def test_the_check_finds_a_misspelt_flag_an_unknown_command_and_a_stale_script():
    assert problems('.venv/bin/kobert-news predict --data_path news.csv --save_pth out.csv', sys.executable) == [
        '.venv/bin/kobert-news predict --data_path news.csv --save_pth out.csv: --save_pth is not a flag of predict']
    assert problems('python main.py --data_path a.csv --top-k 3', sys.executable)
    assert problems('kobert-news predictt --data_path news.csv', sys.executable)
    assert problems('.venv/bin/python export.py --to onnx', sys.executable)
    assert problems('python bench/bench_stream.py --data a.csv --chunk-rows 1024', sys.executable)
    assert not problems('python bench/bench_stream.py --data a.csv --chunk_rows 1024', sys.executable)
    assert problems('.venv/bin/kobert-news launch --workers 2 -- train.py --data_pth x.csv', sys.executable)
    joined = list(shell_lines('```bash\nkobert-news spark --model_dir e/ \\\n    --inptu a.csv  # a comment\n```\n'))
    assert joined == ['kobert-news spark --model_dir e/ --inptu a.csv']
    assert problems(joined[0], sys.executable) == [joined[0] + ': --inptu is not a flag of spark']
    assert not problems('python -m kobert_news evaluate --run_dir runs/x --output_dir=eval/', sys.executable)
    spans = list(inline_commands('the folds (`kobert-news baseline --fold 5`), every command (`kobert-news <command>`)'))
    assert spans == ['kobert-news baseline --fold 5'] and problems(spans[0], sys.executable)


PROJECT_PATH = re.compile(r'(?<![\w/.-])((?:kobert_base|kobert_news|kobert_gluon|preprocess|tests|bench|weights|data|docs)'
                          r'/[\w/.-]*\w\.(?:py|md|js|html|css|csv|json|png|woff))\b')


def named_paths(text):
    return set(PROJECT_PATH.findall(text))


def test_every_file_of_the_project_the_pages_name_exists():
    """A page that names a module by its path (kobert_gluon/export/hf_tokenizer.py) names one that is there:
    after a file moves, its old path in the docs is caught here."""
    missing = ['%s: %s' % (os.path.relpath(page, ROOT), path)
               for page in pages() + [os.path.join(ROOT, 'bench', 'README.md')]
               for path in sorted(named_paths(read(page))) if not os.path.exists(os.path.join(ROOT, path))]
    assert not missing, '\n'.join(missing)
    assert named_paths('see kobert_gluon/files.py and `tests/deploy/x.py`, not a/kobert_news/y.py') == {
        'kobert_gluon/files.py', 'tests/deploy/x.py'}
