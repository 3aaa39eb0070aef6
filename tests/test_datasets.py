import gzip
import os
import pathlib
import re
import struct
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sk_mnist.datasets import (
    _readers,
    load_idx,
    load_mnist_csv,
    load_sample,
    save_mnist_csv,
)

PIXEL_NAMES = [f"{r}x{c}" for r in range(1, 29) for c in range(1, 29)]
HEADER = ["label", *PIXEL_NAMES]


def make_data(n=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n, 784), dtype=np.uint8)
    y = rng.integers(0, 10, size=n).astype(np.int64)
    return X, y


def table(X, y=None, header=True):
    """The cells of a Kaggle-layout file, as lists of strings, line by line."""
    rows = [[str(v) for v in row] for row in X]
    if y is not None:
        rows = [[str(label), *row] for label, row in zip(y, rows, strict=True)]
    names = (["label"] if y is not None else []) + PIXEL_NAMES
    return ([names] if header else []) + rows


def write(path, rows, newline="\n", prefix=b"", compress=False):
    data = prefix + "".join(",".join(r) + newline for r in rows).encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def check_arrays(X, y, X_expected, y_expected):
    assert X.dtype == np.uint8 and X.shape == X_expected.shape
    assert X.flags.c_contiguous
    np.testing.assert_array_equal(X, X_expected)
    if y_expected is None:
        assert y is None
    else:
        assert y.dtype == np.int64 and y.shape == (len(X_expected),)
        np.testing.assert_array_equal(y, y_expected)


def assert_load_error(path, *parts, error=ValueError):
    """load_mnist_csv fails with a one-line message naming the file and `parts`."""
    pattern = re.escape(str(path)) + "".join(".*" + re.escape(p) for p in parts)
    with pytest.raises(error, match=pattern) as info:
        load_mnist_csv(path)
    assert "\n" not in str(info.value)
    assert info.value.__context__ is None or info.value.__suppress_context__
    return str(info.value)


def bad_csv(tmp_path, line, column, value):
    """A 5-line labelled file with the cell at (1-based) `line`, `column` replaced."""
    rows = table(*make_data())
    rows[line - 1][column - 1] = value
    return write(tmp_path / "bad.csv", rows)


def idx_bytes(magic, dims, payload):
    return struct.pack(f">{1 + len(dims)}I", magic, *dims) + bytes(payload)


# --- round trips and accepted layouts ---------------------------------------


@st.composite
def datasets_(draw):
    n = draw(st.integers(1, 20))
    X = draw(arrays(np.uint8, (n, 784)))
    y = draw(st.none() | arrays(np.int64, n, elements=st.integers(0, 9)))
    return X, y


@pytest.mark.slow
@pytest.mark.parametrize("name", ["digits.csv", "digits.csv.gz"])
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=datasets_())
def test_save_load_round_trip(tmp_path, name, data):
    X, y = data
    path = save_mnist_csv(tmp_path / name, X, y)
    assert path == tmp_path / name
    check_arrays(*load_mnist_csv(path), X, y)


def test_kaggle_header_layout(tmp_path):
    X, y = make_data()
    path = write(tmp_path / "mnist_train.csv", table(X, y))
    assert path.read_text().startswith("label,1x1,1x2,")
    check_arrays(*load_mnist_csv(path), X, y)


def test_save_writes_kaggle_header(tmp_path):
    X, y = make_data()
    save_mnist_csv(tmp_path / "a.csv", X, y)
    save_mnist_csv(tmp_path / "b.csv", X)
    assert (tmp_path / "a.csv").read_text().splitlines()[0] == ",".join(HEADER)
    assert (tmp_path / "b.csv").read_text().splitlines()[0] == ",".join(PIXEL_NAMES)
    assert (tmp_path / "a.csv").read_text().splitlines()[1:] == [
        ",".join(r) for r in table(X, y, header=False)
    ]


