"""Inputs that lie or surprise: IDX headers, complex pixels, odd image sources.

Each test pins a failure seen before: a small gzip IDX file whose header
claims 2**31 images filled gigabytes; complex images lost their imaginary
part in silence; a folder nested 1,500 deep, a file name that is not UTF-8,
image bytes, a file descriptor and ``None`` gave tracebacks or messages that
named no file.
"""

import gzip
import io
import os
import re
import struct
import threading
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from sk_mnist import PixelScaler
from sk_mnist.cli import main
from sk_mnist.datasets import _readers, load_idx
from sk_mnist.images import DigitNormalizer, load_images, read_image

MiB = 1 << 20
CLAIM = 2**31  # images the lying header promises


def one_line(err):
    message = str(err.value)
    assert "\n" not in message, message
    return message


def png_bytes(sample, i=0):
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(sample[0][0][i]).reshape(28, 28)).save(buffer, "PNG")
    return buffer.getvalue()


def idx_gz(path, count, payload):
    """An IDX3 gzip file whose header says ``count`` images; ``payload`` follows."""
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(struct.pack(">4I", 0x803, count, 28, 28))
        for start in range(0, len(payload), 16 * MiB):
            f.write(payload[start : start + 16 * MiB])
    return path


# --- IDX: the header's claim is never what memory follows -----------------------


def test_idx_header_claiming_2_31_images_is_refused_in_little_memory(tmp_path):
    # 128 MiB of zeros (about 0.5 MB compressed) behind a header claiming
    # 2**31 images: the data was read whole, and 2 MB took 2.1 GB.
    held = 128 * MiB
    path = idx_gz(tmp_path / "liar-idx3-ubyte.gz", CLAIM, bytes(held))
    assert path.stat().st_size < 2 * MiB
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as err:
            load_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * MiB, f"peak {peak / MiB:.0f} MiB"
    assert one_line(err) == (
        f"{path}: truncated: header promises {CLAIM} x 28 x 28 = {CLAIM * 784} "
        f"bytes of data, found {held} (data for {held // 784:,} of the "
        f"{CLAIM:,} images)"
    )


def test_large_gzip_idx_is_counted_then_read_whole(sample, tmp_path, monkeypatch):
    # Past _KEEP_BYTES the data is counted first, then read again into place.
    monkeypatch.setattr(_readers, "_KEEP_BYTES", 1000)
    (X, _), _ = sample
    path = idx_gz(tmp_path / "images-idx3-ubyte.gz", 5, X[:5].tobytes())
    got, y = load_idx(path)
    assert y is None and got.flags.writeable
    np.testing.assert_array_equal(got, X[:5])
    short = idx_gz(tmp_path / "short-idx3-ubyte.gz", 5, X[:4].tobytes())
    with pytest.raises(ValueError) as err:
        load_idx(short)
    assert "found 3136 (data for 4 of the 5 images)" in one_line(err)
    extra = idx_gz(tmp_path / "extra-idx3-ubyte.gz", 5, X[:6].tobytes())
    with pytest.raises(ValueError, match=re.escape(f"{extra}: extra bytes at the end")):
        load_idx(extra)


def test_idx_stream_claiming_more_than_a_stream_may_hold_is_refused(tmp_path):
    # A FIFO is read once, into memory: its header's claim is checked first.
    fifo = tmp_path / "images-idx3-ubyte"
    os.mkfifo(fifo)

    def write():
        try:
            with open(fifo, "wb") as f:
                f.write(struct.pack(">4I", 0x803, CLAIM, 28, 28) + bytes(MiB))
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    with pytest.raises(ValueError) as err:
        load_idx(fifo)
    writer.join(timeout=30)
    assert one_line(err) == (
        f"{fifo}: a stream (not a regular file) whose header promises "
        f"{CLAIM * 784:,} bytes of data, more than 536,870,912; save it to a file "
        "and read that"
    )


# --- complex pixels -------------------------------------------------------------


@pytest.mark.parametrize("shape", ["list", "3-D", "rows"])
def test_digit_normalizer_refuses_complex_images(sample, shape):
    (X, _), _ = sample
    rows = X[:2].astype(np.complex128) + 1j
    X_in = {"list": list(rows.reshape(2, 28, 28)), "3-D": rows.reshape(2, 28, 28)}
    X_in = X_in.get(shape, rows)
    where = "X" if shape == "rows" else "image 0"
    with pytest.raises(ValueError) as err:
        DigitNormalizer().fit_transform(X_in)
    assert one_line(err) == (
        f"Complex data not supported: {where} has dtype complex128; pixel values "
        "must be real grey levels 0-255"
    )
    # PixelScaler (sklearn's check_array) refuses it in the same words.
    with pytest.raises(ValueError, match="^Complex data not supported"):
        PixelScaler().fit(rows)


# --- folders nested too deep ----------------------------------------------------


def nested(root, depth):
    """``root`` holding ``d/`` folders ``depth`` deep, an image at the bottom."""
    root.mkdir(parents=True)
    folder = str(root)
    for _ in range(depth):
        folder += "/d"
        os.mkdir(folder)  # os.makedirs recurses, and fails 1,000 deep
    Image.new("L", (28, 28), 255).save(folder + "/deep.png")
    return root


