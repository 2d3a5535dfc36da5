"""Fine-tune a topic classifier (the original's Gluon recipe).

    python train.py --data_path train.csv --eval_path test.csv --mode 1 --model kobert --output_dir runs/exp1
    python train.py --config experiments/exp2.json --data_path train.csv --eval_path test.csv
    python train.py --data_path news.csv --model small      # 7:3 stratified split of one CSV

A killed run continues from its last finished epoch when started again with the same flags.
"""
import argparse
import dataclasses
import json
import logging
import os
import sys

from config import MODEL_CONFIGS, TrainConfig, UserError

HELP = {
    'data_path': 'training CSV (title, cleanBody, category)',
    'eval_path': 'evaluation CSV; without it, --test_size of the training CSV is held out (stratified)',
    'output_dir': 'run directory: params of each epoch, model.params (best), metrics.json, predictions.csv',
    'test_size': 'share held out when there is no --eval_path',
    'mode': '1 body, 2 title, 3 title + body, 4 title + body with the cluster id in the text, '
            '5 title + body with a learned cluster vector at [CLS]',
    'clusters': 'modes 4 and 5: number of k-means clusters',
    'base_mode': 'modes 4 and 5: their article text: 3 title + body, 2 title only, 1 body only',
    'cluster_encoder': 'modes 4 and 5: sentence encoder for the clusters: use, sbert or kobert:<weight>',
    'cache_dir': 'sentence-embedding cache',
    'model': 'model configuration: %s' % ', '.join(MODEL_CONFIGS),
    'pretrained': "kobert (KoBERT's body, found or downloaded), auto (kobert's body when it can be "
                  "had, else from scratch), none, a params path, hf:DIR (a transformers BERT checkpoint) "
                  "or gluonnlp (GluonNLP's model zoo, from $MXNET_GLUON_REPO)",
    'patience': 'epochs without improvement before stopping (0: never stop early)',
    'early_stop': 'accuracy or macro_f1',
    'num_buckets': 'length buckets of the batch sampler (1: one shuffled pool)',
    'accumulate': 'batches per optimizer step',
    'token_dropout': 'share of training tokens replaced by [MASK] each batch (a regulariser)',
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--config', default=None,
                   help='an experiment file (JSON of these flags, e.g. experiments/exp1.json) '
                        'or a model configuration name')
    defaults = TrainConfig()
    for f in dataclasses.fields(TrainConfig):
        kind = f.type if f.type in (int, float) else str
        if f.name == 'mode':
            p.add_argument('--mode', type=int, choices=(1, 2, 3, 4, 5), default=None, help=HELP['mode'])
        elif f.name == 'early_stop':
            p.add_argument('--early_stop', choices=('accuracy', 'macro_f1'), default=None, help=HELP['early_stop'])
        elif f.name == 'embed_init':
            p.add_argument('--embed_init', choices=('random', 'lsa'), default=None,
                           help='lsa: start word embeddings from LSA of the training texts (from scratch only)')
        elif f.name == 'model':
            p.add_argument('--model', choices=sorted(MODEL_CONFIGS), default=None, help=HELP['model'])
        else:
            p.add_argument('--' + f.name, type=kind, default=None,
                           help='%s (default %s)' % (HELP.get(f.name, f.name.replace('_', ' ')),
                                                     getattr(defaults, f.name)))
    p.add_argument('--overwrite', action='store_true', help='start over in a used --output_dir')
    args = p.parse_args(argv)
    try:
        cfg = make_config(args)
    except UserError as e:
        p.error(str(e))
    return cfg, args.overwrite


def make_config(args):
    """Defaults, then the experiment file, then the flags given on the command line."""
    values = {}
    if args.config in MODEL_CONFIGS:
        values['model'] = args.config
    elif args.config:
        path = args.config if os.path.isfile(args.config) else args.config + '.json'
        try:
            with open(path, encoding='utf-8') as f:
                values = json.load(f)
        except (OSError, ValueError) as e:
            raise UserError('cannot read experiment file %s: %s' % (args.config, e))
        values.pop('description', None)
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = set(values) - names
    if unknown:
        raise UserError('unknown setting(s) in %s: %s' % (args.config, ', '.join(sorted(unknown))))
    values.update({k: v for k, v in vars(args).items() if k in names and v is not None})
    cfg = TrainConfig(**values)
    if cfg.model not in MODEL_CONFIGS or cfg.mode not in (1, 2, 3, 4, 5) or cfg.early_stop not in ('accuracy', 'macro_f1'):
        raise UserError('bad model, mode or early_stop setting: %s, %s, %s' % (cfg.model, cfg.mode, cfg.early_stop))
    for name in ('batch_size', 'epochs', 'accumulate', 'max_len', 'num_buckets', 'log_interval'):
        if getattr(cfg, name) < 1:
            raise UserError('%s must be at least 1' % name)
    if not 0 < cfg.test_size < 1:
        raise UserError('test_size must be between 0 and 1')
    return cfg


def cli(argv=None):
    cfg, overwrite = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(message)s', stream=sys.stderr)
    from kobert_gluon.trainer import train
    try:
        summary = train(cfg, overwrite)
    except UserError as e:
        print('error: %s' % e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print('interrupted: run the same command again to resume from the last finished epoch', file=sys.stderr)
        return 130
    print(json.dumps(summary))
    return 0


if __name__ == '__main__':
    sys.exit(cli())
