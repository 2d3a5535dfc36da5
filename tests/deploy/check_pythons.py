"""The deploy install on every Python it supports: for each of 3.10-3.13 found (on PATH or under pyenv),
pip install "kobert_news-*.whl[serve]" into a new venv in a temporary folder, check that none of MXNet,
GluonNLP or torch came with it, and classify data/sample.csv with the ONNX Runtime engine there;
the outputs must give this environment's topics (.venv-deploy, 3.12), probabilities within 1e-4 (older
Pythons get older onnxruntime and numpy releases). Minutes: each install downloads the stack.

    make check-pythons          # or: .venv-deploy/bin/python tests/deploy/check_pythons.py [--model_dir D]

Without --model_dir the shipped weight is exported first (.venv's kobert-news export --to onnx, .venv-hf's torch).
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VERSIONS = ('3.10', '3.11', '3.12', '3.13')
GLUON_STACK = ('mxnet', 'gluonnlp', 'torch')


def sh(*cmd, cwd=ROOT):
    r = subprocess.run([str(c) for c in cmd], cwd=str(cwd), capture_output=True, text=True, timeout=1800)
    if r.returncode:
        sys.exit('error: %s failed:\n%s' % (' '.join(map(str, cmd)), (r.stdout + r.stderr)[-3000:]))
    return r.stdout


def find_python(version):
    for path in ['python%s' % version] + sorted(glob.glob(os.path.expanduser(
            '%s/versions/%s.*/bin/python3' % (os.environ.get('PYENV_ROOT', '~/.pyenv'), version)))):
        try:
            if subprocess.run([path, '-c', 'import sys'], capture_output=True).returncode == 0:
                return path
        except OSError:
            continue
    return None


def classify(python, model_dir, out):
    sh(python, '-m', 'kobert_news', 'predict', '--model_dir', model_dir, '--data_path',
       os.path.join(ROOT, 'data', 'sample.csv'), '--save_path', out, cwd=os.path.dirname(out))
    return pd.read_csv(out, encoding='utf-8-sig')


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--model_dir', help='an export folder (default: the shipped weight, exported here)')
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = a.model_dir
        if not model_dir:
            model_dir = os.path.join(tmp, 'onnx')
            sh(os.path.join(ROOT, '.venv', 'bin', 'python'), '-m', 'kobert_news', 'export', '--to', 'onnx',
               '--output_dir', model_dir)
        sh(sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '-w', tmp, ROOT)
        wheel = glob.glob(os.path.join(tmp, 'kobert_news-*.whl'))[0]
        reference = classify(sys.executable, model_dir, os.path.join(tmp, 'reference.csv'))
        failed = 0
        for version in VERSIONS:
            python = find_python(version)
            if python is None:
                print('%s: not found' % version)
                continue
            venv = os.path.join(tmp, 'venv' + version)
            sh(python, '-m', 'venv', venv)
            vpy = os.path.join(venv, 'bin', 'python')
            sh(vpy, '-m', 'pip', 'install', '-q', wheel + '[serve]')
            installed = sh(vpy, '-m', 'pip', 'list', '--format=freeze').lower().split()
            stack = [n for n in installed if n.split('==')[0] in GLUON_STACK]
            got = classify(vpy, model_dir, os.path.join(tmp, 'out%s.csv' % version))
            versions = {n.split('==')[0]: n.split('==')[1] for n in installed if '==' in n}
            diff = (got['probability'] - reference['probability']).abs().max()
            ok = got['predicted'].equals(reference['predicted']) and diff <= 1e-4 and not stack
            failed += not ok
            release = sh(vpy, '-c', 'import platform; print(platform.python_version())').strip()
            shown = ', '.join('%s %s' % (n, versions.get(n)) for n in ('onnxruntime', 'tokenizers', 'numpy', 'pandas',
                                                                    'fastapi', 'starlette', 'uvicorn', 'h11'))
            print('%s: %s, probabilities within %.1g (%s)%s' % (release, 'ok' if ok else 'FAILED', diff, shown,
                                                              ' with %s' % ', '.join(stack) if stack else ''))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
