"""The classifier over HTTP: a batching request queue with one model thread (request_queue), the
weight behind it (service) and the FastAPI app (app). kobert_news.cli.serve starts it."""
