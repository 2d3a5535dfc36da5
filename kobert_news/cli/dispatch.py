"""kobert-news <command> [flags]: every front end behind one command (also python -m kobert_news).

    kobert-news predict --model_dir D --data_path in.csv --save_path out.csv   # main.py's flags and output
    kobert-news serve --model_dir D
    kobert-news <command> --help
"""
import importlib
import sys

# command -> its module in kobert_news.cli (the module's entry() runs it, as its kobert-news-* script does)
COMMANDS = {'predict': 'predict', 'train': 'train', 'evaluate': 'evaluate', 'serve': 'serve', 'explain': 'explain',
            'export': 'export', 'baseline': 'baseline', 'record': 'record', 'clusters': 'cluster_report',
            'spark': 'spark_predict', 'cache': 'cache', 'launch': 'launch'}


def usage():
    return '%s\ncommands: %s' % (__doc__.strip(), ', '.join(COMMANDS))


def entry(argv=None):
    """Run the command named first in argv (default: the command line) with the rest of it."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ('-h', '--help'):
        print(usage())
        return 0
    if not argv or argv[0] not in COMMANDS:
        given = 'no command' if not argv else 'unknown command %r' % argv[0]
        print('error: %s: kobert-news takes one of %s (see kobert-news --help)' % (given, ', '.join(COMMANDS)),
              file=sys.stderr)
        return 2
    from kobert_news.cli import common
    common.PROG = 'kobert-news %s' % argv[0]
    return importlib.import_module('kobert_news.cli.' + COMMANDS[argv[0]]).entry(argv[1:])


if __name__ == '__main__':
    sys.exit(entry())
