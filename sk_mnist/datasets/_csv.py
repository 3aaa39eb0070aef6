"""Reading MNIST CSV files: a fast pandas parse of the whole file, and a
line-by-line diagnosis when pandas refuses it.

Private helpers of :mod:`sk_mnist.datasets`; :func:`read_mnist_csv` is what
``load_mnist_csv`` runs.  Every pass reads lines of bounded length (see
:mod:`._input`), so a file without line ends costs no more memory than one
long line of the limit's size.
"""

import csv
import io
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from . import _input
from ._input import LineGuard, LineTooLong, Source, gzip_errors, line_too_long
from ._layout import NUMBER, layout_of

__all__ = ["read_mnist_csv", "value_problem"]

# What pandas raises for bad cells; ParserError, EmptyDataError and
# UnicodeDecodeError are ValueErrors, and huge integers raise OverflowError.
_PARSE_ERRORS = (ValueError, OverflowError)
# Spellings of NaN that pandas reads by default (the common ones).
_MISSING = {"nan", "na", "n/a", "null", "none", "<na>", "#n/a"}
# The diagnosis checks lines in blocks of at most this many lines and bytes.
_BLOCK_LINES = 4096
_BLOCK_BYTES = 16 << 20
_SLICE_LINES = 16
# Fewest rows worth a thread of their own when copying the pixels out.
_ROW_BLOCK = 8192


def value_problem(text, label):
    """Say what is wrong with one cell, or return None if it is a valid value."""
    kind, high = ("label", 9) if label else ("pixel value", 255)
    value = text.strip()
    if not value:
        return f"empty cell, expected a {kind} 0-{high}"
    if value.lower().lstrip("+-") in _MISSING:
        return f"missing value {value!r} (NaN), expected a {kind} 0-{high}"
    if not NUMBER.fullmatch(value):
        return f"non-numeric value {value!r}, expected a {kind} 0-{high}"
    number = float(value)
    if not 0 <= number <= high:
        return f"{kind} {value} is outside 0-{high}"
    if not number.is_integer():
        return f"{kind} {value} is not an integer"
    return None


def _open_text(source):
    # Universal newlines count '\n', '\r\n' and a lone '\r' as one line each,
    # like pandas; undecodable bytes survive as surrogates so that they are
    # reported in the cell where they occur rather than as a decoding error.
    return io.TextIOWrapper(
        source.open(), encoding="utf-8-sig", errors="surrogateescape"
    )


def _lines(text, name):
    """Yield (line number, line) from a text file; refuse a line too long."""
    number = 1
    while line := text.readline(_input.MAX_LINE_BYTES + 1):
        if len(line.rstrip("\n")) > _input.MAX_LINE_BYTES:
            raise line_too_long(name, number)
        yield number, line
        number += 1


def _csv_rows(lines, name, first_line=1):
    """Yield (line number, cells) for each CSV row in `lines`."""
    reader = csv.reader(lines)
    try:
        for row in reader:
            yield first_line + reader.line_num - 1, row
    except csv.Error as err:  # e.g. a NUL character
        line = first_line + reader.line_num - 1
        raise ValueError(f"{name}, line {line}: {err}") from None


def _sniff(source):
    """The Layout that the first non-blank line of ``source`` announces."""
    name = source.name
    with gzip_errors(name), _open_text(source) as text:
        for number, line in _lines(text, name):
            first = next(_csv_rows([line], name), (1, []))[1]
            if not "".join(first).strip():
                continue
            if number > 1:
                raise ValueError(
                    f"{name}, line 1: blank, expected a header or data row"
                )
            return layout_of(first, name)
    raise ValueError(f"{name}: file is empty")


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
    X = _pixels(values, layout.pixels)
    if not layout.labelled:
        return X, None
    labels = values[:, layout.label].astype(np.int64)
    if labels.max() > 9:
        raise ValueError("label out of range")
    return X, labels


