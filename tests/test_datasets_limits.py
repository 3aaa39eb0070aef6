"""The loaders on hostile and unusual inputs: bounded memory, streams, encodings,
path types.

Memory is checked with tracemalloc (what Python and NumPy allocate), on
inputs scaled down from the reported cases; the limits are module constants
that some tests lower.
"""

import gzip
import os
import re
import struct
import subprocess
import sys
import threading
import tracemalloc

import numpy as np
import pytest

from sk_mnist.datasets import _input, load_idx, load_mnist_csv, save_mnist_csv

PIXEL_NAMES = [f"{r}x{c}" for r in range(1, 29) for c in range(1, 29)]
HEADER = ",".join(["label", *PIXEL_NAMES]) + "\n"
MiB = 1 << 20


def make_data(n=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n, 784), dtype=np.uint8)
    y = rng.integers(0, 10, size=n).astype(np.int64)
    return X, y


def csv_text(X, y):
    rows = (
        ",".join(map(str, [label, *row])) + "\n"
        for label, row in zip(y, X, strict=True)
    )
    return HEADER + "".join(rows)


def check_arrays(result, X, y):
    X_found, y_found = result
    assert X_found.dtype == np.uint8 and X_found.flags.c_contiguous
    np.testing.assert_array_equal(X_found, X)
    np.testing.assert_array_equal(y_found, y)


def refused(call, *parts, error=ValueError):
    """``call()`` fails with a one-line message holding ``parts`` in order;
    return the message and the peak memory traced while it ran, in bytes."""
    tracemalloc.start()
    try:
        with pytest.raises(error) as info:
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert "\n" not in message
    assert re.search(".*".join(map(re.escape, parts)), message), message
    assert info.value.__context__ is None or info.value.__suppress_context__
    return message, peak


# --- lines longer than any row --------------------------------------------------


def test_one_line_file_is_refused_within_the_line_limit(tmp_path):
    # A 100 MB one-line CSV took 4.4 GB; scaled to 16 MB.
    path = tmp_path / "one-line.csv"
    path.write_bytes(b"0," * (8 * MiB))
    _, peak = refused(
        lambda: load_mnist_csv(path), str(path), "line 1: longer than 65,536 bytes"
    )
    assert peak < 2 * MiB


def test_long_line_after_good_rows_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(_input, "MAX_LINE_BYTES", 10_000)
    X, y = make_data()
    path = tmp_path / "long.csv"
    path.write_text(csv_text(X, y) + "1," * 300_000 + "\n" + csv_text(X, y)[-20:])
    refused(lambda: load_mnist_csv(path), f"{path}, line 6: longer than 10,000 bytes")


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_long_line_is_found_however_lines_end(tmp_path, monkeypatch, newline):
    monkeypatch.setattr(_input, "MAX_LINE_BYTES", 10_000)
    X, y = make_data(n=30)
    lines = csv_text(X, y).splitlines()
    lines.insert(20, "5" + ",0" * 20_000)
    path = tmp_path / "long.csv"
    path.write_bytes(newline.join(lines).encode())
    refused(lambda: load_mnist_csv(path), f"{path}, line 21: longer than 10,000")


def test_rows_just_under_the_line_limit_are_read(tmp_path, monkeypatch):
    # Padding spaces are valid; the limit counts a line without its line end.
    X, y = make_data()
    text = csv_text(X, y).replace(",", " ,")
    longest = max(len(line) for line in text.splitlines())
    monkeypatch.setattr(_input, "MAX_LINE_BYTES", longest)
    path = tmp_path / "padded.csv"
    path.write_text(text, newline="\r\n")
    check_arrays(load_mnist_csv(path), X, y)


def test_sparse_file_is_refused_without_reading_it(tmp_path):
    # A 2 GB sparse file took 4.3 GB; scaled to 64 MB (no disk used).
    path = tmp_path / "sparse.csv"
    with open(path, "wb") as f:
        f.truncate(64 * MiB)
    _, peak = refused(
        lambda: load_mnist_csv(path), str(path), "binary data (NUL bytes), not CSV"
    )
    assert peak < 2 * MiB


