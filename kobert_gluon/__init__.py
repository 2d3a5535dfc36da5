"""KoBERT on MXNet/GluonNLP: files, tokenizer, classifier and predictor.

MXNet reads OMP_NUM_THREADS once, when it is imported, and on its own uses only half the
cores; so the thread count is set here, before any submodule imports mxnet.
"""
import os


def _set_threads():
    if 'mxnet' in __import__('sys').modules:
        return
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    os.environ.setdefault('OMP_NUM_THREADS', str(cores))


_set_threads()
