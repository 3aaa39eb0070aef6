"""``main``: parse the arguments, run the subcommand, map failures to a status."""

import os
import sys

from ._deploy import cmd_export, cmd_serve
from ._download import cmd_download
from ._errors import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    EXIT_USAGE,
    Terminated,
    UsageError,
    debugging,
    error_line,
    is_out_of_memory,
    sigterm_as_interrupt,
)
from ._evaluate import cmd_evaluate, cmd_predict
from ._parser import SUBCOMMANDS, command_parser
from ._search import cmd_search
from ._train import cmd_train

COMMANDS = {
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "predict": cmd_predict,
    "export": cmd_export,
    "serve": cmd_serve,
    "search": cmd_search,
    "download": cmd_download,
}
# The commands that draw figures (with Agg: no window, whatever the default).
_DRAWING = {"train", "search", "evaluate"}


def _parse(argv):
    argv = sys.argv[1:] if argv is None else list(argv)
    # Only the subcommand named is built: serve and download need no Keras.
    only = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    args, extras = command_parser(only).parse_known_args(argv)
    if extras:  # named after the subcommand, whose --help lists its options
        raise UsageError(
            f"unrecognized arguments: {' '.join(extras)} "
            f"(see 'sk-mnist {args.command} --help')"
        )
    return args


def main(argv=None):
    """Entry point of the ``sk-mnist`` console script; returns the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after ``sk-mnist``; None reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success; 2 after a usage, data or file-system error or running
        out of memory (one ``error: ...`` line on stderr; set
        ``SK_MNIST_DEBUG=1`` for the traceback); 130 when interrupted with
        Ctrl-C (SIGINT) and 143 on SIGTERM, after removing what the command
        had begun to write (``serve``, which runs until stopped, returns 0
        then).

    Examples
    --------
    >>> from sk_mnist.cli import main
    >>> main(["evaluate", "--model", "no-such-model", "--data", "no-such.csv"])
    2
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with sigterm_as_interrupt() as caught:
        try:
            args = _parse(argv)
            if args.command in _DRAWING:
                import matplotlib

                matplotlib.use("Agg")
            return COMMANDS[args.command](args)
        except (UsageError, OSError, ValueError) as err:
            if debugging():
                raise
            print(f"error: {error_line(err)}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt as err:
            caught()
            if isinstance(err, Terminated):
                print("terminated: stopped, nothing was written", file=sys.stderr)
                return EXIT_TERMINATED
            print("interrupted: stopped, nothing was written", file=sys.stderr)
            return EXIT_INTERRUPTED
        except Exception as err:
            if debugging() or not is_out_of_memory(err):
                raise
            print(f"error: {error_line(err)}", file=sys.stderr)
            return EXIT_USAGE
