"""Export a weight file for Hugging Face transformers or ONNX Runtime.

    python export.py --gluon_weight_path W --to hf --output_dir D     # config.json, model.safetensors, tokenizer
    python export.py --gluon_weight_path W --to onnx --output_dir D   # model.onnx (+ --int8), config.json, tokenizer

D/ loads with AutoTokenizer and AutoModelForSequenceClassification.from_pretrained(D), no custom
code; tokenizer(texts, truncation=True) gives the project's token ids. --to onnx needs the second
environment (make hf-env); --to hf runs here.
"""
import argparse
import functools
import os
import sys

from config import DEFAULT_WEIGHT, UserError


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--gluon_weight_path', default=DEFAULT_WEIGHT, help='weight file (default %(default)s)')
    p.add_argument('--to', choices=('hf', 'onnx'), required=True, help='hf: transformers folder; onnx: ONNX model')
    p.add_argument('--output_dir', required=True, help='folder to create (written whole or not at all)')
    p.add_argument('--max_len', type=int, default=None, help="tokenizer's truncation length (default: the weight's)")
    p.add_argument('--int8', action='store_true', help='onnx: also model_int8.onnx (onnxruntime quantize_dynamic)')
    p.add_argument('--kobert_dir', default=None, help='folder with KoBERT files (default: $KOBERT_HOME, then ~/kobert)')
    p.add_argument('--overwrite', action='store_true', help='replace an existing --output_dir')
    a = p.parse_args(argv)
    if a.int8 and a.to != 'onnx':
        p.error('--int8 is for --to onnx')
    return a


def to_onnx(folder, int8=False):
    """model.onnx (and model_int8.onnx) from the transformers export in folder, by .venv-hf's torch."""
    from kobert_gluon import hf
    extra = ['--int8', os.path.join(folder, 'model_int8.onnx')] if int8 else []
    hf.run_hf('onnx', folder, os.path.join(folder, 'model.onnx'), *extra)
    os.remove(os.path.join(folder, 'model.safetensors'))  # the graph holds the weights


def run(a):
    from kobert_gluon import hf
    if not os.path.isfile(a.gluon_weight_path):
        raise UserError('no weight file at %s' % a.gluon_weight_path)
    then = None
    if a.to == 'onnx':
        hf.hf_python()  # say it is missing before any work
        then = functools.partial(to_onnx, int8=a.int8)
    hf.export(a.gluon_weight_path, a.output_dir, a.kobert_dir, a.max_len, a.overwrite, then)


def cli(argv=None):
    a = parse_args(argv)
    try:
        run(a)
    except UserError as e:
        print('error: %s' % e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    print('wrote %s' % a.output_dir, file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(cli())
