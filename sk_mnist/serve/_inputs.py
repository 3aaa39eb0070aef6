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

from .._messages import one_line

#: Media types of each kind of body (the part before any ``;`` parameter).
JSON_TYPES = frozenset({"application/json"})
CSV_TYPES = frozenset({"text/csv", "application/csv", "application/vnd.ms-excel"})
MULTIPART_TYPE = "multipart/form-data"
#: Answers of more rows than this are written in a worker thread, not inline.
INLINE_ROWS = 64
#: JSON bodies up to this size are read inline, not in a worker thread: a few
#: rows, read in well under a millisecond (json.loads is linear in the size).
INLINE_JSON_BYTES = 16 * 1024
_CSV_SUFFIXES = (".csv", ".csv.gz")
_GZIP_MAGIC = b"\x1f\x8b"
# A Kaggle CSV row is at most 4 characters per value ("255,") for the label and
# 784 pixels, a pandas index column of up to 7 digits, and CRLF; the header
# fits in the slack. A gzip body may decompress to this much per row allowed.
_CSV_BYTES_PER_ROW = 4 * 785 + 8 + 2
_CSV_SLACK = 64 * 1024
IMAGE_SIZE = 28 * 28
# A request's images may hold this many times the pixels one image may.
_TOTAL_PIXELS_FACTOR = 4
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
        detail = one_line(detail)
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


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs):
    """``object_pairs_hook``: a JSON object naming a key twice is refused
    (json.loads would keep the last silently)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(json.dumps(key)[:60])
            seen.add(key)
    return obj


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
# JSON's whitespace is these four bytes only (regex \s would take \f and \v).
_WS = rb"[ \t\n\r]*"
_PLAIN_HEAD = re.compile(
    rb"\A"
    + _WS
    + rb"\{"
    + _WS
    + rb'"instances"'
    + _WS
    + rb":"
    + _WS
    + rb"\["
    + _WS
    + rb"\["
)
_PLAIN_TAIL = re.compile(rb"\]" + _WS + rb"\]" + _WS + rb"\}" + _WS + rb"\Z")
_ROW_BREAK = re.compile(rb"\][ \t]*,[ \t]*\[")
_NUMBER_BYTES = b"0123456789.,-eE []\t"
# Below this size json.loads reads plain rows faster than pandas (docs/benchmarks.md).
_PLAIN_FROM_BYTES = 64 * 1024
# Byte classes of the rows' text, for the strict JSON number check.
_DIGIT, _ZERO, _POINT, _MINUS, _EXP, _SEP, _SPACE = range(7)
_CLASS = np.full(256, _SEP, dtype=np.uint8)
_CLASS[np.frombuffer(b"123456789", np.uint8)] = _DIGIT
_CLASS[ord("0")] = _ZERO
_CLASS[ord(".")] = _POINT
_CLASS[ord("-")] = _MINUS
_CLASS[np.frombuffer(b"eE", np.uint8)] = _EXP
_CLASS[np.frombuffer(b" \t", np.uint8)] = _SPACE


def _bad_pairs():
    """Which (byte class, next byte class) pairs no JSON number list has."""
    digits, seps = {_DIGIT, _ZERO}, {_SEP, _SPACE}
    bad = np.zeros((7, 7), dtype=bool)
    for after in set(range(7)) - digits:
        bad[_POINT, after] = bad[_MINUS, after] = True  # "5." "-" "-."
    for before in set(range(7)) - digits:
        bad[before, _POINT] = bad[before, _EXP] = True  # ".5" "-.5" "e5"
    for after in set(range(7)) - digits - {_MINUS}:
        bad[_EXP, after] = True  # "1e" "1e."
    for before in set(range(7)) - seps - {_EXP}:
        bad[before, _MINUS] = True  # "1-2" "--1"
    return bad.ravel()


_BAD_PAIRS = _bad_pairs()


def _strict_numbers(lines):
    """Whether every number in `lines` is written as JSON writes numbers.

    NumPy's and pandas' parsers read ``00012``, ``.5`` or ``5.``, which JSON
    refuses; these are found with a few vector operations over the bytes.
    """
    a = np.frombuffer(b"\n\n" + lines + b"\n", dtype=np.uint8)
    # Integer grey levels (the usual body) have no "." "-" "e": no pair to check.
    if any(byte in lines for byte in (b".", b"-", b"e", b"E")):
        cls = _CLASS[a]
        if _BAD_PAIRS[cls[:-1] * 7 + cls[1:]].any():
            return False
    # A "0" followed by a digit must not start a number (it may start an
    # exponent's digits: "1e-05" is JSON).
    zero_digit = (a[2:-1] == ord("0")) & (a[3:] - ord("0") < 10)
    if not zero_digit.any():
        return True
    at = np.flatnonzero(zero_digit) + 2
    before, before2 = _CLASS[a[at - 1]], _CLASS[a[at - 2]]
    starts = (before >= _SEP) | ((before == _MINUS) & (before2 != _EXP))
    return not starts.any()


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
    if not _strict_numbers(lines):
        return None  # 00012, .5, 5.: json.loads refuses them, naming where
    try:
        values = _read_numbers(lines)
    except ValueError:  # pandas' ParserError and EmptyDataError are ValueErrors
        return None
    if values.size != n_rows * n_features or np.isnan(values).any():
        return None  # an empty value (NaN) is not plain JSON: the full parser
    return values.reshape(n_rows, n_features)


def _read_numbers(lines):
    """The comma-separated numbers of `lines`, flat, as float64 (pandas' C
    parser, one value a line)."""
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
    X = None
    if len(body) >= _PLAIN_FROM_BYTES:
        X = _plain_rows(body, n_features, max_rows)
    if X is not None:
        check_grey_levels(X, "instances")
        return X, None
    try:
        doc = json.loads(body, parse_constant=_constant, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise RequestError(400, "body is not valid JSON: nested too deeply") from None
    except _DuplicateKey as err:
        raise RequestError(
            400, f"the JSON body names the key {err} twice in one object: send it once"
        ) from None
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
    """Decompress gzip `data` (all its members) into at most `limit` bytes."""
    out, rest = [], data
    size = 0
    while rest:
        inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
        try:
            chunk = inflater.decompress(rest, limit - size + 1)
        except zlib.error as err:
            raise RequestError(400, f"{name}: corrupt gzip data ({err})") from None
        size += len(chunk)
        if size > limit:
            raise RequestError(
                413,
                f"{name}: decompresses to over {limit} bytes, more than the row "
                "limit allows",
            )
        if not inflater.eof:
            raise RequestError(400, f"{name}: truncated gzip data")
        out.append(chunk)
        rest = inflater.unused_data
    data = b"".join(out)
    if data[:2] == _GZIP_MAGIC:
        raise RequestError(
            415, f"{name}: gzip data inside gzip data; send the CSV gzipped once"
        )
    return data


def _count_lines(data):
    # The CSV reader ends lines at \n, \r\n and a lone \r.
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


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
    n_lines = _count_lines(data)
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


def rows_from_images(files, normalizer, n_features, max_pixels=16_000_000):
    """Read image files and normalise each MNIST-style.

    Parameters
    ----------
    files : list of (str, bytes)
        File names and contents.
    normalizer : DigitNormalizer
        Turns each grey image into 784 grey levels; ``on_empty="zeros"``.
    n_features : int
        Values the model takes (an image gives 784).
    max_pixels : int, default=16_000_000
        Most pixels of one image (see :func:`~sk_mnist.serve.create_app`).

    Returns
    -------
    X : ndarray of uint8, shape (n, 784)
    extras : list of dict
        ``{"file": name, "image": [784 grey levels]}`` per image: what the
        model received.
    """
    from ..images import read_image

    _check_width(IMAGE_SIZE, n_features, "a normalised image")
    rows, pixels, total = [], 0, _TOTAL_PIXELS_FACTOR * max_pixels
    for name, data in files:
        if not data:
            raise RequestError(400, f"{name}: empty file, not an image")
        source = io.BytesIO(data)
        source.name = name
        try:
            image = read_image(source, max_pixels=max_pixels)
            pixels += image.size
            row = normalizer.transform([image])[0]
        except ValueError as err:
            message = str(err)
            if name not in message:
                message = f"{name}: {message}"
            status = 413 if f"max_pixels={max_pixels:,}" in message else 400
            raise RequestError(status, message) from None
        if pixels > total:  # each image is bounded: this bounds the request
            raise RequestError(
                413,
                f"{name}: the images hold over {total:,} pixels in all; that is "
                "the limit per request",
            )
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


def _decode(raw):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class _FormReader:
    """python-multipart callbacks that keep the files of a form in memory.

    Parsing stops at the first text field and at file number ``max_files + 1``.
    """

    def __init__(self, body, boundary, max_files):
        self.body, self.boundary, self.max_files = body, boundary, max_files
        self.files = []  # (field, filename, content type, bytearray)
        self._headers, self._name, self._value = {}, b"", b""

    def on_part_begin(self):
        self._headers = {}

    def on_header_field(self, data, start, end):
        self._name += data[start:end]

    def on_header_value(self, data, start, end):
        self._value += data[start:end]

    def on_header_end(self):
        self._headers[self._name.lower()] = self._value
        self._name, self._value = b"", b""

    def on_headers_finished(self):
        from python_multipart.multipart import parse_options_header

        disposition = self._headers.get(b"content-disposition", b"")
        _, options = parse_options_header(disposition)
        if b"name" not in options:
            raise RequestError(
                400, 'a form part has no Content-Disposition header with a "name"'
            )
        field = _decode(options[b"name"])
        if b"filename" not in options:
            raise RequestError(
                400,
                f"form field {field!r} is not a file: send digits as files "
                "(curl -F file=@digit.png)",
            )
        if len(self.files) == self.max_files:
            self._too_many()
        content_type = _decode(self._headers.get(b"content-type", b""))
        self.files.append(
            (field, _decode(options[b"filename"]), content_type, bytearray())
        )

    def _too_many(self):
        # Each part starts with a delimiter line: count them without parsing.
        n_parts = self.body.count(b"\r\n--" + self.boundary)
        n_parts += self.body.startswith(b"--" + self.boundary)
        n_parts -= 1  # the closing delimiter
        seen = [is_csv_upload(name, kind) for _, name, kind, _ in self.files]
        what = "images" if n_parts == len(seen) + 1 and not any(seen) else "files"
        raise RequestError(
            413,
            f"the form holds {max(n_parts, len(seen) + 1)} {what}; "
            f"the limit is {self.max_files}",
        )

    def on_part_data(self, data, start, end):
        self.files[-1][3].extend(data[start:end])

    def callbacks(self):
        names = ("part_begin", "header_field", "header_value", "header_end")
        names += ("headers_finished", "part_data")
        return {f"on_{name}": getattr(self, f"on_{name}") for name in names}


def read_form(body, content_type, max_files):
    """The files of a ``multipart/form-data`` body, parsed here (in a thread).

    Parameters
    ----------
    body : bytes
        The whole request body.
    content_type : str
        The request's ``Content-Type`` header, with its boundary.
    max_files : int
        Most files accepted; parsing stops at the one after (413).

    Returns
    -------
    files : list of (str, str, str, bytes)
        Field name, file name, content type and content of each file.
    """
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import MultipartParser, parse_options_header

    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise RequestError(
            400, "multipart/form-data without a boundary in its Content-Type header"
        )
    reader = _FormReader(body, boundary, max_files)
    try:
        parser = MultipartParser(boundary, reader.callbacks())
        parser.write(body)
        parser.finalize()
    except FormParserError as err:
        raise RequestError(400, f"malformed multipart/form-data body: {err}") from None
    return [(f, name, kind, bytes(data)) for f, name, kind, data in reader.files]
