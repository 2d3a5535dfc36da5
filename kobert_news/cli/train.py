"""Fine-tune a topic classifier (the original's Gluon recipe).

    python train.py --data_path train.csv --eval_path test.csv --mode 1 --model kobert --output_dir runs/exp1
    python train.py --config configs/exp2.json --data_path train.csv --eval_path test.csv
    python train.py --data_path news.csv --model small      # 7:3 stratified split of one CSV
    python train.py --data_path news.csv --folds 5          # cross-validation, then all rows

A killed run continues from its last finished epoch when started again with the same flags.
"""
import json
import sys

from kobert_news.cli.common import commands, guard_folder, parse
from kobert_base.options import OverwriteArgs, TrainOptions


def main(argv=None):
    cfg, control = parse(__doc__, [TrainOptions, OverwriteArgs], argv, file_flag='config')
    guard_folder(cfg.output_dir)
    from kobert_gluon.trainer import train
    if cfg.folds:
        from kobert_gluon.cv import cross_validate
        summary = cross_validate(cfg, control.overwrite)
    else:
        summary = train(cfg, control.overwrite)
    if summary is not None:  # workers other than 0 of a distributed run have none
        print(json.dumps(summary))


cli, entry = commands(main, interrupted='interrupted: run the same command again to resume from the last finished epoch')


if __name__ == '__main__':
    sys.exit(entry())
