"""CSV in, per-mode text and label ids out."""
from preprocess.processor import NewsProcessor, read_csv

__all__ = ['NewsProcessor', 'read_csv']
