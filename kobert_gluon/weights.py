"""Weight descriptions: read, check and write the ``<name>.json`` beside a params file.

A description says what the params are (configuration, topics, mode, max_len, vocabulary, for
modes 4 and 5 the clusters), fingerprints the params file (size and md5) and carries a checksum
of its own content: a params file that is not the one described, or a description edited after
training, is refused. A params file without a description is accepted only in the original's
layout (kobert shapes, 201 keys, no centroids beside it); it is then the original's mode-2 weight.
"""
import hashlib
import json
import os
import re
import time

import mxnet as mx
import numpy as np

from kobert_base.atomic import atomic_path, atomic_write_text
from kobert_gluon.hub import md5sum
from kobert_base.architectures import ARCHITECTURES, Architecture
from kobert_base.errors import UserError
from kobert_base.paths import cache_root
from kobert_base.topics import TOPICS

META_FORMAT = 2
ORIGINAL_KEYS = 201  # bert_12_768_12 + classifier.1.weight/bias
# What the original's description-less weight was trained with (its README: MODE==2); its
# main.py read the body column with it (input_mode 1: plain body text).
ORIGINAL_META = {'mode': 2, 'input_mode': 1, 'max_len': 128, 'dropout': 0.1, 'original': True}


def meta_path(weight_path):
    return os.path.splitext(weight_path)[0] + '.json'


def centroids_path(weight_path):
    """Modes 4 and 5: the k-means centroids that place new articles in clusters."""
    return os.path.splitext(weight_path)[0] + '.centroids.npy'


# ---------------------------------------------------------------- fingerprints

# A file is remembered only once its last change is this many seconds old: a change after that
# has a later change time, whatever the file system's clock grain.
SETTLED_SECONDS = 2


def weight_md5(path):
    """md5 of a params file, computed once per file state and kept in the cache folder: hashing a
    369 MB kobert file takes about a second, a lookup nothing. The state is the path, the file's
    inode, size, modification time and change time: a file copied or renamed over it, even with
    its modification time set back, has another inode or a later change time (which no user can set)."""
    st = os.stat(path)
    key = '%s|%d:%d|%d|%d|%d' % (os.path.realpath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
                                 st.st_ctime_ns)
    settled = time.time() - max(st.st_mtime, st.st_ctime) > SETTLED_SECONDS
    return _remembered('md5.json', key, lambda: md5sum(path), lambda v: isinstance(v, str),
                       st.st_size if settled else 0, keep=lambda k: os.path.exists(k.split('|')[0]))


def _remembered(book_name, key, compute, valid, size, keep=lambda key: True):
    """compute(), or the value remembered under key in the cache folder's JSON book_name (where
    valid(value)); files of 1 MB or less are cheaper to read again than to book-keep (size 0: not
    remembered)."""
    book = os.path.join(cache_root(), book_name)
    try:
        with open(book, encoding='utf-8') as f:
            known = json.load(f)
        if isinstance(known, dict) and valid(known.get(key)):
            return known[key]
    except (OSError, ValueError, RecursionError):
        known = {}
    value = compute()
    if size > 1 << 20:
        try:
            os.makedirs(os.path.dirname(book), exist_ok=True)
            known = {k: v for k, v in (known if isinstance(known, dict) else {}).items() if keep(k)}
            known[key] = value
            atomic_write_text(book, json.dumps(known, indent=0))
        except OSError:
            pass  # a read-only home: compute again next time
    return value


def _checksum(meta):
    body = {k: v for k, v in meta.items() if k != 'checksum'}
    return hashlib.sha1(json.dumps(body, sort_keys=True, ensure_ascii=False).encode('utf-8')).hexdigest()


# ---------------------------------------------------------------- params files

DESCRIPTION_KEYS = ('num_layers', 'units', 'vocab_size', 'keys', 'hidden_size', 'max_length', 'num_classes',
                    'num_clusters')


def describe_params(path):
    """Architecture read off a params file's shapes, remembered by the file's md5: reading them loads
    the whole fp32 model (370 MB for kobert), which a run on the cached int8 model never needs."""
    return _remembered('params.json', weight_md5(path), lambda: _read_description(path),
                       _is_description, os.path.getsize(path))


def _is_description(value):
    return isinstance(value, dict) and sorted(value) == sorted(DESCRIPTION_KEYS) and \
        all(type(v) is int for v in value.values())


