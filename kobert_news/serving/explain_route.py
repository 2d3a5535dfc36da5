"""POST /explain: why each article got its topic, word by word, as kobert_news.api.Classifier.explain
and kobert-news explain compute it: word occlusion on an export folder (the article and a copy per word read,
one batched run), integrated gradients on a weight file (its plain fp32 graph, loaded in the model
thread on the first request).

An explanation costs up to max_len runs of the model per article (seconds on a large model;
integrated gradients: steps passes of the model and its gradient), so the server computes one at a
time: while one is in progress another /explain is answered 503 with Retry-After. Each article is
one job for the model thread, so the /predict requests that queue meanwhile are answered between two
articles, and a client that leaves stops its explanation after the article in progress."""
from fastapi import Request
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from kobert_news.explain import INTEGRATED_GRADIENTS
from kobert_news.serving.errors import EXPLAIN_RETRY_AFTER, check_count, error
from kobert_news.serving.schemas import FAILURES, ExplainRequest, ExplainResponse
from kobert_news.serving.work import GONE, answer, ready


def add_explain(app):
    limits = app.state.limits
    app.state.explaining = False  # the event loop's own flag: set and read without an await between

    @app.post('/explain', response_model=ExplainResponse, responses=FAILURES,
              summary='why each article got its topic: the probabilities, and each word\'s attribution')
    async def explain(body: ExplainRequest, request: Request):
        check_count(len(body.articles), limits.max_explain_articles, 'articles to explain', '--max_explain_articles')
        if body.steps > limits.max_explain_steps:
            return error(422, 'steps: at most %d on this server (--max_explain_steps), not %d'
                         % (limits.max_explain_steps, body.steps), field='steps')
        service = ready(request)
        if app.state.explaining:
            raise HTTPException(503, 'the server is busy with another explanation: try again shortly',
                                headers={'Retry-After': EXPLAIN_RETRY_AFTER})
        app.state.explaining = True
        try:
            found = []
            for article in body.articles:
                got = await answer(request, service.submit_explain(article.model_dump(), body.target, body.steps))
                if got is None:
                    return Response(status_code=GONE)
                found += got
        finally:
            app.state.explaining = False
        method = service.explain_method
        return JSONResponse({'model': service.model, 'method': method,
                             'steps': body.steps if method == INTEGRATED_GRADIENTS else None, 'explanations': found})
