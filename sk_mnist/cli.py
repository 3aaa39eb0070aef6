"""The ``sk-mnist`` command: train, evaluate and predict, thin over the library.

Every failure a user can cause (bad options, missing or malformed files, a
corrupt model) ends with one ``error: ...`` line on stderr and exit status 2;
Ctrl-C ends with exit status 130. Nothing half-written is left behind: output
is written under a temporary name next to its destination and renamed into
place only when complete.
"""

import argparse
import contextlib
import json
import logging
import os
import re
import sys
import textwrap
import time
from pathlib import Path

from . import __version__
from ._files import staged_folder, temporary_beside, topmost_missing
from ._quiet import import_keras_quietly as _import_keras_quietly

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
RUN_MARKER = "metrics.json"
# Every name 'train' and 'search' write in --out: a folder holding only these
# and a RUN_MARKER that says it came from sk-mnist is an earlier run, which a
# new run may replace.
TRAIN_NAMES = (
    "model",
    "history.csv",
    "class_distribution.png",
    "samples.png",
    "learning_curves.png",
    "confusion_matrix.png",
    "misclassified.png",
    RUN_MARKER,
)
SEARCH_NAMES = (
    "model",
    "cv_results.csv",
    "best_params.json",
    "search_scores.png",
    RUN_MARKER,
)
# DenseMLPClassifier's defaults, written out so that --help needs no Keras;
# tests/test_cli.py checks that they agree with the estimator's.
_DEFAULTS = {
    "epochs": 15,
    "batch_size": 128,
    "hidden_layer_sizes": (1024, 512, 256),
    "learning_rate": 2e-3,
    "learning_rate_schedule": "cosine",
    "dropout": 0.0,
}
# The parameters metrics.json records.
_REPORTED_PARAMS = (
    *_DEFAULTS,
    "activation",
    "alpha",
    "optimizer",
    "early_stopping",
    "random_state",
)
# Option (argparse dest) -> DenseMLPClassifier parameter.
_RECIPE_OPTIONS = {
    "epochs": "epochs",
    "batch_size": "batch_size",
    "hidden": "hidden_layer_sizes",
    "learning_rate": "learning_rate",
    "schedule": "learning_rate_schedule",
    "dropout": "dropout",
}

TRAIN_EXAMPLES = """\
examples:
  sk-mnist train                    # the embedded 4,000 + 1,000 sample
  sk-mnist train --train mnist_train.csv --test mnist_test.csv --out run1
  sk-mnist train --epochs 5 --batch-size 256 --hidden 512,256 --early-stopping
  sk-mnist train --homework         # the original recipe, batch 32
  sk-mnist train --dataset mnist    # all 70,000 digits, downloaded once
"""
EVALUATE_EXAMPLES = """\
examples:
  sk-mnist evaluate --model sk-mnist-run/model --data mnist_test.csv
  sk-mnist evaluate --model run1/model --data test.csv.gz --metrics m.json \\
      --confusion-matrix cm.png
"""
SEARCH_EXAMPLES = """\
examples:
  sk-mnist search --grid '{"mlp__hidden_layer_sizes": [[256], [512, 256]],
                           "mlp__batch_size": [64, 256], "mlp__epochs": [5]}'
  sk-mnist search --train mnist_train.csv --test mnist_test.csv \\
      --grid grid.json --n-iter 8 --cv 5 --n-jobs 2 --out search1
  sk-mnist search --grid grid.json --scheduler tcp://scheduler:8786   # on Dask
"""
DOWNLOAD_EXAMPLES = """\
examples:
  sk-mnist download                 # MNIST into ~/.cache/sk-mnist
  sk-mnist download --dataset fashion-mnist --data-home /data/sk-mnist
  sk-mnist train --dataset mnist    # then train on it, offline

Without a network, copy mnist.npz or the four IDX .gz files into DIR/mnist
(DIR/fashion-mnist for Fashion-MNIST) and run this again to check them, or
train on local CSV files with 'sk-mnist train --train ... --test ...'.
"""
PREDICT_EXAMPLES = """\
examples:
  sk-mnist predict --model sk-mnist-run/model --data new_digits.csv \\
      --output predictions.csv
"""


class UsageError(Exception):
    """A problem the user can fix; reported as one ``error:`` line."""


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
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


class _Parser(argparse.ArgumentParser):
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
    return value


def _positive_int(text):
    return _number(text, int, "a positive integer", lambda v: v >= 1)


