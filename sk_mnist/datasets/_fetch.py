"""Fetch the full MNIST and Fashion-MNIST data sets into a checked cache.

:func:`fetch_dataset`, :func:`fetch_mnist` and :func:`fetch_fashion_mnist`
(re-exported by :mod:`sk_mnist.datasets`) return the data from a cache
folder, downloading it the first time from the first source that works (the
sources and checksums are in :mod:`._sources`, the downloads in
:mod:`._download`). Every file is checked on every read, and processes
fetching into one cache take turns through a lock file, so the cache never
serves a half-written or altered file; :doc:`/data` says how.
"""

import contextlib
import os
import zipfile
from typing import NamedTuple

import numpy as np

try:  # POSIX; elsewhere concurrent fetches into one cache are not serialised
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

from .._files import remove_made_folders, topmost_missing
from .._messages import say
from ._download import (
    Failed,
    FetchError,
    checksum_problem,
    download_kaggle,
    download_source,
    kaggle_ready,
    remove_files,
)
from ._readers import load_idx, load_mnist_csv
from ._sources import DATASETS

__all__ = [
    "DEFAULT_TIMEOUT",
    "FetchError",
    "fetch_dataset",
    "fetch_fashion_mnist",
    "fetch_mnist",
]

DEFAULT_TIMEOUT = 30.0


class _Fetched(NamedTuple):
    train: tuple
    test: tuple
    folder: str  # where the files were read from
    source: str
    downloaded: bool


class _Mismatch(ValueError):
    """Files that passed no checksum hold the wrong data."""


def _data_home(data_home=None):
    if data_home is None:
        data_home = os.environ.get("SK_MNIST_DATA") or os.path.join(
            "~", ".cache", "sk-mnist"
        )
    return os.path.abspath(os.path.expanduser(os.fspath(data_home)))


# ---------------------------------------------------------------- loading
def _load_npz(path):
    def pair(X, y, what):
        if X.dtype != np.uint8 or X.ndim != 3 or X.shape[1:] != (28, 28):
            raise ValueError(f"{path}: x_{what} is not n x 28 x 28 uint8")
        if y.shape != (len(X),) or (len(y) and not 0 <= y.min() <= y.max() <= 9):
            raise ValueError(f"{path}: y_{what} is not one label 0-9 per image")
        return np.ascontiguousarray(X.reshape(len(X), -1)), y.astype(np.int64)

    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {name: f[name] for name in f.files}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path}: not a readable .npz file ({err})") from None
    missing = {"x_train", "y_train", "x_test", "y_test"} - set(arrays)
    if missing:
        raise ValueError(f"{path}: no {', '.join(sorted(missing))} in the archive")
    return (
        pair(arrays["x_train"], arrays["y_train"], "train"),
        pair(arrays["x_test"], arrays["y_test"], "test"),
    )


def _load(source, paths, dataset):
    """((X_train, y_train), (X_test, y_test)) from ``source``'s files."""
    if source.kind == "idx":
        return load_idx(paths[0], paths[1]), load_idx(paths[2], paths[3])
    if source.kind == "npz":
        return _load_npz(paths[0])
    parts = load_mnist_csv(paths[0]), load_mnist_csv(paths[1])
    # These files come with no published checksum: check what they hold.
    for path, (_, y), counts in zip(paths, parts, dataset.class_counts, strict=True):
        found = () if y is None else tuple(np.bincount(y, minlength=10).tolist())
        if found != tuple(counts):
            raise _Mismatch(
                f"{path}: expected {sum(counts)} labelled images, {min(counts)}-"
                f"{max(counts)} per class, as in {dataset.title}; found "
                f"{'no labels' if y is None else f'{len(y)} images'}"
            )
    return parts


def _read_cached(dataset, folder, verbose):
    """The first of ``dataset``'s sources whose files are here and check out."""
    for source in dataset.sources:
        found = _read_local(dataset, source, folder, verbose)
        if found is not None:
            return found
    return None