def _workers():
    """How many threads may copy at once: the CPUs this process may use, up to 4."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4))


def _pixels(values, pixels):
    """Columns ``pixels`` of ``values``, in that order, as one C-contiguous array.

    ``values`` is laid out column by column (as pandas parses), so this is a
    transposing copy: it is done in blocks of rows, over a few threads when
    there are many rows (NumPy's copies release the GIL).
    """
    X = np.empty((len(values), len(pixels)), np.uint8)
    first = pixels[0]
    in_order = pixels == tuple(range(first, first + len(pixels)))
    step = max(_ROW_BLOCK, -(-len(values) // _workers()))

    def copy(start):
        rows = slice(start, start + step)
        if in_order:
            X[rows] = values[rows, first : first + len(pixels)]
        else:  # columns in another order
            np.take(values[rows], pixels, axis=1, out=X[rows])

    starts = range(0, len(values), step)
    if len(starts) == 1:
        copy(0)
    else:
        with ThreadPoolExecutor(len(starts)) as pool:
            list(pool.map(copy, starts))
    return X


def _read(source, layout):
    """Parse a whole file with pandas, as fast as it goes."""
    if source.regular and not source.gzip:
        # Given a file's name, pandas parses it in several threads; the lines
        # are checked first, in one fast pass over the bytes.  An absolute
        # name, so that pandas sees no '~' to expand nor '://' of a URL.
        _input.check_lines(source)
        path = os.path.abspath(source.name)
        return _parse(path, layout, skiprows=int(layout.header))
    stream, skip, first_line = source.open(), 0, 1
    try:
        # Stepping over the header here is faster than pandas' skiprows, unless
        # the file ends its lines with a lone '\r', which readline() ignores.
        if layout.header:
            header = stream.readline(4 * _input.MAX_LINE_BYTES + 8)
            if b"\r" in header.rstrip(b"\r\n"):
                stream.close()
                stream, skip = source.open(), 1
            else:
                first_line = 2
        return _parse(LineGuard(stream, source.name, first_line), layout, skip)
    finally:
        stream.close()


def _check_lines(lines, first_line, name, layout):
    """Check `lines` cell by cell in Python; return a ValueError or None."""
    for line, row in _csv_rows(lines, name, first_line):
        if len(row) == 1 and not row[0].strip():
            continue  # pandas skips blank lines
        where = f"{name}, line {line}"
        if len(row) != layout.width:
            return ValueError(f"{where}: {layout.expected()}, found {len(row)}")
        for j, cell in enumerate(row[layout.index :]):
            problem = value_problem(cell, label=j == layout.label)
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


def _blocks(numbered_lines):
    """Group (number, line) pairs into (first number, lines) blocks."""
    block, size = [], 0
    for number, line in numbered_lines:
        if not block:
            first = number
        block.append(line)
        size += len(line)
        if len(block) == _BLOCK_LINES or size >= _BLOCK_BYTES:
            yield first, block
            block, size = [], 0
    if block:
        yield first, block


def _diagnose(source, layout, cause):
    """Return a ValueError locating the first bad line of a file pandas refused.

    The file is streamed in blocks of lines, so that even a bad last line of a
    large file is found in about the time of a normal load.
    """
    name, seen_data = source.name, False
    try:
        with gzip_errors(name), _open_text(source) as text:
            lines = _lines(text, name)
            if layout.header:
                next(lines)
            for first, block in _blocks(lines):
                seen_data = seen_data or any(map(str.strip, block))
                error = _find_bad_line(block, first, name, layout)
                if error:
                    return error
    except LineTooLong as err:
        return err
    if not seen_data:
        return ValueError(f"{name}: header only, no data rows")
    detail = str(cause).strip().splitlines()[0] if str(cause).strip() else "?"
    return ValueError(f"{name}: cannot be read as MNIST CSV ({detail})")


def read_mnist_csv(path):
    """``(X, y)`` from the MNIST CSV file ``path``; see ``load_mnist_csv``."""
    source = Source(path, "path", text=True)
    layout = _sniff(source)
    with gzip_errors(source.name):
        try:
            return _read(source, layout)
        except LineTooLong as err:  # it knows the line
            error = err
        except _PARSE_ERRORS as err:
            error = _diagnose(source, layout, err)
    raise error from None
