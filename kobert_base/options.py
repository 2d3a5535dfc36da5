"""Every command-line option, defined once: its type, default, help, choices and range live on
its dataclass field, as in Hugging Face's HfArgumentParser. Commands combine the groups they
need (kobert_news.cli.common builds the parser). A config is checked when it is made, before
any work: a bad value is a UserError that names the flag. A flag two commands share under one name
but with different values (--format) gets each command's help and choices from its class's FLAGS.
"""
from dataclasses import dataclass, fields

from kobert_base.architectures import ARCHITECTURES, PRECISIONS
from kobert_base.errors import UserError
from kobert_base.flags import Options, flag
from kobert_base.modes import MODES
from kobert_base.topics import TOPICS


# ---------------------------------------------------------------- groups shared by several commands

@dataclass
class ColumnArgs(Options):
    """Input columns"""
    mode: int = flag(help='text the model reads: ' + ', '.join('%d %s' % kv for kv in MODES.items())
                          + " (default: the weight's mode when predicting, 2 when training)",
                     choices=tuple(MODES))
    title_column: str = flag('title', help='column of the titles')
    body_column: str = flag('cleanBody', help='column of the article bodies')
    label_column: str = flag('category', help='column of the topics (%s, or their Korean names)'
                                              % ', '.join(TOPICS))
    encoding: str = flag(help='input encoding (default: detect UTF-8, with or without BOM, or CP949/EUC-KR)')


@dataclass
class InputArgs(ColumnArgs):
    """Input CSV"""
    data_path: str = flag(help='CSV with the columns title, cleanBody (and category for training and '
                               'evaluation); main.py reads data/sample.csv by default')


@dataclass
class ShapeArgs(Options):
    """Batches"""
    max_len: int = flag(help="tokens per text, [CLS] and [SEP] included (default: the weight's when "
                             "predicting, 128 when training)", low=3, high=512)
    batch_size: int = flag(32, help='texts per forward pass', low=1, high=4096)


@dataclass
class FilesArgs(Options):
    """KoBERT's files and the caches"""
    kobert_dir: str = flag(help="folder with KoBERT's vocabulary (default: $KOBERT_HOME, then ~/kobert; "
                                "downloaded there when missing)")
    cache_dir: str = flag(help='cache of sentence embeddings (modes 4, 5) and int8 models '
                               '(default ~/.cache/kobert-news)')


@dataclass
class WeightArgs(Options):
    """Weight"""
    gluon_weight_path: str = flag(help="weight file (default: weights/%s if the original's weight is "
                                       "there, else the shipped default)" % 'ko-news-clf-gluon-weight.pth')


@dataclass
class ModelDirArgs(Options):
    """Export folder (ONNX Runtime)"""
    model_dir: str = flag(help='an export folder (kobert-news export --to onnx): classify with ONNX Runtime, no MXNet '
                               'needed (--precision int8 runs its model_int8.onnx)')

    def check_source(self):
        if self.model_dir and getattr(self, 'gluon_weight_path', None):
            raise UserError('--model_dir and --gluon_weight_path both name the model: give one of them')


@dataclass
class InferenceArgs(Options):
    """Inference"""
    precision: str = flag('fp32', help='bf16 needs AVX-512 BF16 or AMX, int8 AVX-512 VNNI; other CPUs fall '
                                       'back to fp32', choices=PRECISIONS)
    calib_path: str = flag(help='int8: a CSV whose texts calibrate the quantization (default: a sample of '
                                'the input spread over its text lengths)')
    top_k: int = flag(help='also write the k most likely topics and their probabilities '
                           '(default 1; kobert-news evaluate: 3)', low=1, high=len(TOPICS))


@dataclass
class SplitArgs(Options):
    """Evaluation split"""
    eval_path: str = flag(help='evaluation CSV; without it, --test_size of the data is held out (stratified)')
    test_size: float = flag(0.3, help='share held out for evaluation when there is no --eval_path; 0: train '
                                      'on all of it, without evaluation', low=0.0, below=1.0)
    folds: int = flag(0, help='k-fold cross-validation: train on each of k stratified folds, report the '
                              'mean and std per epoch, then train on all rows for the best mean epoch '
                              '(0: off)', low=0, high=20)
    seed: int = flag(42, help='random seed (split, initialisation, batch order, dropout)', low=0, high=2 ** 31 - 1)

    def check_folds(self):
        if self.folds == 1:
            raise UserError('--folds must be 0 (off) or at least 2')
        if self.folds and self.eval_path:
            raise UserError('--folds splits --data_path itself: leave out --eval_path')


