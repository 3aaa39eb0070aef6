"""Digit images: DigitNormalizer, read_image, load_images, the wild-digits set
and the before/after display, on real digits of the embedded sample."""

import importlib.util
import io
import pickle
import re
import struct
import warnings
import zlib
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from sk_mnist import make_mnist_pipeline
from sk_mnist.images import DigitNormalizer, load_images, read_image
from sk_mnist.plotting._normalized import DigitNormalizationDisplay

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wild_digits():
    spec = importlib.util.spec_from_file_location(
        "wild_digits", ROOT / "benchmarks" / "wild_digits.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def wild_folder(tmp_path_factory, wild_digits):
    folder = tmp_path_factory.mktemp("wild") / "digits"
    records = wild_digits.make_wild_digits(folder, seed=1, n_digits=300)
    return folder, records


@pytest.fixture(scope="module")
def tiny_model(sample):
    (X_train, y_train), _ = sample
    pipe = make_mnist_pipeline(
        hidden_layer_sizes=(32,), epochs=3, batch_size=128, random_state=0
    )
    return pipe.fit(X_train, y_train)


def _digit(sample, i=0):
    """Test digit ``i`` of the sample, 28 x 28 float, bright ink on black."""
    return sample[1][0][i].reshape(28, 28).astype(np.float32)


def _on_canvas(digit, shape=(120, 90), at=(10, 50), scale=3, dark_ink=True):
    """``digit`` enlarged ``scale`` times and drawn on a larger canvas."""
    big = np.asarray(
        Image.fromarray(digit).resize(
            (28 * scale, 28 * scale), Image.Resampling.BICUBIC
        ),
        dtype=np.float32,
    ).clip(0, 255)
    canvas = np.zeros(shape, dtype=np.float32)
    canvas[at[0] : at[0] + big.shape[0], at[1] : at[1] + big.shape[1]] = big[
        : shape[0] - at[0], : shape[1] - at[1]
    ]
    return 255 - canvas if dark_ink else canvas


def _center_of_mass(rows):
    images = np.asarray(rows, dtype=float).reshape(-1, 28, 28)
    r, c = np.indices((28, 28))
    mass = images.sum(axis=(1, 2))
    return np.stack(
        [(images * r).sum(axis=(1, 2)) / mass, (images * c).sum(axis=(1, 2)) / mass],
        axis=1,
    )


# ------------------------------------------------------------ DigitNormalizer
def test_every_input_form_gives_the_same_rows(sample):
    digits = [_digit(sample, i) for i in range(5)]
    stack = np.stack(digits)
    expected = DigitNormalizer().transform(digits)
    assert expected.shape == (5, 784) and expected.dtype == np.uint8
    rows = stack.reshape(5, 784)
    frame = pd.DataFrame(rows, columns=DigitNormalizer().get_feature_names_out())
    colour = [np.repeat(d[..., None], 3, axis=2) for d in digits]
    opaque = [
        np.dstack([c, np.full(d.shape, 255.0)])
        for c, d in zip(colour, digits, strict=True)
    ]
    for X in (
        stack,
        rows,
        rows.astype(np.uint8),
        frame,
        [d.tolist() for d in digits],
        tuple(digits),
        colour,
        opaque,
        np.stack(colour),
        stack[..., None],
    ):
        np.testing.assert_array_equal(DigitNormalizer().fit_transform(X), expected)


def test_images_of_different_sizes_in_one_list(sample):
    digit = _digit(sample)
    images = [
        _on_canvas(digit, (120, 90), (5, 3)),
        _on_canvas(digit, (300, 200), (150, 100), scale=5),
        digit,
        _on_canvas(digit, (60, 48), (20, 10), scale=1, dark_ink=False),
    ]
    X = DigitNormalizer().transform(images)
    assert X.shape == (4, 784)
    # One digit, four ways: the same 20-pixel box, centred the same way.
    reference = X[2].astype(int)
    for row in X:
        assert np.abs(row.astype(int) - reference).mean() < 12
        rows_with_ink = np.flatnonzero(row.reshape(28, 28).any(axis=1))
        assert rows_with_ink[-1] - rows_with_ink[0] + 1 == 20


def test_mnist_digits_come_out_nearly_unchanged(sample):
    _, (X_test, _) = sample
    X = DigitNormalizer().fit_transform(X_test)
    unchanged = (X == X_test).all(axis=1).mean()
    assert unchanged > 0.7
    assert np.abs(X.astype(int) - X_test).mean() < 1.0


def test_centre_of_mass_within_half_a_pixel_of_the_centre(sample, wild_folder):
    _, (X_test, _) = sample
    images = load_images(wild_folder[0]).images
    for X in (X_test, images):
        com = _center_of_mass(DigitNormalizer().transform(X))
        assert np.abs(com - 14.0).max() <= 0.5


@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(st.integers(8, 160), st.integers(8, 160)),
    box=st.tuples(st.floats(0.1, 1.0), st.floats(0.1, 1.0)),
    where=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    levels=st.tuples(st.integers(0, 255), st.integers(0, 255)).filter(
        lambda p: abs(p[0] - p[1]) >= 30
    ),
)
def test_any_rectangle_is_scaled_to_the_box_and_centred(shape, box, where, levels):
    h, w = max(1, int(shape[0] * box[0])), max(1, int(shape[1] * box[1]))
    top, left = int((shape[0] - h) * where[0]), int((shape[1] - w) * where[1])
    background, ink = levels
    image = np.full(shape, float(background))
    image[top : top + h, left : left + w] = ink
    # The border must be mostly background for the polarity to be found.
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    assume(np.median(border) == background)
    row = DigitNormalizer().transform([image])[0]
    digit = row.reshape(28, 28)
    assert digit.max() == 255 and digit[0, 0] == 0
    rows, cols = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 == 20
    assert np.abs(_center_of_mass(row) - 14.0).max() <= 0.5


