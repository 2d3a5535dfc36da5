"""Export a weight file for Hugging Face transformers or ONNX Runtime.

    python export.py --gluon_weight_path W --to hf --output_dir D     # config.json, model.safetensors, tokenizer
    python export.py --gluon_weight_path W --to onnx --output_dir D   # model.onnx (+ --int8), config.json, tokenizer

D/ loads with AutoTokenizer and AutoModelForSequenceClassification.from_pretrained(D), no custom
code; tokenizer(texts, truncation=True) gives the project's token ids. --to onnx needs the second
environment (make hf-env); --to hf runs here.
"""
import functools
import os
import sys
from dataclasses import dataclass

from kobert_news.cli.common import commands, guard_folder, parse
from kobert_news.config import UserError
from kobert_news.options import FilesArgs, Options, OutputDirArgs, OverwriteArgs, ShapeArgs, WeightArgs, flag


@dataclass
class ExportArgs(Options):
    """Export"""
    to: str = flag(help='hf: a transformers folder; onnx: an ONNX model (required)', choices=('hf', 'onnx'))
    int8: bool = flag(False, help='onnx: also model_int8.onnx (onnxruntime quantize_dynamic)')

    def check_export(self):
        if not self.to:
            raise UserError('say what to export to with --to hf or --to onnx')
        if self.int8 and self.to != 'onnx':
            raise UserError('--int8 is for --to onnx')


def to_onnx(folder, int8=False):
    """model.onnx (and model_int8.onnx) from the transformers export in folder, by .venv-hf's torch."""
    from kobert_gluon import hf
    extra = ['--int8', os.path.join(folder, 'model_int8.onnx')] if int8 else []
    hf.run_hf('onnx', folder, os.path.join(folder, 'model.onnx'), *extra)
    os.remove(os.path.join(folder, 'model.safetensors'))  # the graph holds the weights


def main(argv=None):
    a, w, shape, files, out, ow = parse(__doc__, [ExportArgs, WeightArgs, ShapeArgs, FilesArgs, OutputDirArgs,
                                                   OverwriteArgs], argv)
    from kobert_gluon import hf
    from kobert_gluon.pipeline import resolve_weight
    if not out.output_dir:
        raise UserError('give the folder to create with --output_dir')
    weight = resolve_weight(w.gluon_weight_path)
    guard_folder(out.output_dir)
    then = None
    if a.to == 'onnx':
        hf.hf_python()  # say it is missing before any work
        then = functools.partial(to_onnx, int8=a.int8)
    hf.export(weight, out.output_dir, files.kobert_dir, shape.max_len, ow.overwrite, then)
    print('exported %s to %s' % (weight, out.output_dir), file=sys.stderr)


cli, entry = commands(main)


if __name__ == '__main__':
    sys.exit(entry())