def _positive_float(text):
    return _number(text, float, "a positive number", lambda v: 0 < v < float("inf"))


def _dropout(text):
    return _number(text, float, "a number in [0, 1)", lambda v: 0 <= v < 1)


def _seed(text):
    return _number(text, int, "an integer 0-4294967295", lambda v: 0 <= v < 2**32)


def _folds(text):
    return _number(text, int, "an integer >= 2", lambda v: v >= 2)


def _widths(text):
    parts = [part.strip() for part in text.split(",")]
    try:
        widths = tuple(int(part) for part in parts)
    except ValueError:
        widths = ()
    if not widths or any(width < 1 for width in widths):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive layer widths such as 1024,512,256, "
            f"got {text!r}"
        )
    return widths


def _figure_file(text):
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


def _add_run_options(parser, default_out, progress):
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
        "--seed", type=_seed, default=0, metavar="N", help="random seed (default: 0)"
    )
    parser.add_argument("--quiet", action="store_true", help=f"no {progress}")


def _add_data_home(parser):
    parser.add_argument(
        "--data-home",
        metavar="DIR",
        type=Path,
        help="where downloaded data sets are kept (default: $SK_MNIST_DATA, "
        "else ~/.cache/sk-mnist)",
    )


def build_parser():
    """Return the ``sk-mnist`` argument parser (used by ``main`` and the docs).

    The command-line reference in the documentation is rendered from this
    parser when the docs are built, so its help texts are the reference.

    Returns
    -------
    parser : argparse.ArgumentParser
        The parser, with one subparser per subcommand. Its ``error`` raises
        ``UsageError`` (reported as one line by :func:`main`) instead of
        exiting.

    Examples
    --------
    >>> from sk_mnist.cli import build_parser
    >>> args = build_parser().parse_args(["train", "--epochs", "5", "--hidden", "256"])
    >>> args.command, args.epochs, args.hidden
    ('train', 5, (256,))
    """
    parser = _Parser(
        prog="sk-mnist",
        description="Train, evaluate and use a Dense MLP classifier for "
        "MNIST-like 28x28 images.",
    )
    parser.add_argument(
        "--version", action="version", version=f"sk-mnist {__version__}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    formatter = _HelpFormatter

    train = sub.add_parser(
        "train",
        help="train on Kaggle-layout CSV files (default: the embedded sample)",
        description="Train the Dense MLP pipeline and write the model, metrics, "
        "history and plots. With no data it uses the embedded sample of 4,000 "
        "training and 1,000 test digits.",
        epilog=TRAIN_EXAMPLES,
        formatter_class=formatter,
    )
    train.add_argument(
        "--train",
        metavar="CSV",
        type=Path,
        help="training images, Kaggle layout (.csv or .csv.gz)",
    )
    train.add_argument(
        "--test",
        metavar="CSV",
        type=Path,
        help="test images; without it, a stratified 20%% hold-out of --train is used",
    )
    train.add_argument(
        "--dataset",
        choices=("sample", "mnist", "fashion-mnist"),
        help="the embedded sample (the default), or the full MNIST or "
        "Fashion-MNIST data, downloaded once into --data-home (see 'sk-mnist "
        "download'); not with --train/--test",
    )
    _add_data_home(train)
    train.add_argument(
        "--homework",
        action="store_true",
        help="train with the classic homework's recipe (batch 32, learning rate "
        "0.001 held constant, 20 epochs) instead of sk-mnist's faster defaults; "
        "the options below still override it",
    )
    train.add_argument(
        "--epochs",
        type=_positive_int,
        metavar="N",
        help=f"maximum number of epochs (default: {_DEFAULTS['epochs']})",
    )
    train.add_argument(
        "--batch-size",
        type=_positive_int,
        metavar="N",
        help=f"samples per gradient step (default: {_DEFAULTS['batch_size']})",
    )
    train.add_argument(
        "--hidden",
        type=_widths,
        metavar="W1,W2,...",
        help="hidden layer widths (default: "
        f"{','.join(map(str, _DEFAULTS['hidden_layer_sizes']))})",
    )
    train.add_argument(
        "--learning-rate",
        type=_positive_float,
        metavar="F",
        help=f"Adam learning rate (default: {_DEFAULTS['learning_rate']:g})",
    )
    train.add_argument(
        "--schedule",
        choices=("constant", "cosine"),
        help="learning-rate schedule over the epochs (default: "
        f"{_DEFAULTS['learning_rate_schedule']})",
    )
    train.add_argument(
        "--dropout",
        type=_dropout,
        metavar="F",
        help=f"dropout after each hidden layer (default: {_DEFAULTS['dropout']:g})",
    )
    train.add_argument(
        "--early-stopping",
        action="store_true",
        help="stop when the accuracy on a 10%% hold-out of the training "
        "data stops improving, and keep the best weights",
    )
    _add_run_options(train, "sk-mnist-run", "per-epoch progress")
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser(
        "evaluate",
        help="accuracy and classification report of a saved model",
        description="Evaluate a saved model on a labelled CSV file.",
        epilog=EVALUATE_EXAMPLES,
        formatter_class=formatter,
    )
    evaluate.add_argument(
        "--model",
        metavar="DIR",
        type=Path,
        required=True,
        help="model directory written by 'sk-mnist train'",
    )
    evaluate.add_argument(
        "--data",
        metavar="CSV",
        type=Path,
        required=True,
        help="labelled images, Kaggle layout",
    )
    evaluate.add_argument(
        "--metrics",
        metavar="JSON",
        type=Path,
        help="also write the metrics to this JSON file",
    )
    evaluate.add_argument(
        "--confusion-matrix",
        metavar="PNG",
        type=_figure_file,
        help="also draw the confusion matrix to this PNG file (or .pdf, .svg, "
        "...: the format follows the extension)",
    )
    evaluate.set_defaults(func=cmd_evaluate)

    predict = sub.add_parser(
        "predict",
        help="predict labels and class probabilities for a CSV file",
        description="Predict a label and class probabilities for every image of a "
        "CSV file (with or without a label column).",
        epilog=PREDICT_EXAMPLES,
        formatter_class=formatter,
    )
    predict.add_argument(
        "--model",
        metavar="DIR",
        type=Path,
        required=True,
        help="model directory written by 'sk-mnist train'",
    )
    predict.add_argument(
        "--data",
        metavar="CSV",
        type=Path,
        required=True,
        help="images, Kaggle layout, labels optional",
    )
    predict.add_argument(
        "--output",
        metavar="CSV",
        type=Path,
        required=True,
        help="where to write one row per image: prediction, "
        "then one probability column per class",
    )
    predict.set_defaults(func=cmd_predict)

    search = sub.add_parser(
        "search",
        help="grid or randomized search over the pipeline's parameters",
        description="Cross-validated hyperparameter search. Writes cv_results.csv, "
        "best_params.json, the refit best model under model/, a plot of the "
        "mean score per candidate and, with --test, its test metrics.",
        epilog=SEARCH_EXAMPLES,
        formatter_class=formatter,
    )
    search.add_argument(
        "--train",
        metavar="CSV",
        type=Path,
        help="training images, Kaggle layout (default: the embedded sample)",
    )
    search.add_argument(
        "--test", metavar="CSV", type=Path, help="test images for the best model"
    )
    search.add_argument(
        "--grid",
        required=True,
        metavar="JSON",
        help="sklearn param_grid as JSON text or a JSON file; with --n-iter, "
        'values may be distributions such as {"loguniform": [1e-4, 1e-2]}',
    )
    search.add_argument(
        "--n-iter",
        type=_positive_int,
        metavar="N",
        help="sample N candidates (randomized search) instead of the whole grid",
    )
    search.add_argument(
        "--cv", type=_folds, default=3, metavar="K", help="folds (default: 3)"
    )
    search.add_argument(
        "--scoring",
        default="accuracy",
        metavar="NAME",
        help="sklearn scorer name (default: accuracy)",
    )
    search.add_argument(
        "--n-jobs",
        type=_positive_int,
        metavar="N",
        help="fits run at once: in N worker processes here (default: 1), or on "
        "the --scheduler's workers (default: as many as they have threads)",
    )
    search.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the fits on a Dask cluster, e.g. tcp://10.0.0.5:8786 (needs "
        "pip install 'sk-mnist[distributed]'); the refit of the best candidate "
        "runs here",
    )
    _add_run_options(search, "sk-mnist-search", "progress lines")
    search.set_defaults(func=cmd_search)

    download = sub.add_parser(
        "download",
        help="download the full MNIST or Fashion-MNIST data once, for offline use",
        description="Download a full data set (60,000 training and 10,000 test "
        "images) into the data home, checked against its published checksums, "
        "so that 'sk-mnist train --dataset ...' and fetch_mnist() work offline. "
        "Data already there is checked, not downloaded again.",
        epilog=DOWNLOAD_EXAMPLES,
        formatter_class=formatter,
    )
    download.add_argument(
        "--dataset",
        choices=("mnist", "fashion-mnist"),
        default="mnist",
        help="which data set (default: mnist)",
    )
    _add_data_home(download)
    download.add_argument(
        "--timeout",
        type=_positive_float,
        metavar="SECONDS",
        help="give up on a server that sends nothing for this long (default: 30)",
    )
    download.add_argument("--quiet", action="store_true", help="no progress")
    download.set_defaults(func=cmd_download)
    return parser


