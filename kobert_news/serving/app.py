"""The FastAPI app: create_app(service, limits). The classifier's routes are registered in
add_routes, /explain in kobert_news.serving.explain, the page (kobert_news/web, at /) in
kobert_news.serving.web. A new route that needs the model runs its work in the worker thread:
service.batcher.call(fn) gives a Future of fn(), and kobert_news.serving.work.answer(request,
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
from kobert_news.config import TOPICS, UserError
from kobert_news.serving.errors import HANDLERS, RETRY_AFTER, Guard, check_count, error
from kobert_news.serving.explain import add_explain
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


def create_app(service, limits=None):
    """The app around a Service (kobert_news.serving.service): it starts the service's worker at
    startup, and at shutdown lets it finish every request it accepted."""
    limits = limits or Limits()
    app = FastAPIOffline(title='kobert-news', description=DESCRIPTION, version=_version(),
                         lifespan=_lifespan(service))
    app.state.service, app.state.limits = service, limits
    for exc, handler in HANDLERS.items():
        app.add_exception_handler(exc, handler)
    app.add_middleware(Guard, max_bytes=limits.max_body_bytes, max_requests=limits.max_requests)
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

    @app.get('/info', summary='the weight, its topics, mode, max_len, precision and md5; the settings; counters; '
                         'whether an explanation is in progress',
             responses={503: {'model': Error}})
    async def info(request: Request):
        service = ready(request)
        return dict(service.info, serving=dict(service.settings, max_articles=limits.max_articles,
                                               max_body_bytes=limits.max_body_bytes, max_requests=limits.max_requests,
                                               max_explain_articles=limits.max_explain_articles,
                                               max_explain_steps=limits.max_explain_steps),
                    stats=service.stats, explaining=request.app.state.explaining)

    @app.post('/predict', response_model=PredictResponse, responses=FAILURES,
              summary="topics of articles, in request order, as main.py finds them")
    async def predict(body: PredictRequest, request: Request):
        check_count(len(body.articles), limits.max_articles, 'articles', '--max_articles')
        service = ready(request)
        rows = await answer(request, service.submit([{'title': a.title, 'body': a.body} for a in body.articles]))
        if rows is None:
            return Response(status_code=GONE)
        service.batcher.stats['answered'] += 1
        found = results(service.prediction(rows), service.pipeline.topics, body.top_k or service.settings['top_k'],
                        service.model['mode'])
        return JSONResponse({'model': service.model, 'predictions': found})

    @app.post('/predict/csv', response_class=Response, responses={**FAILURES, 200: {
        'content': {'text/csv': {}}, 'description': "main.py's output CSV for the file: its columns, then "
                                                    "predicted, probability (and top k, cluster)"}},
              summary="a CSV file in (main.py's columns and encodings), main.py's output CSV out")
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
            done = await answer(request, service.submit_frame(frame, name, top_k))
            if done is None:
                return Response(status_code=GONE)
            out, pred = done
            if not pred.has_text.any():
                raise UserError('no row of %s has text for mode %d' % (name, service.model['mode']))
            data = await run_in_threadpool(_csv_bytes, out, os.path.join(tmp, 'output.csv'))
        service.batcher.stats['answered'] += 1
        return Response(data, media_type='text/csv; charset=utf-8', headers={
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


def _csv_bytes(frame, path):
    """main.py's bytes for the frame: written by its own writer (kobert_gluon.pipeline.CsvWriter)."""
    from kobert_news.pipeline import write_csv
    write_csv(frame, path)
    with open(path, 'rb') as f:
        return f.read()
