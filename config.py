"""The project's definitions, for scripts and notebooks in a checkout: everything lives in the
kobert_news package (kobert_news.config: topics, model configurations, paths; kobert_news.options:
every command-line option with its help and range)."""
from kobert_news.config import *  # noqa: F401,F403
from kobert_news.options import *  # noqa: F401,F403
