"""The original's framework comparison: the same configuration and recipe trained with MXNet/GluonNLP
(train.py) and with PyTorch/transformers (bench/train_hf.py, in .venv-hf), for several seeds.

    python bench/compare_frameworks.py --data_path ../shared/data/ynat/ynat_headlines.csv \\
        --seeds 42 43 44 --output experiments/frameworks.md

Both read the same data: one stratified 7:3 split (--split_seed, 42 as the project's), the
project's own mode text, and the same token ids (kobert-news export's tokenizer for PyTorch). The seeds
vary initialisation, batch order and dropout. Runs alternate between the frameworks, so that a
change in the machine's load hits both. Writes a markdown table: accuracy and macro-F1 at the best
epoch, the epochs run, and seconds per epoch (training plus evaluation) per framework and seed.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from kobert_base.errors import UserError  # noqa: E402
from kobert_base.options import TrainOptions  # noqa: E402
from common import cpu_name  # noqa: E402  (bench/common.py)

# Recipe flags passed identically to both trainers (defaults: the project's TrainOptions).
RECIPE = ('max_len', 'batch_size', 'epochs', 'lr', 'epsilon', 'weight_decay', 'warmup_ratio', 'accumulate',
          'max_grad_norm', 'dropout', 'patience', 'early_stop', 'num_buckets')


def prepare(a, work):
    """train.csv / eval.csv (the split, for train.py), train.json / eval.json (the model texts and
    labels train.py derives from them, for train_hf.py) and the tokenizer files."""
    import numpy as np
    from kobert_gluon.export import hf_tokenizer
    from kobert_gluon.tokenizer import KoBERTTokenizer
    from preprocess import NewsProcessor, load_data, read_csv, split_frame

    df = read_csv(a.data_path, a.encoding)
    if a.rows:
        df = df.sample(n=min(a.rows, len(df)), random_state=0).sort_index()
    labels = NewsProcessor(a.mode).labels(df)
    train_idx, eval_idx = split_frame(labels, a.test_size, a.split_seed)
    os.makedirs(work, exist_ok=True)
    paths = {name: os.path.join(work, name + '.csv') for name in ('train', 'eval')}
    df.iloc[train_idx].to_csv(paths['train'], index=False)
    df.iloc[eval_idx].to_csv(paths['eval'], index=False)
    cfg = TrainOptions(data_path=paths['train'], eval_path=paths['eval'], mode=a.mode)
    train, evaluation = load_data(cfg)
    for name, data in (('train', train), ('eval', evaluation)):
        with open(os.path.join(work, name + '.json'), 'w', encoding='utf-8') as f:
            json.dump([{'text': t, 'label': int(l)} for t, l in zip(data.texts, np.asarray(data.labels))], f,
                      ensure_ascii=False)
    tokenizer = KoBERTTokenizer.load(a.kobert_dir)
    folder = os.path.join(work, 'tokenizer')
    os.makedirs(folder, exist_ok=True)
    hf_tokenizer.save(hf_tokenizer.build(tokenizer.sp_path, tokenizer.vocab, a.max_len), tokenizer.vocab, folder,
                      a.max_len)
    return paths, len(train), len(evaluation)


def recipe_flags(a):
    return [x for k in RECIPE for x in ('--' + k, str(getattr(a, k)))]


def run(cmd, log):
    tic = time.time()
    with open(log, 'w', encoding='utf-8') as f:
        done = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT)
    if done.returncode:
        raise UserError('%s failed (exit %d): see %s' % (os.path.basename(cmd[1]), done.returncode, log))
    return time.time() - tic


def summary(run_dir):
    with open(os.path.join(run_dir, 'best.json')) as f:
        best = json.load(f)
    with open(os.path.join(run_dir, 'metrics.json')) as f:
        seconds = [m['seconds'] for m in json.load(f)]
    return dict(best, seconds_per_epoch=sum(seconds) / len(seconds))


def versions(hf_python):
    import gluonnlp
    import mxnet
    torch_side = subprocess.run([hf_python, '-c', 'import torch, transformers; print(torch.__version__, '
                                 'transformers.__version__)'], capture_output=True, text=True).stdout.split()
    return 'MXNet %s + GluonNLP %s (Python %s); PyTorch %s + transformers %s' % (
        mxnet.__version__, gluonnlp.__version__, platform.python_version(), *torch_side)


def table(results, a, sizes, hf_python):
    import numpy as np
    lines = ['# MXNet/GluonNLP and PyTorch/transformers: the same training', '',
             "Configuration `%s`, mode %d, %d training / %d evaluation rows (stratified split, seed %d), the "
             "project's recipe: %s." % (a.model, a.mode, sizes[0], sizes[1], a.split_seed,
                                        ', '.join('%s %s' % (k, getattr(a, k)) for k in RECIPE)),
             '%s; %d cores (%s).' % (versions(hf_python), len(os.sched_getaffinity(0)), cpu_name()), '',
             '| framework | seed | accuracy | macro-F1 | best epoch | epochs run | s/epoch |', '|---|---|---|---|---|---|---|']
    for r in results:
        lines.append('| %s | %d | %.4f | %.4f | %d | %d | %.1f |' % (
            r['framework'], r['seed'], r['eval_accuracy'], r['eval_macro_f1'], r['best_epoch'], r['epochs_run'],
            r['seconds_per_epoch']))
    lines += ['', '| framework | accuracy (mean ± sd) | macro-F1 (mean ± sd) | s/epoch (mean) |', '|---|---|---|---|']
    for name in ('mxnet', 'pytorch'):
        rows = [r for r in results if r['framework'] == name]
        acc, f1, sec = (np.array([r[k] for r in rows]) for k in ('eval_accuracy', 'eval_macro_f1', 'seconds_per_epoch'))
        lines.append('| %s | %.4f ± %.4f | %.4f ± %.4f | %.1f |' % (name, acc.mean(), acc.std(ddof=1) if len(rows) > 1 else 0,
                                                                   f1.mean(), f1.std(ddof=1) if len(rows) > 1 else 0, sec.mean()))
    lines += ['', 'Command: `python bench/compare_frameworks.py %s`' % ' '.join(sys.argv[1:]), '']
    return '\n'.join(lines)


def main(argv=None):
    defaults = TrainOptions(data_path='-')
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data_path', required=True)
    p.add_argument('--output', default=os.path.join('experiments', 'frameworks.md'))
    p.add_argument('--work_dir', default=os.path.join('runs', 'frameworks'), help='runs, logs and prepared data')
    p.add_argument('--seeds', type=int, nargs='+', default=[42, 43, 44])
    p.add_argument('--model', default='small')
    p.add_argument('--mode', type=int, default=2, choices=(1, 2, 3))
    p.add_argument('--test_size', type=float, default=defaults.test_size)
    p.add_argument('--split_seed', type=int, default=42)
    p.add_argument('--rows', type=int, default=None, help='a random subset of the CSV (smoke runs)')
    p.add_argument('--encoding', default=None)
    p.add_argument('--kobert_dir', default=None)
    for k in RECIPE:
        value = getattr(defaults, k)
        p.add_argument('--' + k, type=type(value), default=value, help='default %(default)s')
    a = p.parse_args(argv)
    from kobert_base.atomic import atomic_write_text
    from kobert_gluon.export.hf import hf_python
    try:
        python = hf_python()
        work = os.path.abspath(a.work_dir)
        paths, n_train, n_eval = prepare(a, work)
        results = []
        for seed in a.seeds:
            out = os.path.join(work, 'mxnet-%d' % seed)
            run([sys.executable, os.path.join(ROOT, 'train.py'), '--data_path', paths['train'], '--eval_path',
                 paths['eval'], '--model', a.model, '--mode', str(a.mode), '--pretrained', 'none', '--seed', str(seed),
                 '--output_dir', out, '--overwrite'] + recipe_flags(a) +
                (['--kobert_dir', a.kobert_dir] if a.kobert_dir else []), out + '.log')
            results.append(dict(summary(out), framework='mxnet', seed=seed))
            out = os.path.join(work, 'pytorch-%d' % seed)
            run([python, os.path.join(HERE, 'train_hf.py'), '--train', os.path.join(work, 'train.json'), '--eval',
                 os.path.join(work, 'eval.json'), '--tokenizer_dir', os.path.join(work, 'tokenizer'), '--model', a.model,
                 '--seed', str(seed), '--output_dir', out] + recipe_flags(a), out + '.log')
            results.append(dict(summary(out), framework='pytorch', seed=seed))
            print('seed %d: mxnet %.4f, pytorch %.4f' % (seed, results[-2]['eval_accuracy'], results[-1]['eval_accuracy']),
                  file=sys.stderr)
        os.makedirs(os.path.dirname(os.path.abspath(a.output)), exist_ok=True)
        atomic_write_text(a.output, table(results, a, (n_train, n_eval), python))
    except UserError as e:
        print('error: %s' % e, file=sys.stderr)
        return 2
    print('wrote %s' % a.output, file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