def remove_chain(root):
    """Remove ``root``, a chain of ``d/`` folders, walking it by file descriptor.

    Paths thousands of bytes long make each call slow, and pytest's own
    clean-up of old temporary folders (a recursive rmtree) fails on them.
    """
    folder, fd, depth = os.O_RDONLY | os.O_DIRECTORY, os.open(root, os.O_RDONLY), 0
    while True:
        try:
            below = os.open("d", folder, dir_fd=fd)
        except FileNotFoundError:
            break
        os.close(fd)
        fd, depth = below, depth + 1
    for name in os.listdir(fd):
        os.unlink(name, dir_fd=fd)
    for _ in range(depth):
        above = os.open("..", folder, dir_fd=fd)
        os.close(fd)
        fd = above
        os.rmdir("d", dir_fd=fd)
    os.close(fd)
    os.rmdir(root)


@pytest.fixture
def deep_root(tmp_path):
    """A folder of folders 1,500 deep, an image at the bottom."""
    root = tmp_path / "images"
    try:
        yield nested(root, 1500)
    finally:
        remove_chain(root)


def test_a_folder_nested_1500_deep_is_refused_by_name(deep_root, tmp_path, capsys):
    root = deep_root
    # "d" is read as a label folder: 33 more levels under it are too many.
    deepest = os.path.join(root, "d", *["d"] * 33)
    with pytest.raises(ValueError) as err:
        load_images(root)
    assert one_line(err) == (
        f"{deepest}: folders nested more than 32 deep in {root / 'd'}; image "
        "folders are read 32 levels down at most"
    )
    # On the command line: exit 2 and that line, without a traceback.
    args = ["predict", "--model", str(tmp_path / "model"), "--data", str(root)]
    assert main([*args, "--output", str(tmp_path / "p.csv")]) == 2
    err_lines = capsys.readouterr().err.strip().splitlines()
    assert err_lines == [f"error: {one_line(err)}"]


def test_folders_32_deep_are_read_in_walk_order(tmp_path):
    # The walk without recursion keeps os.walk's order: a folder's files,
    # then each subfolder's, sorted; 32 levels under the label folder is fine.
    label = nested(tmp_path / "images" / "7", 32)
    Image.new("L", (28, 28), 255).save(label / "top.png")
    (label / "a").mkdir()
    Image.new("L", (28, 28), 255).save(label / "a" / "x.png")
    found = load_images(tmp_path / "images")
    assert found.filenames == [
        str(label / "top.png"),
        str(label / "a" / "x.png"),
        os.path.join(label, *["d"] * 32, "deep.png"),
    ]
    assert found.target.tolist() == [7, 7, 7]


# --- file names that are not UTF-8 ------------------------------------------------


def test_a_non_utf8_file_name_reads_and_is_named_printably(sample, tmp_path):
    folder = os.fsencode(tmp_path / "scans")
    os.mkdir(folder)
    with open(folder + b"/\xff.png", "wb") as f:
        f.write(png_bytes(sample))
    found = load_images(folder)  # a bytes folder name, as os.fsencode gives
    assert found.filenames == [os.fsdecode(folder + b"/\xff.png")]
    np.testing.assert_array_equal(read_image(found.filenames[0]), found.images[0])
    with open(folder + b"/\xfe.png", "wb") as f:
        f.write(b"not a PNG")
    with pytest.raises(ValueError) as err:
        load_images(folder)
    message = one_line(err)
    message.encode("utf-8")  # print() can write it: no lone surrogates
    assert message.startswith(f"{tmp_path / 'scans'}/\\xfe.png: not an image file")


# --- what read_image and load_images take -----------------------------------------


def test_read_image_takes_the_files_bytes(sample):
    data = png_bytes(sample, 3)
    expected = np.asarray(sample[0][0][3], np.float32).reshape(28, 28)
    for source in (data, bytearray(data), memoryview(data), io.BytesIO(data)):
        np.testing.assert_array_equal(read_image(source), expected)
    found = load_images([data, io.BytesIO(data)])
    assert found.filenames == ["<bytes>", "<BytesIO>"]
    with pytest.raises(ValueError) as err:
        load_images([data, b"GIF89a\0 cut short"])
    assert one_line(err).startswith("source[1] <bytes>: ")


def test_a_file_descriptor_or_none_is_refused_by_position(sample, tmp_path):
    path = tmp_path / "seven.png"
    path.write_bytes(png_bytes(sample))
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(TypeError) as err:
            read_image(fd)
    finally:
        os.close(fd)
    assert one_line(err) == (
        "source: expected an image file name (str, bytes or path-like), the file's "
        "content (bytes) or a binary file object, got int (for a file descriptor, "
        "pass open(fd, 'rb'))"
    )
    with pytest.raises(TypeError) as err:
        load_images([path, None])
    assert one_line(err).startswith("source[1]: expected an image file name")
    assert one_line(err).endswith("got NoneType")
    with open(path) as text, pytest.raises(TypeError) as err:
        read_image(text)
    assert (
        one_line(err) == f"source: {path} is open in text mode; open it with mode 'rb'"
    )
