"""Read and write MNIST-style digit images as plain numpy arrays.

Every loader returns ``X`` as a C-contiguous ``uint8`` array of shape
``(n, 784)``, one image per row flattened row-major (``X[i].reshape(28, 28)``
is the digit upright), and ``y`` as ``int64`` labels 0-9 (or ``None`` for
unlabelled data).

* :func:`~sk_mnist.load_mnist_csv` reads the Kaggle "mnist-in-csv" layout and the
  variants that common tools write (no header, pixels only, pandas index
  column, CRLF line ends, UTF-8 byte-order mark, gzip).
* :func:`~sk_mnist.save_mnist_csv` writes that layout, atomically.
* :func:`~sk_mnist.load_idx` reads LeCun's original IDX files.
* :func:`~sk_mnist.load_sample` returns the 4,000 + 1,000 real digits
  shipped with the package.
* :func:`~sk_mnist.fetch_mnist` and :func:`~sk_mnist.fetch_fashion_mnist`
  download the full data sets once, checked against published checksums, and
  read them from a cache afterwards (see ``sk_mnist/_fetch.py``).

Malformed input raises ``ValueError`` with a one-line message naming the file
and, where possible, the line and column at fault.  Only numpy, pandas and the
standard library are used: no Keras or TensorFlow.
"""

import contextlib
import csv
import gzip
import io
import math
import os
import re
import struct
import zlib
from importlib import resources
from itertools import islice
from typing import NamedTuple

import numpy as np
import pandas as pd

from ._files import temporary_beside

__all__ = [
    "FetchError",  # noqa: F822 (module __getattr__)
    "fetch_fashion_mnist",  # noqa: F822 (module __getattr__)
    "fetch_mnist",  # noqa: F822 (module __getattr__)
    "load_idx",
    "load_mnist_csv",
    "load_sample",
    "save_mnist_csv",
]

_SIDE = 28
_PIXELS = _SIDE * _SIDE
_PIXEL_NAMES = [f"{r}x{c}" for r in range(1, _SIDE + 1) for c in range(1, _SIDE + 1)]
_IDX_IMAGES, _IDX_LABELS = 0x00000803, 0x00000801
# What gzip/zlib raise for a cut or damaged stream (BadGzipFile is an OSError).
_GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)
# What pandas raises for bad cells; ParserError, EmptyDataError and
# UnicodeDecodeError are ValueErrors, and huge integers raise OverflowError.
_PARSE_ERRORS = (ValueError, OverflowError)
# The number syntax pandas' C parser accepts; ASCII only, and no '_' digit separators,
# which Python's float() would allow but pandas rejects.
_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*", re.ASCII)
# Spellings of NaN that pandas reads by default (the common ones).
_MISSING = {"nan", "na", "n/a", "null", "none", "<na>", "#n/a"}
_BLOCK_LINES = 4096
_SLICE_LINES = 16
# zlib level 4 writes 60,000 rows about five times faster than the default 6,
# for a file about 10% larger.
_GZIP_LEVEL = 4


class _Layout(NamedTuple):
    """What the first line of a CSV file says about the rest of it."""

    header: bool
    index: bool  # a leading index column, as pandas ``to_csv`` writes by default
    names: list  # column names after the index column

    @property
    def labelled(self):
        return len(self.names) == _PIXELS + 1

    @property
    def width(self):
        return len(self.names) + self.index

    def expected(self):
        parts = ["index"] * self.index + ["label"] * self.labelled + ["784 pixels"]
        return f"expected {self.width} columns ({' + '.join(parts)})"

    def column(self, j):
        return f"column {j + self.index + 1} ({self.names[j]!r})"


def _existing(path):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(2, "No such file or directory", path)
    if os.path.isdir(path):
        raise ValueError(f"{path}: is a directory, expected a file")
    return path


def _is_gzip(path):
    with open(path, "rb") as f:
        return path.endswith(".gz") or f.read(2) == b"\x1f\x8b"


def _open_binary(path):
    return gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")


def _open_lines(path):
    # Universal newlines count '\n', '\r\n' and a lone '\r' as one line each,
    # like pandas; undecodable bytes survive as surrogates so that they are
    # reported in the cell where they occur rather than as a decoding error.
    return io.TextIOWrapper(
        _open_binary(path), encoding="utf-8-sig", errors="surrogateescape"
    )


@contextlib.contextmanager
def _gzip_errors(name):
    try:
        yield
    except _GZIP_ERRORS as err:
        raise ValueError(f"{name}: corrupt or truncated gzip data ({err})") from None


