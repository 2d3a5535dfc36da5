"""main.py's output CSV, written one way everywhere (main.py, /predict/csv, Spark's parts read its
format): UTF-8 with BOM (Excel shows Hangul), probabilities to 6 decimals, into a temporary file
renamed over the target only when every chunk is in."""
import contextlib

from kobert_base.atomic import atomic_path

FLOAT_FORMAT = '%.6f'


class CsvWriter:
    """Writes frames to one CSV, the header once."""

    def __init__(self, path):
        self.path, self.rows, self._stack = path, 0, contextlib.ExitStack()

    def __enter__(self):
        tmp = self._stack.enter_context(atomic_path(self.path))
        self._file = self._stack.enter_context(open(tmp, 'w', encoding='utf-8-sig', newline=''))
        return self

    def write(self, df):
        df.to_csv(self._file, index=False, header=self.rows == 0, float_format=FLOAT_FORMAT)
        self.rows += len(df)

    def __exit__(self, *exc):
        self._file.close()
        return self._stack.__exit__(*exc)


def write_csv(df, path):
    with CsvWriter(path) as w:
        w.write(df)
