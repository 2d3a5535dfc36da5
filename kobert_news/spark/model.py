"""The export folder on the executors: shipped with the job (an archive that Spark unpacks beside
each executor, as spark-submit --archives does), or read where it is (a path every node sees)."""
import atexit
import hashlib
import json
import os
import shutil
import tarfile
import tempfile

_ARCHIVES = {}  # key -> the archive made for it in this driver process (Spark registers a path once)


def check(cfg):
    """The driver's check before any job: the engine the executors will open, opened here once and
    let go (its files against their checksums, the precision, --max_len). Returns its description."""
    from kobert_news.engines.onnx import OnnxEngine
    engine = OnnxEngine.load(cfg.model_dir, cfg.precision, cfg.max_len, cfg.batch_size, threads=1)
    return engine.meta


def key(meta, options):
    """What identifies a worker's pipeline: the folder's files (their checksums) and the settings."""
    return hashlib.sha256(json.dumps([meta['files'], options], sort_keys=True).encode('utf-8')).hexdigest()[:16]


def ship(sc, model_dir, meta, name):
    """Send the folder's described files to every executor as the archive `name`; returns the name
    the folder has there (SparkFiles.get)."""
    from kobert_base.export_folder import DESCRIPTION
    path = _ARCHIVES.get(name)
    if path is None:
        tmp = tempfile.mkdtemp(prefix='kobert-news-model-')
        atexit.register(shutil.rmtree, tmp, True)
        path = _ARCHIVES[name] = os.path.join(tmp, name + '.tar')
        with tarfile.open(path, 'w') as tar:  # uncompressed: ONNX weights do not shrink, and packing is quick
            for file in sorted(meta['files']) + [DESCRIPTION]:
                tar.add(os.path.join(model_dir, file), arcname=file)
    sc.addArchive(path + '#' + name)
    return name


def executor_folder(model, shipped):
    """The export folder as an executor finds it: unpacked among the job's files, or the shared path."""
    if not shipped:
        return model
    from pyspark import SparkFiles
    return SparkFiles.get(model)