# ----------------------------------------------------------------- helpers
def _say(args, message):
    if not getattr(args, "quiet", False):
        print(message, flush=True)


def _is_earlier_run(folder):
    """Whether ``folder`` holds only what an sk-mnist run writes, with its
    ``metrics.json`` naming the sk-mnist version that wrote it."""
    names = {entry.name for entry in folder.iterdir()}
    if not names <= {*TRAIN_NAMES, *SEARCH_NAMES} or RUN_MARKER not in names:
        return False
    try:
        metrics = json.loads((folder / RUN_MARKER).read_text())
    except (OSError, ValueError):
        return False
    versions = metrics.get("versions") if isinstance(metrics, dict) else None
    return isinstance(versions, dict) and "sk_mnist" in versions


def _check_out(target):
    """Refuse an ``--out`` that a run may not replace, before any work is done.

    ``target`` may be missing, an empty folder or an earlier run (see
    :func:`_is_earlier_run`); it may not be, or hold, the current folder.
    """
    target = Path(target)
    if not target.exists():
        return
    here = Path.cwd().resolve()
    if target.is_dir() and (
        here == target.resolve() or target.resolve() in here.parents
    ):
        raise UsageError(
            f"--out {target}: is the current folder or holds it, and a run "
            "replaces its --out folder; choose another --out"
        )
    if not (target.is_dir() and (not any(target.iterdir()) or _is_earlier_run(target))):
        raise UsageError(
            f"{target} exists and is not an earlier sk-mnist run; "
            "choose another --out or remove it"
        )


