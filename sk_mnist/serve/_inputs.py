"""Turn the bodies ``POST /predict`` accepts into rows of grey levels.

Each reader returns ``(X, extras)``: ``X`` an ``(n, n_features)`` array of
grey levels 0-255 and ``extras`` a list of ``n`` dicts (or None) merged into
the answer's predictions (the file name of an upload, the 784 grey levels an
image became). Bad input raises :class:`RequestError` with the HTTP status and
a one-line message naming the problem and where it is (row, column, file).
"""

import io
import json
import math
import os
import re
import tempfile
import zlib

import numpy as np
import pandas as pd

#: Media types of each kind of body (the part before any ``;`` parameter).
JSON_TYPES = frozenset({"application/json"})
CSV_TYPES = frozenset({"text/csv", "application/csv", "application/vnd.ms-excel"})
MULTIPART_TYPE = "multipart/form-data"
_CSV_SUFFIXES = (".csv", ".csv.gz")
_GZIP_MAGIC = b"\x1f\x8b"
# A Kaggle CSV row is at most 4 characters per value ("255,"); the header and
# line ends fit in the slack.
_CSV_BYTES_PER_ROW = 4 * 785 + 2
_CSV_SLACK = 64 * 1024
IMAGE_SIZE = 28 * 28
ACCEPTED = (
    'application/json {"instances": [[784 grey levels], ...]}, text/csv (Kaggle '
    "layout), "
    "image/png or image/jpeg, or multipart/form-data with image or CSV files"
)


class RequestError(ValueError):
    """A request the server refuses, with its HTTP status.

    Parameters
    ----------
    status_code : int
        400 (malformed or invalid input), 413 (too large or too many rows) or
        415 (unsupported content type).
    detail : str
        The one-line message sent as ``{"detail": ...}``.
    """

    def __init__(self, status_code, detail):
        detail = " ".join(str(detail).split())
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


def _check_rows(n_rows, max_rows, what):
    if n_rows == 0:
        raise RequestError(400, f"{what} holds no rows: send at least one")
    if n_rows > max_rows:
        raise RequestError(
            413, f"{what} holds {n_rows} rows; the limit is {max_rows} per request"
        )


def _check_width(n_columns, n_features, what):
    if n_columns != n_features:
        raise RequestError(
            400,
            f"{what} has {n_columns} values; the model takes {n_features} "
            "(one grey level 0-255 per pixel)",
        )


def _constant(name):
    # JSON has no NaN or Infinity; Python's json module reads them anyway.
    return float(name.replace("Infinity", "inf"))


