"""DigitNormalizer's deskew, stroke_width and denoise options, and their display."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.dummy import DummyClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402

from sk_mnist.images import DigitNormalizer  # noqa: E402
from sk_mnist.images._strokes import _stroke_width  # noqa: E402
from sk_mnist.plotting._normalized import DigitNormalizationDisplay  # noqa: E402


def _skew(digit):
    """mu11 / mu02 of a grey image (columns x, rows y), computed here afresh."""
    digit = np.asarray(digit, dtype=np.float64)
    digit = digit.reshape(28, 28) if digit.ndim == 1 else digit
    rows, cols = np.indices(digit.shape)
    mass = digit.sum()
    cy, cx = (rows * digit).sum() / mass, (cols * digit).sum() / mass
    mu11 = ((rows - cy) * (cols - cx) * digit).sum()
    mu02 = ((rows - cy) ** 2 * digit).sum()
    return mu11 / mu02


def _slanted_bar(slope, size=90, half_width=4.0):
    """A dark bar on white paper whose column grows by ``slope`` per row."""
    rows, cols = np.indices((size, size), dtype=np.float64)
    centre = size / 2 + slope * (rows - size / 2)
    ink = (np.abs(cols - centre) <= half_width) & (np.abs(rows - size / 2) < size / 3)
    return np.where(ink, 0.0, 255.0)


def _ring(width, size=28):
    """A bright ring of stroke ``width`` (pixels of a 28-pixel field) on black."""
    rows, cols = np.indices((size, size), dtype=np.float64)
    radius = np.hypot(rows - size / 2, cols - size / 2)
    on = np.abs(radius - 0.35 * size) <= width / 2 * size / 28
    return np.where(on, 255.0, 0.0)


def _width(row):
    return _stroke_width(np.asarray(row, dtype=np.float64).reshape(28, 28))


# ------------------------------------------------------------------ deskewing
@pytest.mark.parametrize("slope", [0.4, -0.3])
def test_deskew_removes_the_skew_moment(slope):
    bar = _slanted_bar(slope)
    plain = DigitNormalizer().transform([bar])[0].reshape(28, 28)
    upright = DigitNormalizer(deskew=True).transform([bar])[0].reshape(28, 28)
    assert abs(_skew(plain) - slope) < 0.1  # the bar is slanted as drawn
    assert abs(_skew(upright)) < 0.03
    # A horizontal shear keeps the height (the box) and the centre of mass.
    rows = np.flatnonzero(upright.any(axis=1))
    assert rows[-1] - rows[0] + 1 == 20
    r, c = np.indices(upright.shape)
    for ix in (r, c):
        assert abs(np.average(ix, weights=upright) - 14) <= 0.5


def test_deskew_straightens_slanted_sample_digits(sample):
    _, (X_test, _) = sample
    images = list(X_test[:40].reshape(-1, 28, 28))
    before = [abs(_skew(x)) for x in DigitNormalizer().transform(images)]
    after = [abs(_skew(x)) for x in DigitNormalizer(deskew=True).transform(images)]
    assert np.mean(before) > 0.15
    assert np.mean(after) < 0.25 * np.mean(before)


# ------------------------------------------------------- stroke normalisation
def test_stroke_width_estimate_measures_rings():
    # A ring 10 times the size of a 28-pixel field: strokes of 10 and 40 pixels.
    assert _stroke_width(_ring(1, size=280)) == pytest.approx(10, rel=0.1)
    assert _stroke_width(_ring(4, size=280)) == pytest.approx(40, rel=0.1)
    assert _stroke_width(np.zeros((5, 5))) == 0


@pytest.mark.parametrize("size", [28, 200])
def test_stroke_width_thickens_thin_and_thins_thick_strokes(size):
    thin, thick = _ring(1, size), _ring(6, size)
    before = DigitNormalizer().transform([thin, thick])
    after = DigitNormalizer(stroke_width=2.5).transform([thin, thick])
    (thin_before, thick_before), (thin_after, thick_after) = (
        [_width(row) for row in rows] for rows in (before, after)
    )
    assert thin_before < 1.5 and thick_before > 3.8
    assert thin_after == pytest.approx(2.5, abs=0.25)
    assert thick_after == pytest.approx(2.5, abs=0.25)


def test_stroke_width_mnist_moves_only_widths_outside_mnists_range():
    thin, normal, thick = _ring(1), _ring(2.6), _ring(6)
    plain = DigitNormalizer().transform([thin, normal, thick])
    mnist = DigitNormalizer(stroke_width="mnist").transform([thin, normal, thick])
    # MNIST's 5th to 95th percentile: 1.73 to 3.76 pixels.
    assert _width(mnist[0]) == pytest.approx(1.73, abs=0.2)
    np.testing.assert_array_equal(mnist[1], plain[1])
    assert _width(mnist[2]) == pytest.approx(3.76, abs=0.2)


# ------------------------------------------------------------------ denoising
def _noisy_canvas(sigma, seed=0, size=(200, 240), bar=True):
    """A dark digit-like bar and a 1-pixel line on light paper, with noise."""
    clean = np.full(size, 230.0)
    if bar:
        clean[60:140, 100:116] = 20.0  # the bar: 80 rows high
    clean[60:140, 130] = 20.0  # a 1-pixel stroke beside it
    noise = np.random.default_rng(seed).normal(0, sigma, size)
    return clean, np.clip(clean + noise, 0, 255)


def _rows_with_ink(row):
    rows = np.flatnonzero(np.asarray(row).reshape(28, 28).any(axis=1))
    return rows[-1] - rows[0] + 1


@pytest.mark.parametrize("sigma", [6.0, 10.0])
def test_denoise_keeps_background_noise_out_of_the_box(sigma):
    clean, noisy = _noisy_canvas(sigma)
    reference = DigitNormalizer().transform([clean])[0]
    plain = DigitNormalizer(denoise=False).transform([noisy])[0]
    denoised = DigitNormalizer().transform([noisy])[0]
    # Without it, specks of noise far from the ink stretch the box: the
    # digit comes out small (and hazy); with it, as from the clean canvas.
    assert _rows_with_ink(reference) == 20
    assert np.abs(plain.astype(int) - reference).mean() > 10
    assert np.abs(denoised.astype(int) - reference).mean() < 5
    digit = denoised.reshape(28, 28)
    strong = np.flatnonzero((digit > 64).any(axis=1))
    assert strong[-1] - strong[0] + 1 >= 19
    r, c = np.indices(digit.shape)
    for ix in (r, c):
        assert abs(np.average(ix, weights=digit) - 14) <= 0.5


def test_denoise_keeps_a_one_pixel_stroke():
    clean, noisy = _noisy_canvas(6.0, bar=False)
    line = DigitNormalizer().transform([noisy])[0]
    # Its pixels have inked neighbours along the line: kept, all 80 rows.
    assert _rows_with_ink(line) == 20
    columns = line.reshape(28, 28).sum(axis=0, dtype=np.float64)
    assert np.sort(columns)[-1] > 0.9 * columns.sum()


def test_denoise_leaves_flat_backgrounds_alone(sample):
    _, (X_test, _) = sample
    canvas = np.full((90, 60), 255.0)
    canvas[10:50, 5:15] = 0
    images = [canvas, *X_test[:100].reshape(-1, 28, 28)]
    np.testing.assert_array_equal(
        DigitNormalizer().transform(images),
        DigitNormalizer(denoise=False).transform(images),
    )


@pytest.mark.parametrize(
    "params",
    [
        {"deskew": True},
        {"stroke_width": "mnist"},
        {"stroke_width": 2.5},
        {"deskew": True, "stroke_width": "mnist"},
        {"denoise": False},
        {"denoise": False, "deskew": True, "stroke_width": "mnist"},
    ],
)
def test_options_keep_the_output_format(sample, params):
    _, (X_test, _) = sample
    canvas = np.full((90, 60), 255.0)
    canvas[10:50, 5:15] = 0
    images = [
        canvas,
        np.dstack([canvas] * 3).astype(np.uint8),
        X_test[0].reshape(28, 28),
        np.zeros((30, 30)),  # no ink
        np.eye(7) * 255,
    ]
    X = DigitNormalizer(on_empty="zeros", **params).fit_transform(images)
    assert X.shape == (5, 784) and X.dtype == np.uint8
    assert (X[[0, 1, 2, 4]].max(axis=1) == 255).all()
    assert not X[3].any()
    flat = DigitNormalizer(**params).fit(X_test[:3]).transform(X_test[:3])
    assert flat.shape == (3, 784) and flat.dtype == np.uint8
    with pytest.raises(ValueError, match="image 3 has no ink"):
        DigitNormalizer(**params).transform(images)


def test_defaults_leave_clean_digits_as_they_were(sample):
    _, (X_test, _) = sample
    params = DigitNormalizer().get_params()
    assert params["deskew"] is False and params["stroke_width"] is None
    assert params["denoise"] is True
    X = DigitNormalizer().transform(X_test[:200])
    # MNIST digits are already 20-pixel boxes centred by mass: (nearly) unchanged.
    assert (X != X_test[:200]).mean() < 0.03
    assert (DigitNormalizer(deskew=True).transform(X_test[:200]) != X).mean() > 0.1


@pytest.mark.parametrize(
    "params, name",
    [
        ({"deskew": "yes"}, "deskew"),
        ({"deskew": 1}, "deskew"),
        ({"stroke_width": 0}, "stroke_width"),
        ({"stroke_width": -1.5}, "stroke_width"),
        ({"stroke_width": 28}, "stroke_width"),
        ({"stroke_width": "thick"}, "stroke_width"),
        ({"stroke_width": [2.5]}, "stroke_width"),
        ({"denoise": "yes"}, "denoise"),
        ({"denoise": None}, "denoise"),
    ],
)
def test_bad_option_values_name_the_parameter(params, name):
    bad = DigitNormalizer(**params)
    for call in (bad.fit, bad.transform):
        with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
            call([np.eye(9)])


# ------------------------------------------------------------------ the display
def _digits(sample, n=3):
    _, (X_test, y_test) = sample
    return [255 - np.kron(x.reshape(28, 28), np.ones((3, 3))) for x in X_test[:n]]


@pytest.mark.parametrize(
    "params, stages",
    [
        ({}, []),
        ({"deskew": True}, ["centred"]),
        ({"stroke_width": "mnist"}, ["centred"]),
        ({"deskew": True, "stroke_width": 2.5}, ["centred", "deskewed"]),
    ],
)
def test_display_draws_a_panel_per_step(sample, params, stages):
    images = _digits(sample)
    normalizer = DigitNormalizer(**params)
    disp = DigitNormalizationDisplay.from_images(
        images, labels=[7, 2, 1], normalizer=normalizer, n_cols=2
    )
    cells = 2 + len(stages)
    assert disp.axes_.shape == (2, 2 * cells)
    assert sum(ax.get_visible() for ax in disp.axes_.ravel()) == 3 * cells
    assert list(disp.stages_) == stages
    titles = [ax.get_title() for ax in disp.axes_.ravel()[:cells]]
    assert titles == ["7", *stages, "normalised"]
    for shown, row in zip(disp.normalized_, normalizer.transform(images), strict=True):
        np.testing.assert_array_equal(shown.get_array(), row.reshape(28, 28))
    if stages:  # the first step is the digit as the options-free normaliser makes it
        plain = DigitNormalizer().transform(images)
        for shown, row in zip(disp.stages_["centred"], plain, strict=True):
            np.testing.assert_array_equal(shown.get_array(), row.reshape(28, 28))
    plt.close(disp.figure_)


def test_display_from_estimator_shows_the_pipelines_steps(sample):
    images = _digits(sample, 4)
    y = [7, 2, 1, 0]
    rows = DigitNormalizer().transform(images)
    model = DummyClassifier(strategy="prior").fit(rows, y)
    pipe = make_pipeline(DigitNormalizer(deskew=True, stroke_width="mnist"), model)
    disp = DigitNormalizationDisplay.from_estimator(pipe, images, y, n_cols=2)
    assert disp.axes_.shape == (2, 8)
    assert [len(v) for v in disp.stages_.values()] == [4, 4]
    assert disp.axes_[0, 3].get_title().startswith("seen as ")
    plt.close(disp.figure_)


def test_display_checks_the_stages_shape():
    with pytest.raises(ValueError, match=r"stages\['centred'\] must have shape"):
        DigitNormalizationDisplay(
            [np.eye(9)], np.zeros((1, 784)), stages={"centred": np.zeros((2, 784))}
        ).plot()