def test_polarity_auto_detects_dark_ink_on_light_paper(sample):
    digit = _digit(sample, 3)
    dark = _on_canvas(digit, dark_ink=True)
    bright = _on_canvas(digit, dark_ink=False)
    auto = DigitNormalizer().transform([dark, bright])
    np.testing.assert_array_equal(auto[0], auto[1])
    np.testing.assert_array_equal(
        DigitNormalizer(polarity="dark_ink").transform([dark]), auto[:1]
    )
    np.testing.assert_array_equal(
        DigitNormalizer(polarity="bright_ink").transform([bright]), auto[:1]
    )
    # Forced the wrong way, nothing is brighter than the paper: no ink.
    with pytest.raises(ValueError, match="image 0 has no ink"):
        DigitNormalizer(polarity="bright_ink").transform([dark])


def test_grey_levels_are_stretched_from_the_background(sample):
    digit = _on_canvas(_digit(sample, 7), dark_ink=False)
    grey_paper = 90 + digit * (150 - 90) / 255  # ink 150 on paper 90
    unit = digit / 255  # a 0-1 image
    X = DigitNormalizer().transform([digit, grey_paper, unit])
    assert np.abs(X[1].astype(int) - X[0]).max() <= 2
    assert np.abs(X[2].astype(int) - X[0]).max() <= 1


def test_box_and_center_parameters(sample):
    digit = _on_canvas(_digit(sample, 2), dark_ink=False)
    small = DigitNormalizer(box=12).transform([digit])[0].reshape(28, 28)
    rows, cols = np.flatnonzero(small.any(axis=1)), np.flatnonzero(small.any(axis=0))
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 == 12
    boxed = DigitNormalizer(center="box").transform([digit])[0].reshape(28, 28)
    rows, cols = np.flatnonzero(boxed.any(axis=1)), np.flatnonzero(boxed.any(axis=0))
    assert (rows[0] + rows[-1]) / 2 in (13, 13.5, 14)
    assert (cols[0] + cols[-1]) / 2 in (13, 13.5, 14)


def test_threshold_drops_a_faint_speck_far_from_the_digit(sample):
    image = _on_canvas(_digit(sample, 4), (150, 150), (60, 60), dark_ink=False)
    image[2, 2] = 20  # faint dust in a corner
    kept = DigitNormalizer().transform([image])[0]
    clean = image.copy()
    clean[2, 2] = 0
    np.testing.assert_array_equal(kept, DigitNormalizer().transform([clean])[0])
    # With threshold=0 the speck counts and the digit shrinks to make room.
    dusty = DigitNormalizer(threshold=0).transform([image])[0]
    assert (dusty > 0).sum() < (kept > 0).sum()


