"""The pieces the parser is made of: argument types and shared options.

Argument types turn text into values and refuse what cannot be a value of
the option at all (not a number, a number no program could use); whether a
value suits the network is the estimator's to say (see ``_train``).
Options that several subcommands take are declared here, once.
"""

import argparse
import textwrap
from pathlib import Path

from ._errors import UsageError

# The largest integer an option takes: Keras and its backends hold sizes and
# counts in 32-bit integers, and so does the C int behind joblib's n_jobs.
MAX_INT = 2**31 - 1
WIDTHS = "comma-separated positive layer widths such as 1024,512,256"


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Wrap prose to the terminal; keep indented lines (examples) as written."""

    def _fill_text(self, text, width, indent):
        lines = []
        for line in text.splitlines():
            if line[:1].isspace() or not line:
                lines.append(indent + line)
            else:
                lines += textwrap.wrap(
                    line, width, initial_indent=indent, subsequent_indent=indent
                )
        return "\n".join(lines)


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line (a :class:`UsageError`)."""

    def error(self, message):
        # argparse prints the whole usage block; one line is easier to read
        # in a script's log, and --help is one command away.
        raise UsageError(f"{message} (see '{self.prog} --help')")


# ----------------------------------------------------------- argument types
def _number(text, kind, expected, ok):
    """Parse ``text`` with ``kind`` and check it with ``ok`` (argparse type)."""
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not ok(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    if kind is int and value > MAX_INT:
        raise argparse.ArgumentTypeError(
            f"expected {expected}, got {text!r} (at most {MAX_INT})"
        )
    return value


def positive_int(text):
    return _number(text, int, "a positive integer", lambda v: v >= 1)


def positive_float(text):
    return _number(text, float, "a positive number", lambda v: 0 < v < float("inf"))


def dropout(text):
    return _number(text, float, "a number in [0, 1)", lambda v: 0 <= v < 1)


def seed(text):
    # Above MAX_INT: NumPy's seeds go up to 2**32 - 1.
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(
            f"expected an integer 0-4294967295, got {text!r}"
        )
    return value


def folds(text):
    return _number(text, int, "an integer >= 2", lambda v: v >= 2)


def widths(text):
    """``"512,256"`` -> ``(512, 256)``; the estimator checks the widths."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = None
    if values is None:
        raise argparse.ArgumentTypeError(f"expected {WIDTHS}, got {text!r}")
    return values


def port(text):
    return _number(text, int, "a TCP port 0-65535", lambda v: 0 <= v <= 65535)


def onnx_file(text):
    """A file name ending in ``.onnx``, the suffix ``sk-mnist serve`` reads."""
    path = Path(text)
    if path.suffix.lower() != ".onnx":
        raise argparse.ArgumentTypeError(
            f"expected a file name ending in .onnx (how 'sk-mnist serve' knows "
            f"an ONNX file), got {text!r}"
        )
    return path


def figure_file(text):
    """A file name whose extension is an image format matplotlib can write."""
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    path = Path(text)
    if path.suffix[1:].lower() not in formats:
        raise argparse.ArgumentTypeError(
            "expected a file name ending in an image format matplotlib writes "
            f"({', '.join('.' + name for name in sorted(formats))}), got {text!r}"
        )
    return path


# ----------------------------------------------------------- shared options
def add_data_options(parser, datasets, *, train_help, test_help):
    """--train, --test, --dataset and --data-home (train and search)."""
    parser.add_argument("--train", metavar="PATH", type=Path, help=train_help)
    parser.add_argument("--test", metavar="PATH", type=Path, help=test_help)
    parser.add_argument(
        "--dataset",
        choices=("sample", *datasets),
        help="the embedded sample (the default), or the full MNIST or "
        "Fashion-MNIST data, downloaded once into --data-home (see 'sk-mnist "
        "download'); not with --train/--test",
    )
    add_data_home(parser)


def add_data_home(parser):
    parser.add_argument(
        "--data-home",
        metavar="DIR",
        type=Path,
        help="where downloaded data sets are kept (default: $SK_MNIST_DATA, "
        "else ~/.cache/sk-mnist)",
    )


def add_run_options(parser, default_out, progress):
    """--out, --seed and --quiet, shared by the commands that write a run."""
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        default=Path(default_out),
        help=f"output directory (default: ./{default_out}); an earlier run "
        "there is replaced",
    )
    parser.add_argument(
        "--seed", type=seed, default=0, metavar="N", help="random seed (default: 0)"
    )
    parser.add_argument("--quiet", action="store_true", help=f"no {progress}")


def add_model(
    parser, help_text="model folder written by 'sk-mnist train'", *, metavar="DIR"
):
    parser.add_argument(
        "--model", metavar=metavar, type=Path, required=True, help=help_text
    )


def add_model_options(parser, data_help, *, several=False):
    """--model and --data (evaluate and predict); ``several``: --data takes
    one path or more."""
    add_model(parser)
    parser.add_argument(
        "--data",
        metavar="PATH",
        type=Path,
        required=True,
        nargs="+" if several else None,
        help=data_help,
    )


def images_note():
    """How a path is recognised as images, for the descriptions."""
    from ._images import image_suffixes

    return (
        "A folder, or a file whose name ends in "
        f"{', '.join(image_suffixes())} (any case), is read as images: each "
        "is normalised as MNIST's digits were (DigitNormalizer: bright ink on "
        "black, scaled to fit 20 x 20, centred by its centre of mass). Any "
        "other file is read as a Kaggle-layout CSV file (.csv or .csv.gz)."
    )


# Labelled data, as --train, --test and evaluate's --data take it.
LABELLED = (
    "a Kaggle-layout CSV file (.csv or .csv.gz), or a folder of label folders "
    "0/ to 9/ holding image files"
)


def subcommand(sub, name, summary, description, examples):
    """Add the subcommand `name` to `sub` with its help texts."""
    return sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog=examples,
        formatter_class=HelpFormatter,
    )
