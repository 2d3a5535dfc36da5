"""Export a weight for Hugging Face transformers or ONNX Runtime (see kobert_news/cli/export.py, or python export.py --help)."""
import sys

from kobert_news.cli.export import entry

if __name__ == '__main__':
    sys.exit(entry())
