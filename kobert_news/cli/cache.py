"""List or clear the project's caches (int8 models, sentence embeddings).

    kobert-news cache list
    kobert-news cache clear --kind int8

Entries check themselves when used (a damaged one is rebuilt); this is for seeing what they hold
and taking the space back. Only the entries the project wrote (each with its manifest) are
removed; anything else under the cache root is kept, and named.
"""
import os
import shutil
import sys
from dataclasses import dataclass

from kobert_news.cli.common import commands, parse
from kobert_base.errors import UserError
from kobert_base.paths import cache_root
from kobert_base.options import Options, flag

KINDS = ('int8', 'embeddings')


@dataclass
class CacheArgs(Options):
    """Cache"""
    action: str = flag('list', help='list the entries with their sizes, or clear them', choices=('list', 'clear'))
    kind: str = flag(help='only this kind of entry (default: all)', choices=KINDS)
    root: str = flag(help='the cache root (default ~/.cache/kobert-news, or $XDG_CACHE_HOME/kobert-news; '
                          'the --cache_dir given to the other commands)')


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ('list', 'clear'):
        argv = ['--action', argv[0]] + argv[1:]
    a, = parse(__doc__, [CacheArgs], argv)
    from kobert_gluon.cache_entries import entries
    root = a.root or cache_root()
    found, others = entries(root, [a.kind] if a.kind else KINDS)
    mb = sum(s for _, _, s in found) / 1e6
    named = ', '.join(os.path.relpath(p, root) for p in others)
    if a.action == 'list':
        for kind, folder, size in found:
            print('%-10s %8.1f MB  %s' % (kind, size / 1e6, folder))
        print('%d entries, %.1f MB in %s' % (len(found), mb, root))
        if others:
            print('not made by kobert-news (clear keeps them): %s' % named)
        return
    if not os.path.isdir(root):
        raise UserError('no cache at %s' % root)
    for _, folder, _ in found:
        shutil.rmtree(folder)
    print('removed %d entries (%.1f MB) from %s' % (len(found), mb, root))
    if others:
        print('kept %d not made by kobert-news: %s' % (len(others), named))


cli, entry = commands(main)


if __name__ == '__main__':
    sys.exit(entry())
