"""Download, verify and cache the full MNIST and Fashion-MNIST data sets.

:func:`fetch_mnist` and :func:`fetch_fashion_mnist` (both re-exported by
:mod:`sk_mnist.datasets`) return the data from a cache folder, downloading it
there the first time from the first source that works:

* the original IDX files from a public mirror, checked against the MD5 sums
  their publishers list (LeCun's files on the mirror torchvision uses;
  Zalando's files on their site and on Keras' mirror);
* for MNIST, Keras' ``mnist.npz``, checked against the SHA-256 Keras pins;
* the Kaggle CSV files, only when the ``kaggle`` command and its credentials
  are set up (we never ask for or store credentials); Kaggle publishes no
  checksums, so these are checked by their row and per-class label counts.

Fashion-MNIST is read in place from Debian's ``dataset-fashion-mnist``
package when it is installed.  Every file is checked before it is used, on
every read: a file that fails is removed from the cache and fetched again.

A download goes to ``NAME.part`` and is renamed to ``NAME`` only once it
matches its checksum, so the cache never holds a half-written file.  A
dropped connection is resumed with an HTTP Range request (from zero when the
server ignores it, or when the resumed file fails its check); a ``.part`` file
left by an interrupted run is resumed by the next one.  Processes that fetch
into the same cache at once (the workers of a search, say) take turns through
a lock file in the data folder, so that one downloads and the others then
read its files.  Only the standard library talks to the network.
"""

import contextlib
import errno
import gzip
import hashlib
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from typing import NamedTuple

try:  # POSIX; elsewhere concurrent fetches into one cache are not serialised
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

from . import __version__
from ._files import remove_made_folders, topmost_missing
from .datasets import _GZIP_ERRORS

__all__ = ["FetchError", "fetch_fashion_mnist", "fetch_mnist"]

DEFAULT_TIMEOUT = 30.0
_CHUNK = 1 << 16
# Tries per file and mirror when the connection drops in mid-file.
_ATTEMPTS = 3
# Files at least this large get a progress line on stderr.
_PROGRESS_BYTES = 1 << 20
_PROGRESS_SECONDS = 0.5
_KAGGLE_SECONDS = 3600
# Connection errors that mean "no route to the internet" rather than a
# problem with one server.
_OFFLINE_ERRNOS = {
    getattr(errno, name)
    for name in ("ENETUNREACH", "EHOSTUNREACH", "ENETDOWN", "EHOSTDOWN")
    if hasattr(errno, name)
}


class FetchError(OSError):
    """A data set could not be fetched.

    Raised with a one-line message when there is no network, a server does
    not answer in time, no source gives files that match their checksums, the
    cache folder cannot be written, or the data is not cached and
    ``download_if_missing=False``.

    Examples
    --------
    >>> import tempfile
    >>> from sk_mnist.datasets import FetchError, fetch_mnist
    >>> with tempfile.TemporaryDirectory() as empty_cache:
    ...     try:
    ...         fetch_mnist(empty_cache, download_if_missing=False)
    ...     except FetchError as err:
    ...         print(isinstance(err, OSError))
    True
    """


class _File(NamedTuple):
    name: str  # on the server and in the cache
    digest: str  # "md5:HEX" or "sha256:HEX"; "" when checked by content instead
    gunzip: bool = False  # the digest is of the decompressed content


class _Source(NamedTuple):
    label: str
    kind: str  # "idx" (train images, labels, test images, labels), "npz", "csv"
    files: tuple
    mirrors: tuple = ()  # base URLs, tried in order
    folders: tuple = ()  # read in place (an installed package), never written
    kaggle: str = ""  # Kaggle data set, downloaded with the kaggle command


class _Dataset(NamedTuple):
    key: str  # sub-folder of the data home, and the --dataset name
    title: str
    sources: tuple
    class_counts: tuple  # images per class, (train, test)
    local_files: str  # what a user can copy into the cache instead


class _Fetched(NamedTuple):
    train: tuple
    test: tuple
    folder: str  # where the files were read from
    source: str
    downloaded: bool


def _idx_files(*digests, gunzip=False):
    names = (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    )
    return tuple(
        _File(name, digest, gunzip) for name, digest in zip(names, digests, strict=True)
    )


_KERAS_MIRROR = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_IDX_HINT = "the four IDX files (train-images-idx3-ubyte.gz, ...)"

