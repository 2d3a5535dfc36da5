"""A loopback HTTP server for the page's browser tests until the project's own app serves it: the
page's files (kobert_news/web, and NanumGothic as fonts/NanumGothic.woff) and POST /predict, /predict/csv and
/explain answered by the real library (kobert_news.api.Classifier on a real weight). One
explanation at a time: a second while one runs is answered 503, as a busy server does."""
import cgi
import json
import mimetypes
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kobert_news.config import WEB_DIR as WEB, UserError


class Handler(BaseHTTPRequestHandler):
    server_version = 'kobert-news-test'

    def log_message(self, *args):  # quiet: pytest shows failures, not every request
        pass

    def _send(self, status, body, content_type='application/json; charset=utf-8'):
        data = body if isinstance(body, bytes) else (
            json.dumps(body, ensure_ascii=False) if not isinstance(body, str) else body).encode('utf-8')
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        from kobert_news.reports.fonts import WEB_FONT_NAME, web_font
        path = self.path.split('?', 1)[0]
        if path == '/fonts/' + WEB_FONT_NAME:
            return self._send(200, web_font(), 'font/woff')
        name = 'index.html' if path == '/' else path.lstrip('/')
        local = os.path.join(WEB, name) if name in os.listdir(WEB) else None
        if not local:
            return self._send(404, {'detail': 'not found'})
        with open(local, 'rb') as f:
            self._send(200, f.read(), mimetypes.guess_type(local)[0] or 'application/octet-stream')

    def do_POST(self):
        routes = {'/predict': self._predict, '/predict/csv': self._predict_csv, '/explain': self._explain}
        route = routes.get(self.path)
        if route is None:
            return self._send(404, {'detail': 'not found'})
        try:
            route()
        except UserError as e:
            self._send(400, {'detail': str(e)})
        except (ValueError, KeyError, TypeError) as e:
            self._send(400, {'detail': 'bad request: %s' % e})

    def _json(self):
        return json.loads(self.rfile.read(int(self.headers.get('Content-Length') or 0)).decode('utf-8'))

    def _predict(self):
        request = self._json()
        self._send(200, {'results': self.server.classifier.classify(request['articles'], request.get('top_k', 1))})

    def _predict_csv(self):
        from kobert_gluon.pipeline import write_csv
        from preprocess import read_csv
        form = cgi.FieldStorage(fp=self.rfile, headers=self.headers,
                                environ={'REQUEST_METHOD': 'POST', 'CONTENT_TYPE': self.headers['Content-Type']})
        upload = os.path.join(self.server.folder, 'upload.csv')
        with open(upload, 'wb') as f:
            f.write(form['file'].file.read())
        frame = self.server.classifier.classify_frame(read_csv(upload))
        out = os.path.join(self.server.folder, 'predicted.csv')
        write_csv(frame, out)
        with open(out, 'rb') as f:
            self._send(200, f.read(), 'text/csv; charset=utf-8')

    def _explain(self):
        request = self._json()
        if not self.server.explaining.acquire(blocking=False):
            return self._send(503, {'detail': 'an explanation is being computed; try again shortly'})
        try:
            results = self.server.classifier.explain(request['articles'], request.get('target'),
                                                     request.get('steps', 50))
        finally:
            self.server.explaining.release()
        self._send(200, {'results': results})


class PageServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, classifier, folder):
        super().__init__(('127.0.0.1', 0), Handler)
        self.classifier, self.folder = classifier, str(folder)
        self.explaining = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self):
        return 'http://127.0.0.1:%d/' % self.server_address[1]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=10)