def test_a_digit_whose_mass_sits_at_one_end_is_kept_whole():
    image = np.zeros((50, 50))
    image[5:45, 5:7] = 255  # thin stem
    image[37:45, 5:45] = 255  # heavy foot: the mass is near the bottom
    digit = DigitNormalizer().transform([image])[0].reshape(28, 28)
    rows = np.flatnonzero(digit.any(axis=1))
    assert rows[-1] - rows[0] + 1 == 20  # nothing cut off
    # Centring would push the foot out of the field: moved up only to the edge.
    assert rows[0] == 0 and _center_of_mass(digit)[0, 0] > 14.5


def test_an_image_without_ink_raises_or_gives_zeros():
    blank = np.full((50, 50), 255.0)
    for image in (blank, np.zeros((28, 28)), np.array([[200.0]])):
        with pytest.raises(ValueError, match=r"^image 1 has no ink"):
            DigitNormalizer().transform([np.eye(30) * 255, image])
    X = DigitNormalizer(on_empty="zeros").transform([blank, np.array([[7.0]])])
    assert X.shape == (2, 784) and not X.any()


@pytest.mark.parametrize(
    "image, message",
    [
        (
            np.array([[1.0, np.nan], [0, 0]]),
            r"image 0 holds NaN or infinity at row 0, ",
        ),
        (np.array([[1.0, 2], [np.inf, 0]]), r"NaN or infinity at row 1, column 0"),
        (np.array([[1.0, 256], [0, 0]]), r"Values above 255 in data: image 0 has 256 "),
        (np.array([[1.0, -3], [0, 0]]), r"Negative values in data: image 0 has -3 at"),
        (np.zeros((4, 4, 4, 1)), r"image 0: expected a 2-D grey image"),
        (np.zeros((4, 4, 2)), r"image 0: expected a 2-D grey image"),
        (np.zeros((0, 5)), r"image 0 has no pixels"),
        (np.array([["a", "b"], ["c", "d"]]), r"could not convert"),
    ],
)
def test_bad_images_raise_one_line_errors(image, message):
    for call in (DigitNormalizer().fit, DigitNormalizer().transform):
        with pytest.raises(ValueError, match=message) as info:
            call([image])
        assert "\n" not in str(info.value)


def test_bad_arrays_and_parameters_raise():
    with pytest.raises(ValueError, match="X holds no images"):
        DigitNormalizer().transform([])
    with pytest.raises(ValueError, match="not a square image; pass image_shape"):
        DigitNormalizer().transform(np.ones((2, 785)))
    with pytest.raises(ValueError, match=r"image_shape=\(2, 3\) needs 6"):
        DigitNormalizer(image_shape=(2, 3)).transform(np.ones((2, 5)))
    with pytest.raises(ValueError, match="image_shape must be"):
        DigitNormalizer(image_shape=(-1, -1)).transform(np.ones((2, 4)))
    for params in ({"box": 0}, {"box": 29}, {"polarity": "x"}, {"threshold": 1}):
        with pytest.raises(ValueError, match=f"The '{next(iter(params))}' param"):
            DigitNormalizer(**params).fit([np.eye(5)])
    fitted = DigitNormalizer().fit(np.zeros((2, 784)))
    assert fitted.n_features_in_ == 784
    with pytest.raises(ValueError, match="X has 64 features, but DigitNormalizer"):
        fitted.transform(np.eye(8).reshape(1, 64) * 255)
    # Lists of images of any size are still welcome after that fit.
    assert fitted.transform([np.eye(8) * 255]).shape == (1, 784)
    assert not hasattr(DigitNormalizer().fit([np.eye(8)]), "n_features_in_")


def test_image_shape_reads_rows_of_other_shapes():
    image = np.zeros((6, 10))
    image[1:5, 2:4] = 255
    rows = image.reshape(1, 60)
    expected = DigitNormalizer().transform([image])
    for shape in ((6, 10), (6, -1), (-1, 10), [6, 10]):
        got = DigitNormalizer(image_shape=shape).fit_transform(rows)
        np.testing.assert_array_equal(got, expected)


