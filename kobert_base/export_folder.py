"""The export folder of the ONNX Runtime engine (kobert-news export --to onnx): its files and its description.

description.json says what the models are (topics, untrained topics, mode, max_len, the weight's
configuration and vocabulary, modes 4 and 5's clusters), fingerprints the weight file it came
from (md5, as the weight's own description does) and every file the engine reads (size and
sha256). A folder whose files are not the ones described is refused before anything runs.
"""
import json
import os

from kobert_base.errors import UserError
from kobert_base.paths import file_digest

DESCRIPTION = 'description.json'
FORMAT = 1
MODELS = {'fp32': 'model.onnx', 'int8': 'model_int8.onnx'}
TOKENIZER = 'tokenizer.json'
CENTROIDS = 'centroids.npy'  # modes 4 and 5: where new articles are placed
ENCODER = 'encoder'  # modes 4 and 5: the sentence encoder's files (the USE encoder: sp.model, weights.npz)
USE_FILES = ('sp.model', 'weights.npz')
# Keys of the weight's description that are about the weight file, not what the folder holds.
WEIGHT_ONLY = ('checksum', 'params', 'format')


def fingerprint(path):
    return {'size': os.path.getsize(path), 'sha256': file_digest(path, 'sha256')}


def describe(folder, meta, weight_file, weight_md5, max_len, pad_id):
    """Write folder's description.json: meta (the weight's description) with the export's max_len,
    the weight's fingerprint and every file's (all files in folder but the description)."""
    files = {}
    for root, _, names in os.walk(folder):
        for name in sorted(names):
            path = os.path.join(root, name)
            files[os.path.relpath(path, folder).replace(os.sep, '/')] = fingerprint(path)
    files.pop(DESCRIPTION, None)
    desc = {k: v for k, v in meta.items() if k not in WEIGHT_ONLY}
    desc.update(format=FORMAT, max_len=max_len, pad_id=pad_id, untrained_topics=list(meta.get('untrained_topics', [])),
                weight={'file': os.path.basename(weight_file), 'md5': weight_md5}, files=dict(sorted(files.items())))
    with open(os.path.join(folder, DESCRIPTION), 'w', encoding='utf-8') as f:
        json.dump(desc, f, ensure_ascii=False, indent=2)
    return desc


def read(folder):
    """The folder's description, checked (one UserError line for a folder that is not an export)."""
    if not os.path.isdir(folder):
        raise UserError('no export folder at %s (kobert-news export --to onnx makes one)' % folder)
    path = os.path.join(folder, DESCRIPTION)
    try:
        with open(path, encoding='utf-8') as f:
            desc = json.load(f)
    except FileNotFoundError:
        raise UserError('%s has no %s: not a folder made by kobert-news export --to onnx' % (folder, DESCRIPTION))
    except (OSError, ValueError, RecursionError) as e:
        raise UserError('%s is not a readable description: %s' % (path, type(e).__name__))
    problem = _invalid(desc)
    if problem:
        raise UserError('%s is not a valid export description: %s' % (path, problem))
    return desc


def _invalid(desc):
    if not isinstance(desc, dict):
        return 'not a JSON object'
    if desc.get('format') != FORMAT:
        return 'format %r, where this version reads %d: export it again' % (desc.get('format'), FORMAT)
    topics = desc.get('topics')
    if not isinstance(topics, list) or not topics or not all(isinstance(t, str) for t in topics):
        return '"topics" must be a list of names'
    if not isinstance(desc.get('untrained_topics'), list) or not set(desc['untrained_topics']) <= set(topics):
        return '"untrained_topics" must be a list of its topics'
    for key in ('mode', 'max_len', 'pad_id'):
        if not isinstance(desc.get(key), int) or isinstance(desc.get(key), bool):
            return '"%s" must be an integer' % key
    if not isinstance(desc.get('config'), dict) or not isinstance(desc['config'].get('max_length'), int):
        return '"config" must hold the model\'s configuration'
    files = desc.get('files')
    if not isinstance(files, dict) or not all(isinstance(v, dict) and isinstance(v.get('sha256'), str)
                                              and isinstance(v.get('size'), int) for v in files.values()):
        return '"files" must give each file\'s size and sha256'
    if desc['mode'] in (4, 5) and not isinstance(desc.get('clusters'), dict):
        return 'a mode-%d export needs "clusters"' % desc['mode']
    return None


def verified(folder, desc, name):
    """The path of one of the folder's files, after checking that it is the file described."""
    path = os.path.join(folder, name)
    want = desc['files'].get(name)
    if want is None:
        raise UserError('%s lists no %s in %s' % (folder, name, DESCRIPTION))
    if not os.path.isfile(path):
        raise UserError('%s is missing from %s: export the folder again' % (name, folder))
    if os.path.getsize(path) != want['size'] or fingerprint(path)['sha256'] != want['sha256']:
        raise UserError('%s in %s is damaged or was changed after the export (its checksum differs): export '
                        'the folder again' % (name, folder))
    return path
