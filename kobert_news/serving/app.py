"""The FastAPI app: create_app(service, limits). The classifier's routes are registered in
add_routes, /explain in kobert_news.serving.explain_route, the page (kobert_news/web, at /) in
kobert_news.serving.web. A new route that needs the model runs its work in the worker thread:
service.queue.call(fn) gives a Future of fn(), and kobert_news.serving.work.answer(request,
future) awaits it (None if the client has gone).

API docs (/docs, /redoc) come from fastapi-offline, which serves Swagger UI and ReDoc from the
package itself: they work without a network.
"""
import asyncio
import contextlib
import os
import shutil
import tempfile
import urllib.parse
from dataclasses import dataclass
from typing import Optional

from fastapi import File, Query, Request, UploadFile
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from kobert_news.api import results
from kobert_base.errors import UserError
from kobert_base.modes import MODES
from kobert_base.topics import TOPICS
from kobert_news.serving.errors import HANDLERS, RETRY_AFTER, check_count, error
from kobert_news.serving.explain_route import add_explain
from kobert_news.serving.guard import Guard, Stopping
from kobert_news.serving.schemas import FAILURES, Error, PredictRequest, PredictResponse
from kobert_news.serving.web import add_web
from kobert_news.serving.work import GONE, answer, ready

DESCRIPTION = ('Korean news topic classification with a fine-tuned KoBERT. Requests from many clients are '
               'batched together; the answers equal main.py\'s for the same texts.')


@dataclass
class Limits:
    max_body_bytes: int = 8 << 20
    max_articles: int = 256
    max_requests: int = 512  # in progress at once: being read, queued, running or being answered
    max_explain_articles: int = 8
    max_explain_steps: int = 200
    max_csv_rows: int = 10000
    read_timeout: float = 30.0  # seconds for a request's headers, and again for its body
    allowed_hosts: str = ''  # Host names besides localhost, IP addresses and this machine's (kobert_news.serving.guard)


def create_app(service, limits=None):
    """The app around a Service (kobert_news.serving.service): it starts the service's worker at
    startup, and at shutdown lets it finish every request it accepted. app.state.stopping is to be
    set when the server is told to stop: request bodies still coming are then not waited for."""
    limits = limits or Limits()
    app = FastAPIOffline(title='kobert-news', description=DESCRIPTION, version=_version(),
                         lifespan=_lifespan(service))
    app.state.service, app.state.limits, app.state.stopping = service, limits, Stopping()
    for exc, handler in HANDLERS.items():
        app.add_exception_handler(exc, handler)
    app.add_middleware(Guard, limits=limits, stopping=app.state.stopping)
    add_routes(app)
    add_explain(app)
    add_web(app)
    return app


def _lifespan(service):
    @contextlib.asynccontextmanager
    async def lifespan(app):
        service.start()
        yield
        await asyncio.get_event_loop().run_in_executor(None, service.close)
    return lifespan


def _version():
    try:
        import pkg_resources
        return pkg_resources.get_distribution('kobert-news').version
    except Exception:  # a checkout that was not installed
        return 'checkout'


