"""Options as dataclass fields that are also command-line flags (kobert_base.options defines them):
each field carries its type, default, help, choices and range, and is checked when made."""
import math
from dataclasses import MISSING, asdict, field, fields

from kobert_base.errors import UserError


def flag(default=None, help='', choices=None, low=None, high=None, above=None, below=None, **extra):
    """A dataclass field that is also a command-line flag. low/high: inclusive bounds;
    above/below: exclusive ones."""
    meta = dict(help=help, choices=choices, low=low, high=high, above=above, below=below, **extra)
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


class Options:
    """Base of the option groups: checks every field against its metadata, then the groups' own
    check_* methods (cross-field rules)."""

    def __post_init__(self):
        for f in fields(self):
            _check_value(f, getattr(self, f.name), flag_meta(type(self), f))
        for name in sorted(dir(self)):
            if name.startswith('check_'):
                getattr(self, name)()

    def to_dict(self):
        return asdict(self)


def flag_meta(cls, f):
    """f's metadata as the options class cls uses it: a command narrows a flag that means something
    else in another command (its help, its choices) in its class's FLAGS."""
    return dict(f.metadata, **getattr(cls, 'FLAGS', {}).get(f.name, {}))


def _check_value(f, value, meta):
    if value is None or 'help' not in meta:
        return
    name = '--' + f.name
    kind = f.type
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind in (int, float, str, bool) and not isinstance(value, kind) or kind is int and isinstance(value, bool):
        raise UserError('%s must be %s, not %r' % (name, {int: 'an integer', float: 'a number', str: 'text',
                                                          bool: 'true or false'}[kind], value))
    if kind is float and not math.isfinite(value):
        raise UserError('%s must be a finite number, not %r' % (name, value))
    if meta['choices'] is not None and value not in meta['choices']:
        raise UserError('%s must be one of %s, not %r' % (name, ', '.join(map(str, meta['choices'])), value))
    for key, word, ok in (('low', 'at least', lambda b: value >= b), ('high', 'at most', lambda b: value <= b),
                          ('above', 'above', lambda b: value > b), ('below', 'below', lambda b: value < b)):
        if meta[key] is not None and not ok(meta[key]):
            raise UserError('%s must be %s %s, not %r' % (name, word, meta[key], value))


def help_text(f, meta):
    """The flag's help with its default, for --help."""
    parts = [meta['help']]
    default = f.default if f.default is not MISSING else (f.default_factory() if f.default_factory is not MISSING
                                                         else None)
    if default not in (None, False, '', []) and 'default' not in meta['help']:
        parts.append('(default %s)' % (' '.join(map(str, default)) if isinstance(default, list) else default))
    return ' '.join(parts).replace('%', '%%')