def _value_problem(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"is {json.dumps(value)[:40]}, not a number"
    if math.isnan(value):
        return "is NaN"
    if not 0 <= value <= 255:
        return f"= {value:g} is outside 0-255"
    return None


def _find_bad_value(instances, n_features):
    """Scan row by row for the first row or value that is not a grey level."""
    for i, row in enumerate(instances):
        where = f"instances[{i}]"
        if not isinstance(row, list):
            raise RequestError(
                400, f"{where} is {type(row).__name__}, not a list of grey levels"
            )
        _check_width(len(row), n_features, where)
        for j, value in enumerate(row):
            problem = _value_problem(value)
            if problem:
                raise RequestError(400, f"{where}[{j}] {problem}")


def check_grey_levels(X, what):
    """Refuse NaN and values outside 0-255, naming the first one."""
    with np.errstate(invalid="ignore"):
        bad = ~((X >= 0) & (X <= 255))  # NaN fails both comparisons
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        value = X[i, j]
        problem = "is NaN" if value != value else f"= {value:g} is outside 0-255"
        raise RequestError(400, f"{what}[{i}][{j}] {problem}")


# The usual body, {"instances": [[numbers], ...]} and nothing else, is read by
# NumPy's C parser: 3 times faster than json.loads and np.array on 500 rows.
# Anything else, and anything it cannot read, goes through json.loads, which
# also names the problem.
_PLAIN_HEAD = re.compile(rb'\A\s*\{\s*"instances"\s*:\s*\[\s*\[')
_PLAIN_TAIL = re.compile(rb"\]\s*\]\s*\}\s*\Z")
_ROW_BREAK = re.compile(rb"\]\s*,\s*\[")
_NUMBER_BYTES = b"0123456789.,-eE []\t"
_PANDAS_FROM_BYTES = 64 * 1024


def _plain_rows(body, n_features, max_rows):
    """The rows of a plain ``{"instances": [[...], ...]}`` body, or None."""
    head, tail = _PLAIN_HEAD.match(body), _PLAIN_TAIL.search(body[-64:])
    if head is None or tail is None:
        return None
    inner = body[head.end() : len(body) - (len(body[-64:]) - tail.start())]
    if inner.translate(None, _NUMBER_BYTES):
        return None  # other characters: strings, true, NaN, newlines
    lines, n_breaks = _ROW_BREAK.subn(b"\n", inner)
    if b"[" in lines or b"]" in lines or not lines.translate(None, b" \t\n,"):
        return None  # nested lists, or no numbers at all
    n_rows = n_breaks + 1
    _check_rows(n_rows, max_rows, '"instances"')
    if any(row.count(b",") != n_features - 1 for row in lines.split(b"\n")):
        return None  # a row of another length: the full parser names it
    try:
        values = _read_numbers(lines)
    except ValueError:  # pandas' ParserError and EmptyDataError are ValueErrors
        return None
    if values.size != n_rows * n_features or np.isnan(values).any():
        return None  # an empty value (NaN) is not plain JSON: the full parser
    return values.reshape(n_rows, n_features)


def _read_numbers(lines):
    """The comma-separated numbers of `lines`, flat, as float64.

    Large bodies are read one value a line by pandas' C parser, 2x faster than
    ``np.loadtxt`` on 500 rows (29 against 62 ms); small ones by
    ``np.loadtxt``: in the server, under 8 clients of one row each, pandas
    took single-row JSON from 628 to 259 requests/s.
    """
    if len(lines) < _PANDAS_FROM_BYTES:
        return np.loadtxt(io.BytesIO(lines), delimiter=",", dtype=np.float64)
    return pd.read_csv(
        io.BytesIO(lines.replace(b",", b"\n")),
        header=None,
        dtype=np.float64,
        skip_blank_lines=False,
        engine="c",
    ).to_numpy()


def rows_from_json(body, n_features, max_rows):
    """Read ``{"instances": [[grey levels], ...]}`` (TensorFlow Serving, KServe).

    Parameters
    ----------
    body : bytes
        The JSON document (UTF-8, -16 or -32).
    n_features : int
        Values each row must have.
    max_rows : int
        Most rows accepted.

    Returns
    -------
    X : ndarray of shape (n, n_features)
    extras : None
    """
    X = _plain_rows(body, n_features, max_rows)
    if X is not None:
        check_grey_levels(X, "instances")
        return X, None
    try:
        doc = json.loads(body, parse_constant=_constant)
    except RecursionError:
        raise RequestError(400, "body is not valid JSON: nested too deeply") from None
    except ValueError as err:
        raise RequestError(400, f"body is not valid JSON: {err}") from None
    if not isinstance(doc, dict) or "instances" not in doc:
        raise RequestError(
            400, 'expected a JSON object {"instances": [[grey levels], ...]}'
        )
    instances = doc["instances"]
    if not isinstance(instances, list):
        raise RequestError(400, '"instances" must be a list of rows of grey levels')
    _check_rows(len(instances), max_rows, '"instances"')
    X = None
    # NumPy would read true/false as 1/0 and "12" as text: scan such bodies.
    if b"true" not in body and b"false" not in body:
        try:
            X = np.array(instances)
        except (ValueError, TypeError):
            X = None
    if X is None or X.dtype.kind not in "iuf" or X.shape != (len(X), n_features):
        _find_bad_value(instances, n_features)
        X = np.array(instances, dtype=np.float64)
    check_grey_levels(X, "instances")
    return X, None


def _gunzip(data, name, limit):
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as err:
        raise RequestError(400, f"{name}: corrupt gzip data ({err})") from None
    if len(out) > limit:
        raise RequestError(
            413, f"{name}: decompresses to over {limit} bytes, more than the row limit"
        )
    if not inflater.eof:
        raise RequestError(400, f"{name}: truncated gzip data")
    return out


def rows_from_csv(data, name, n_features, max_rows):
    """Read a CSV file in the Kaggle layout, with or without its label column.

    Parameters
    ----------
    data : bytes
        The file's content, plain or gzip-compressed.
    name : str
        What error messages call it (the upload's file name).
    n_features : int
        Values the model takes (a Kaggle CSV gives 784).
    max_rows : int
        Most rows accepted.

    Returns
    -------
    X : ndarray of uint8, shape (n, 784)
    extras : list of dict
        ``{"file": name}`` for each row.
    """
    from ..datasets import load_mnist_csv

    _check_width(IMAGE_SIZE, n_features, f"{name}: each CSV row")
    if not data:
        raise RequestError(400, f"{name}: empty file")
    if data[:2] == _GZIP_MAGIC:
        data = _gunzip(data, name, max_rows * _CSV_BYTES_PER_ROW + _CSV_SLACK)
    n_lines = data.count(b"\n")
    if n_lines > max_rows + 8:  # refused before parsing; blank lines aside
        raise RequestError(
            413,
            f"{name} holds {n_lines} lines; the limit is {max_rows} rows per request",
        )
    with tempfile.TemporaryDirectory(prefix="sk-mnist-serve-") as tmp:
        path = os.path.join(tmp, "upload.csv")
        with open(path, "wb") as f:
            f.write(data)
        try:
            X, _ = load_mnist_csv(path)
        except ValueError as err:
            raise RequestError(400, str(err).replace(path, name)) from None
    _check_rows(len(X), max_rows, name)
    return X, [{"file": name}] * len(X)


def rows_from_images(files, normalizer, n_features):
    """Read image files and normalise each MNIST-style.

    Parameters
    ----------
    files : list of (str, bytes)
        File names and contents.
    normalizer : DigitNormalizer
        Turns each grey image into 784 grey levels; ``on_empty="zeros"``.
    n_features : int
        Values the model takes (an image gives 784).

    Returns
    -------
    X : ndarray of uint8, shape (n, 784)
    extras : list of dict
        ``{"file": name, "image": [784 grey levels]}`` per image: what the
        model received.
    """
    from ..images import read_image

    _check_width(IMAGE_SIZE, n_features, "a normalised image")
    rows = []
    for name, data in files:
        if not data:
            raise RequestError(400, f"{name}: empty file, not an image")
        source = io.BytesIO(data)
        source.name = name
        try:
            row = normalizer.transform([read_image(source)])[0]
        except ValueError as err:
            message = str(err)
            if name not in message:
                message = f"{name}: {message}"
            raise RequestError(400, message) from None
        if not row.any():  # the normaliser gives zeros for an image without ink
            raise RequestError(
                400, f"{name}: no digit, the image is blank (one colour)"
            )
        rows.append(row)
    X = np.asarray(rows, dtype=np.uint8).reshape(len(rows), IMAGE_SIZE)
    extras = [
        {"file": name, "image": row.tolist()}
        for (name, _), row in zip(files, X, strict=True)
    ]
    return X, extras


def is_csv_upload(filename, content_type):
    """Whether an uploaded file is a CSV file (by its name or media type)."""
    name = (filename or "").lower()
    return name.endswith(_CSV_SUFFIXES) or (content_type or "") in CSV_TYPES