def test_dev_zero_is_refused():
    # --data /dev/zero grew to 17 GB in 20 s; run apart, with memory capped.
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))\n"
        "from sk_mnist.datasets import load_mnist_csv\n"
        "try:\n"
        "    load_mnist_csv('/dev/zero')\n"
        "except ValueError as err:\n"
        "    print(err)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.stdout == "/dev/zero: binary data (NUL bytes), not CSV text\n"


# --- gzip bombs -----------------------------------------------------------------


def test_csv_gzip_bomb_is_refused_at_its_long_line(tmp_path):
    # A 2 MB .csv.gz bomb took 4.3 GB: behind a valid header, 64 MB of digits
    # without a line end (64 KB compressed).
    path = tmp_path / "bomb.csv.gz"
    with gzip.open(path, "wb") as f:
        f.write(HEADER.encode())
        for _ in range(64):
            f.write(b"0" * MiB)
    assert path.stat().st_size < 200_000
    _, peak = refused(
        lambda: load_mnist_csv(path), f"{path}, line 2: longer than 65,536 bytes"
    )
    assert peak < 4 * MiB


def test_idx_gzip_bomb_reads_no_more_than_its_header_promises(tmp_path):
    # A header promising two images, then 64 MB of zeros (64 KB compressed).
    path = tmp_path / "bomb-idx3-ubyte.gz"
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">4I", 0x803, 2, 28, 28))
        for _ in range(64):
            f.write(bytes(MiB))
    _, peak = refused(
        lambda: load_idx(path),
        f"{path}: extra bytes at the end: header promises 2 x 28 x 28 = 1568 bytes",
        "found more",
    )
    assert peak < 4 * MiB


def test_idx_header_promising_more_than_the_file_holds(tmp_path):
    path = tmp_path / "short-idx3-ubyte"
    path.write_bytes(struct.pack(">4I", 0x803, 4_000_000_000, 28, 28) + bytes(784))
    _, peak = refused(
        lambda: load_idx(path), "truncated: header promises 4000000000 x 28 x 28"
    )
    assert peak < 4 * MiB


# --- streams: pipes, FIFOs, devices ---------------------------------------------


