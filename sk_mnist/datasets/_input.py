"""Opening a data file: plain or gzip-compressed, with errors named after it.

Private helpers of the readers; nothing here knows about CSV or IDX.
"""

import contextlib
import gzip
import io
import os
import zlib

__all__ = [
    "GZIP_ERRORS",
    "existing",
    "gzip_errors",
    "is_gzip",
    "open_binary",
    "open_lines",
]

# What gzip/zlib raise for a cut or damaged stream (BadGzipFile is an OSError).
GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


def existing(path):
    """``path`` as a string, checked to be an existing file, not a folder."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(2, "No such file or directory", path)
    if os.path.isdir(path):
        raise ValueError(f"{path}: is a directory, expected a file")
    return path


def is_gzip(path):
    """Whether ``path`` is gzip data, by its name or its first two bytes."""
    with open(path, "rb") as f:
        return path.endswith(".gz") or f.read(2) == b"\x1f\x8b"


def open_binary(path):
    """``path`` opened for reading bytes, decompressed if it is gzip data."""
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")


def open_lines(path):
    """``path`` opened as text lines, for the CSV readers' slow paths."""
    # Universal newlines count '\n', '\r\n' and a lone '\r' as one line each,
    # like pandas; undecodable bytes survive as surrogates so that they are
    # reported in the cell where they occur rather than as a decoding error.
    return io.TextIOWrapper(
        open_binary(path), encoding="utf-8-sig", errors="surrogateescape"
    )


@contextlib.contextmanager
def gzip_errors(name):
    """Report a corrupt or truncated gzip stream as a ValueError naming ``name``."""
    try:
        yield
    except GZIP_ERRORS as err:
        raise ValueError(f"{name}: corrupt or truncated gzip data ({err})") from None