def _value_problem(text, label):
    """Say what is wrong with one cell, or return None if it is a valid value."""
    kind, high = ("label", 9) if label else ("pixel value", 255)
    value = text.strip()
    if not value:
        return f"empty cell, expected a {kind} 0-{high}"
    if value.lower().lstrip("+-") in _MISSING:
        return f"missing value {value!r} (NaN), expected a {kind} 0-{high}"
    if not _NUMBER.fullmatch(value):
        return f"non-numeric value {value!r}, expected a {kind} 0-{high}"
    number = float(value)
    if not 0 <= number <= high:
        return f"{kind} {value} is outside 0-{high}"
    if not number.is_integer():
        return f"{kind} {value} is not an integer"
    return None


def _is_header(fields):
    names = [f.strip() for f in fields]
    if names and not names[0]:
        names = names[1:]
    numeric = sum(bool(_NUMBER.fullmatch(n)) for n in names)
    # pandas writes 0, 1, 2, ... as the header of a frame built from an array;
    # no valid data row looks like that, since 256 is not a pixel value.
    return numeric * 2 < len(names) or names == [str(i) for i in range(len(names))]


def _csv_rows(lines, name, first_line=1):
    """Yield (line number, cells) for each CSV row in `lines`."""
    reader = csv.reader(lines)
    try:
        for row in reader:
            yield first_line + reader.line_num - 1, row
    except csv.Error as err:  # e.g. a field over csv.field_size_limit()
        line = first_line + reader.line_num - 1
        raise ValueError(f"{name}, line {line}: {err}") from None


def _sniff(path):
    with _gzip_errors(path), _open_lines(path) as lines:
        first = next(_csv_rows(lines, path), (1, None))[1]
        if first is None or not "".join(first).strip():
            if first is None or not any(map(str.strip, lines)):
                raise ValueError(f"{path}: file is empty")
            raise ValueError(f"{path}, line 1: blank, expected a header or data row")
    header = _is_header(first)
    index = header and not first[0].strip()
    found = len(first) - index
    if found not in (_PIXELS, _PIXELS + 1):
        raise ValueError(
            f"{path}, line 1: expected 785 columns (label + 784 pixels) or 784 "
            f"(pixels only){' after the index column' if index else ''}, "
            f"found {found}"
        )
    if header:
        names = [f.strip() for f in first[index:]]
        late = [j for j, name in enumerate(names) if name.lower() == "label" and j]
        if late:
            raise ValueError(
                f"{path}, line 1, column {late[0] + index + 1}: the 'label' column "
                "must come before the pixels (header label,1x1,...,28x28)"
            )
    else:
        names = ["label"] * (found - _PIXELS) + _PIXEL_NAMES
    return _Layout(header, index, names)