def test_sklearn_conventions(sample):
    _, (X_test, _) = sample
    est = DigitNormalizer(box=18, threshold=0.3)
    assert clone(est).get_params() == est.get_params()
    names = est.get_feature_names_out()
    assert names[0] == "1x1" and names[29] == "2x2" and names[-1] == "28x28"
    assert len(names) == 784
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(
        restored.transform(X_test[:10]), est.transform(X_test[:10])
    )
    frame = DigitNormalizer().set_output(transform="pandas").fit_transform(X_test[:3])
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == list(names)
    with pytest.raises(ValueError, match="input_features should have length"):
        DigitNormalizer().fit(X_test).get_feature_names_out(["a"])


def test_normaliser_closes_the_gap_on_wild_digits(tiny_model, sample, wild_folder):
    # A tiny network trained on MNIST reads the wild digits almost as well
    # as MNIST's own once they are normalised; naively resized, it cannot.
    _, (X_test, y_test) = sample
    images, y = load_images(wild_folder[0], return_X_y=True)
    on_mnist = tiny_model.score(X_test[:300], y_test[:300])
    normalised = make_pipeline(DigitNormalizer(), tiny_model).score(images, y)
    naive = np.stack(
        [
            np.asarray(Image.fromarray(im).resize((28, 28)), dtype=np.float32).ravel()
            for im in images
        ]
    )
    assert normalised >= on_mnist - 0.05
    assert tiny_model.score(naive.clip(0, 255), y) < normalised - 0.3
    # MNIST's own digits lose nothing through it.
    renormalised = DigitNormalizer().transform(X_test[:300])
    assert abs(tiny_model.score(renormalised, y_test[:300]) - on_mnist) <= 0.01


# ------------------------------------------------------------------ the files
def _digit_file_image(sample):
    """A dark-on-light 8-bit grey digit, 84 x 84."""
    return Image.fromarray(
        _on_canvas(_digit(sample, 9), (84, 84), (0, 0)).round().astype(np.uint8)
    )


@pytest.mark.parametrize(
    "fmt, suffix, exact",
    [
        ("PNG", ".png", True),
        ("BMP", ".bmp", True),
        ("GIF", ".gif", True),
        ("TIFF", ".tif", True),
        ("JPEG", ".jpg", False),
        ("WEBP", ".webp", False),
    ],
)
def test_read_image_reads_every_format(tmp_path, sample, fmt, suffix, exact):
    image = _digit_file_image(sample)
    path = tmp_path / f"digit{suffix}"
    image.save(path, format=fmt)
    got = read_image(path)
    assert got.dtype == np.float32 and got.shape == (84, 84)
    diff = np.abs(got - np.asarray(image, dtype=np.float32))
    assert diff.max() == 0 if exact else diff.mean() < 6
    # From an open binary file too, and in colour.
    with open(path, "rb") as f:
        np.testing.assert_array_equal(read_image(f), got)
    image.convert("RGB").save(tmp_path / f"rgb{suffix}", format=fmt)
    assert np.abs(read_image(tmp_path / f"rgb{suffix}") - got).mean() < 6


def test_read_image_composites_transparency_on_white(tmp_path, sample):
    grey = np.asarray(_digit_file_image(sample))
    # Black ink whose alpha is the ink: a digit drawn on a transparent canvas.
    rgba = np.zeros(grey.shape + (4,), dtype=np.uint8)
    rgba[..., 3] = 255 - grey
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "canvas.png")
    la = np.stack([np.zeros_like(grey), 255 - grey], axis=-1)
    Image.fromarray(la, mode="LA").save(tmp_path / "la.png")
    for name in ("canvas.png", "la.png"):
        assert np.abs(read_image(tmp_path / name) - grey).max() <= 1
    palette = Image.fromarray(grey).convert("P")
    palette.info["transparency"] = int(palette.getpixel((0, 0)))
    palette.save(tmp_path / "t.gif", transparency=palette.info["transparency"])
    assert read_image(tmp_path / "t.gif")[0, 0] == 255


