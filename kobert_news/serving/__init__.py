"""The classifier over HTTP: a batching worker (batcher), the weight behind it (service) and the
FastAPI app (app). kobert_news.cli.serve starts it."""
