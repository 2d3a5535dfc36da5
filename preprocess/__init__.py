"""CSV in, per-mode text and label ids out."""
from preprocess.processor import NewsProcessor, read_csv, topic_ids, with_cluster

# preprocess.dataset (pandas, scikit-learn) is loaded on first use: predicting from texts needs
# neither, and a predictor process is 50 MB smaller without them.
DATASET = ('Labelled', 'check_topics', 'fold_indices', 'load_data', 'read_labelled', 'split_frame')

__all__ = ['NewsProcessor', 'read_csv', 'topic_ids', 'with_cluster'] + list(DATASET)


def __getattr__(name):
    if name in DATASET:
        from preprocess import dataset
        return getattr(dataset, name)
    raise AttributeError('module %r has no attribute %r' % (__name__, name))