def test_read_image_scales_16_bit_and_reads_bilevel(tmp_path, sample):
    grey = np.asarray(_digit_file_image(sample))
    Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / "deep.png")
    assert np.abs(read_image(tmp_path / "deep.png") - grey).max() < 0.01
    Image.fromarray(grey > 128).save(tmp_path / "bw.png")
    assert set(np.unique(read_image(tmp_path / "bw.png"))) == {0.0, 255.0}


@settings(max_examples=25, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 40), st.integers(1, 40))))
def test_any_grey_png_reads_back_exactly(pixels):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    buffer.seek(0)
    np.testing.assert_array_equal(read_image(buffer), pixels)


def _png_header(width, height):
    """A PNG that declares ``width x height`` but holds almost no data."""

    def chunk(kind, data):
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


def test_huge_images_are_refused_before_decoding(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header(30000, 30000))
    big = tmp_path / "big.png"
    big.write_bytes(_png_header(10000, 10000))  # Pillow only warns about it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(
            ValueError,
            match=rf"^{bomb}: refused, the image has more than max_pixels=50,000,000 "
            r"pixels \(Image size \(900000000 pixels\) exceeds",
        ):
            read_image(bomb)
        with pytest.raises(
            ValueError,
            match=rf"^{big}: refused, 10000 x 10000 = 100,000,000 pixels is more "
            r"than max_pixels=50,000,000$",
        ):
            read_image(big)
    Image.new("L", (100, 50)).save(tmp_path / "small.png")
    with pytest.raises(ValueError, match="5,000 pixels is more than max_pixels=4,999"):
        read_image(tmp_path / "small.png", max_pixels=4999)
    assert read_image(tmp_path / "small.png", max_pixels=5000).shape == (50, 100)
    with pytest.raises(ValueError, match="max_pixels must be at least 1"):
        read_image(tmp_path / "small.png", max_pixels=0)


@pytest.mark.parametrize("fmt", ["PCX", "SGI", "PPM"])
def test_formats_other_than_the_six_are_refused(tmp_path, sample, fmt):
    # Pillow reads these, but the server decodes whatever is uploaded: only
    # the PNG, JPEG, BMP, GIF, TIFF and WebP decoders are ever tried.
    path = tmp_path / f"digit.{fmt.lower()}"
    _digit_file_image(sample).convert("RGB").save(path, format=fmt)
    with Image.open(path) as im:
        assert im.format == fmt  # a file Pillow itself would read
    with pytest.raises(ValueError, match="not an image file that Pillow can read"):
        read_image(path)


def test_bad_files_raise_one_line_errors_naming_the_file(tmp_path, sample):
    text = tmp_path / "notes.png"
    text.write_text("not an image\n")
    image = _digit_file_image(sample)
    cut = {}
    for fmt, suffix in (("PNG", ".png"), ("JPEG", ".jpg")):
        buffer = io.BytesIO()
        image.save(buffer, format=fmt)
        cut[fmt] = tmp_path / f"cut{suffix}"
        cut[fmt].write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    cases = [
        (text, ValueError, "not an image file that Pillow can read"),
        (cut["PNG"], ValueError, "damaged or truncated image"),
        (cut["JPEG"], ValueError, "damaged or truncated image"),
        (tmp_path / "missing.png", FileNotFoundError, "no such file"),
        (tmp_path, IsADirectoryError, "is a folder"),
    ]
    for path, error, message in cases:
        with pytest.raises(error, match=rf"^{path}: {message}") as info:
            read_image(path)
        assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match=r"^<BytesIO>: not an image file"):
        read_image(io.BytesIO(b"garbage"))


def _write(path, pixels):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(path)


def test_load_images_reads_labelled_folders(tmp_path):
    for label, name in ((3, "b.png"), (3, "a.jpg"), (10, "x.bmp"), (0, "z.gif")):
        _write(tmp_path / str(label) / name, np.full((8 + label, 9), label))
    _write(tmp_path / "3" / "deeper" / "c.tiff", np.full((5, 5), 33))
    (tmp_path / "3" / "README.txt").write_text("skipped")
    _write(tmp_path / "3" / ".hidden.png", np.zeros((5, 5)))
    (tmp_path / "notes.txt").write_text("skipped too")
    data = load_images(tmp_path)
    assert data.target.dtype == np.int64
    assert data.target.tolist() == [0, 3, 3, 3, 10]
    assert data.target_names == [0, 3, 10]
    names = [Path(f).relative_to(tmp_path).as_posix() for f in data.filenames]
    assert names == ["0/z.gif", "3/a.jpg", "3/b.png", "3/deeper/c.tiff", "10/x.bmp"]
    assert [im.shape for im in data.images][:2] == [(8, 9), (11, 9)]
    assert float(data.images[3][0, 0]) == 33
    images, y = load_images(tmp_path, return_X_y=True)
    assert len(images) == 5 and y.tolist() == data.target.tolist()