def run_with_process_substitution(path, code):
    """Run ``code`` in Python with ``sys.argv[1]`` = bash's ``<(cat path)``."""
    script = 'exec "$0" -c "$1" <(cat "$2")'
    return subprocess.run(
        ["bash", "-c", script, sys.executable, code, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("name", ["good.csv", "good.csv.gz"])
def test_process_substitution_is_read_once(tmp_path, name):
    # --data <(cat good.csv) failed with 'found 19 columns' (the loader opened
    # the FIFO several times) and the gzip form hung.
    X, y = make_data(n=50)
    path = save_mnist_csv(tmp_path / name, X, y)
    code = (
        "import sys\n"
        "from sk_mnist.datasets import load_mnist_csv\n"
        "X, y = load_mnist_csv(sys.argv[1])\n"
        "print(X.shape, X.sum(), y.tolist())\n"
    )
    result = run_with_process_substitution(path, code)
    assert result.stdout.split("\n")[0] == f"(50, 784) {X.sum()} {y.tolist()}"


def test_process_substitution_idx(tmp_path):
    X, _ = make_data(n=3)
    path = tmp_path / "images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(struct.pack(">4I", 0x803, 3, 28, 28) + X.tobytes()))
    code = (
        "import sys\n"
        "from sk_mnist.datasets import load_idx\n"
        "print(load_idx(sys.argv[1])[0].sum())\n"
    )
    assert run_with_process_substitution(path, code).stdout == f"{X.sum()}\n"


@pytest.fixture
def fifo(tmp_path):
    """make(data): a FIFO that a thread fills with ``data`` once a reader opens it.

    A reader that opens it again would wait for a writer forever: after a
    minute a watchdog opens it for writing, empty, so that such a test fails
    instead of hanging.
    """
    path, done = tmp_path / "fifo", threading.Event()

    def feed(data):
        try:
            with open(path, "wb") as f:
                f.write(data)
        except BrokenPipeError:
            pass  # the reader stopped early, as it should

    def watchdog():
        if done.wait(60):
            return
        while not done.wait(1):
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass  # no reader waiting

    def make(data):
        os.mkfifo(path)
        threading.Thread(target=feed, args=(data,), daemon=True).start()
        threading.Thread(target=watchdog, daemon=True).start()
        return path

    yield make
    done.set()


@pytest.mark.slow
@pytest.mark.parametrize("compress", [False, True])
def test_fifo_bad_cell_is_found(fifo, monkeypatch, compress):
    # The diagnosis reads the stream's content again, from memory.
    monkeypatch.setattr(_input, "MAX_STREAM_BYTES", 1 * MiB)
    X, y = make_data(n=30)
    lines = csv_text(X, y).splitlines(keepends=True)
    lines[21] = "12" + lines[21][1:]  # the label of line 22
    data = "".join(lines).encode()
    path = fifo(gzip.compress(data) if compress else data)
    refused(lambda: load_mnist_csv(path), f"{path}, line 22, column 1 ('label')")


def test_fifo_longer_than_the_stream_limit_is_refused(fifo, monkeypatch):
    monkeypatch.setattr(_input, "MAX_STREAM_BYTES", 100_000)
    X, y = make_data(n=60)
    path = fifo(csv_text(X, y).encode())
    refused(
        lambda: load_mnist_csv(path),
        f"{path}: a stream (not a regular file) of more than 100,000 bytes",
        "save it to a file",
    )


def test_fifo_without_line_ends_is_refused_within_the_line_limit(fifo):
    path = fifo(b"7," * (4 * MiB))
    _, peak = refused(lambda: load_mnist_csv(path), "line 1: longer than 65,536")
    assert peak < 4 * MiB


# --- encodings and file types ----------------------------------------------------


@pytest.mark.parametrize(
    "encoding, what",
    [
        ("utf-16", "UTF-16 text (byte-order mark FF FE)"),
        ("utf-16-be", "UTF-16 text (every other byte is NUL)"),
        ("utf-16-le", "UTF-16 text (every other byte is NUL)"),
        ("utf-32", "UTF-32 text (byte-order mark FF FE 00 00)"),
    ],
)
def test_utf16_file_is_named_as_such(tmp_path, encoding, what):
    # It gave a garbled 'non-numeric value' message with NUL characters in it.
    path = tmp_path / "excel.csv"
    path.write_text(csv_text(*make_data()), encoding=encoding)
    message, _ = refused(
        lambda: load_mnist_csv(path), f"{path}: {what}", "save it as UTF-8"
    )
    assert "\0" not in message


def test_idx_file_given_as_csv(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(struct.pack(">4I", 0x803, 1, 28, 28) + bytes(784)))
    refused(lambda: load_mnist_csv(path), f"{path}: an IDX image file", "load_idx")


# --- path types -----------------------------------------------------------------


def test_bytes_paths_are_accepted(tmp_path):
    # They failed with an internal "endswith first arg must be bytes" TypeError.
    X, y = make_data()
    target = os.fsencode(tmp_path / "digits.csv.gz")
    assert save_mnist_csv(target, X, y) is target
    check_arrays(load_mnist_csv(target), X, y)
    images = tmp_path / "images-idx3-ubyte"
    images.write_bytes(struct.pack(">4I", 0x803, 4, 28, 28) + X.tobytes())
    labels = tmp_path / "labels-idx1-ubyte"
    labels.write_bytes(struct.pack(">2I", 0x801, 4) + y.astype(np.uint8).tobytes())
    check_arrays(load_idx(os.fsencode(images), os.fsencode(labels)), X, y)


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda: load_mnist_csv(3), "path"),
        (lambda: load_mnist_csv(None), "path"),
        (lambda: load_idx(["a"]), "images"),
        (lambda: load_idx(__file__, labels=2.5), "labels"),
        (lambda: save_mnist_csv(7, np.zeros((1, 784))), "path"),
    ],
)
def test_other_path_types_name_the_argument(call, argument):
    refused(
        call,
        f"{argument}: expected a file name (str, bytes or os.PathLike)",
        error=TypeError,
    )
