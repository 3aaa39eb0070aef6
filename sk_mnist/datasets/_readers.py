"""The public readers and writer of MNIST-style data: CSV, IDX and the sample.

Every loader returns ``X`` as a C-contiguous ``uint8`` array of shape
``(n, 784)`` and ``y`` as ``int64`` labels 0-9, or ``None``; see
:mod:`sk_mnist.datasets`.
"""

import gzip
import math
import os
import struct
from importlib import resources

import numpy as np

from .._files import temporary_beside
from . import _input
from ._csv import read_mnist_csv, value_problem
from ._input import Source, file_name, gzip_errors
from ._layout import PIXEL_NAMES, PIXELS, SIDE

__all__ = ["load_idx", "load_mnist_csv", "load_sample", "save_mnist_csv"]

_IDX_IMAGES, _IDX_LABELS = 0x00000803, 0x00000801
_CHUNK = 1 << 20
# Gzip data up to this size is read in one pass; larger, it is first counted
# (and dropped), so that a small file claiming 2**31 images never fills memory.
_KEEP_BYTES = 64 << 20
# zlib level 4 writes 60,000 rows about five times faster than the default 6,
# for a file about 10% larger.
_GZIP_LEVEL = 4


def load_mnist_csv(path):
    """Load MNIST-style digits from a CSV file.

    Reads the Kaggle "mnist-in-csv" layout (header ``label,1x1,...,28x28``,
    one image per row) and its common variants (no header, no labels, a
    pandas index column, Kaggle's ``pixel0``... names, gzip); a header's
    columns are read by name.  A stream (a pipe or FIFO) is read once.
    :doc:`/data` lists the layouts and the limits.

    Parameters
    ----------
    path : str, bytes or os.PathLike
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
    TypeError
        If `path` is not a str, bytes or os.PathLike.
    ValueError
        If the file is empty, has a header but no data rows, a header that
        names a ``label`` column but not the 784 pixels or names a column
        twice, a row with the wrong number of columns, an empty, NaN,
        non-numeric, non-integer or out-of-range value, a line longer than
        64 KiB, text that is not UTF-8, a stream over 512 MiB, or a corrupt
        gzip file; the message names the file, line and column.

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
    return read_mnist_csv(path)


def _read_at_most(f, size):
    """Up to ``size`` bytes of ``f``, read in chunks (memory follows the file)."""
    data = bytearray()
    while len(data) < size and (chunk := f.read(min(_CHUNK, size - len(data)))):
        data += chunk
    return data


def _count_at_most(f, size):
    """How many bytes ``f`` holds, up to ``size``, read in chunks and dropped."""
    count = 0
    while count < size and (chunk := f.read(min(_CHUNK, size - count))):
        count += len(chunk)
    return count


def _read_exactly(f, size):
    """The next ``size`` bytes of ``f``, which holds at least that many."""
    data = bytearray(size)
    view, filled = memoryview(data), 0
    while filled < size and (n := f.readinto(view[filled : filled + _CHUNK])):
        filled += n
    return data[:filled] if filled < size else data


def _idx_header(f, path, magic, what, start):
    """The dimensions in the IDX header at the start of ``f``, checked."""
    head = _read_at_most(f, start)
    if len(head) < start:
        raise ValueError(
            f"{path}: {len(head)} bytes, too short for an IDX {what} header"
        )
    found, *dims = struct.unpack(f">{len(head) // 4}I", head)
    if found != magic:
        raise ValueError(
            f"{path}: bad magic number 0x{found:08X}, expected 0x{magic:08X} "
            f"(IDX {what})"
        )
    if dims[1:] not in ([], [SIDE, SIDE]):
        raise ValueError(f"{path}: images are {dims[1]}x{dims[2]}, expected 28x28")
    return dims


def _size_error(source, dims, start, what, found):
    """The error for data of ``found`` bytes where the header promises others."""
    path, expected = source.name, math.prod(dims)
    if found > expected:
        problem, payload = "extra bytes at the end", "more"
        if source.regular and not source.gzip:
            payload = os.path.getsize(path) - start
    else:
        # The count says how far off the header is: 2**31 images, the data 12.
        each = math.prod(dims[1:])
        problem = "truncated"
        payload = f"{found} (data for {found // each:,} of the {dims[0]:,} {what})"
    return ValueError(
        f"{path}: {problem}: header promises {' x '.join(map(str, dims))} = "
        f"{expected} bytes of data, found {payload}"
    )


def _read_idx(path, magic, what, argument):
    """``(name, data)`` of an IDX file, whose size is checked before it is kept."""
    source = Source(path, argument)
    path, start = source.name, 4 * ((magic & 0xFF) + 1)
    with gzip_errors(path):
        with source.open() as f:
            dims = _idx_header(f, path, magic, what, start)
            expected = math.prod(dims)
            if source.regular and not source.gzip:
                size = os.path.getsize(path) - start
                if size != expected:
                    raise _size_error(source, dims, start, what, size)
            elif not source.regular and expected > _input.MAX_STREAM_BYTES:
                raise ValueError(
                    f"{path}: a stream (not a regular file) whose header promises "
                    f"{expected:,} bytes of data, more than {_input.MAX_STREAM_BYTES:,}"
                    "; save it to a file and read that"
                )
            if not source.regular or expected <= _KEEP_BYTES:
                # One byte more than the header promises tells extra data apart;
                # a gzip bomb behind a small header is decompressed no further.
                data = _read_at_most(f, expected + 1)
                if len(data) != expected:
                    raise _size_error(source, dims, start, what, len(data))
                return path, np.frombuffer(data, np.uint8)
            found = _count_at_most(f, expected + 1)
        if found != expected:
            raise _size_error(source, dims, start, what, found)
        with source.open() as f:
            f.read(start)
            data = _read_exactly(f, expected)
    # A bytearray's array is writable, as the CSV loader's arrays are.
    return path, np.frombuffer(data, np.uint8)


def load_idx(images, labels=None):
    """Load digits from LeCun's IDX files, as distributed on the MNIST site.

    Parameters
    ----------
    images : str, bytes or os.PathLike
        An IDX3 image file (magic number 0x00000803, n x 28 x 28 unsigned
        bytes), raw or gzip-compressed, e.g. ``train-images-idx3-ubyte.gz``;
        a stream (a pipe or FIFO) is read once.
    labels : str, bytes or os.PathLike, optional
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
    TypeError
        If `images` or `labels` is not a str, bytes or os.PathLike.
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
    images = file_name(images, "images")
    if labels is not None:
        labels = file_name(labels, "labels")
    images, X = _read_idx(images, _IDX_IMAGES, "images", "images")
    X = X.reshape(-1, PIXELS)
    if labels is None:
        return X, None
    labels, y = _read_idx(labels, _IDX_LABELS, "labels", "labels")
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
        column = f" ({PIXEL_NAMES[at[1]]!r})" if values.ndim == 2 else ""
        problem = value_problem(str(values[at]), label)
        raise ValueError(f"{what}[{', '.join(map(str, at))}]{column}: {problem}")


