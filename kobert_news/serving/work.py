"""How a route hands work to the model thread and waits for it: ready(request) is the app's
service once its model is loaded (else 503), and answer(request, future) awaits a Future from the
service's worker (service.queue.call(fn) or .submit(items)), or gives None if the client goes.

answer() keeps the counts of what became of each request the worker accepted: answered (its
result came), failed (its work raised) or dropped (its client left, or the server gave up on it);
so accepted = answered + failed + dropped once every one is over."""
import asyncio

from starlette.exceptions import HTTPException

from kobert_news.serving.request_queue import Closed
from kobert_news.serving.errors import RETRY_AFTER

GONE = 499  # the client closed the connection before its answer (nobody reads this status)


def ready(request):
    """The app's service, once its model is loaded and warmed; else 503."""
    service = request.app.state.service
    if not service.ready.is_set():
        if service.error is not None:
            raise Closed('the model failed to load: %s' % service.error)
        raise HTTPException(503, 'the model is loading', headers={'Retry-After': RETRY_AFTER})
    return service


async def answer(request, future):
    """The future's result (or its exception, raised), or None when the client disconnects first:
    its request is then cancelled, and the worker drops it if it has not begun."""
    result = asyncio.wrap_future(future)
    gone = asyncio.ensure_future(_disconnect(request.receive))
    outcome = 'dropped'
    try:
        await asyncio.wait((result, gone), return_when=asyncio.FIRST_COMPLETED)
        if result.done() and not result.cancelled():
            outcome = 'answered' if result.exception() is None else 'failed'
    finally:
        if not result.done():
            result.cancel()  # cancels the job too (asyncio passes it on)
        gone.cancel()
        request.app.state.service.queue.stats[outcome] += 1
    return None if outcome == 'dropped' else result.result()


async def _disconnect(receive):
    # The body has been read: the next message is the disconnect (uvicorn waits until there is one).
    while (await receive())['type'] != 'http.disconnect':
        pass