def test_load_images_keeps_only_what_transform_makes(tmp_path):
    for label in (1, 2):
        _write(tmp_path / str(label) / "a.png", np.full((300, 200), 40 * label))
    seen = []

    def first_pixel(image):
        seen.append(image.shape)
        return image[:1, :1].copy()

    data = load_images(tmp_path, transform=first_pixel)
    assert seen == [(300, 200), (300, 200)]  # each image, as it was read
    assert [im.shape for im in data.images] == [(1, 1), (1, 1)]
    assert [float(im[0, 0]) for im in data.images] == [40, 80]
    assert data.target.tolist() == [1, 2]
    with pytest.raises(TypeError, match="transform must be callable"):
        load_images(tmp_path, transform="normalize")


def test_load_images_string_labels_and_flat_folders(tmp_path):
    for label in ("cat", "dog", "07"):
        _write(tmp_path / "named" / label / "1.png", np.zeros((4, 4)))
    data = load_images(tmp_path / "named")
    assert data.target.tolist() == ["07", "cat", "dog"]
    for name in ("b.png", "a.webp"):
        _write(tmp_path / "flat" / name, np.zeros((4, 6)))
    flat = load_images(tmp_path / "flat")
    assert flat.target is None and flat.target_names is None
    assert [Path(f).name for f in flat.filenames] == ["a.webp", "b.png"]
    files = [tmp_path / "flat" / "b.png", str(tmp_path / "flat" / "a.webp")]
    images, y = load_images(files, return_X_y=True)
    assert y is None and [im.shape for im in images] == [(4, 6), (4, 6)]
    single = load_images(tmp_path / "flat" / "b.png")
    assert single.filenames == [str(tmp_path / "flat" / "b.png")]


def test_load_images_bad_sources(tmp_path):
    _write(tmp_path / "mixed" / "7" / "a.png", np.zeros((4, 4)))
    _write(tmp_path / "mixed" / "b.png", np.zeros((4, 4)))
    for label in ("7", "07"):
        _write(tmp_path / "dup" / label / "a.png", np.zeros((4, 4)))
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad" / "3").mkdir(parents=True)
    (tmp_path / "bad" / "3" / "x.png").write_bytes(b"\x89PNG not really")
    cases = [
        (tmp_path / "mixed", ValueError, "holds both image files"),
        (tmp_path / "dup", ValueError, "folders 07 and 7 both name label 7"),
        (tmp_path / "empty", ValueError, "no image files"),
        (tmp_path / "nowhere", FileNotFoundError, "no such file or folder"),
        ([], ValueError, "no image files"),
    ]
    for source, error, message in cases:
        with pytest.raises(error, match=message):
            load_images(source)
    with pytest.raises(ValueError, match=rf"^{tmp_path / 'bad' / '3' / 'x.png'}: "):
        load_images(tmp_path / "bad")
    with pytest.raises(TypeError, match="expected a path, a folder or a list"):
        load_images(42)


# ------------------------------------------------------------ the wild digits
def test_wild_digits_are_deterministic_and_labelled(tmp_path, wild_digits, sample):
    first = wild_digits.make_wild_digits(tmp_path / "a", seed=3, n_digits=40)
    again = wild_digits.make_wild_digits(tmp_path / "b", seed=3, n_digits=40)
    other = wild_digits.make_wild_digits(tmp_path / "c", seed=4, n_digits=40)
    same = [
        r["path"].read_bytes() == s["path"].read_bytes()
        for r, s in zip(first, again, strict=True)
    ]
    assert all(same)
    assert any(
        r["path"].read_bytes() != s["path"].read_bytes()
        for r, s in zip(first, other, strict=True)
    )
    images, y = load_images(tmp_path / "a", return_X_y=True)
    assert sorted(y.tolist()) == sorted(sample[1][1][:40].tolist())
    sizes = [im.shape for im in images]
    assert all(48 <= min(s) and max(s) <= 300 for s in sizes)
    assert {r["polarity"] for r in first} == {"bright_ink", "dark_ink"}
    assert {r["format"][:4] for r in first} == {"PNG", "JPEG"}
    with pytest.raises(ValueError, match="not empty"):
        wild_digits.make_wild_digits(tmp_path / "a", n_digits=1)


