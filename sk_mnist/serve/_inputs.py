"""Turn the bodies ``POST /predict`` accepts into rows of grey levels.

Each reader returns ``(X, extras)``: ``X`` an ``(n, n_features)`` array of
grey levels 0-255 and ``extras`` a list of ``n`` dicts (or None) merged into
the answer's predictions (the file name of an upload, the 784 grey levels an
image became). Bad input raises :class:`RequestError` with the HTTP status and
a one-line message naming the problem and where it is (row, column, file).
JSON bodies are read in :mod:`._json_rows`.
"""

import io
import os
import tempfile
import zlib

import numpy as np
from starlette.concurrency import run_in_threadpool

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


async def call_off_loop(inline, func, *args):
    """``func(*args)``, in a worker thread unless `inline` (work too small
    for the thread hop to pay: a few rows to read or write)."""
    if inline:
        return func(*args)
    return await run_in_threadpool(func, *args)


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


def check_grey_levels(X, what):
    """Refuse NaN and values outside 0-255, naming the first one."""
    with np.errstate(invalid="ignore"):
        bad = ~((X >= 0) & (X <= 255))  # NaN fails both comparisons
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        value = X[i, j]
        problem = "is NaN" if value != value else f"= {value:g} is outside 0-255"
        raise RequestError(400, f"{what}[{i}][{j}] {problem}")


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
