"""Export a weight file for Hugging Face transformers or ONNX Runtime.

    kobert-news export --gluon_weight_path W --to hf --output_dir D     # config.json, model.safetensors, tokenizer
    kobert-news export --gluon_weight_path W --to onnx --output_dir D   # model.onnx (+ --int8), tokenizer, description

D/ loads with AutoTokenizer and AutoModelForSequenceClassification.from_pretrained(D), no custom
code; tokenizer(texts, truncation=True) gives the project's token ids. --to onnx makes the folder
that kobert-news predict --model_dir D and the server run with ONNX Runtime (description.json
fingerprints its files; modes 4 and 5 add their centroids and the USE encoder); it needs the
second environment (make hf-env); --to hf runs here.
"""
import functools
import sys
from dataclasses import dataclass

from kobert_news.cli.common import commands, guard_folder, parse
from kobert_base.errors import UserError
from kobert_base.options import FilesArgs, Options, OutputDirArgs, OverwriteArgs, ShapeArgs, WeightArgs, flag


@dataclass
class ExportArgs(Options):
    """Export"""
    to: str = flag(help='hf: a transformers folder; onnx: the ONNX Runtime engine\'s folder (required)', choices=('hf', 'onnx'))
    int8: bool = flag(False, help='onnx: also model_int8.onnx (onnxruntime quantize_dynamic)')

    def check_export(self):
        if not self.to:
            raise UserError('say what to export to with --to hf or --to onnx')
        if self.int8 and self.to != 'onnx':
            raise UserError('--int8 is for --to onnx')


def main(argv=None):
    a, w, shape, files, out, ow = parse(__doc__, [ExportArgs, WeightArgs, ShapeArgs, FilesArgs, OutputDirArgs,
                                                   OverwriteArgs], argv)
    from kobert_gluon.export import hf
    from kobert_base.paths import resolve_weight
    if not out.output_dir:
        raise UserError('give the folder to create with --output_dir')
    weight = resolve_weight(w.gluon_weight_path)
    guard_folder(out.output_dir)
    then = None
    if a.to == 'onnx':
        from kobert_gluon.export import onnx_export
        from kobert_gluon.weights import read_meta, weight_md5
        meta = read_meta(weight)
        onnx_export.check(meta)  # a mode the deploy path cannot run is refused before any work
        hf.hf_python()  # say it is missing before any work
        then = functools.partial(onnx_export.to_onnx, weight_path=weight, meta=meta, weight_md5=weight_md5(weight),
                                 int8=a.int8)
    hf.export(weight, out.output_dir, files.kobert_dir, shape.max_len, ow.overwrite, then)
    print('exported %s to %s' % (weight, out.output_dir), file=sys.stderr)


cli, entry = commands(main)


if __name__ == '__main__':
    sys.exit(entry())
