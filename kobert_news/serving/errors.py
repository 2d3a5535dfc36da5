"""Every failure as a JSON error with the right status, never a traceback: validation (422, naming
the field), size limits (413), a full queue or a model not ready (503 with Retry-After), the
user's own mistakes found deeper down (UserError, 422), and anything unexpected (500)."""
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from kobert_base.errors import UserError
from kobert_news.serving.request_queue import Closed, QueueFull

# Retry-After, in seconds: a queue drains, and a small model loads, within about the first; the
# second is about one explanation of a few headlines (the server explains one request at a time).
RETRY_AFTER = '1'
EXPLAIN_RETRY_AFTER = '5'


def error(code, message, headers=None, **extra):
    return JSONResponse(dict(error=message, **extra), status_code=code, headers=headers)


def check_count(n, limit, what, flag):
    """413 when a request holds more than limit items (what: 'articles', ...; flag: the server's option)."""
    if n > limit:
        raise HTTPException(413, '%d %s in one request; the limit is %d (%s)' % (n, what, limit, flag))


def field_name(loc):
    """('body', 'articles', 0, 'title') -> 'articles.0.title'."""
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] in ('body', 'query'):
        parts = parts[1:]
    return '.'.join(parts)


def _describe(e):
    if e.get('type') == 'json_invalid':  # loc is ('body', position)
        return {'field': 'body', 'message': 'invalid JSON at character %s: %s'
                % (e['loc'][-1], (e.get('ctx') or {}).get('error', e.get('msg')))}
    return {'field': field_name(e.get('loc', ())), 'message': e.get('msg', 'invalid')}


async def validation_error(request, exc):
    found = [dict(_describe(e), type=e.get('type')) for e in exc.errors()]
    first = found[0] if found else {'field': 'body', 'message': 'invalid'}
    kind = request.headers.get('content-type', '').split(';')[0].strip()
    if first['field'] == 'body' and kind and not kind.endswith(('json', 'form-data')):
        # FastAPI reads JSON only when the request says it is JSON (curl -d says it is a form)
        first = dict(first, message='send the articles as JSON, with the header Content-Type: application/json '
                                    '(this request says %s)' % kind)
    return error(422, '%s: %s' % (first['field'], first['message']), field=first['field'], errors=found)


async def http_error(request, exc):
    return error(exc.status_code, str(exc.detail), headers=getattr(exc, 'headers', None))


async def user_error(request, exc):
    return error(422, str(exc))


async def queue_full(request, exc):
    return error(503, 'the server is busy (%s): try again shortly' % exc, headers={'Retry-After': RETRY_AFTER})


async def closed(request, exc):
    return error(503, str(exc), headers={'Retry-After': RETRY_AFTER})


async def unexpected(request, exc):
    # Starlette re-raises it after this answer, and uvicorn writes the traceback to the server's log.
    return error(500, 'internal error (%s); the server log has the details' % type(exc).__name__)


HANDLERS = {RequestValidationError: validation_error, HTTPException: http_error, UserError: user_error,
            QueueFull: queue_full, Closed: closed, Exception: unexpected}