def add_routes(app):
    limits = app.state.limits

    @app.get('/health', summary='200 once the model is loaded and warmed, else 503',
             responses={503: {'model': Error}})
    async def health(request: Request):
        service = request.app.state.service
        if service.ready.is_set():
            return {'status': 'ready'}
        if service.error is not None:
            return error(503, 'the model failed to load: %s' % service.error, status='failed')
        return error(503, 'the model is loading', headers={'Retry-After': RETRY_AFTER}, status='loading')

    @app.get('/info', summary='the model (engine, file names, md5, topics, untrained topics, mode, max_len, '
                         'precision); the settings; counters; whether an explanation is in progress',
             responses={503: {'model': Error}})
    async def info(request: Request):
        service = ready(request)
        return dict(service.info, serving=dict(service.settings, max_articles=limits.max_articles,
                                               max_body_bytes=limits.max_body_bytes, max_requests=limits.max_requests,
                                               max_explain_articles=limits.max_explain_articles,
                                               max_explain_steps=limits.max_explain_steps,
                                               max_csv_rows=limits.max_csv_rows, read_timeout_s=limits.read_timeout),
                    stats=service.stats, explaining=request.app.state.explaining)

    @app.post('/predict', response_model=PredictResponse, responses=FAILURES,
              summary="topics of articles, in request order, as main.py finds them")
    async def predict(body: PredictRequest, request: Request):
        check_count(len(body.articles), limits.max_articles, 'articles', '--max_articles')
        service = ready(request)
        pred = await answer(request, service.submit([{'title': a.title, 'body': a.body} for a in body.articles]))
        if pred is None:
            return Response(status_code=GONE)
        found = results(pred, service.pipeline.topics, body.top_k or service.settings['top_k'], service.model['mode'])
        return JSONResponse({'model': service.model, 'predictions': found})

    @app.post('/predict/csv', response_class=Response, responses={**FAILURES, 200: {
        'content': {'text/csv': {}}, 'description': "main.py's output CSV for the file: its columns, then "
                                                    "predicted, probability (and top k, cluster)"}},
              summary="a CSV file in (main.py's columns and encodings), main.py's output CSV out (at most "
                      "--max_csv_rows rows; run in blocks, other requests are answered in between)")
    async def predict_csv(request: Request,
                          file: UploadFile = File(..., description='CSV with title and/or cleanBody columns; '
                                                                   'UTF-8 (with or without BOM) or CP949'),
                          top_k: Optional[int] = Query(None, ge=1, le=len(TOPICS),
                                                       description="main.py's --top_k"),
                          encoding: Optional[str] = Query(None, description="main.py's --encoding (default: "
                                                                            "detected)")):
        service = ready(request)
        name = os.path.basename(file.filename or '') or 'upload.csv'
        with tempfile.TemporaryDirectory(prefix='kobert-news-') as tmp:
            frame = await run_in_threadpool(_read_upload, file.file, os.path.join(tmp, 'input.csv'), encoding, name)
            check_count(len(frame), limits.max_csv_rows, 'rows', '--max_csv_rows')
            _check_columns(frame, service.pipeline.processor, name)
            # Block by block, each a job of its own at the queue's back: requests that come meanwhile
            # are answered between two blocks. Blocks are main.py's windows: the same batches, the same numbers.
            blocks = []
            for start in range(0, len(frame), service.window):
                done = await answer(request, service.submit_frame(frame.iloc[start:start + service.window], name,
                                                                  top_k, first_record=start + 1))
                if done is None:
                    return Response(status_code=GONE)
                blocks.append(done)
            if not any(pred.has_text.any() for _, pred in blocks):
                raise UserError('no row of %s has text for mode %d' % (name, service.model['mode']))
            import pandas as pd
            out = blocks[0][0] if len(blocks) == 1 else pd.concat([out for out, _ in blocks])
            data = await run_in_threadpool(_csv_bytes, out, os.path.join(tmp, 'output.csv'))
        # text/csv: starlette adds the charset itself (once; naming it here made it twice)
        return Response(data, media_type='text/csv', headers={
            'Content-Disposition': "attachment; filename=\"predicted.csv\"; filename*=UTF-8''%s"
                                   % urllib.parse.quote(os.path.splitext(name)[0] + '-predicted.csv')})


def _read_upload(upload, path, encoding, name):
    """The upload as main.py reads a CSV (encoding detection included); errors name the upload."""
    from preprocess import read_csv
    with open(path, 'wb') as f:
        shutil.copyfileobj(upload, f)
    try:
        return read_csv(path, encoding)
    except UserError as e:
        raise UserError(str(e).replace(path, name))


def _check_columns(frame, processor, name):
    """The columns the weight's mode reads, said in the server's terms (main.py's message names its flags)."""
    missing = [c for c in processor.needed_columns() if c not in frame.columns]
    if missing:
        raise UserError('%s lacks the column(s) %s that this weight reads (mode %d: %s); it has %s: rename its '
                        'columns' % (name, ', '.join(missing), processor.mode, MODES[processor.mode],
                                     ', '.join(map(str, frame.columns))))


def _csv_bytes(frame, path):
    """main.py's bytes for the frame: written by its own writer (kobert_news.pipeline.CsvWriter)."""
    from kobert_news.output_csv import write_csv
    write_csv(frame, path)
    with open(path, 'rb') as f:
        return f.read()
