"""CSV in, per-mode text and label ids out."""
from preprocess.processor import NewsProcessor, read_csv
from preprocess.dataset import load_data, split_frame

__all__ = ['NewsProcessor', 'read_csv', 'load_data', 'split_frame']