@pytest.mark.parametrize("index", [False, True])
@pytest.mark.parametrize("position", [784, 392, 1])
def test_label_column_anywhere_is_read_by_name(tmp_path, position, index):
    # e.g. 1x1,...,28x28,label: the header says where the label is (it was
    # refused; reading it label-first would take the pixel 1x1 as the label).
    X, y = make_data()
    rows = [
        [*row[1 : position + 1], row[0], *row[position + 1 :]] for row in table(X, y)
    ]
    if index:
        rows = [
            [name, *row]
            for name, row in zip(["", "0", "1", "2", "3"], rows, strict=True)
        ]
    path = write(tmp_path / "late.csv", rows)
    check_arrays(*load_mnist_csv(path), X, y)


@pytest.mark.parametrize("where", ["first", "last"])
def test_label_beside_pandas_column_numbers(tmp_path, where):
    # pd.DataFrame(X) numbers its columns 0-783; insert() or assign() adds the
    # label first or last. The header was taken for a data row and refused.
    X, y = make_data()
    frame = pd.DataFrame(X)
    if where == "first":
        frame.insert(0, "label", y)
    else:
        frame = frame.assign(label=y)
    path = tmp_path / "frame.csv"
    frame.to_csv(path, index=False)
    check_arrays(*load_mnist_csv(path), X, y)


@pytest.mark.parametrize(
    "names",
    [
        [f"pixel{i}" for i in range(784)],  # Kaggle's digit-recognizer
        [f"pixel{i}" for i in range(1, 785)],  # Kaggle's Fashion-MNIST
        PIXEL_NAMES,
    ],
    ids=["pixel0", "pixel1", "RxC"],
)
def test_pixel_columns_are_read_by_name_in_any_order(tmp_path, names):
    # Sorting the columns by name puts 'label' last and '10x1' before '1x1';
    # read by position, every image would come out scrambled.
    X, y = make_data()
    frame = pd.DataFrame(X, columns=names).assign(label=y)
    path = tmp_path / "sorted.csv"
    frame[sorted(frame.columns)].to_csv(path, index=False)
    header = path.read_text().splitlines()[0].split(",")
    assert header not in (["label", *names], [*names, "label"])
    check_arrays(*load_mnist_csv(path), X, y)


def test_other_label_name_is_read_where_it_is(tmp_path):
    # One column that is not a pixel name, beside the 784 that are: the label.
    X, y = make_data()
    path = write(tmp_path / "digit.csv", [[*PIXEL_NAMES, "digit"]])
    with path.open("a") as f:
        for row in table(X, y, header=False):
            f.write(",".join([*row[1:], row[0]]) + "\n")
    check_arrays(*load_mnist_csv(path), X, y)


def test_label_with_783_pixel_columns_is_refused(tmp_path):
    # label,1x1,...,28x27: it was read as 784 unlabelled pixels, so predict
    # answered on images shifted by one pixel, and train said that the file
    # 'needs a label column'.
    X, y = make_data()
    rows = [HEADER[:-1], *(row[:-1] for row in table(X, y, header=False))]
    path = write(tmp_path / "short.csv", rows)
    message = assert_load_error(
        path,
        "line 1: a label column and 783 pixel columns, expected 784",
        "no column for '28x28'",
    )
    assert "needs a label" not in message


def test_label_with_783_unknown_columns_is_refused(tmp_path):
    X, y = make_data()
    names = ["label", *(f"c{i}" for i in range(783))]
    rows = [names, *(row[:-1] for row in table(X, y, header=False))]
    path = write(tmp_path / "short.csv", rows)
    assert_load_error(path, "line 1: a 'label' column and 783 other columns")


@pytest.mark.parametrize(
    "change, message",
    [
        ({0: "Label", 5: "LABEL"}, "line 1: columns 1 and 6 are both named 'label'"),
        ({300: "1x1"}, "line 1, column 301: '1x1' names the same pixel as column 2"),
        ({300: "29x1"}, "line 1, column 301: '29x1' names no pixel of a 28 x 28"),
        ({300: "id"}, "line 1, column 301: 'id' is neither the label nor a pixel"),
    ],
)
def test_header_naming_errors(tmp_path, change, message):
    names = list(HEADER)
    for j, name in change.items():
        names[j] = name
    path = write(tmp_path / "names.csv", [names, *table(*make_data(), header=False)])
    assert_load_error(path, message)