# MD5 sums as listed by torchvision (MNIST) and by Zalando's README
# (Fashion-MNIST); the SHA-256 of mnist.npz as pinned by keras.datasets.mnist.
MNIST = _Dataset(
    key="mnist",
    title="MNIST",
    sources=(
        _Source(
            "LeCun's IDX files",
            "idx",
            _idx_files(
                "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "md5:d53e105ee54ea40749a09fcbcd1e9432",
                "md5:9fb629c4189551a2d022fa330f9573f3",
                "md5:ec29112dd5afa0611ce80d1b7f02629c",
            ),
            mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",),
        ),
        _Source(
            "Keras' mnist.npz",
            "npz",
            (
                _File(
                    "mnist.npz",
                    "sha256:"
                    "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
                ),
            ),
            mirrors=(_KERAS_MIRROR,),
        ),
        _Source(
            "Kaggle's mnist-in-csv",
            "csv",
            (_File("mnist_train.csv", ""), _File("mnist_test.csv", "")),
            kaggle="oddrationale/mnist-in-csv",
        ),
    ),
    class_counts=(
        (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
        (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
    ),
    local_files=f"mnist.npz or {_IDX_HINT}",
)

# Debian's package holds Zalando's files with their gzip headers normalised
# (file name dropped, time stamp changed), so their MD5 sums differ from
# Zalando's; these SHA-256 sums are of the decompressed IDX data.  Putting
# back the name and the original time stamp (2017-08-31) gives each file's
# published MD5 sum: the compressed data itself is byte for byte Zalando's.
FASHION_MNIST = _Dataset(
    key="fashion-mnist",
    title="Fashion-MNIST",
    sources=(
        _Source(
            "Debian's dataset-fashion-mnist",
            "idx",
            _idx_files(
                "sha256:c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                "sha256:bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                "sha256:5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                "sha256:0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
                gunzip=True,
            ),
            folders=("/usr/share/datasets/fashion-mnist",),
        ),
        _Source(
            "Zalando's IDX files",
            "idx",
            _idx_files(
                "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "md5:25c81989df183df01b3e8a0aad5dffbe",
                "md5:bef4ecab320f06d8554ea6380940ec79",
                "md5:bb300cfdad3c16e7a12a480ee83cd310",
            ),
            # Zalando's S3 website serves plain HTTP only; the MD5 sums guard
            # the content either way.
            mirrors=(
                "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                _KERAS_MIRROR,
            ),
        ),
        _Source(
            "Kaggle's fashionmnist",
            "csv",
            (_File("fashion-mnist_train.csv", ""), _File("fashion-mnist_test.csv", "")),
            kaggle="zalando-research/fashionmnist",
        ),
    ),
    class_counts=((6000,) * 10, (1000,) * 10),
    local_files=_IDX_HINT,
)

# What fetch_mnist, fetch_fashion_mnist and ``sk-mnist --dataset`` read;
# tests replace entries to point at a local server.
DATASETS = {dataset.key: dataset for dataset in (MNIST, FASHION_MNIST)}


class _Failed(Exception):
    """One source or file could not be fetched; ``offline`` if for lack of a
    network."""

    def __init__(self, message, offline=False):
        super().__init__(message)
        self.offline = offline


class _Mismatch(ValueError):
    """Files that passed no checksum hold the wrong data."""


def _data_home(data_home=None):
    if data_home is None:
        data_home = os.environ.get("SK_MNIST_DATA") or os.path.join(
            "~", ".cache", "sk-mnist"
        )
    return os.path.abspath(os.path.expanduser(os.fspath(data_home)))


def _say(verbose, message, end="\n"):
    if verbose:
        print(message, end=end, file=sys.stderr, flush=True)


# ------------------------------------------------------------ verification
def _problem(path, file):
    """Why ``path`` does not match ``file``'s checksum, or None if it does."""
    if not file.digest:
        return None
    algorithm, expected = file.digest.split(":")
    digest = hashlib.new(algorithm, usedforsecurity=False)
    try:
        with (gzip.open if file.gunzip else open)(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except _GZIP_ERRORS as err:
        return f"not a valid gzip file ({err})"
    except OSError as err:
        return f"cannot be read ({err.strerror or err})"
    if digest.hexdigest() != expected:
        what = f"{algorithm} of the decompressed data" if file.gunzip else algorithm
        return f"checksum mismatch ({what} {digest.hexdigest()}, expected {expected})"
    return None


def _remove(paths):
    for path in paths:
        with contextlib.suppress(OSError):
            os.remove(path)


# ---------------------------------------------------------------- loading
def _load_npz(path):
    import numpy as np

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
    import numpy as np

    from .datasets import load_idx, load_mnist_csv

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
        bad = [p for p, f in zip(paths, source.files, strict=True) if _problem(p, f)]
        if bad:
            if cached:
                _say(verbose, f"removing {', '.join(bad)}: failed its checksum")
                _remove(bad)
            continue
        try:
            train, test = _load(source, paths, dataset)
        except _Mismatch as err:
            if cached:
                _say(verbose, f"removing cached files: {err}")
                _remove(paths)
            continue
        return _Fetched(train, test, where, source.label, downloaded=False)
    return None


# ------------------------------------------------------------- downloading
class _Progress:
    """A throttled percentage line on stderr for one large file."""

    def __init__(self, name, total, verbose):
        self.name, self.total = name, total
        self.on = verbose and total is not None and total >= _PROGRESS_BYTES
        self.tty = self.on and sys.stderr.isatty()
        self.every = _PROGRESS_SECONDS * (1 if self.tty else 10)
        self.last = time.monotonic()
        self.open_line = False

    def show(self, done, final=False):
        now = time.monotonic()
        if not self.on or (not final and now - self.last < self.every):
            return
        self.last = now
        percent = 100 * done // self.total
        line = f"{self.name}: {percent:3d}% of {self.total / 1e6:.1f} MB"
        if self.tty:
            self.open_line = not final
            _say(True, "\r" + line, end="" if self.open_line else "\n")
        else:
            _say(True, line)

    def close(self):
        if self.open_line:
            _say(True, "")


def _get(url, part, offset, timeout, verbose):
    """Download ``url`` into ``part``, resuming at ``offset`` if the server
    allows; return whether the whole file arrived."""
    request = urllib.request.Request(
        url, headers={"User-Agent": f"sk-mnist/{__version__}"}
    )
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        content_range = response.headers.get("Content-Range", "")
        if not (
            response.status == 206 and content_range.startswith(f"bytes {offset}-")
        ):
            offset = 0  # the server sent the whole file: start again
        length = response.headers.get("Content-Length", "")
        total = offset + int(length) if length.isdigit() else None
        done = offset
        progress = _Progress(url.rsplit("/", 1)[-1], total, verbose)
        with _writing(part):
            out = open(part, "ab" if offset else "wb")
        try:
            while chunk := response.read(_CHUNK):
                with _writing(part):
                    out.write(chunk)
                done += len(chunk)
                progress.show(done)
        except BaseException:
            progress.close()
            raise
        finally:
            with _writing(part):
                out.close()
    complete = total is None or done >= total
    if complete:
        progress.show(done, final=True)
    else:
        progress.close()
    return complete


@contextlib.contextmanager
def _writing(path):
    """Report a local file error as such, not as a network failure."""
    try:
        yield
    except OSError as err:
        raise FetchError(f"{path}: cannot write ({err.strerror or err})") from None


def _network_failure(url, reason, timeout):
    if isinstance(reason, TimeoutError):
        return _Failed(f"{url}: timed out (no data for {timeout:g} s)")
    offline = isinstance(reason, socket.gaierror | ConnectionError) or (
        isinstance(reason, OSError) and reason.errno in _OFFLINE_ERRNOS
    )
    text = (
        reason.strerror if isinstance(reason, OSError) and reason.strerror else reason
    )
    return _Failed(f"{url}: {text or type(reason).__name__}", offline=offline)


def _download(url, path, file, timeout, verbose):
    """Fetch ``url`` to ``path`` through ``path.part``, checked; or raise
    _Failed."""
    part = path + ".part"
    restarted = False
    drops = 0
    _say(verbose, f"downloading {url}")
    while True:
        offset = os.path.getsize(part) if os.path.isfile(part) else 0
        try:
            complete = _get(url, part, offset, timeout, verbose)
        except urllib.error.HTTPError as err:
            err.close()
            # 416: nothing left after `offset`; the check below decides.
            if not (err.code == 416 and offset):
                raise _Failed(f"{url}: HTTP error {err.code} ({err.reason})") from None
            complete = True
        except urllib.error.URLError as err:
            raise _network_failure(url, err.reason, timeout) from None
        except TimeoutError as err:
            raise _network_failure(url, err, timeout) from None
        except FetchError:
            raise
        except (ConnectionError, http.client.HTTPException) as err:
            complete, reason = False, str(err) or type(err).__name__
        except OSError as err:  # e.g. an SSL error in mid-file
            raise _Failed(f"{url}: {err}") from None
        else:
            reason = "connection closed early"
        if not complete:
            drops += 1
            if drops == _ATTEMPTS:
                raise _Failed(
                    f"{url}: connection lost {drops} times ({reason}); run again "
                    "to resume"
                )
            _say(verbose, f"{url}: connection lost ({reason}); resuming")
            continue
        problem = _problem(part, file)
        if problem is None:
            os.replace(part, path)
            return
        _remove([part])
        if offset and not restarted:
            # The part left from before may belong to another file version.
            restarted = True
            _say(verbose, f"{url}: resumed file failed its check; starting again")
            continue
        raise _Failed(f"{url}: {problem}; the file was removed")


def _download_source(source, folder, timeout, verbose):
    paths = []
    for file in source.files:
        path = os.path.join(folder, file.name)
        paths.append(path)
        if os.path.isfile(path) and _problem(path, file) is None:
            continue  # left by an earlier, interrupted fetch
        failures = []
        for mirror in source.mirrors:
            try:
                _download(mirror + file.name, path, file, timeout, verbose)
                break
            except _Failed as failure:
                failures.append(failure)
        else:
            raise _Failed(
                "; ".join(map(str, failures)),
                offline=all(failure.offline for failure in failures),
            )
    return paths


def _kaggle_ready():
    """Whether the kaggle command and its credentials are set up (we only
    look: the kaggle command reads them itself)."""
    if shutil.which("kaggle") is None:
        return False
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return True
    folders = [
        os.environ.get("KAGGLE_CONFIG_DIR", ""),
        os.path.expanduser(os.path.join("~", ".kaggle")),
        os.path.join(
            os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"),
            "kaggle",
        ),
    ]
    return any(f and os.path.isfile(os.path.join(f, "kaggle.json")) for f in folders)


def _download_kaggle(source, folder, verbose):
    """Download ``source``'s CSV files with the kaggle command into ``folder``."""
    command = ["kaggle", "datasets", "download", source.kaggle, "-p"]
    with tempfile.TemporaryDirectory(prefix=".kaggle-", dir=folder) as tmp:
        _say(verbose, f"downloading {source.kaggle} with the kaggle command")
        try:
            result = subprocess.run(
                [*command, tmp],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=_KAGGLE_SECONDS,
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise _Failed(f"{' '.join(command[:4])}: {err}") from None
        if result.returncode:
            lines = (result.stderr + result.stdout).strip().splitlines()
            raise _Failed(
                f"{' '.join(command[:4])} failed: "
                f"{lines[-1] if lines else f'exit status {result.returncode}'}"
            )
        wanted = {file.name for file in source.files}
        found = {}
        for root, _, names in os.walk(tmp):
            for name in names:
                path = os.path.join(root, name)
                if name in wanted:
                    found[name] = path
                elif zipfile.is_zipfile(path):
                    # Only the wanted members, written under our own names.
                    with zipfile.ZipFile(path) as archive:
                        for member in archive.infolist():
                            base = os.path.basename(member.filename)
                            if base in wanted and base not in found:
                                found[base] = os.path.join(tmp, f"unzipped-{base}")
                                with (
                                    archive.open(member) as src,
                                    open(found[base], "wb") as dst,
                                ):
                                    shutil.copyfileobj(src, dst)
        missing = sorted(wanted - set(found))
        if missing:
            raise _Failed(
                f"kaggle data set {source.kaggle} has no {', '.join(missing)}"
            )
        paths = [os.path.join(folder, file.name) for file in source.files]
        for file, path in zip(source.files, paths, strict=True):
            os.replace(found[file.name], path)
    return paths


def _unavailable(dataset, folder, failures):
    where = (
        f"copy {dataset.local_files} into {folder} (the data home), or train on "
        "local CSV files with --train/--test"
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
    """Fetch ``dataset`` (a _Dataset); return a _Fetched."""
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
        if not source.folders and (not source.kaggle or _kaggle_ready())
    ]
    failures = []
    for source in sources:
        try:
            if source.kind == "csv":
                paths = _download_kaggle(source, folder, verbose)
            else:
                paths = _download_source(source, folder, timeout, verbose)
            train, test = _load(source, paths, dataset)
        except _Failed as failure:
            failures.append(failure)
            if source is not sources[-1]:
                _say(verbose, f"{failure}; trying the next source")
            continue
        except _Mismatch as err:
            _remove(paths)
            failures.append(_Failed(f"{err}; the files were removed"))
            continue
        except FetchError:
            raise
        except OSError as err:  # the data folder, not the network
            raise FetchError(
                f"{err.filename or folder}: {err.strerror or err}"
            ) from None
        return _Fetched(train, test, folder, source.label, downloaded=True)
    raise _unavailable(dataset, folder, failures)


def fetch_mnist(
    data_home=None, *, download_if_missing=True, timeout=DEFAULT_TIMEOUT, verbose=True
):
    """Load the full MNIST data set, downloading it once into a cache folder.

    The first call downloads LeCun's original IDX files (11 MB) from the
    mirror torchvision uses, or else Keras' ``mnist.npz``, or else, when the
    ``kaggle`` command and its credentials are set up, Kaggle's
    "mnist-in-csv" files.  Each file is checked against its publisher's MD5 or
    SHA-256 before it is used, and again on every later call, which reads the
    cache and needs no network.

    Parameters
    ----------
    data_home : str or os.PathLike, optional
        The cache folder; the files go in its ``mnist`` sub-folder.  Default:
        ``$SK_MNIST_DATA``, else ``~/.cache/sk-mnist``.  To work offline,
        copy ``mnist.npz`` or the four IDX ``.gz`` files into
        ``DATA_HOME/mnist``.
    download_if_missing : bool, default=True
        If False, raise ``FetchError`` instead of downloading.
    timeout : float, default=30
        Seconds to wait for a server to connect or send more data.
    verbose : bool, default=True
        Report downloads, with a progress line for large files, on stderr.

    Returns
    -------
    (X_train, y_train), (X_test, y_test) : tuple of tuples of ndarray
        60,000 training and 10,000 test images, as :func:`load_sample`:
        ``X`` is C-contiguous uint8 of shape (n, 784), ``y`` int64 of
        shape (n,).

    Raises
    ------
    FetchError
        With a one-line message, if there is no network (the message says how
        to use local files instead), a server does not answer within
        `timeout`, no source gives files that match their checksums, the data
        home cannot be written, or the data is not there and
        `download_if_missing` is False.  A ``FetchError`` is an ``OSError``.

    See Also
    --------
    load_sample : The 4,000 + 1,000 digits shipped with the package.
    fetch_fashion_mnist : The same for Fashion-MNIST.

    Examples
    --------
    >>> from sk_mnist.datasets import fetch_mnist
    >>> (X_train, y_train), (X_test, y_test) = fetch_mnist()  # doctest: +SKIP
    >>> X_train.shape, X_test.shape  # doctest: +SKIP
    ((60000, 784), (10000, 784))
    """
    fetched = _fetch(
        DATASETS["mnist"], data_home, download_if_missing, timeout, verbose
    )
    return fetched.train, fetched.test


def fetch_fashion_mnist(
    data_home=None, *, download_if_missing=True, timeout=DEFAULT_TIMEOUT, verbose=True
):
    """Load the full Fashion-MNIST data set, downloading it once if needed.

    Reads Debian's ``dataset-fashion-mnist`` package in place when it is
    installed (``/usr/share/datasets/fashion-mnist/``).  Otherwise the first
    call downloads Zalando's IDX files (30 MB) from their site or Keras'
    mirror, or else, when the ``kaggle`` command and its credentials are set
    up, Kaggle's "fashionmnist" CSV files, into the cache folder.  Every file
    is checked against its published MD5 sum (Debian's by a SHA-256 of its
    content) before it is used.

    Parameters
    ----------
    data_home : str or os.PathLike, optional
        The cache folder; the files go in its ``fashion-mnist`` sub-folder.
        Default: ``$SK_MNIST_DATA``, else ``~/.cache/sk-mnist``.
    download_if_missing : bool, default=True
        If False, raise ``FetchError`` instead of downloading.
    timeout : float, default=30
        Seconds to wait for a server to connect or send more data.
    verbose : bool, default=True
        Report downloads, with a progress line for large files, on stderr.

    Returns
    -------
    (X_train, y_train), (X_test, y_test) : tuple of tuples of ndarray
        60,000 training and 10,000 test images of 10 kinds of clothing
        (labels 0-9: T-shirt/top, trouser, pullover, dress, coat, sandal,
        shirt, sneaker, bag, ankle boot), shaped as by :func:`fetch_mnist`.

    Raises
    ------
    FetchError
        With a one-line message, if there is no network (the message says how
        to use local files instead), a server does not answer within
        `timeout`, no source gives files that match their checksums, the data
        home cannot be written, or the data is not there and
        `download_if_missing` is False.  A ``FetchError`` is an ``OSError``.

    See Also
    --------
    fetch_mnist : The same for the MNIST digits.

    Examples
    --------
    >>> from sk_mnist.datasets import fetch_fashion_mnist
    >>> (X_train, y_train), _ = fetch_fashion_mnist()  # doctest: +SKIP
    >>> X_train.shape, y_train.max()  # doctest: +SKIP
    ((60000, 784), np.int64(9))
    """
    fetched = _fetch(
        DATASETS["fashion-mnist"], data_home, download_if_missing, timeout, verbose
    )
    return fetched.train, fetched.test