def _parse(source, layout, skiprows=0):
    """Parse CSV rows with pandas; raise one of _PARSE_ERRORS on any bad value.

    uint8 columns make pandas itself reject empty, NaN, non-numeric,
    non-integer and out-of-range cells and short rows (pandas 3 refuses an
    unsafe cast instead of wrapping 300 to 44), so only the label range and the
    column count are left to check here.
    """
    dtype = np.uint8
    if layout.index:
        # The index may hold anything (row numbers, file names); it is dropped.
        dtype = {0: object, **dict.fromkeys(range(1, layout.width), np.uint8)}
    with np.errstate(all="ignore"):
        frame = pd.read_csv(
            source,
            header=None,
            skiprows=skiprows,
            dtype=dtype,
            engine="c",
            compression=None,
        )
    # pandas sizes the frame from the first data row, so a file whose rows are
    # all too long would otherwise load.
    if frame.shape[1] != layout.width or not len(frame):
        raise ValueError("unexpected number of columns or rows")
    values = frame.iloc[:, int(layout.index) :].to_numpy()
    if not layout.labelled:
        return np.ascontiguousarray(values), None
    labels = values[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise ValueError("label out of range")
    return np.ascontiguousarray(values[:, 1:]), labels


def _read(path, layout):
    """Parse a whole file with pandas, as fast as it goes."""
    if not _is_gzip(path):
        # Given a path, pandas parses a large file on several threads.
        return _parse(path, layout, skiprows=int(layout.header))
    with gzip.open(path, "rb") as stream:
        # Stepping over the header here is faster than pandas' skiprows, unless
        # the file ends its lines with a lone '\r', which readline() ignores.
        if layout.header and b"\r" in stream.readline().rstrip(b"\r\n"):
            stream.seek(0)
            return _parse(stream, layout, skiprows=1)
        return _parse(stream, layout)


def _check_lines(lines, first_line, name, layout):
    """Check `lines` cell by cell in Python; return a ValueError or None."""
    for line, row in _csv_rows(lines, name, first_line):
        if len(row) == 1 and not row[0].strip():
            continue  # pandas skips blank lines
        where = f"{name}, line {line}"
        if len(row) != layout.width:
            return ValueError(f"{where}: {layout.expected()}, found {len(row)}")
        for j, cell in enumerate(row[layout.index :]):
            problem = _value_problem(cell, label=layout.labelled and j == 0)
            if problem:
                return ValueError(f"{where}, {layout.column(j)}: {problem}")
    return None


def _find_bad_line(lines, first_line, name, layout):
    """Return a ValueError for the first bad line among `lines`, or None.

    pandas narrows the search down to a few lines, by parsing ever smaller
    slices, before the slow cell-by-cell check in Python.
    """
    try:
        _parse(io.BytesIO("".join(lines).encode("utf-8", "surrogateescape")), layout)
        return None
    except _PARSE_ERRORS:
        pass
    if len(lines) <= _SLICE_LINES:
        return _check_lines(lines, first_line, name, layout)
    step = -(-len(lines) // _SLICE_LINES)
    for start in range(0, len(lines), step):
        error = _find_bad_line(
            lines[start : start + step], first_line + start, name, layout
        )
        if error:
            return error
    return None


def _diagnose(path, layout, cause):
    """Return a ValueError locating the first bad line of a file pandas refused.

    The file is streamed in blocks of lines, so that even a bad last line of a
    large file is found in about the time of a normal load.
    """
    line = 1
    seen_data = False
    with _gzip_errors(path), _open_lines(path) as lines:
        if layout.header:
            next(lines)
            line += 1
        while block := list(islice(lines, _BLOCK_LINES)):
            seen_data = seen_data or any(map(str.strip, block))
            error = _find_bad_line(block, line, path, layout)
            if error:
                return error
            line += len(block)
    if not seen_data:
        return ValueError(f"{path}: header only, no data rows")
    detail = str(cause).strip().splitlines()[0] if str(cause).strip() else "?"
    return ValueError(f"{path}: cannot be read as MNIST CSV ({detail})")


def load_mnist_csv(path):
    """Load MNIST-style digits from a CSV file.

    Reads the Kaggle "mnist-in-csv" layout (header ``label,1x1,...,28x28``,
    one image per row, label first) and its common variants: no header row,
    784 pixel columns without labels, the leading index column written by
    ``pandas.DataFrame.to_csv``, CRLF line ends, a UTF-8 byte-order mark and
    gzip compression (``.csv.gz``).

    Parameters
    ----------
    path : str or os.PathLike
        The ``.csv`` or ``.csv.gz`` file.

    Returns
    -------
    X : ndarray of uint8, shape (n, 784)
        C-contiguous pixel rows; ``X[i].reshape(28, 28)`` is image ``i``.
    y : ndarray of int64, shape (n,), or None
        Labels 0-9, or None when the file has only the 784 pixel columns.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ValueError
        If the file is empty, has a header but no data rows, a header naming
        a ``label`` column anywhere but first, a row with the wrong number of
        columns, an empty, NaN, non-numeric, non-integer or
        out-of-range value, or is a corrupt or truncated gzip file.  The
        one-line message names the file, the line and the column.

    Examples
    --------
    >>> import os, tempfile
    >>> from sk_mnist.datasets import load_mnist_csv, load_sample, save_mnist_csv
    >>> (X_train, y_train), _ = load_sample()
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "digits.csv")
    ...     X, y = load_mnist_csv(save_mnist_csv(path, X_train[:3], y_train[:3]))
    >>> X.shape, X.dtype, y.dtype
    ((3, 784), dtype('uint8'), dtype('int64'))
    >>> bool((X == X_train[:3]).all() and (y == y_train[:3]).all())
    True
    """
    path = _existing(path)
    layout = _sniff(path)
    with _gzip_errors(path):
        try:
            return _read(path, layout)
        except _PARSE_ERRORS as err:
            raise _diagnose(path, layout, err) from None


def _read_idx(path, magic, what):
    path = _existing(path)
    with _gzip_errors(path), _open_binary(path) as f:
        data = f.read()
    ndim = magic & 0xFF
    start = 4 * (ndim + 1)
    if len(data) < start:
        raise ValueError(
            f"{path}: {len(data)} bytes, too short for an IDX {what} header"
        )
    found, *dims = struct.unpack(f">{ndim + 1}I", data[:start])
    if found != magic:
        raise ValueError(
            f"{path}: bad magic number 0x{found:08X}, expected 0x{magic:08X} "
            f"(IDX {what})"
        )
    if dims[1:] not in ([], [_SIDE, _SIDE]):
        raise ValueError(f"{path}: images are {dims[1]}x{dims[2]}, expected 28x28")
    expected, payload = math.prod(dims), len(data) - start
    if payload != expected:
        problem = "truncated" if payload < expected else "extra bytes at the end"
        raise ValueError(
            f"{path}: {problem}: header promises {' x '.join(map(str, dims))} = "
            f"{expected} bytes of data, found {payload}"
        )
    # Copied so that callers get a writable array, as from the CSV loader.
    return path, np.frombuffer(data, np.uint8, offset=start).copy()


def load_idx(images, labels=None):
    """Load digits from LeCun's IDX files, as distributed on the MNIST site.

    Parameters
    ----------
    images : str or os.PathLike
        An IDX3 image file (magic number 0x00000803, n x 28 x 28 unsigned
        bytes), raw or gzip-compressed, e.g. ``train-images-idx3-ubyte.gz``.
    labels : str or os.PathLike, optional
        The matching IDX1 label file (magic number 0x00000801), e.g.
        ``train-labels-idx1-ubyte.gz``.

    Returns
    -------
    X : ndarray of uint8, shape (n, 784)
        C-contiguous pixel rows; ``X[i].reshape(28, 28)`` is image ``i``.
    y : ndarray of int64, shape (n,), or None
        Labels 0-9, or None when `labels` is not given.

    Raises
    ------
    FileNotFoundError
        If a file does not exist.
    ValueError
        If a file has the wrong magic number, images that are not 28x28, a
        data size that does not match its header, labels outside 0-9, if the
        image and label counts differ, or if gzip data is corrupt or truncated.

    Examples
    --------
    >>> import gzip, os, struct, tempfile
    >>> from sk_mnist.datasets import load_idx
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     images = os.path.join(tmp, "images-idx3-ubyte.gz")
    ...     labels = os.path.join(tmp, "labels-idx1-ubyte")
    ...     with gzip.open(images, "wb") as f:
    ...         _ = f.write(struct.pack(">4I", 0x803, 2, 28, 28) + bytes(2 * 784))
    ...     with open(labels, "wb") as f:
    ...         _ = f.write(struct.pack(">2I", 0x801, 2) + bytes([3, 7]))
    ...     X, y = load_idx(images, labels)
    >>> X.shape, X.dtype, y.tolist()
    ((2, 784), dtype('uint8'), [3, 7])
    """
    images, X = _read_idx(images, _IDX_IMAGES, "images")
    X = X.reshape(-1, _PIXELS)
    if labels is None:
        return X, None
    labels, y = _read_idx(labels, _IDX_LABELS, "labels")
    y = y.astype(np.int64)
    if len(y) != len(X):
        raise ValueError(
            f"{images} has {len(X)} images but {labels} has {len(y)} labels"
        )
    if len(y) and y.max() > 9:
        i = int(np.argmax(y > 9))
        raise ValueError(f"{labels}: label {y[i]} at index {i} is outside 0-9")
    return X, y


def load_sample():
    """Load the sample of real MNIST digits shipped with the package.

    4,000 training and 1,000 test images, 400 and 100 per class, taken from
    the MNIST database (see ``sk_mnist/data/README.md`` for the source and
    licence).

    Returns
    -------
    (X_train, y_train), (X_test, y_test) : tuple of tuples of ndarray
        As ``keras.datasets.mnist.load_data()``, but with each image
        flattened: ``X`` is uint8 of shape (n, 784), ``y`` int64 of shape (n,).

    Raises
    ------
    ValueError
        If the packaged files are damaged.

    Examples
    --------
    >>> from sk_mnist.datasets import load_sample
    >>> (X_train, y_train), (X_test, y_test) = load_sample()
    >>> X_train.shape, y_train.shape, X_test.shape, y_test.shape
    ((4000, 784), (4000,), (1000, 784), (1000,))
    >>> X_test.dtype, y_test.dtype
    (dtype('uint8'), dtype('int64'))
    """
    folder = resources.files("sk_mnist") / "data"

    def load(name):
        with resources.as_file(folder / name) as path:
            return load_mnist_csv(path)

    return load("mnist_sample_train.csv.gz"), load("mnist_sample_test.csv.gz")


def _check_values(values, what, label):
    high = 9 if label else 255
    if values.dtype.kind not in "iuf":
        raise ValueError(
            f"{what}: expected integers 0-{high}, got dtype {values.dtype}"
        )
    if values.dtype == np.uint8 and not label:
        return
    with np.errstate(invalid="ignore"):
        valid = (values >= 0) & (values <= high)  # False for NaN
        if values.dtype.kind == "f":
            valid &= values == np.round(values)
    if not valid.all():
        at = np.unravel_index(np.argmax(~valid), values.shape)
        column = f" ({_PIXEL_NAMES[at[1]]!r})" if values.ndim == 2 else ""
        problem = _value_problem(str(values[at]), label)
        raise ValueError(f"{what}[{', '.join(map(str, at))}]{column}: {problem}")


def _csv_blocks(rows, block=4096):
    """Yield uint8 `rows` as CSV text, one block at a time.

    Each value indexes a table of its text ("0," to "255,", NUL-padded to 4
    bytes) and the padding is masked out, so there is no per-cell Python work:
    several times faster than ``np.savetxt`` or ``DataFrame.to_csv``.
    """
    text = b"".join(f"{v},".encode().ljust(4, b"\0") for v in range(256))
    table = np.frombuffer(text, np.uint8).reshape(256, 4)
    keep = table != 0
    widths = keep.sum(axis=1)
    for start in range(0, len(rows), block):
        chunk = rows[start : start + block]
        out = table[chunk][keep[chunk]]
        out[np.cumsum(widths[chunk].sum(axis=1)) - 1] = ord("\n")
        yield out.tobytes()


def save_mnist_csv(path, X, y=None):
    """Write digits as CSV in the Kaggle "mnist-in-csv" layout.

    The header is ``label,1x1,1x2,...,28x28`` (just ``1x1,...,28x28`` without
    labels), then one image per row.  The file is gzip-compressed when `path`
    ends with ``.gz``.  It is written to a temporary file in the same folder
    and moved into place, so `path` is never left half-written; missing
    parent folders are created (and removed again if the write fails).

    Parameters
    ----------
    path : str or os.PathLike
        Where to write, e.g. ``"train.csv"`` or ``"train.csv.gz"``.
    X : array-like of shape (n, 784)
        Pixel values, integers 0-255 (integer-valued floats are accepted).
    y : array-like of shape (n,), optional
        Labels, integers 0-9.

    Returns
    -------
    path : str or os.PathLike
        `path`, unchanged, so that ``load_mnist_csv(save_mnist_csv(path, X, y))``
        returns ``X`` and ``y``.

    Raises
    ------
    ValueError
        If `X` is not 2-D with 784 columns and at least one row, holds NaN or
        values that are not integers 0-255, or if `y` is not 1-D with one
        integer 0-9 per row of `X`.

    Examples
    --------
    >>> import os, tempfile
    >>> from sk_mnist.datasets import load_mnist_csv, load_sample, save_mnist_csv
    >>> _, (X_test, y_test) = load_sample()
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_mnist_csv(os.path.join(tmp, "test.csv.gz"), X_test, y_test)
    ...     X, y = load_mnist_csv(path)
    >>> bool((X == X_test).all() and (y == y_test).all())
    True
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != _PIXELS or not len(X):
        raise ValueError(
            f"X: expected a 2-D array of n >= 1 rows x 784 pixels, got shape {X.shape}"
        )
    _check_values(X, "X", label=False)
    rows, names = X.astype(np.uint8, copy=False), _PIXEL_NAMES
    if y is not None:
        y = np.asarray(y)
        if y.shape != (len(X),):
            raise ValueError(
                f"y: expected a 1-D array of {len(X)} labels (one per row of X), "
                f"got shape {y.shape}"
            )
        _check_values(y, "y", label=True)
        rows, names = np.column_stack([y.astype(np.uint8), rows]), ["label", *names]
    header = (",".join(names) + "\n").encode()

    target = os.fspath(path)
    with temporary_beside(target) as temp:
        with open(temp, "wb") as raw:
            out = raw
            if target.endswith(".gz"):
                name = os.path.basename(target)[:-3]
                out = gzip.GzipFile(name, "wb", _GZIP_LEVEL, fileobj=raw, mtime=0)
            with out:
                out.write(header)
                for text in _csv_blocks(rows):
                    out.write(text)
        os.replace(temp, target)
    return path


_FETCH_NAMES = ("FetchError", "fetch_fashion_mnist", "fetch_mnist")


def __getattr__(name):
    # The downloaders (urllib, ssl, subprocess, ...) load on first use, so that
    # reading the sample or a CSV file does not pay for them.
    if name in _FETCH_NAMES:
        from . import _fetch

        return getattr(_fetch, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
