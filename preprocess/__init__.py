"""CSV in, per-mode text and label ids out."""
from preprocess.processor import NewsProcessor, read_csv, topic_ids, with_cluster
from preprocess.dataset import Labelled, check_topics, fold_indices, load_data, read_labelled, split_frame

__all__ = ['NewsProcessor', 'read_csv', 'topic_ids', 'with_cluster', 'Labelled', 'check_topics', 'fold_indices',
           'load_data', 'read_labelled', 'split_frame']
