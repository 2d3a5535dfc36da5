"""One measurement of the project's predictor, in a process of its own (bench/bench_compare.py runs it).

    python bench/bench_child.py --weight W --texts T.json --precision int8 --cache_dir C --task speed

--task prepare: load the predictor (quantizing int8 into the cache on a miss) and stop.
--task speed:   load it, one warm-up pass over the texts, then --repeat timed passes (tokenizing
                included); prints the best pass's sentences/s.
--task start:   load it and predict one text; prints the wall-clock time of that first prediction
                (the parent took the time before starting this process).
Every task prints one JSON line with the process's peak RSS (model, buffers, tokenizer, imports).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kobert_gluon  # noqa: E402  (sets OMP_NUM_THREADS before mxnet loads)
from kobert_base.architectures import PRECISIONS  # noqa: E402
from measure import report_task  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--weight', required=True)
    p.add_argument('--texts', required=True, help="JSON: {'max_len': N, 'texts': [...], 'calib': [...]}")
    p.add_argument('--precision', default='fp32', choices=PRECISIONS)
    p.add_argument('--cache_dir', default=None)
    p.add_argument('--kobert_dir', default=None)
    p.add_argument('--task', default='speed', choices=('prepare', 'speed', 'start'))
    p.add_argument('--repeat', type=int, default=3)
    a = p.parse_args()
    kobert_gluon.rerun_with_huge_pages()  # as main.py does
    from kobert_gluon.predictor import Predictor
    with open(a.texts, encoding='utf-8') as f:
        spec = json.load(f)
    texts = spec['texts']
    predictor = Predictor.from_weight(a.weight, a.kobert_dir, max_len=spec['max_len'], cache_dir=a.cache_dir,
                                      precision=a.precision, calib_texts=spec.get('calib') or texts)
    report_task(predictor, texts, a.task, a.repeat, {'precision': predictor.precision})


if __name__ == '__main__':
    main()
