"""Downloading a data set's files: HTTP with resume and checksums, or Kaggle.

Private to :mod:`sk_mnist.datasets`: :mod:`._fetch` decides what to fetch and
where; this module gets one source's files into a folder, each checked
against its checksum before it takes its final name.  Only the standard
library talks to the network.
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

from .. import __version__
from .._messages import say
from ._input import GZIP_ERRORS

__all__ = [
    "Failed",
    "FetchError",
    "checksum_problem",
    "download_kaggle",
    "download_source",
    "remove_files",
]

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


class Failed(Exception):
    """One source or file could not be fetched; ``offline`` if for lack of a
    network."""

    def __init__(self, message, offline=False):
        super().__init__(message)
        self.offline = offline


# ------------------------------------------------------------ verification
def checksum_problem(path, file):
    """Why ``path`` does not match ``file``'s checksum, or None if it does."""
    if not file.digest:
        return None
    algorithm, expected = file.digest.split(":")
    digest = hashlib.new(algorithm, usedforsecurity=False)
    try:
        with (gzip.open if file.gunzip else open)(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except GZIP_ERRORS as err:
        return f"not a valid gzip file ({err})"
    except OSError as err:
        return f"cannot be read ({err.strerror or err})"
    if digest.hexdigest() != expected:
        what = f"{algorithm} of the decompressed data" if file.gunzip else algorithm
        return f"checksum mismatch ({what} {digest.hexdigest()}, expected {expected})"
    return None


def remove_files(paths):
    for path in paths:
        with contextlib.suppress(OSError):
            os.remove(path)


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
            say(True, "\r" + line, end="" if self.open_line else "\n")
        else:
            say(True, line)

    def close(self):
        if self.open_line:
            say(True, "")


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
        return Failed(f"{url}: timed out (no data for {timeout:g} s)")
    offline = isinstance(reason, socket.gaierror | ConnectionError) or (
        isinstance(reason, OSError) and reason.errno in _OFFLINE_ERRNOS
    )
    text = (
        reason.strerror if isinstance(reason, OSError) and reason.strerror else reason
    )
    return Failed(f"{url}: {text or type(reason).__name__}", offline=offline)


def download_file(url, path, file, timeout, verbose):
    """Fetch ``url`` to ``path`` through ``path.part``, checked; or raise
    Failed."""
    part = path + ".part"
    restarted = False
    drops = 0
    say(verbose, f"downloading {url}")
    while True:
        offset = os.path.getsize(part) if os.path.isfile(part) else 0
        try:
            complete = _get(url, part, offset, timeout, verbose)
        except urllib.error.HTTPError as err:
            err.close()
            # 416: nothing left after `offset`; the check below decides.
            if not (err.code == 416 and offset):
                raise Failed(f"{url}: HTTP error {err.code} ({err.reason})") from None
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
            raise Failed(f"{url}: {err}") from None
        else:
            reason = "connection closed early"
        if not complete:
            drops += 1
            if drops == _ATTEMPTS:
                raise Failed(
                    f"{url}: connection lost {drops} times ({reason}); run again "
                    "to resume"
                )
            say(verbose, f"{url}: connection lost ({reason}); resuming")
            continue
        problem = checksum_problem(part, file)
        if problem is None:
            os.replace(part, path)
            return
        remove_files([part])
        if offset and not restarted:
            # The part left from before may belong to another file version.
            restarted = True
            say(verbose, f"{url}: resumed file failed its check; starting again")
            continue
        raise Failed(f"{url}: {problem}; the file was removed")


def download_source(source, folder, timeout, verbose):
    paths = []
    for file in source.files:
        path = os.path.join(folder, file.name)
        paths.append(path)
        if os.path.isfile(path) and checksum_problem(path, file) is None:
            continue  # left by an earlier, interrupted fetch
        failures = []
        for mirror in source.mirrors:
            try:
                download_file(mirror + file.name, path, file, timeout, verbose)
                break
            except Failed as failure:
                failures.append(failure)
        else:
            raise Failed(
                "; ".join(map(str, failures)),
                offline=all(failure.offline for failure in failures),
            )
    return paths


def kaggle_ready():
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


def download_kaggle(source, folder, verbose):
    """Download ``source``'s CSV files with the kaggle command into ``folder``."""
    command = ["kaggle", "datasets", "download", source.kaggle, "-p"]
    with tempfile.TemporaryDirectory(prefix=".kaggle-", dir=folder) as tmp:
        say(verbose, f"downloading {source.kaggle} with the kaggle command")
        try:
            result = subprocess.run(
                [*command, tmp],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=_KAGGLE_SECONDS,
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise Failed(f"{' '.join(command[:4])}: {err}") from None
        if result.returncode:
            lines = (result.stderr + result.stdout).strip().splitlines()
            raise Failed(
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
            raise Failed(f"kaggle data set {source.kaggle} has no {', '.join(missing)}")
        paths = [os.path.join(folder, file.name) for file in source.files]
        for file, path in zip(source.files, paths, strict=True):
            os.replace(found[file.name], path)
    return paths