@contextlib.contextmanager
def _staged_dir(target):
    """Yield a temporary directory that replaces ``target`` on success only."""
    target = Path(target)
    # Checked again here, not only before the data was loaded: a training
    # run is long, and files put in ``target`` meanwhile must not be wiped.
    _check_out(target)
    with contextlib.ExitStack() as stack:
        with _output_error(target):
            staging = stack.enter_context(staged_folder(target))
        try:
            yield staging
        except OSError as err:
            if err.filename or not err.strerror:
                raise
            # e.g. a full disk while writing: name the run it was writing
            raise UsageError(f"{target}: cannot write there ({err.strerror})") from None


@contextlib.contextmanager
def _output_error(target):
    """Report an OS error in the block as one line naming ``target`` and why."""
    try:
        yield
    except OSError as err:
        reason = err.strerror or err
        parent = Path(target).absolute().parent
        missing = topmost_missing(parent)
        existing = Path(missing).parent if missing else parent
        if not existing.is_dir():
            reason = f"{existing} is not a folder"
        raise UsageError(f"{target}: cannot write there ({reason})") from None


@contextlib.contextmanager
def _atomic_file(target):
    """Yield a temporary path that replaces the file ``target`` on success only."""
    target = Path(target)
    if target.is_dir():
        raise UsageError(f"{target} is a directory, expected a file name")
    with contextlib.ExitStack() as stack:
        with _output_error(target):
            # Same suffix as the target: matplotlib picks the format from it.
            tmp = stack.enter_context(temporary_beside(target, suffix=target.suffix))
        yield tmp
        os.replace(tmp, target)


def _versions():
    import keras

    from .persistence import _library_versions

    versions = {
        **_library_versions(),
        "keras_backend": keras.backend.backend(),
        "python": sys.version.split()[0],
    }
    backend = versions["keras_backend"]
    with contextlib.suppress(Exception):
        versions[backend] = __import__(backend).__version__
    return versions


