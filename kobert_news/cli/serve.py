"""Serve the classifier over HTTP (FastAPI + uvicorn; API docs at /docs).

    kobert-news serve --model_dir D                   # an export folder on ONNX Runtime (the deploy server)
    kobert-news serve --model_dir D --precision int8  # its model_int8.onnx
    kobert-news serve                                 # the default weight on MXNet, 127.0.0.1:8000
    kobert-news serve --gluon_weight_path W --port 8080 --precision int8 --calib_path news.csv
    curl -s localhost:8000/predict -H 'Content-Type: application/json' \\
         -d '{"articles": [{"title": "손흥민 시즌 10호골"}]}'

POST /predict (JSON articles), POST /predict/csv (a CSV file in, main.py's output CSV out),
POST /explain (each word's attribution to the topic, as kobert-news explain), GET /health (200 once the
model is loaded and warmed), GET /info, and at / a page to try it all in a browser. One worker
thread runs the model: requests are batched together, up to --max_batch articles, waiting at most
--max_wait_ms for more. An export folder (kobert-news export --to onnx) runs fp32 or int8 with no calibration
and is explained by word occlusion; a weight file's bf16/int8 are calibrated on --calib_path's texts,
or on the packaged sample articles, and it is explained by integrated gradients.
"""
import sys
from dataclasses import dataclass, fields

from kobert_news.cli.common import commands, parse
from kobert_base.explanations import EXPLAIN_MAX_STEPS
from kobert_base.options import (FilesArgs, InferenceArgs, ModelDirArgs, Options, PredictOptions, ShapeArgs,
                                 WeightArgs, flag)


@dataclass
class ServeArgs(Options):
    """Server"""
    host: str = flag('127.0.0.1', help='address to listen on (0.0.0.0: every interface)')
    port: int = flag(8000, help='port (0: any free one, printed at start)', low=0, high=65535)
    max_batch: int = flag(32, help='most articles the model runs together, from one or several requests',
                          low=1, high=4096)
    max_wait_ms: float = flag(5.0, help='most milliseconds the worker waits for more requests to fill a batch',
                              low=0.0, high=60000.0)
    max_queue: int = flag(128, help='requests waiting for the model; beyond them the answer is 503 with '
                                    'Retry-After', low=1, high=1000000)
    max_articles: int = flag(256, help='articles in one request (more: 413)', low=1, high=1000000)
    max_body_kb: int = flag(8192, help='size of a request body in KiB (more: 413)', low=1, high=4 << 20)
    max_explain_articles: int = flag(8, help='articles in one /explain request (more: 413); one explanation runs '
                                             'at a time, a second meanwhile gets 503', low=1, high=10000)
    max_explain_steps: int = flag(200, help='most integration steps an /explain request may ask for (more: 422; '
                                            'integrated gradients only)',
                                  low=1, high=EXPLAIN_MAX_STEPS)
    max_csv_rows: int = flag(10000, help='rows of one /predict/csv upload (more: 413)', low=1, high=10000000)
    read_timeout_s: float = flag(30.0, help="seconds a client has to send a request's headers, and again its "
                                            'body (slower: the connection is closed; a body gets 408)',
                                 low=0.1, high=3600.0)
    allowed_hosts: str = flag('', help='host names the server answers to, comma-separated, besides localhost, '
                                       "IP addresses and this machine's name (other Host headers: 400, so that "
                                       'a web page cannot reach the API by DNS rebinding); * answers any')


@dataclass
class ServeOptions(ServeArgs, FilesArgs, InferenceArgs, ShapeArgs, WeightArgs, ModelDirArgs):
    """A server (kobert-news serve)."""

    def predict_options(self):
        """The PredictOptions of the model part (weight, precision, calibration, files, shape)."""
        return PredictOptions(**{f.name: getattr(self, f.name) for f in fields(PredictOptions)
                                 if hasattr(self, f.name)})


def main(argv=None):
    cfg, = parse(__doc__, [ServeOptions], argv)
    from kobert_news.serving.app import Limits, create_app
    from kobert_news.serving.server import serve
    from kobert_news.serving.service import Service
    service = Service(cfg.predict_options(), cfg.max_batch, cfg.max_wait_ms, cfg.max_queue)
    # Requests in progress: the queue, a batch running, and as many again being read or answered.
    limits = Limits(cfg.max_body_kb << 10, cfg.max_articles, max_requests=2 * cfg.max_queue + cfg.max_batch,
                    max_explain_articles=cfg.max_explain_articles, max_explain_steps=cfg.max_explain_steps,
                    max_csv_rows=cfg.max_csv_rows, read_timeout=cfg.read_timeout_s, allowed_hosts=cfg.allowed_hosts)
    serve(cfg, service, create_app(service, limits))


cli, entry = commands(main, huge_pages=True)  # OpenMP waits passively: kobert_gluon sets it for every command


if __name__ == '__main__':
    sys.exit(entry())
