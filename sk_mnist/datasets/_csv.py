"""Reading MNIST CSV files: the layout a first line announces, a fast pandas
parse, and a line-by-line diagnosis when pandas refuses the file.

Private helpers of :mod:`sk_mnist.datasets`; :func:`read_mnist_csv` is what
``load_mnist_csv`` runs.
"""

import csv
import gzip
import io
import re
from itertools import islice
from typing import NamedTuple

import numpy as np
import pandas as pd

from ._input import existing, gzip_errors, is_gzip, open_lines

__all__ = ["PIXELS", "PIXEL_NAMES", "SIDE", "read_mnist_csv", "value_problem"]

SIDE = 28
PIXELS = SIDE * SIDE
PIXEL_NAMES = [f"{r}x{c}" for r in range(1, SIDE + 1) for c in range(1, SIDE + 1)]
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


class _Layout(NamedTuple):
    """What the first line of a CSV file says about the rest of it."""

    header: bool
    index: bool  # a leading index column, as pandas ``to_csv`` writes by default
    names: list  # column names after the index column

    @property
    def labelled(self):
        return len(self.names) == PIXELS + 1

    @property
    def width(self):
        return len(self.names) + self.index

    def expected(self):
        parts = ["index"] * self.index + ["label"] * self.labelled + ["784 pixels"]
        return f"expected {self.width} columns ({' + '.join(parts)})"

    def column(self, j):
        return f"column {j + self.index + 1} ({self.names[j]!r})"


def value_problem(text, label):
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
    with gzip_errors(path), open_lines(path) as lines:
        first = next(_csv_rows(lines, path), (1, None))[1]
        if first is None or not "".join(first).strip():
            if first is None or not any(map(str.strip, lines)):
                raise ValueError(f"{path}: file is empty")
            raise ValueError(f"{path}, line 1: blank, expected a header or data row")
    header = _is_header(first)
    index = header and not first[0].strip()
    found = len(first) - index
    if found not in (PIXELS, PIXELS + 1):
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
        names = ["label"] * (found - PIXELS) + PIXEL_NAMES
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
    if not is_gzip(path):
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
            problem = value_problem(cell, label=layout.labelled and j == 0)
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
    with gzip_errors(path), open_lines(path) as lines:
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


def read_mnist_csv(path):
    """``(X, y)`` from the MNIST CSV file ``path``; see ``load_mnist_csv``."""
    path = existing(path)
    layout = _sniff(path)
    with gzip_errors(path):
        try:
            return _read(path, layout)
        except _PARSE_ERRORS as err:
            raise _diagnose(path, layout, err) from None