def _metrics(model, X, y):
    """Accuracy, log loss and per-class report of ``model`` on (X, y), and the
    class probabilities and predictions they came from (so callers need not
    predict again)."""
    from sklearn.metrics import accuracy_score, classification_report, log_loss

    proba = model.predict_proba(X)
    pred = model.classes_[proba.argmax(axis=1)]
    report = classification_report(y, pred, output_dict=True, zero_division=0)
    per_class = {
        str(label): {
            key: report[str(label)][key]
            for key in ("precision", "recall", "f1-score", "support")
        }
        for label in model.classes_
        if str(label) in report
    }
    return (
        {
            "test_accuracy": float(accuracy_score(y, pred)),
            "test_loss": float(log_loss(y, proba, labels=model.classes_)),
            "per_class": per_class,
            "n_test": int(len(y)),
        },
        proba,
        pred,
    )


def _load_labelled(path, what):
    from .datasets import load_mnist_csv

    X, y = load_mnist_csv(path)
    if y is None:
        raise UsageError(f"{path}: {what} needs a label column, found only 784 pixels")
    return X, y


def _check_labels(y, known, where, what):
    """Refuse labels in ``y`` (read from ``where``) that are not in ``known``."""
    import numpy as np

    known = np.unique(known)
    unknown = np.setdiff1d(y, known)
    if unknown.size:
        raise UsageError(
            f"{where}: label{'s' * (unknown.size > 1)} "
            f"{', '.join(map(str, unknown.tolist()))} not among {what} "
            f"({', '.join(map(str, known.tolist()))})"
        )


def _load_train_test(args):
    """``--train``/``--test`` (or the embedded sample): X_train, y_train,
    X_test, y_test (None without ``--test``) and a description of each."""
    from .datasets import load_sample

    dataset = getattr(args, "dataset", None)
    if dataset is not None and (args.train is not None or args.test is not None):
        raise UsageError(
            f"--dataset {dataset} cannot be combined with --train/--test; "
            "give one or the other"
        )
    if dataset not in (None, "sample"):
        title, fetched = _fetch_dataset(args)
        (X_train, y_train), (X_test, y_test) = fetched.train, fetched.test
        data = {
            part: f"{title} {part} set ({len(y):,} images, {fetched.folder})"
            for part, y in (("train", y_train), ("test", y_test))
        }
        return X_train, y_train, X_test, y_test, data
    if args.test is not None and args.train is None:
        raise UsageError(
            "--test needs --train (without both, the embedded sample is used)"
        )
    if args.train is None:
        (X_train, y_train), (X_test, y_test) = load_sample()
        data = {
            "train": "embedded sample (4,000 images)",
            "test": "embedded sample (1,000 images)",
        }
        return X_train, y_train, X_test, y_test, data
    X_train, y_train = _load_labelled(args.train, "--train")
    data = {"train": str(args.train)}
    X_test = y_test = None
    if args.test is not None:
        X_test, y_test = _load_labelled(args.test, "--test")
        data["test"] = str(args.test)
        _check_labels(y_test, y_train, data["test"], "the training labels")
    return X_train, y_train, X_test, y_test, data


def _fetch_dataset(args):
    """Fetch ``--dataset`` into ``--data-home``: its title and a _Fetched."""
    from ._fetch import DATASETS, FetchError, _fetch

    dataset = DATASETS[args.dataset]
    try:
        fetched = _fetch(
            dataset,
            args.data_home,
            timeout=getattr(args, "timeout", None),
            verbose=not args.quiet,
        )
    except FetchError as err:
        raise UsageError(str(err)) from None
    return dataset.title, fetched