def test_no_header_785_columns(tmp_path):
    X, y = make_data()
    path = write(tmp_path / "plain.csv", table(X, y, header=False))
    check_arrays(*load_mnist_csv(path), X, y)


@pytest.mark.parametrize("header", [True, False])
def test_784_columns_without_labels(tmp_path, header):
    X, _ = make_data()
    path = write(tmp_path / "test.csv", table(X, header=header))
    check_arrays(*load_mnist_csv(path), X, None)


@pytest.mark.parametrize("columns", ["kaggle", "numbered"])
def test_pandas_to_csv_with_index_column(tmp_path, columns):
    X, y = make_data()
    frame = pd.DataFrame(np.column_stack([y, X]))
    if columns == "kaggle":
        frame.columns = HEADER
    path = tmp_path / "frame.csv"
    frame.to_csv(path)
    assert path.read_text().startswith(",")
    check_arrays(*load_mnist_csv(path), X, y)


def test_pandas_to_csv_index_column_without_labels(tmp_path):
    X, _ = make_data()
    path = tmp_path / "frame.csv"
    pd.DataFrame(X, columns=PIXEL_NAMES, index=[f"img{i}" for i in range(4)]).to_csv(
        path
    )
    check_arrays(*load_mnist_csv(path), X, None)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_spreadsheet_line_ends(tmp_path, newline, compress):
    X, y = make_data()
    path = write(tmp_path / "excel.csv", table(X, y), newline, compress=compress)
    check_arrays(*load_mnist_csv(path), X, y)


@pytest.mark.parametrize("header", [True, False])
def test_utf8_byte_order_mark(tmp_path, header):
    X, y = make_data()
    rows = table(X, y, header=header)
    path = write(tmp_path / "bom.csv", rows, "\r\n", prefix=b"\xef\xbb\xbf")
    check_arrays(*load_mnist_csv(path), X, y)


def test_csv_gz(tmp_path):
    X, y = make_data()
    path = write(tmp_path / "train.csv.gz", table(X, y), compress=True)
    check_arrays(*load_mnist_csv(path), X, y)


def test_str_path_and_blank_lines(tmp_path):
    X, y = make_data()
    rows = table(X, y)
    rows.insert(3, [""])
    path = write(tmp_path / "blank.csv", [*rows, [""]])
    check_arrays(*load_mnist_csv(str(path)), X, y)


def test_row_major_orientation(tmp_path):
    X = np.zeros((2, 784), dtype=np.uint8)
    X[1, PIXEL_NAMES.index("5x3")] = 200
    path = write(tmp_path / "one.csv", table(X, [0, 1]))
    images = load_mnist_csv(path)[0].reshape(-1, 28, 28)
    assert images[1, 4, 2] == 200
    assert images.sum() == 200