# ------------------------------------------------------------------ the display
def test_display_from_images_draws_pairs(sample):
    digit = _digit(sample)
    images = [_on_canvas(digit), digit, np.dstack([_on_canvas(digit)] * 3)]
    disp = DigitNormalizationDisplay.from_images(images, labels=[7, 7, 7], n_cols=2)
    assert disp.axes_.shape == (2, 4)
    assert len(disp.originals_) == len(disp.normalized_) == 3
    assert [ax.get_visible() for ax in disp.axes_.ravel()][-2:] == [False, False]
    assert disp.originals_[0].get_array().shape == (120, 90)
    assert disp.originals_[2].get_array().shape == (120, 90, 3)
    expected = DigitNormalizer().transform(images)
    for shown, row in zip(disp.normalized_, expected, strict=True):
        np.testing.assert_array_equal(shown.get_array(), row.reshape(28, 28))
    assert disp.axes_[0, 0].get_title() == "7"
    assert disp.axes_[0, 1].get_title() == "normalised"
    plt.close(disp.figure_)


def test_display_from_estimator_titles_predictions(tiny_model, wild_folder):
    images, y = load_images(wild_folder[0], return_X_y=True)
    images, y = images[:60], y[:60]
    pipe = make_pipeline(DigitNormalizer(), tiny_model)
    pred = pipe.predict(images)
    disp = DigitNormalizationDisplay.from_estimator(pipe, images, y, n_images=6)
    titles = [ax.get_title() for ax in disp.axes_.ravel()]
    assert titles[0] == str(y[0])
    assert re.fullmatch(rf"seen as {pred[0]} \([01]\.\d\d\)", titles[1])
    wrong = np.flatnonzero(pred != y)
    assert len(wrong)  # a tiny network misreads a few of 60
    errors = DigitNormalizationDisplay.from_estimator(
        tiny_model, images, y, misclassified_only=True, n_images=4
    )
    assert errors.indices_.tolist() == wrong[:4].tolist()
    colours = [ax.title.get_color() for ax in errors.axes_[:, 1::2].ravel()]
    assert colours[: len(errors.normalized_)] == ["red"] * len(errors.normalized_)
    plt.close("all")


def test_display_bad_input_leaves_no_figure(tiny_model):
    before = plt.get_fignums()
    pipe = make_pipeline(DigitNormalizer(), tiny_model)
    with pytest.raises(ValueError, match="own DigitNormalizer"):
        DigitNormalizationDisplay.from_estimator(
            pipe, [np.eye(9)], normalizer=DigitNormalizer()
        )
    with pytest.raises(ValueError, match="needs the true labels"):
        DigitNormalizationDisplay.from_estimator(
            tiny_model, [np.eye(9)], misclassified_only=True
        )
    with pytest.raises(ValueError, match=r"normalized must have shape \(1, 784\)"):
        DigitNormalizationDisplay([np.eye(9)], np.zeros((1, 64))).plot()
    with pytest.raises(ValueError, match="image 0 has no ink"):
        DigitNormalizationDisplay.from_images([np.zeros((9, 9))])
    assert plt.get_fignums() == before


def test_display_draws_in_a_subfigure(sample):
    fig = plt.figure()
    left, _ = fig.subfigures(1, 2)
    disp = DigitNormalizationDisplay.from_images(
        [_digit(sample, i) for i in range(6)], n_images=3, random_state=0, fig=left
    )
    assert disp.figure_ is left and len(disp.normalized_) == 3
    assert sorted(disp.indices_.tolist()) == disp.indices_.tolist()
    plt.close(fig)