# ---------------------------------------------------------------- commands
def cmd_train(args):
    """Train, evaluate on the test set, and write the run directory."""
    from sklearn.model_selection import train_test_split

    _check_out(args.out)
    X_train, y_train, X_test, y_test, data = _load_train_test(args)
    if X_test is None:
        X_train, X_test, y_train, y_test = train_test_split(
            X_train,
            y_train,
            test_size=0.2,
            stratify=y_train,
            random_state=args.seed,
        )
        data["test"] = f"stratified 20% hold-out of {args.train}"

    _import_keras_quietly()
    import sklearn

    from .estimator import HOMEWORK_PARAMS
    from .persistence import save_model
    from .pipeline import make_mnist_pipeline
    from .plotting import (
        ClassDistributionDisplay,
        DigitGridDisplay,
        LearningCurveDisplay,
        MisclassifiedDisplay,
        plot_confusion_matrix,
        save_figure,
    )

    params = dict(HOMEWORK_PARAMS) if args.homework else {}
    for option, name in _RECIPE_OPTIONS.items():
        if getattr(args, option) is not None:
            params[name] = getattr(args, option)
    if args.early_stopping:
        params["early_stopping"] = True
    params.update(random_state=args.seed, verbose=0 if args.quiet else 2)
    with _staged_dir(args.out) as staging:
        _say(
            args,
            f"training on {len(y_train)} images, testing on {len(y_test)} "
            f"({data['train']})",
        )
        # As in the homework, the test set is scored after every epoch, unless
        # early stopping is on: then it must not choose the weights.
        fit_kwargs = {} if args.early_stopping else {"X_val": X_test, "y_val": y_test}
        with sklearn.config_context(enable_metadata_routing=True):
            pipe = make_mnist_pipeline(**params)
            start = time.perf_counter()
            pipe.fit(X_train, y_train, **fit_kwargs)
            fit_seconds = time.perf_counter() - start
        mlp = pipe.named_steps["mlp"]
        metrics, proba, pred = _metrics(pipe, X_test, y_test)
        metrics.update(
            n_train=int(len(y_train)),
            epochs_run=int(mlp.n_iter_),
            fit_seconds=round(fit_seconds, 3),
            params={
                name: _plain(value)
                for name, value in mlp.get_params(deep=False).items()
                if name in _REPORTED_PARAMS
            },
            data=data,
            versions=_versions(),
        )
        save_model(pipe, staging / "model")
        _write_history(mlp.history_, staging / "history.csv")
        save_figure(
            ClassDistributionDisplay.from_labels(y_train, y_test),
            staging / "class_distribution.png",
        )
        save_figure(
            DigitGridDisplay.from_arrays(
                X_train, y_train, n_images=25, random_state=args.seed
            ),
            staging / "samples.png",
        )
        save_figure(
            LearningCurveDisplay.from_estimator(pipe), staging / "learning_curves.png"
        )
        save_figure(
            plot_confusion_matrix(pipe, X_test, y_test, y_pred=pred),
            staging / "confusion_matrix.png",
        )
        save_figure(
            MisclassifiedDisplay.from_predictions(
                X_test, y_test, proba, classes=pipe.classes_
            ),
            staging / "misclassified.png",
        )
        (staging / RUN_MARKER).write_text(json.dumps(metrics, indent=2) + "\n")
    print(
        f"test accuracy {metrics['test_accuracy']:.4f} on {metrics['n_test']} images "
        f"(loss {metrics['test_loss']:.4f}, {mlp.n_iter_} epochs, "
        f"{fit_seconds:.1f} s); results in {args.out}/: model/, metrics.json, "
        "history.csv and 5 PNG plots"
    )
    return 0


def _write_history(history, path):
    import pandas as pd

    frame = pd.DataFrame(history)
    frame.insert(0, "epoch", range(1, len(frame) + 1))
    frame.to_csv(path, index=False)


def cmd_evaluate(args):
    """Print accuracy and the classification report of a saved model."""
    from sklearn.metrics import classification_report

    X, y = _load_labelled(args.data, "evaluate")
    _import_keras_quietly()
    from .persistence import load_model
    from .plotting import plot_confusion_matrix, save_figure

    model = load_model(args.model)
    _check_labels(y, model.classes_, args.data, f"the classes of {args.model}")
    metrics, _, pred = _metrics(model, X, y)
    print(
        f"accuracy {metrics['test_accuracy']:.4f} on {metrics['n_test']} images "
        f"(log loss {metrics['test_loss']:.4f})"
    )
    print(classification_report(y, pred, digits=4, zero_division=0))
    if args.metrics is not None:
        metrics.update(model=str(args.model), data=str(args.data), versions=_versions())
        with _atomic_file(args.metrics) as tmp:
            tmp.write_text(json.dumps(metrics, indent=2) + "\n")
    if args.confusion_matrix is not None:
        with _atomic_file(args.confusion_matrix) as tmp:
            save_figure(plot_confusion_matrix(model, X, y, y_pred=pred), tmp)
    return 0