def _read_description(path):
    try:
        arrays = mx.nd.load(path)
    except mx.base.MXNetError:
        raise UserError('%s is not a complete MXNet params file (truncated or another format)' % path)
    if not isinstance(arrays, dict):
        raise UserError('%s holds no named parameters' % path)
    try:
        word = arrays['bert.word_embed.0.weight'].shape
        layers = {int(m.group(1)) for k in arrays
                  for m in [re.match(r'bert\.encoder\.transformer_cells\.(\d+)\.', k)] if m}
        return {
            'num_layers': len(layers), 'units': word[1], 'vocab_size': word[0], 'keys': len(arrays),
            'hidden_size': arrays['bert.encoder.transformer_cells.0.ffn.ffn_1.weight'].shape[0],
            'max_length': arrays['bert.encoder.position_weight'].shape[0],
            'num_classes': arrays['classifier.1.weight'].shape[0],
            'num_clusters': arrays['cluster_embed.weight'].shape[0] if 'cluster_embed.weight' in arrays else 0,
        }
    except KeyError as e:
        raise UserError('%s is not a BERTClassifier weight (no %s)' % (path, e))


def _shape(d):
    return (d['num_layers'], d['units'], d['hidden_size'], d['max_length'], d['vocab_size'])


def fitting_config(desc):
    for name, cfg in ARCHITECTURES.items():
        if cfg.shape() == _shape(desc):
            return name
    return None


def _describe(desc):
    fit = fitting_config(desc)
    return '%d layers x %d units, vocabulary %d, %d classes (%s)' % (
        desc['num_layers'], desc['units'], desc['vocab_size'], desc['num_classes'],
        "configuration '%s' fits" % fit if fit else 'no known configuration fits')


# ---------------------------------------------------------------- descriptions

def read_meta(weight_path):
    """The weight's checked description; for a description-less file, the original's."""
    if not os.path.isfile(weight_path):
        raise UserError('no weight file at %s' % weight_path)
    path = meta_path(weight_path)
    if not os.path.isfile(path):
        return _original_meta(weight_path, path)
    try:
        with open(path, encoding='utf-8') as f:
            meta = json.load(f)
    except (OSError, ValueError, RecursionError) as e:
        raise UserError('%s is not a readable weight description: %s' % (path, type(e).__name__))
    problem = _invalid(meta)
    if problem:
        raise UserError('%s is not a valid weight description: %s' % (path, problem))
    if meta.get('checksum') and meta['checksum'] != _checksum(meta):
        raise UserError('%s was changed after it was written (its checksum does not match): restore it, '
                        'or retrain' % path)
    fingerprint = meta.get('params')
    if fingerprint and os.path.getsize(weight_path) != fingerprint['size']:
        raise UserError('%s has %d bytes where %s says %d: truncated, or not the params file it describes'
                        % (weight_path, os.path.getsize(weight_path), path, fingerprint['size']))
    if fingerprint and weight_md5(weight_path) != fingerprint['md5']:
        raise UserError('%s is not the params file that %s describes (its md5 differs)' % (weight_path, path))
    desc = describe_params(weight_path)
    clusters = meta['clusters']['k'] if meta['mode'] == 5 else 0
    cfg = Architecture(**meta['config'])
    if cfg.shape() != _shape(desc) or len(meta['topics']) != desc['num_classes'] or clusters != desc['num_clusters']:
        raise UserError("%s holds %s, but %s describes configuration '%s' with %d topics"
                        % (weight_path, _describe(desc), path, cfg.name, len(meta['topics'])))
    meta.setdefault('untrained_topics', [])  # weights from before the key: none known
    return meta


def _original_meta(weight_path, path):
    desc = describe_params(weight_path)
    if (fitting_config(desc) != 'kobert' or desc['keys'] != ORIGINAL_KEYS or desc['num_classes'] != len(TOPICS)
            or os.path.exists(centroids_path(weight_path))):
        raise UserError('%s holds %s and has no %s beside it to say what it is (only the original\'s weight, '
                        'kobert with %d keys and no centroids, needs none)'
                        % (weight_path, _describe(desc), os.path.basename(path), ORIGINAL_KEYS))
    return dict(ORIGINAL_META, format=META_FORMAT, config=ARCHITECTURES['kobert'].to_dict(),
                topics=list(TOPICS), vocab=None, untrained_topics=[])


