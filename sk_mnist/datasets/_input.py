"""Opening a data file, plain or gzip-compressed, a regular file or a stream,
within limits that keep a hostile or mistaken input from exhausting memory.

Private helpers of the readers; nothing here knows about CSV or IDX beyond
what a line of text is.  The limits are module constants, read when used, so
that tests can lower them:

* ``MAX_LINE_BYTES``: no line of a CSV file may be longer.  A valid MNIST row
  (785 values of at most three digits) is under 3.2 KB; the limit leaves room
  for spaces, decimal points, quotes and an index column, and refuses a
  one-line 100 MB file, a sparse file or ``/dev/zero`` after reading 64 KiB.
* ``MAX_STREAM_BYTES``: how much of a stream (a pipe, a FIFO such as bash's
  ``<(...)``, a device: anything but a regular file), decompressed, is read
  into memory.  A stream can be read only once, so it is kept for the
  several passes a CSV file needs; the full MNIST training set is 110 MB.
"""

import contextlib
import gzip
import io
import os
import stat
import zlib

import numpy as np

__all__ = [
    "GZIP_ERRORS",
    "MAX_LINE_BYTES",
    "MAX_STREAM_BYTES",
    "LineGuard",
    "LineTooLong",
    "Source",
    "check_lines",
    "gzip_errors",
    "file_name",
    "line_too_long",
]

MAX_LINE_BYTES = 64 * 1024
MAX_STREAM_BYTES = 512 * 1024 * 1024
_CHUNK = 1 << 20
# check_lines reads this much at a time: pandas' own read size.
_SCAN_CHUNK = 256 * 1024
_HEAD_BYTES = 4096
_GZIP_MAGIC = b"\x1f\x8b"
# What gzip/zlib raise for a cut or damaged stream (BadGzipFile is an OSError).
GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)
# First bytes that say a file is not UTF-8 text, and what it is instead.
_NOT_TEXT = (
    (b"\x00\x00\x08\x03", "an IDX image file, not CSV text; read it with load_idx"),
    (b"\x00\x00\x08\x01", "an IDX label file, not CSV text; read it with load_idx"),
    (b"\xff\xfe\x00\x00", "UTF-32 text (byte-order mark FF FE 00 00)"),
    (b"\x00\x00\xfe\xff", "UTF-32 text (byte-order mark 00 00 FE FF)"),
    (b"\xff\xfe", "UTF-16 text (byte-order mark FF FE)"),
    (b"\xfe\xff", "UTF-16 text (byte-order mark FE FF)"),
)
_SAVE_AS_UTF8 = "not UTF-8 CSV text; save it as UTF-8"


@contextlib.contextmanager
def gzip_errors(name):
    """Report a corrupt or truncated gzip stream as a ValueError naming ``name``."""
    try:
        yield
    except GZIP_ERRORS as err:
        raise ValueError(f"{name}: corrupt or truncated gzip data ({err})") from None


class LineTooLong(ValueError):
    """A line of text longer than ``MAX_LINE_BYTES``; the message says where."""


def line_too_long(name, line):
    """The LineTooLong error for line ``line`` of ``name``."""
    return LineTooLong(
        f"{name}, line {line}: longer than {MAX_LINE_BYTES:,} bytes, far more "
        "than an MNIST row (785 values) can be; is it a CSV file?"
    )


class LineGuard(io.RawIOBase):
    """Read through ``raw``, raising LineTooLong once a line passes the limit.

    It finds the line ends ('\\n', '\\r\\n' or '\\r') of each chunk read
    with NumPy, in one vectorised pass, and checks the length of every line,
    across reads, so a reader that asks for bounded chunks (pandas reads
    256 KiB at a time) never holds much more than one limit's worth of one
    line, and no too long line reaches the reader.
    """

    def __init__(self, raw, name, first_line=1):
        super().__init__()
        self.raw, self.name = raw, name
        self.line = first_line  # the line now being read
        self.run = 0  # bytes since the last line end
        self.cr = False  # the last chunk ended with '\r'

    def readable(self):
        return True

    def read(self, size=-1):
        data = self.raw.read(size)
        self.account(data)
        return data

    def readinto(self, buffer):
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def account(self, data):
        """Count ``data`` as read; raise LineTooLong if a line ran too long."""
        if not data:
            return
        ends, pairs = _line_ends(data)
        if not len(ends):
            self.run, self.cr = self.run + len(data), False
            if self.run > MAX_LINE_BYTES:
                raise line_too_long(self.name, self.line)
            return
        # Lengths of the lines that end in `data`, the first one with the
        # bytes of earlier chunks; then of the line still open at its end.
        lengths = np.diff(ends, prepend=-1 - self.run) - 1
        self.run = len(data) - int(ends[-1]) - 1
        if self.run > MAX_LINE_BYTES or lengths.max() > MAX_LINE_BYTES:
            self._refuse(data, ends, lengths)
        self.line += len(ends) - pairs - (self.cr and data[0] == 10)
        self.cr = data[-1] == 13

    def _refuse(self, data, ends, lengths):
        """Raise LineTooLong for the first too long line of ``data``."""
        too_long = np.flatnonzero(lengths > MAX_LINE_BYTES)
        if not len(too_long):  # the line still open at the end of `data`
            start = int(ends[-1]) + 1
        elif too_long[0]:
            start = int(ends[too_long[0] - 1]) + 1
        else:  # the line began in an earlier chunk
            start = 0
        head = data[:start]
        count = head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n")
        count -= self.cr and head[:1] == b"\n"
        raise line_too_long(self.name, self.line + count)