def _csv_blocks(rows, block=4096):
    """Yield uint8 `rows` as CSV text, one block at a time, from a table of
    each value's text (no per-cell Python work)."""
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
    labels), then one image per row, gzip-compressed when `path` ends with
    ``.gz``.  The file is written beside `path` and moved into place, so it
    is never left half-written; missing parent folders are created.

    Parameters
    ----------
    path : str, bytes or os.PathLike
        Where to write, e.g. ``"train.csv"`` or ``"train.csv.gz"``.
    X : array-like of shape (n, 784)
        Pixel values, integers 0-255 (integer-valued floats are accepted).
    y : array-like of shape (n,), optional
        Labels, integers 0-9.

    Returns
    -------
    path : str, bytes or os.PathLike
        `path`, unchanged, so that ``load_mnist_csv(save_mnist_csv(path, X, y))``
        returns ``X`` and ``y``.

    Raises
    ------
    TypeError
        If `path` is not a str, bytes or os.PathLike.
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
    target = file_name(path, "path")
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != PIXELS or not len(X):
        raise ValueError(
            f"X: expected a 2-D array of n >= 1 rows x 784 pixels, got shape {X.shape}"
        )
    _check_values(X, "X", label=False)
    rows, names = X.astype(np.uint8, copy=False), PIXEL_NAMES
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