def _read_local(dataset, source, folder, verbose):
    """A _Fetched from ``source``'s files if they are all here and check out."""
    for where in source.folders or (folder,):
        paths = [os.path.join(where, file.name) for file in source.files]
        if not all(os.path.isfile(path) for path in paths):
            continue
        cached = not source.folders
        bad = [
            p
            for p, f in zip(paths, source.files, strict=True)
            if checksum_problem(p, f)
        ]
        if bad:
            if cached:
                say(verbose, f"removing {', '.join(bad)}: failed its checksum")
                remove_files(bad)
            continue
        try:
            train, test = _load(source, paths, dataset)
        except _Mismatch as err:
            if cached:
                say(verbose, f"removing cached files: {err}")
                remove_files(paths)
            continue
        return _Fetched(train, test, where, source.label, downloaded=False)
    return None


def _unavailable(dataset, folder, failures):
    where = (
        f"copy {dataset.local_files} into {folder} (the data home), or read "
        "local files with load_mnist_csv or load_idx"
    )
    if not failures:
        return FetchError(f"cannot download {dataset.title}: no source; {where}")
    if all(failure.offline for failure in failures):
        return FetchError(
            f"cannot download {dataset.title}: no network connection "
            f"({failures[0]}); {where}"
        )
    details = "; ".join(map(str, failures))
    return FetchError(f"cannot download {dataset.title}: {details}; {where}")


def _fetch(
    dataset, data_home=None, download_if_missing=True, timeout=None, verbose=True
):
    """Fetch ``dataset`` (a _sources.Dataset); return a _Fetched."""
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    if not (isinstance(timeout, int | float) and 0 < timeout < float("inf")):
        raise ValueError(
            f"timeout: expected a positive number of seconds, got {timeout!r}"
        )
    folder = os.path.join(_data_home(data_home), dataset.key)
    found = _read_cached(dataset, folder, verbose)
    if found is not None:
        return found
    if not download_if_missing:
        raise FetchError(
            f"{dataset.title} is not in {folder} and download_if_missing is False; "
            f"copy {dataset.local_files} there, or allow the download"
        )
    created = topmost_missing(folder)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:
        raise FetchError(
            f"{folder}: cannot create the data folder ({err.strerror or err})"
        ) from None
    try:
        with _locked(folder):
            # Another process may have downloaded the files while we waited.
            found = _read_cached(dataset, folder, verbose)
            if found is not None:
                return found
            return _download_any(dataset, folder, timeout, verbose)
    except BaseException:
        if created is not None:
            with contextlib.suppress(OSError):
                os.remove(os.path.join(folder, _LOCK_NAME))
            # Up to the data home itself when the fetch created it; a folder
            # still holding a partial file for a resume stays.
            remove_made_folders(folder, created)
        raise


_LOCK_NAME = ".lock"