def check_lines(source):
    """Read ``source`` (a Source) to its end; raise LineTooLong at a line too long.

    A pass over the raw bytes, a bounded chunk at a time, before a parser
    that is given the file's name rather than a guarded stream.
    """
    with source.open() as raw:
        guard = LineGuard(raw, source.name)
        while guard.read(_SCAN_CHUNK):
            pass


def _line_ends(data):
    """Positions of the line-end bytes in ``data`` and how many '\\r\\n' pairs.

    Both bytes of a '\\r\\n' pair are listed (the line between them is
    empty), so ``data`` ends ``len(positions) - pairs`` lines.
    """
    buf = np.frombuffer(data, np.uint8)
    if b"\r" not in data:  # the common case: one comparison, no pairs
        return np.flatnonzero(buf == 10), 0
    ends = np.flatnonzero((buf == 10) | (buf == 13))
    cr = ends[buf[ends] == 13]
    cr = cr[cr + 1 < len(buf)]
    return ends, int(np.count_nonzero(buf[cr + 1] == 10))


class _Joined(io.RawIOBase):
    """Read ``parts`` (bytes), then ``rest`` (a binary file), as one stream.

    Closing it closes ``rest`` and the files in ``owns``.
    """

    def __init__(self, parts, rest=None, owns=()):
        super().__init__()
        self.parts, self.rest, self.owns = parts, rest, owns
        self.i = self.pos = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        while self.i < len(self.parts):
            part = memoryview(self.parts[self.i])[self.pos :]
            n = min(len(buffer), len(part))
            if n:
                buffer[:n] = part[:n]
                self.pos += n
                return n
            self.i, self.pos = self.i + 1, 0
        if self.rest is None:
            return 0
        data = self.rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self):
        if not self.closed:
            for file in (self.rest, *self.owns):
                if file is not None:
                    file.close()
        super().close()


def file_name(path, argument):
    """``path`` as a str, bytes decoded as ``os.fsdecode`` does."""
    try:
        return os.fsdecode(path)
    except TypeError:
        raise TypeError(
            f"{argument}: expected a file name (str, bytes or os.PathLike), "
            f"got {type(path).__name__}"
        ) from None


def _check_text(head, name):
    """Refuse a file whose first bytes show it is not UTF-8 (or ASCII) text."""
    for magic, what in _NOT_TEXT:
        if head.startswith(magic):
            advice = "" if "IDX" in what else f", {_SAVE_AS_UTF8}"
            raise ValueError(f"{name}: {what}{advice}")
    if b"\0" not in head:
        return
    sample = head[:256]
    if (not any(sample[0::2])) != (not any(sample[1::2])):
        # Every other byte is NUL, as in ASCII text written as UTF-16.
        raise ValueError(
            f"{name}: UTF-16 text (every other byte is NUL), {_SAVE_AS_UTF8}"
        )
    raise ValueError(f"{name}: binary data (NUL bytes), not CSV text")


class Source:
    """A data file, by path, that a reader may open more than once.

    A regular file is opened again for each pass.  A stream is opened once:
    for a text reader (``text=True``) its content, decompressed and checked
    line by line, is kept in memory up to ``MAX_STREAM_BYTES``; a binary
    reader gets the stream itself, once.  ``open()`` returns a binary file of
    the decompressed content.

    Raises FileNotFoundError, TypeError (a path of another type, naming
    ``argument``), or ValueError (a folder; for text, a file that is not
    UTF-8 text, or a stream that is too long or has too long a line).
    """

    def __init__(self, path, argument="path", text=False):
        self.name = name = file_name(path, argument)
        if not os.path.exists(name):
            raise FileNotFoundError(2, "No such file or directory", name)
        if os.path.isdir(name):
            raise ValueError(f"{name}: is a directory, expected a file")
        self.regular = stat.S_ISREG(os.stat(name).st_mode)
        self._parts = self._stream = None
        if self.regular:
            with open(name, "rb") as f:
                self.gzip = name.endswith(".gz") or f.read(2) == _GZIP_MAGIC
        else:
            raw = open(name, "rb")  # noqa: SIM115 (closed with the stream)
            head = raw.read(2)
            self.gzip = head == _GZIP_MAGIC
            stream = io.BufferedReader(_Joined([head], raw))
            if self.gzip:
                unzip = gzip.GzipFile(name, "rb", fileobj=stream)
                stream = io.BufferedReader(_Joined([], unzip, owns=(stream,)))
            self._stream = stream
        if text:
            with gzip_errors(name):
                if self.regular:
                    with self.open() as f:
                        _check_text(f.read(_HEAD_BYTES), name)
                else:
                    self._parts = self._keep(self._stream)

    def _keep(self, stream):
        """Read a text stream to its end once; return its content in parts."""
        with stream:
            head = stream.read(_HEAD_BYTES)
            _check_text(head, self.name)
            guard = LineGuard(stream, self.name)
            guard.account(head)
            parts, size = [head], len(head)
            while part := guard.read(_CHUNK):
                size += len(part)
                if size > MAX_STREAM_BYTES:
                    raise ValueError(
                        f"{self.name}: a stream (not a regular file) of more than "
                        f"{MAX_STREAM_BYTES:,} bytes{' decompressed' * self.gzip};"
                        " save it to a file and read that"
                    )
                parts.append(part)
        return parts

    def open(self):
        """A binary file of the content, decompressed."""
        if self.regular:
            opener = gzip.open if self.gzip else open
            return opener(self.name, "rb")
        if self._parts is not None:
            return io.BufferedReader(_Joined(self._parts))
        stream, self._stream = self._stream, None
        if stream is None:
            raise ValueError(f"{self.name}: a stream can be read only once")
        return stream