@dataclass
class EncoderArgs(Options):
    """Sentence encoder (modes 4 and 5)"""
    cluster_encoder: str = flag('use', help='sentence encoder for the clusters: use, sbert or kobert:<weight>')

    def check_encoder(self):
        if self.cluster_encoder not in ('use', 'sbert') and not self.cluster_encoder.startswith('kobert:'):
            raise UserError('--cluster_encoder must be use, sbert or kobert:<weight>, not %r' % self.cluster_encoder)


@dataclass
class ClusterArgs(EncoderArgs):
    """Clusters (modes 4 and 5)"""
    clusters: int = flag(16, help='modes 4 and 5: number of k-means clusters', low=2, high=1024)
    base_mode: int = flag(3, help='modes 4 and 5: their article text: 3 title + body, 2 title, 1 body',
                          choices=(1, 2, 3))


@dataclass
class RecipeArgs(Options):
    """Model and training recipe (the original's by default)"""
    model: str = flag('small', help='model configuration', choices=tuple(ARCHITECTURES))
    pretrained: str = flag('auto', help="kobert (KoBERT's body, found or downloaded), auto (kobert's body "
                                        "when it can be had, else from scratch), none, a params path, hf:DIR "
                                        "(a transformers BERT checkpoint in KoBERT's layout) or gluonnlp "
                                        "(GluonNLP's model zoo, from $MXNET_GLUON_REPO)")
    epochs: int = flag(20, help='epochs (the learning-rate schedule spans them all)', low=1, high=10000)
    stop_epoch: int = flag(0, help='stop after this epoch, keeping the schedule of --epochs (0: run them all)', low=0)
    lr: float = flag(5e-5, help='peak learning rate', above=0.0, high=1.0)
    epsilon: float = flag(1e-9, help="bertadam's epsilon", above=0.0, high=1.0)
    weight_decay: float = flag(0.01, help='weight decay (not on LayerNorm nor biases)', low=0.0, high=1.0)
    warmup_ratio: float = flag(0.1, help='share of the steps with a linear warmup', low=0.0, below=1.0)
    accumulate: int = flag(4, help='batches per optimizer step (gradients accumulated)', low=1, high=1024)
    max_grad_norm: float = flag(1.0, help='global gradient-norm clipping', above=0.0)
    dropout: float = flag(0.1, help="dropout before the classifier head (the body keeps its configuration's 0.1)",
                          low=0.0, below=1.0)
    token_dropout: float = flag(0.0, help='share of training tokens replaced by [MASK] each batch '
                                          '(a regulariser for training from scratch)', low=0.0, below=1.0)
    embed_init: str = flag('random', help='lsa: start word embeddings from LSA of the training texts '
                                          '(from scratch only)', choices=('random', 'lsa'))
    patience: int = flag(5, help='epochs without improvement before stopping (0: never stop early)', low=0)
    early_stop: str = flag('accuracy', help='what improves', choices=('accuracy', 'macro_f1'))
    num_buckets: int = flag(10, help='length buckets of the batch sampler (1: one shuffled pool)', low=1)
    log_interval: int = flag(50, help='batches between log lines', low=1)

    def check_recipe(self):
        if self.stop_epoch > self.epochs:
            raise UserError('--stop_epoch (%d) must not be over --epochs (%d)' % (self.stop_epoch, self.epochs))
        if self.pretrained == 'kobert' and self.model != 'kobert':
            raise UserError("--pretrained kobert is KoBERT's body, which fits only --model kobert: with --model "
                            "%s, pass --pretrained none (or --model kobert)" % self.model)
        if self.embed_init == 'lsa' and self.pretrained not in ('none', 'auto'):
            raise UserError('--embed_init lsa is for training from scratch: pass --pretrained none')


