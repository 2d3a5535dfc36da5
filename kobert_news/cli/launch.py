"""Train with several worker processes on this machine, through MXNet's parameter server.

    kobert-news launch --workers 2 -- train.py --data_path news.csv --kvstore dist_sync
    kobert-news launch --workers 4 --servers 2 -- train.py --data_path news.csv --kvstore dist_sync

Starts a scheduler and the servers (Python processes importing mxnet with DMLC_ROLE set), then
the command after -- once per worker, with DMLC_ROLE=worker and the DMLC_* variables that find the
scheduler, all on 127.0.0.1. A command that starts with a .py file runs with this Python. Each
process takes OMP_NUM_THREADS = cores / workers unless it is set. When a worker fails, every
process is stopped. For several machines, see docs/scaling.md.
"""
import sys
from dataclasses import dataclass

from kobert_news.cli.common import commands, parse
from kobert_base.errors import UserError
from kobert_base.options import Options, flag


@dataclass
class LaunchArgs(Options):
    """Parameter server"""
    workers: int = flag(2, help='worker processes: each takes its share of every batch', low=1, high=64)
    servers: int = flag(1, help='server processes: they sum the workers\' gradients', low=1, high=64)
    scheduler_port: int = flag(0, help="the scheduler's port on 127.0.0.1 (default: a free one)", low=0, high=65535)


def split_command(argv):
    """(launcher flags, worker command) of an argument list with the command after --."""
    if '--' not in argv:
        if any(a in ('-h', '--help') for a in argv):
            return argv, []
        raise UserError('give the worker command after --, e.g. -- train.py --data_path news.csv --kvstore dist_sync')
    i = argv.index('--')
    return argv[:i], argv[i + 1:]


def check_command(command):
    if not command:
        raise UserError('no worker command after --')
    kv = [b for a, b in zip(command, command[1:] + ['']) if a == '--kvstore']
    kv += [a.split('=', 1)[1] for a in command if a.startswith('--kvstore=')]
    if not any(k.startswith('dist') for k in kv):
        raise UserError('the workers must train with --kvstore dist_sync (or dist_device_sync): without it each '
                        'would train alone')
    return [sys.executable] + command if command[0].endswith('.py') else command


def main(argv=None):
    flags, command = split_command(list(sys.argv[1:] if argv is None else argv))
    args, = parse(__doc__, [LaunchArgs], flags)
    from kobert_gluon.dist_launch import launch
    code = launch(check_command(command), args.workers, args.servers, port=args.scheduler_port)
    return 128 - code if code < 0 else code  # killed by a signal: the shell's convention


cli, entry = commands(main)


if __name__ == '__main__':
    sys.exit(entry())