def test_load_sample():
    (X_train, y_train), (X_test, y_test) = load_sample()
    for X, y, n in [(X_train, y_train, 4000), (X_test, y_test, 1000)]:
        assert X.shape == (n, 784) and X.dtype == np.uint8 and X.flags.c_contiguous
        assert y.shape == (n,) and y.dtype == np.int64
        np.testing.assert_array_equal(np.bincount(y, minlength=10), [n // 10] * 10)
        assert X.max() <= 255 and X.max() > 0
        assert (X.reshape(n, -1).max(axis=1) > 0).all()


# --- malformed CSV files: one test per case ----------------------------------


def test_missing_file(tmp_path):
    assert_load_error(tmp_path / "nope.csv", error=FileNotFoundError)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert_load_error(path, "empty")


def test_header_only(tmp_path):
    path = write(tmp_path / "head.csv", [HEADER])
    assert_load_error(path, "header only, no data rows")


def test_wrong_number_of_columns_in_first_line(tmp_path):
    path = write(tmp_path / "narrow.csv", [HEADER[:700]])
    assert_load_error(path, "line 1: expected 785 columns", "found 700")


def test_too_few_columns_in_middle_row(tmp_path):
    rows = table(*make_data())
    del rows[2][-2:]
    path = write(tmp_path / "short.csv", rows)
    assert_load_error(path, "line 3: expected 785 columns (label + 784", "found 783")


def test_too_many_columns_in_middle_row(tmp_path):
    rows = table(*make_data())
    rows[3].append("7")
    path = write(tmp_path / "long.csv", rows)
    assert_load_error(path, "line 4: expected 785 columns", "found 786")


def test_too_many_columns_in_every_row(tmp_path):
    rows = table(*make_data())
    for row in rows[1:]:
        row.append("0")
    path = write(tmp_path / "wide.csv", rows)
    assert_load_error(path, "line 2: expected 785 columns", "found 786")


def test_non_numeric_cell(tmp_path):
    path = bad_csv(tmp_path, line=3, column=134, value="abc")
    assert_load_error(path, "line 3, column 134 ('5x21')", "non-numeric", "'abc'")


def test_empty_cell(tmp_path):
    path = bad_csv(tmp_path, line=4, column=10, value="")
    assert_load_error(path, "line 4, column 10 ('1x9')", "empty cell")


def test_nan_cell(tmp_path):
    path = bad_csv(tmp_path, line=3, column=785, value="nan")
    assert_load_error(path, "line 3, column 785 ('28x28')", "NaN")


def test_non_integer_pixel(tmp_path):
    path = bad_csv(tmp_path, line=5, column=2, value="3.5")
    assert_load_error(path, "line 5, column 2 ('1x1')", "3.5 is not an integer")


def test_pixel_256(tmp_path):
    path = bad_csv(tmp_path, line=3, column=302, value="256")
    assert_load_error(path, "line 3, column 302 ('11x21')", "256 is outside 0-255")


def test_negative_pixel(tmp_path):
    path = bad_csv(tmp_path, line=4, column=100, value="-1")
    assert_load_error(path, "line 4, column 100 ('4x15')", "-1 is outside 0-255")


def test_label_10(tmp_path):
    path = bad_csv(tmp_path, line=3, column=1, value="10")
    assert_load_error(path, "line 3, column 1 ('label')", "label 10 is outside 0-9")


def test_label_minus_1(tmp_path):
    path = bad_csv(tmp_path, line=5, column=1, value="-1")
    assert_load_error(path, "line 5, column 1 ('label')", "label -1 is outside 0-9")


def test_wrong_columns_with_index_column(tmp_path):
    X, y = make_data()
    path = tmp_path / "frame.csv"
    pd.DataFrame(np.column_stack([y, X]), columns=HEADER).to_csv(path)
    text = path.read_text().replace("\n2,", "\n2,12,", 1)  # label of line 4 -> 12
    path.write_text(text)
    assert_load_error(path, "line 4: expected 786 columns (index + label", "787")


@pytest.mark.slow
def test_bad_cell_deep_in_large_file(tmp_path):
    # More lines than one diagnostic block, with a blank line that pandas skips,
    # to check the line count across blocks.
    rows = table(np.zeros((5000, 784), dtype=np.uint8), np.zeros(5000, np.int64))
    rows.insert(10, [""])
    rows[4500][300] = "999"
    path = write(tmp_path / "big.csv", rows)
    assert_load_error(path, "line 4501, column 301 ('11x20')", "999 is outside")


def test_truncated_gz(tmp_path):
    data = gzip.compress(",".join(HEADER).encode() + b"\n" + b"0," * 30000)
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    assert_load_error(path, "corrupt or truncated gzip")


def test_corrupt_gz_garbage(tmp_path):
    path = tmp_path / "garbage.csv.gz"
    path.write_bytes(b"this is not gzip data at all\n" * 10)
    assert_load_error(path, "corrupt or truncated gzip")


def test_corrupt_gz_bad_crc(tmp_path):
    X, y = make_data()
    data = bytearray(gzip.compress("\n".join(map(",".join, table(X, y))).encode()))
    data[-8] ^= 0xFF  # the CRC32 of the trailer
    path = tmp_path / "crc.csv.gz"
    path.write_bytes(bytes(data))
    assert_load_error(path, "corrupt or truncated gzip", "CRC")


# --- IDX files ----------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_load_idx(tmp_path, compress):
    X, y = make_data(n=3)
    suffix = ".gz" if compress else ""
    images = tmp_path / f"images-idx3-ubyte{suffix}"
    labels = tmp_path / f"labels-idx1-ubyte{suffix}"
    opener = gzip.open if compress else open
    with opener(images, "wb") as f:
        f.write(idx_bytes(0x803, (3, 28, 28), X.tobytes()))
    with opener(labels, "wb") as f:
        f.write(idx_bytes(0x801, (3,), y.astype(np.uint8).tobytes()))
    check_arrays(*load_idx(images, labels), X, y)
    check_arrays(*load_idx(str(images)), X, None)
    load_idx(images)[0][0, 0] = 1  # writable, like the CSV loader's arrays


def write_idx(
    tmp_path,
    labels=(3, 7),
    images_magic=0x803,
    labels_magic=0x801,
    dims=(2, 28, 28),
    payload=2 * 784,
):
    """A pair of raw IDX files: 2 blank 28x28 images and their labels."""
    images = tmp_path / "images-idx3-ubyte"
    images.write_bytes(idx_bytes(images_magic, dims, [0] * payload))
    label_file = tmp_path / "labels-idx1-ubyte"
    label_file.write_bytes(idx_bytes(labels_magic, (len(labels),), labels))
    return images, label_file


def test_idx_images_bad_magic(tmp_path):
    images, labels = write_idx(tmp_path, images_magic=0x801)
    with pytest.raises(
        ValueError,
        match=f"{re.escape(str(images))}: bad magic .*0x00000801.*0x00000803",
    ):
        load_idx(images, labels)


def test_idx_labels_bad_magic(tmp_path):
    images, labels = write_idx(tmp_path, labels_magic=0x12345678)
    with pytest.raises(
        ValueError, match=f"{re.escape(str(labels))}: bad magic .*0x12345678"
    ):
        load_idx(images, labels)


def test_idx_not_28x28(tmp_path):
    images, labels = write_idx(tmp_path, dims=(2, 32, 32), payload=2 * 32 * 32)
    with pytest.raises(ValueError, match=f"{re.escape(str(images))}: images are 32x32"):
        load_idx(images, labels)


def test_idx_truncated_payload(tmp_path):
    images, labels = write_idx(tmp_path, payload=2 * 784 - 100)
    with pytest.raises(
        ValueError, match=f"{re.escape(str(images))}: truncated.*1568.*1468"
    ):
        load_idx(images, labels)


def test_idx_extra_bytes(tmp_path):
    images, labels = write_idx(tmp_path, payload=2 * 784 + 5)
    with pytest.raises(ValueError, match=f"{re.escape(str(images))}: extra bytes"):
        load_idx(images, labels)


def test_idx_count_mismatch(tmp_path):
    images, labels = write_idx(tmp_path, labels=(1, 2, 3))
    with pytest.raises(ValueError, match="has 2 images but .*labels-idx1-ubyte has 3"):
        load_idx(images, labels)


def test_idx_labels_out_of_range(tmp_path):
    images, labels = write_idx(tmp_path, labels=(3, 12))
    with pytest.raises(
        ValueError, match=f"{re.escape(str(labels))}: label 12 at index 1"
    ):
        load_idx(images, labels)


def test_idx_truncated_gz(tmp_path):
    path = tmp_path / "images-idx3-ubyte.gz"
    data = gzip.compress(idx_bytes(0x803, (20, 28, 28), range(256)) + bytes(20 * 784))
    path.write_bytes(data[:-20])
    with pytest.raises(
        ValueError, match=f"{re.escape(str(path))}: corrupt or truncated gzip"
    ):
        load_idx(path)


# --- save_mnist_csv -------------------------------------------------------------


X_OK, Y_OK = make_data(n=3)


def with_value(array, index, value, dtype=None):
    array = array.astype(dtype or array.dtype)
    array[index] = value
    return array


@pytest.mark.parametrize(
    "X, y, message",
    [
        (X_OK[0], None, r"X: expected a 2-D array .* got shape \(784,\)"),
        (X_OK[:, :783], None, r"X: expected .*784 pixels, got shape \(3, 783\)"),
        (X_OK[:0], None, r"got shape \(0, 784\)"),
        (
            with_value(X_OK, (1, 300), 256, np.int64),
            None,
            r"X\[1, 300\] \('11x21'\): pixel value 256 is outside 0-255",
        ),
        (
            with_value(X_OK, (2, 0), -1, np.int64),
            None,
            r"X\[2, 0\] \('1x1'\): pixel value -1 is outside",
        ),
        (
            with_value(X_OK, (0, 5), np.nan, float),
            None,
            r"X\[0, 5\] \('1x6'\): missing value 'nan' \(NaN\)",
        ),
        (
            with_value(X_OK, (0, 5), 3.5, float),
            None,
            r"X\[0, 5\].*3\.5 is not an integer",
        ),
        (X_OK.astype(str), None, "X: expected integers 0-255, got dtype <U3"),
        (X_OK, Y_OK[:2], r"y: expected a 1-D array of 3 labels .* got shape \(2,\)"),
        (X_OK, Y_OK[:, None], r"y: expected .* got shape \(3, 1\)"),
        (X_OK, with_value(Y_OK, 2, 10), r"y\[2\]: label 10 is outside 0-9"),
        (X_OK, with_value(Y_OK, 1, -1), r"y\[1\]: label -1 is outside 0-9"),
    ],
)
def test_save_rejects_bad_input(tmp_path, X, y, message):
    with pytest.raises(ValueError, match=message):
        save_mnist_csv(tmp_path / "out.csv", X, y)
    assert list(tmp_path.iterdir()) == []


def test_save_accepts_integer_valued_floats_and_lists(tmp_path):
    path = save_mnist_csv(str(tmp_path / "f.csv"), X_OK.astype(float), Y_OK.tolist())
    assert isinstance(path, str)
    check_arrays(*load_mnist_csv(path), X_OK, Y_OK)


def test_save_is_atomic(tmp_path, monkeypatch):
    path = save_mnist_csv(tmp_path / "out.csv.gz", X_OK, Y_OK)
    before = path.read_bytes()

    def broken(rows):
        yield b"0,1,2\n"
        raise OSError("disk full")

    monkeypatch.setattr(_readers, "_csv_blocks", broken)
    with pytest.raises(OSError, match="disk full"):
        save_mnist_csv(path, X_OK[:1], Y_OK[:1])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv.gz"]


def test_save_uses_normal_permissions(tmp_path):
    path = save_mnist_csv(tmp_path / "out.csv", X_OK)
    umask = os.umask(0)
    os.umask(umask)
    assert pathlib.Path(path).stat().st_mode & 0o777 == 0o666 & ~umask


def test_module_does_not_import_keras():
    code = (
        "import sys, sk_mnist.datasets;"
        "print(sorted({'keras', 'tensorflow', 'jax'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_readers_never_import_the_fetchers():
    # The readers are below the fetchers: reading files loads no network code,
    # and the fetch module imports on its own (no import circle).
    code = (
        "import sys; from sk_mnist.datasets import load_sample; load_sample();"
        "print(sorted({'sk_mnist.datasets._fetch', 'sk_mnist.datasets._download',"
        " 'urllib.request'} & set(sys.modules)));"
        "import sk_mnist.datasets._fetch as f; print(f.fetch_dataset.__name__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["[]", "fetch_dataset"]