@dataclass
class OutputDirArgs(Options):
    """Output folder"""
    output_dir: str = flag(help='output folder (default: runs/run for train.py, a run folder of params of each '
                                'epoch, model.params, metrics.json, predictions.csv; runs/record for kobert-news '
                                'record; runs/clusters for kobert-news clusters; <run_dir>/eval for kobert-news '
                                'evaluate)')


@dataclass
class OverwriteArgs(Options):
    """Replacing earlier output"""
    overwrite: bool = flag(False, help="start over: replace train.py's run or kobert-news export's export in "
                                       "--output_dir, or kobert-news spark's finished --output, removing only the "
                                       "command's own files; a folder that holds anything else is never cleared")


@dataclass
class DeviceArgs(Options):
    """Devices and distributed training

    None of them change the recipe: the global batch, schedule and updates stay one process's."""
    gpus: str = flag('', help='GPU ids to train on, e.g. 0,1: each batch is split across them (needs an '
                              'MXNet build with CUDA; default: the CPU)')
    cpu_contexts: int = flag(1, help='CPU contexts to split each batch across (cpu(0), cpu(1), ...): the '
                                     'multi-device path without GPUs', low=1, high=16)
    kvstore: str = flag('device', help='how gradients are summed: device/local in this process; dist_sync (and '
                                       'dist_device_sync: summed on the GPUs first) across processes and '
                                       "machines through MXNet's parameter server, started by kobert_news.cli"
                                       '.launch (DMLC_* environment); each worker takes its share of every batch',
                        choices=('device', 'local', 'dist_sync', 'dist_device_sync'))

    @property
    def distributed(self):
        return self.kvstore.startswith('dist')

    def gpu_ids(self):
        return [int(g) for g in self.gpus.split(',')] if self.gpus else []

    def check_devices(self):
        try:
            ids = self.gpu_ids()
        except ValueError:
            raise UserError('--gpus must be GPU ids separated by commas, such as 0,1; not %r' % self.gpus)
        if any(g < 0 for g in ids) or len(set(ids)) != len(ids):
            raise UserError('--gpus must name distinct GPU ids from 0 up, not %r' % self.gpus)
        if ids and self.cpu_contexts > 1:
            raise UserError('--gpus and --cpu_contexts both name the devices: give one of them')


# Options that say where a run trains, not what it trains: a run may resume on other devices.
DEVICE_OPTIONS = tuple(f.name for f in fields(DeviceArgs))


# ---------------------------------------------------------------- what each job reads

@dataclass
class DataOptions(InputArgs, SplitArgs):
    """Labelled data and its split: training, the baseline, the cluster report, the record."""


@dataclass
class TrainOptions(InputArgs, ShapeArgs, FilesArgs, SplitArgs, ClusterArgs, RecipeArgs, OutputDirArgs, DeviceArgs):
    """A training run (train_config.json)."""

    def check_train(self):
        self.mode = 2 if self.mode is None else self.mode
        self.max_len = 128 if self.max_len is None else self.max_len
        self.output_dir = self.output_dir or 'runs/run'
        limit = ARCHITECTURES[self.model].max_length
        if self.max_len > limit:
            raise UserError('--max_len %d is over the %d positions of --model %s' % (self.max_len, limit, self.model))
        if self.folds and self.distributed:
            raise UserError('--folds runs in one process: leave out --kvstore %s' % self.kvstore)


@dataclass
class OutputArgs(Options):
    """Output"""
    save_path: str = flag(help='output file; without it, results are printed')


@dataclass
class FormatArgs(Options):
    """Output format"""
    format: str = flag(help='output format')  # its choices: the command's FLAGS


@dataclass
class StreamArgs(Options):
    """Large inputs"""
    chunk_rows: int = flag(16384, help='rows read, classified and written at a time, rounded up to a multiple '
                                       'of 1024: memory stays flat however long the CSV is', low=1)


@dataclass
class PredictOptions(WeightArgs, ModelDirArgs, InputArgs, ShapeArgs, FilesArgs, InferenceArgs, OutputArgs,
                    StreamArgs):
    """A prediction job (main.py)."""
