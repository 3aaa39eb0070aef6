"""The data a command reads: ``--train``/``--test``, ``--dataset``, ``--data``.

``--train``, ``--test`` and ``--data`` are Kaggle-layout CSV files, or image
folders and files (:mod:`sk_mnist.cli._images`).

Out of memory while reading is reported as the data file's problem, not the
network's (:func:`~sk_mnist.cli._errors.reading_data`).
"""

from ._errors import UsageError, reading_data
from ._images import as_paths, check_image_paths, is_image_path, read_images


def input_paths(args):
    """``{option: path}`` of the files and folders train and search read."""
    paths = {"--train": args.train, "--test": args.test}
    paths["--data-home"] = args.data_home
    return {option: path for option, path in paths.items() if path is not None}


def read_csv(path):
    """``load_mnist_csv(path)``: X and y (None without a label column)."""
    from ..datasets import load_mnist_csv

    with reading_data(path):
        return load_mnist_csv(path)


def load_data(data, option, *, labelled=False):
    """X, y and the file of each row (None for a CSV file) of ``data``.

    ``data`` is one path or, for ``predict``, several: image folders and
    files (see :mod:`sk_mnist.cli._images`), or one Kaggle-layout CSV file.
    ``labelled`` asks for labels: without them the line says what is missing.
    """
    paths = as_paths(data)
    check_image_paths(paths, option)
    if is_image_path(paths[0]):
        return read_images(paths, option, labelled=labelled)
    X, y = read_csv(paths[0])
    return X, y, None


def load_labelled(path, what, option):
    """X and y of ``path`` (given as ``option``), whose labels ``what`` needs."""
    X, y, _ = load_data(path, option, labelled=True)
    if y is None:
        raise UsageError(f"{path}: {what} needs a label column, found only 784 pixels")
    return X, y


def check_labels(y, known, where, what):
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


def fetch(name, data_home, *, quiet, timeout=None):
    """``fetch_dataset`` with its ``FetchError`` as a one-line usage error.

    The library's message says what to do in Python; the line adds what to
    do on the command line.
    """
    from ..datasets import FetchError, fetch_dataset

    options = {} if timeout is None else {"timeout": timeout}
    try:
        with reading_data(f"--dataset {name}"):
            return fetch_dataset(name, data_home, verbose=not quiet, **options)
    except FetchError as err:
        raise UsageError(
            f"{err}; or train on local CSV files with --train/--test"
        ) from None


def load_train_test(args):
    """X_train, y_train, X_test, y_test (None without ``--test``) and a
    description of each, from ``--train``/``--test``, ``--dataset`` or the
    embedded sample."""
    from ..datasets import load_sample

    if args.dataset is not None and (args.train is not None or args.test is not None):
        raise UsageError(
            f"--dataset {args.dataset} cannot be combined with --train/--test; "
            "give one or the other"
        )
    if args.dataset not in (None, "sample"):
        data = fetch(args.dataset, args.data_home, quiet=args.quiet)
        described = {
            part: f"{data.title} {part} set ({len(y):,} images, {data.folder})"
            for part, y in (("train", data.y_train), ("test", data.y_test))
        }
        return data.X_train, data.y_train, data.X_test, data.y_test, described
    if args.test is not None and args.train is None:
        raise UsageError(
            "--test needs --train (without both, the embedded sample is used)"
        )
    if args.train is None:
        (X_train, y_train), (X_test, y_test) = load_sample()
        described = {
            "train": "embedded sample (4,000 images)",
            "test": "embedded sample (1,000 images)",
        }
        return X_train, y_train, X_test, y_test, described
    X_train, y_train = load_labelled(args.train, "--train", "--train")
    described = {"train": str(args.train)}
    X_test = y_test = None
    if args.test is not None:
        X_test, y_test = load_labelled(args.test, "--test", "--test")
        described["test"] = str(args.test)
        check_labels(y_test, y_train, described["test"], "the training labels")
    return X_train, y_train, X_test, y_test, described