def cmd_predict(args):
    """Write predictions and class probabilities for every image."""
    import pandas as pd

    from .datasets import load_mnist_csv

    if args.output.exists() and os.path.samefile(args.output, args.data):
        raise UsageError(
            f"--output {args.output} is the --data file; choose another --output"
        )
    X, _ = load_mnist_csv(args.data)
    _import_keras_quietly()
    from .persistence import load_model

    model = load_model(args.model)
    proba = model.predict_proba(X)
    frame = pd.DataFrame(proba, columns=[f"proba_{c}" for c in model.classes_])
    frame.insert(0, "prediction", model.classes_[proba.argmax(axis=1)])
    with _atomic_file(args.output) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")
    print(f"wrote {len(frame)} predictions to {args.output}")
    return 0


def cmd_download(args):
    """Download (or check) a full data set in the data home."""
    title, fetched = _fetch_dataset(args)
    where = "downloaded into" if fetched.downloaded else "already in"
    print(
        f"{title}: {len(fetched.train[1]):,} training and {len(fetched.test[1]):,} "
        f"test images ({fetched.source}), checked, {where} {fetched.folder}"
    )
    return 0


def _plain(value):
    """A JSON- and reader-friendly form of a parameter value."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value.item() if hasattr(value, "item") else value


# How long to wait for a --scheduler before giving up.
SCHEDULER_TIMEOUT = "30s"


def _check_scheduler(address):
    """Refuse a ``--scheduler`` address that is not HOST:PORT, before connecting.

    A malformed address makes ``Client`` fail, and then hang for twice the
    timeout on exit while it closes the client it never opened.
    """
    try:
        from distributed.comm import get_address_host_port
    except ImportError:
        raise UsageError(
            "--scheduler needs Dask: pip install 'sk-mnist[distributed]'"
        ) from None
    try:
        host, port = get_address_host_port(address)
        problem = None if host and 0 < port < 65536 else "no host or a bad port"
    except (ValueError, TypeError) as err:
        problem = str(err).splitlines()[0] if str(err) else type(err).__name__
    if problem is not None:
        raise UsageError(
            f"--scheduler: expected an address such as tcp://10.0.0.5:8786, got "
            f"{address!r} ({problem})"
        )


@contextlib.contextmanager
def _on_cluster(address):
    """Send joblib's work (the search's fits) to the Dask scheduler at ``address``."""
    if address is None:
        yield
        return
    # cmd_search has checked the address, and that Dask is installed.
    import joblib
    from dask.distributed import Client

    try:
        client = Client(address, timeout=SCHEDULER_TIMEOUT, set_as_default=False)
    except (OSError, ValueError, TypeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UsageError(
            f"--scheduler: cannot reach a Dask scheduler at {address}: {reason}"
        ) from None
    with client, joblib.parallel_config(backend="dask", client=client):
        yield


@contextlib.contextmanager
def _progress_lines(args):
    """Print the search's progress log to stdout unless --quiet."""
    if args.quiet:
        yield
        return
    logger = logging.getLogger("sk_mnist.search")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("search: %(message)s"))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def cmd_search(args):
    """Cross-validated search; write the results and the refit best model."""
    from .search import start_workers

    _check_out(args.out)
    if args.scheduler is not None:
        _check_scheduler(args.scheduler)
    n_jobs = args.n_jobs or (-1 if args.scheduler else 1)
    # Local worker processes import Keras while this one loads data and Keras.
    workers = None if args.scheduler else start_workers(n_jobs)
    X_train, y_train, X_test, y_test, _ = _load_train_test(args)

    _import_keras_quietly()
    import pandas as pd
    from sklearn.metrics import get_scorer

    from .persistence import save_model
    from .pipeline import make_mnist_pipeline
    from .plotting import SearchScoresDisplay, save_figure
    from .search import make_search

    try:
        get_scorer(args.scoring)
    except ValueError:
        raise UsageError(
            f"--scoring: unknown scorer {args.scoring!r} (sklearn's "
            "get_scorer_names() lists them)"
        ) from None
    pipeline = make_mnist_pipeline(random_state=args.seed)
    try:
        search = make_search(
            pipeline,
            args.grid,
            n_iter=args.n_iter,
            cv=args.cv,
            scoring=args.scoring,
            n_jobs=n_jobs,
            random_state=args.seed,
        )
    except ValueError as err:
        raise UsageError(f"--grid: {err}") from None
    with _on_cluster(args.scheduler), _staged_dir(args.out) as staging:
        if workers is not None:
            workers.join()
        start = time.perf_counter()
        with _progress_lines(args):
            search.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        results = pd.DataFrame(search.cv_results_)
        results.drop(columns="params").to_csv(staging / "cv_results.csv", index=False)
        best = {name: _plain(value) for name, value in search.best_params_.items()}
        (staging / "best_params.json").write_text(json.dumps(best, indent=2) + "\n")
        save_model(search.best_estimator_, staging / "model")
        save_figure(
            SearchScoresDisplay.from_estimator(search), staging / "search_scores.png"
        )
        metrics = {
            "best_params": best,
            f"best_cv_{args.scoring}": float(search.best_score_),
            "n_candidates": len(results),
            "cv": args.cv,
            "n_jobs": search.n_jobs,
            "scheduler": args.scheduler,
            "search_seconds": round(seconds, 3),
            "n_train": int(len(y_train)),
            "versions": _versions(),
        }
        if X_test is not None:
            test_metrics, _, _ = _metrics(search.best_estimator_, X_test, y_test)
            metrics.update(test_metrics)
        (staging / RUN_MARKER).write_text(json.dumps(metrics, indent=2) + "\n")
    summary = f"best {args.scoring} {search.best_score_:.4f} (cv={args.cv}) with {best}"
    if X_test is not None:
        summary += f"; test accuracy {metrics['test_accuracy']:.4f}"
    print(f"{summary}; {len(results)} candidates in {seconds:.1f} s")
    print(f"results in {args.out}/: model/, cv_results.csv, best_params.json, ...")
    return 0