@contextlib.contextmanager
def _locked(folder):
    """Hold an exclusive lock on ``folder``'s lock file (no-op without fcntl)."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    with open(os.path.join(folder, _LOCK_NAME), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _download_any(dataset, folder, timeout, verbose):
    sources = [
        source
        for source in dataset.sources
        if not source.folders and (not source.kaggle or kaggle_ready())
    ]
    failures = []
    for source in sources:
        try:
            if source.kind == "csv":
                paths = download_kaggle(source, folder, verbose)
            else:
                paths = download_source(source, folder, timeout, verbose)
            train, test = _load(source, paths, dataset)
        except Failed as failure:
            failures.append(failure)
            if source is not sources[-1]:
                say(verbose, f"{failure}; trying the next source")
            continue
        except _Mismatch as err:
            remove_files(paths)
            failures.append(Failed(f"{err}; the files were removed"))
            continue
        except FetchError:
            raise
        except OSError as err:  # the data folder, not the network
            raise FetchError(
                f"{err.filename or folder}: {err.strerror or err}"
            ) from None
        return _Fetched(train, test, folder, source.label, downloaded=True)
    raise _unavailable(dataset, folder, failures)


def _as_bunch(name, fetched):
    from sklearn.utils import Bunch

    (X_train, y_train), (X_test, y_test) = fetched.train, fetched.test
    return Bunch(
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        name=name,
        title=DATASETS[name].title,
        folder=fetched.folder,
        source=fetched.source,
        downloaded=fetched.downloaded,
    )


def fetch_dataset(
    name,
    data_home=None,
    *,
    download_if_missing=True,
    timeout=DEFAULT_TIMEOUT,
    verbose=True,
):
    """Load a full data set by name, downloading it once into a cache folder.

    The function behind :func:`fetch_mnist`, :func:`fetch_fashion_mnist` and
    ``sk-mnist --dataset NAME``.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
        The data set, one of :data:`~sk_mnist.datasets.DATASET_NAMES`.
    data_home : str or os.PathLike, optional
        The cache folder; the files go in its sub-folder ``name``.  Default:
        ``$SK_MNIST_DATA``, else ``~/.cache/sk-mnist``.
    download_if_missing : bool, default=True
        If False, raise ``FetchError`` instead of downloading.
    timeout : float, default=30
        Seconds to wait for a server to connect or send more data.
    verbose : bool, default=True
        Report downloads, with a progress line for large files, on stderr.

    Returns
    -------
    data : sklearn.utils.Bunch
        With the arrays ``X_train``, ``y_train``, ``X_test``, ``y_test``
        (``X`` C-contiguous uint8 of shape (n, 784), ``y`` int64 of shape
        (n,)), and ``name`` (as given), ``title`` (e.g. "Fashion-MNIST"),
        ``folder`` (where the files were read from: the cache folder, or an
        installed package's folder), ``source`` (which of the data set's
        sources, e.g. "LeCun's IDX files") and ``downloaded`` (whether this
        call downloaded them).

    Raises
    ------
    ValueError
        If `name` is not a known data set, or `timeout` is not a positive
        number.
    FetchError
        With a one-line message, if there is no network (the message says how
        to use local files instead), a server does not answer within
        `timeout`, no source gives files that match their checksums, the data
        home cannot be written, or the data is not there and
        `download_if_missing` is False.  A ``FetchError`` is an ``OSError``.

    See Also
    --------
    fetch_mnist, fetch_fashion_mnist : The same, by data set.

    Examples
    --------
    >>> from sk_mnist.datasets import DATASET_NAMES, fetch_dataset
    >>> DATASET_NAMES
    ('mnist', 'fashion-mnist')
    >>> data = fetch_dataset("fashion-mnist")  # doctest: +SKIP
    >>> data.X_train.shape, data.title, data.downloaded  # doctest: +SKIP
    ((60000, 784), 'Fashion-MNIST', False)
    """
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(
            f"name: expected one of {', '.join(map(repr, DATASETS))}, got {name!r}"
        )
    fetched = _fetch(DATASETS[name], data_home, download_if_missing, timeout, verbose)
    return _as_bunch(name, fetched)


def _fetch_named(name, return_X_y, **kwargs):
    if not isinstance(return_X_y, bool):
        raise ValueError(f"return_X_y: expected True or False, got {return_X_y!r}")
    data = fetch_dataset(name, **kwargs)
    if not return_X_y:
        return data
    return (data.X_train, data.y_train), (data.X_test, data.y_test)


def fetch_mnist(
    data_home=None,
    *,
    download_if_missing=True,
    timeout=DEFAULT_TIMEOUT,
    verbose=True,
    return_X_y=True,
):
    """Load the full MNIST data set, downloading it once into a cache folder.

    The first call downloads LeCun's IDX files (or Keras' ``mnist.npz``, or
    Kaggle's CSV files); every call checks them against their published
    checksums.  :doc:`/data` lists the sources.

    Parameters
    ----------
    data_home : str or os.PathLike, optional
        The cache folder, as in :func:`fetch_dataset`.  To work offline,
        copy ``mnist.npz`` or the four IDX ``.gz`` files into
        ``DATA_HOME/mnist``.
    download_if_missing : bool, default=True
        If False, raise ``FetchError`` instead of downloading.
    timeout : float, default=30
        Seconds to wait for a server to connect or send more data.
    verbose : bool, default=True
        Report downloads, with a progress line for large files, on stderr.
    return_X_y : bool, default=True
        Return the arrays as two pairs; if False, return the Bunch of
        :func:`fetch_dataset`, which also says where the data came from.

    Returns
    -------
    (X_train, y_train), (X_test, y_test) : tuple of tuples of ndarray
        60,000 training and 10,000 test images, as :func:`load_sample`:
        ``X`` is C-contiguous uint8 of shape (n, 784), ``y`` int64 of
        shape (n,).
    data : sklearn.utils.Bunch
        Instead, when `return_X_y` is False: see :func:`fetch_dataset`.

    Raises
    ------
    FetchError
        As :func:`fetch_dataset`.

    See Also
    --------
    load_sample : The 4,000 + 1,000 digits shipped with the package.
    fetch_fashion_mnist : The same for Fashion-MNIST.
    fetch_dataset : Either, by name.

    Examples
    --------
    >>> from sk_mnist.datasets import fetch_mnist
    >>> (X_train, y_train), (X_test, y_test) = fetch_mnist()  # doctest: +SKIP
    >>> X_train.shape, X_test.shape  # doctest: +SKIP
    ((60000, 784), (10000, 784))
    >>> fetch_mnist(return_X_y=False).source  # doctest: +SKIP
    "LeCun's IDX files"
    """
    return _fetch_named(
        "mnist",
        return_X_y,
        data_home=data_home,
        download_if_missing=download_if_missing,
        timeout=timeout,
        verbose=verbose,
    )


def fetch_fashion_mnist(
    data_home=None,
    *,
    download_if_missing=True,
    timeout=DEFAULT_TIMEOUT,
    verbose=True,
    return_X_y=True,
):
    """Load the full Fashion-MNIST data set, downloading it once if needed.

    Reads Debian's ``dataset-fashion-mnist`` package in place when it is
    installed; otherwise the first call downloads Zalando's IDX files (or
    Kaggle's CSV files), checked as by :func:`fetch_mnist`.

    Parameters
    ----------
    data_home : str or os.PathLike, optional
        The cache folder, as in :func:`fetch_dataset`.
    download_if_missing : bool, default=True
        If False, raise ``FetchError`` instead of downloading.
    timeout : float, default=30
        Seconds to wait for a server to connect or send more data.
    verbose : bool, default=True
        Report downloads, with a progress line for large files, on stderr.
    return_X_y : bool, default=True
        Return the arrays as two pairs; if False, return the Bunch of
        :func:`fetch_dataset`, which also says where the data came from.

    Returns
    -------
    (X_train, y_train), (X_test, y_test) : tuple of tuples of ndarray
        60,000 training and 10,000 test images of 10 kinds of clothing
        (labels 0-9: T-shirt/top, trouser, pullover, dress, coat, sandal,
        shirt, sneaker, bag, ankle boot), shaped as by :func:`fetch_mnist`.
    data : sklearn.utils.Bunch
        Instead, when `return_X_y` is False: see :func:`fetch_dataset`.

    Raises
    ------
    FetchError
        As :func:`fetch_dataset`.

    See Also
    --------
    fetch_mnist : The same for the MNIST digits.
    fetch_dataset : Either, by name.

    Examples
    --------
    >>> from sk_mnist.datasets import fetch_fashion_mnist
    >>> (X_train, y_train), _ = fetch_fashion_mnist()  # doctest: +SKIP
    >>> X_train.shape, y_train.max()  # doctest: +SKIP
    ((60000, 784), np.int64(9))
    """
    return _fetch_named(
        "fashion-mnist",
        return_X_y,
        data_home=data_home,
        download_if_missing=download_if_missing,
        timeout=timeout,
        verbose=verbose,
    )