def _invalid(meta):
    """What is wrong with a description, or None."""
    def is_int(v, low, high=None):
        return isinstance(v, int) and not isinstance(v, bool) and v >= low and (high is None or v <= high)
    if not isinstance(meta, dict):
        return 'not a JSON object'
    cfg = meta.get('config')
    if not isinstance(cfg, dict) or set(cfg) != set(Architecture.__dataclass_fields__):
        return '"config" must have the fields %s' % ', '.join(Architecture.__dataclass_fields__)
    if not all(is_int(cfg[k], 1) for k in ('num_layers', 'units', 'hidden_size', 'num_heads', 'max_length',
                                           'vocab_size')):
        return '"config" sizes must be positive integers'
    if cfg['units'] % cfg['num_heads']:
        return '"config": %d units do not split into %d heads' % (cfg['units'], cfg['num_heads'])
    topics = meta.get('topics')
    if not isinstance(topics, list) or not topics or not all(isinstance(t, str) and t for t in topics) \
            or len(set(topics)) != len(topics):
        return '"topics" must be a list of distinct names'
    untrained = meta.get('untrained_topics', [])
    if not isinstance(untrained, list) or not set(untrained) <= set(topics) or len(set(untrained)) != len(untrained):
        return '"untrained_topics" must be a list of distinct names from "topics"'
    if not is_int(meta.get('mode'), 1, 5):
        return '"mode" must be 1 to 5'
    if not is_int(meta.get('max_len'), 3, cfg['max_length']):
        return '"max_len" must be an integer from 3 to %d' % cfg['max_length']
    if not isinstance(meta.get('dropout', 0.1), (int, float)) or not 0 <= meta.get('dropout', 0.1) < 1:
        return '"dropout" must be in [0, 1)'
    vocab = meta.get('vocab')
    if vocab is not None and (not isinstance(vocab, dict) or not isinstance(vocab.get('files', []), list)):
        return '"vocab" must be an object with "files" and fingerprints'
    params = meta.get('params')
    if params is not None and (not isinstance(params, dict) or not is_int(params.get('size'), 1)
                               or not isinstance(params.get('md5'), str)):
        return '"params" must hold the params file\'s size and md5'
    if meta['mode'] in (4, 5):
        c = meta.get('clusters')
        if not isinstance(c, dict) or not is_int(c.get('k'), 2) or not isinstance(c.get('encoder'), str) \
                or not isinstance(c.get('encoder_key'), str):
            return 'a mode-%d weight needs "clusters" with k, encoder and encoder_key' % meta['mode']
        if not is_int(meta.get('base_mode', 3), 1, 3):
            return '"base_mode" must be 1, 2 or 3'
    return None


def load_centroids(weight_path, meta):
    """Modes 4 and 5: the k x d centroids saved beside the weight, checked."""
    path = centroids_path(weight_path)
    try:
        centroids = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise UserError('%s is a mode-%d weight; its cluster centroids %s are missing or damaged (%s)'
                        % (weight_path, meta['mode'], path, type(e).__name__))
    k = meta['clusters']['k']
    if centroids.ndim != 2 or centroids.shape[0] != k or centroids.dtype.kind != 'f' \
            or not np.isfinite(centroids).all():
        raise UserError('%s must hold %d finite float centroids (one row each), not an array of %s %s'
                        % (path, k, centroids.dtype, centroids.shape))
    return centroids.astype(np.float32)


def write_weight(weight_path, save_params, meta, centroids=None):
    """Params to a temporary file, then the centroids, then the description naming the params' md5,
    then the params renamed into place: a kill between them leaves a description that does not
    match, which read_meta refuses, never a silently mixed weight."""
    os.makedirs(os.path.dirname(os.path.abspath(weight_path)) or '.', exist_ok=True)
    with atomic_path(weight_path) as tmp:
        save_params(tmp)
        meta = dict(meta, format=META_FORMAT, params={'size': os.path.getsize(tmp), 'md5': md5sum(tmp)})
        meta.pop('checksum', None)
        meta['checksum'] = _checksum(meta)
        if centroids is not None:
            with atomic_path(centroids_path(weight_path)) as ctmp:
                with open(ctmp, 'wb') as f:
                    np.save(f, np.asarray(centroids, dtype=np.float32), allow_pickle=False)
        atomic_write_text(meta_path(weight_path), json.dumps(meta, ensure_ascii=False, indent=2))
    return meta