def main(argv=None):
    """Entry point of the ``sk-mnist`` console script; returns the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after ``sk-mnist``; None reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 2 after a usage, data or file-system error or running
        out of memory (one
        ``error: ...`` line on stderr; set ``SK_MNIST_DEBUG=1`` for the
        traceback), 130 when interrupted.

    Examples
    --------
    >>> from sk_mnist.cli import main
    >>> main(["evaluate", "--model", "no-such-model", "--data", "no-such.csv"])
    2
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = None
    try:
        args, extras = parser.parse_known_args(argv)
        if extras:  # named after the subcommand, whose --help lists its options
            raise UsageError(
                f"unrecognized arguments: {' '.join(extras)} "
                f"(see 'sk-mnist {args.command} --help')"
            )
        if args.command in ("train", "search", "evaluate"):
            import matplotlib

            matplotlib.use("Agg")
        return args.func(args)
    except (UsageError, OSError, ValueError) as err:
        if os.environ.get("SK_MNIST_DEBUG"):
            raise
        if isinstance(err, OSError) and err.filename and err.strerror:
            message = f"{err.filename}: {err.strerror}"  # the system's own
        else:
            message = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: stopped, nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:
        if os.environ.get("SK_MNIST_DEBUG") or not _is_out_of_memory(err):
            raise
        print(f"error: {_out_of_memory_message(args, err)}", file=sys.stderr)
        return EXIT_USAGE


# What the backends raise when an allocation fails, by class name so that none
# of them need be imported: TensorFlow's ResourceExhaustedError, PyTorch's
# OutOfMemoryError; JAX raises an XlaRuntimeError (JaxRuntimeError) whose
# message starts with RESOURCE_EXHAUSTED.
_OOM_CLASSES = {"ResourceExhaustedError", "OutOfMemoryError"}


def _is_out_of_memory(err):
    names = {cls.__name__ for cls in type(err).__mro__}
    return (
        isinstance(err, MemoryError)
        or bool(names & _OOM_CLASSES)
        or (
            "RESOURCE_EXHAUSTED" in str(err)
            and bool(names & {"XlaRuntimeError", "JaxRuntimeError"})
        )
    )


def _out_of_memory_message(args, err):
    """One line for an allocation failure: the network's size and the cause."""
    lines = str(err).strip().splitlines()
    # TensorFlow starts with '{{function_node ...}}'; the rest says enough.
    reason = re.sub(r"^\{\{.*?\}\}\s*", "", lines[0]) if lines else ""
    reason = textwrap.shorten(reason or type(err).__name__, 160, placeholder=" ...")
    sizes = []
    if getattr(args, "hidden", None):
        sizes.append(f"--hidden {','.join(map(str, args.hidden))}")
    if getattr(args, "batch_size", None):
        sizes.append(f"--batch-size {args.batch_size}")
    where = f" ({', '.join(sizes)})" if sizes else ""
    hint = {
        "train": "; try smaller --hidden widths or --batch-size",
        "search": "; try smaller widths or batch sizes in --grid",
    }.get(getattr(args, "command", None), "")
    return f"out of memory building or running the network{where}: {reason}{hint}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
