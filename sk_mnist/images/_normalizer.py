"""DigitNormalizer: digit images of any size -> MNIST-style rows of 784 pixels."""

import math
from numbers import Integral, Real

import numpy as np
from PIL import Image
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

from ._background import _border_median, _noise_floor, _without_specks
from ._strokes import (
    _RESIZE_DOWN,
    _RESIZE_UP,
    _deskewed,
    _ink_box,
    _span,
    _stroke_normalized,
    _stroke_target,
)

__all__ = ["DigitNormalizer"]

SIDE = 28
#: Where MNIST's own digits have their centre of mass: pixel (14, 14),
#: 0-based row and column, within half a pixel (measured on the sample).
CENTER = 14.0
_MAX_PIXEL = 255.0
_FEATURE_NAMES = np.asarray(
    [f"{r}x{c}" for r in range(1, SIDE + 1) for c in range(1, SIDE + 1)], dtype=object
)
# ITU-R 601-2 luma, the weights of Pillow's convert("L").
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _first_bad(a, bad):
    """``"row r, column c"`` of the first True of ``bad`` (a 2-D or 3-D mask)."""
    where = np.argwhere(bad)[0]
    text = f"row {where[0]}, column {where[1]}"
    return text + (f", channel {where[2]}" if len(where) > 2 else "")


def _refuse_complex(a, what):
    """Refuse complex pixels instead of dropping their imaginary part.

    The words start as sklearn's ``check_array`` (which PixelScaler uses)
    has them, on one line.
    """
    if getattr(a, "dtype", None) is not None and np.dtype(a.dtype).kind == "c":
        raise ValueError(
            f"Complex data not supported: {what} has dtype {a.dtype}; pixel "
            f"values must be real grey levels 0-255"
        )


def _checked_grey(image, i):
    """Return ``(grey float32 2-D array, lo, hi)`` for image ``i`` of the input.

    Colour images (``h x w x 3``) become grey with Pillow's luma weights; an
    alpha channel (``h x w x 4``) is composited on white.
    """
    a = np.asarray(image)
    _refuse_complex(a, f"image {i}")
    if a.dtype.kind not in "biuf":
        # float() names an object that is not a number, as sklearn expects.
        a = a.astype(np.float64)
    if a.ndim == 3 and a.shape[-1] in (1, 3, 4):
        colour = a
    elif a.ndim == 2:
        colour = None
    else:
        raise ValueError(
            f"image {i}: expected a 2-D grey image or a (height, width, 3 or 4) "
            f"colour one, got shape {a.shape}"
        )
    if a.size == 0:
        raise ValueError(f"image {i} has no pixels (shape {a.shape})")
    lo, hi = a.min(), a.max()
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(
            f"image {i} holds NaN or infinity at {_first_bad(a, ~np.isfinite(a))}"
        )
    if lo < 0 or hi > _MAX_PIXEL:
        bad = lo if lo < 0 else hi
        # "Negative values in data" is sklearn's wording for positive-only input.
        problem = "Negative values in data" if lo < 0 else "Values above 255 in data"
        raise ValueError(
            f"{problem}: image {i} has {float(bad):g} at {_first_bad(a, a == bad)}; "
            f"pixel values must lie in 0-255"
        )
    if colour is None:
        return a.astype(np.float32, copy=False), float(lo), float(hi)
    colour = colour.astype(np.float32, copy=False)
    grey = colour[..., 0] if colour.shape[-1] == 1 else colour[..., :3] @ _LUMA
    if colour.shape[-1] == 4:
        alpha = colour[..., 3] / np.float32(_MAX_PIXEL)
        grey = grey * alpha + np.float32(_MAX_PIXEL) * (1 - alpha)
    grey = np.ascontiguousarray(grey, dtype=np.float32)
    return grey, float(grey.min()), float(grey.max())


def _scaled_patch(ink, box):
    """Resize ``ink`` so its longer side is ``box``, aspect kept; peak at 255."""
    h, w = ink.shape
    scale = box / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size != (w, h):
        # Lanczos anti-aliases when shrinking; bicubic is smoother when enlarging.
        # reducing_gap=3 first averages blocks of pixels, which Pillow's
        # documentation calls indistinguishable from the full filter, and is
        # several times faster on large images.
        resample = _RESIZE_DOWN if scale < 1 else _RESIZE_UP
        image = Image.fromarray(ink)
        ink = np.asarray(image.resize(size, resample, reducing_gap=3.0))
    peak = ink.max()
    if peak <= 0:
        return None
    # Both filters ring a little below 0; MNIST's strokes peak at 255.
    patch = np.clip(ink * np.float32(_MAX_PIXEL / peak), 0, _MAX_PIXEL)
    return np.rint(patch).astype(np.uint8)


def _offset(patch, axis, center):
    """Top (axis 0) or left (axis 1) position of ``patch`` in the 28 x 28 field."""
    size = patch.shape[axis]
    if center == "box":
        return (SIDE - size) // 2
    profile = patch.sum(axis=1 - axis, dtype=np.float64)
    mass = profile @ np.arange(size) / profile.sum()
    # An integer shift, as MNIST: no extra blur. Kept inside the field, so a
    # digit whose mass sits near one end of its box is never cut.
    return min(max(math.floor(CENTER - mass + 0.5), 0), SIDE - size)


def _placed(patch, center):
    """``patch`` put in a 28 x 28 uint8 field, centred as `center` says."""
    top, left = _offset(patch, 0, center), _offset(patch, 1, center)
    out = np.zeros((SIDE, SIDE), dtype=np.uint8)
    out[top : top + patch.shape[0], left : left + patch.shape[1]] = patch
    return out


def _normalize_one(a, lo, hi, params, stages=None):
    """One grey image -> a 28 x 28 uint8 MNIST-style image, or None if no ink.

    With a list ``stages``, the images before deskewing and before stroke
    normalisation, when those are on, are appended to it as ``(name,
    28 x 28 image)``.
    """
    polarity, box, center, threshold, deskew, stroke_width, denoise = params
    level = _border_median(a)
    # "auto": the border is nearer the lightest level than the darkest.
    invert = polarity == "dark_ink" or (polarity == "auto" and level - lo > hi - level)
    # The background's noise, when denoising: ink starts beyond it.
    floor = _noise_floor(a, level) if denoise else 0.0
    peak = (level - lo if invert else hi - level) - floor
    if peak <= 0:
        return None
    cut = threshold * peak
    reach = floor + cut
    inked = (a < level - reach) if invert else (a > level + reach)
    if floor > 0:
        inked = _without_specks(inked)
    inked_rows = inked.any(axis=1)
    if not inked_rows.any():  # a contrast lost to float32 rounding
        return None
    r0, r1 = _span(inked_rows)
    c0, c1 = _span(inked[r0:r1].any(axis=0))
    crop = a[r0:r1, c0:c1]
    ink = np.ascontiguousarray(
        np.maximum(((level - crop) if invert else (crop - level)) - floor, 0),
        dtype=np.float32,
    )
    if deskew:
        if stages is not None:
            plain = _scaled_patch(ink, box)
            if plain is not None:
                stages.append(("centred", _placed(plain, center)))
        ink = _ink_box(_deskewed(ink), cut)
        if ink is None:
            return None
    patch = _scaled_patch(ink, box)
    if patch is None:
        return None
    if stroke_width is not None:
        if stages is not None:
            stages.append(("deskewed" if deskew else "centred", _placed(patch, center)))
        changed = _stroke_normalized(ink, box, stroke_width)
        if changed is not None:
            patch = _scaled_patch(changed, box)
            if patch is None:
                return None
    return _placed(patch, center)


def _rows_shape(n_features, image_shape):
    """``(height, width)`` of the images flattened in rows of ``n_features``."""
    if image_shape is None:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ValueError(
                f"X has {n_features} feature(s) per row, not a square image; pass "
                f"image_shape=(height, width), a 3-D array or a list of 2-D images "
                f"(one image too: [image])"
            )
        return side, side
    sizes = tuple(image_shape)
    if (
        len(sizes) != 2
        or not all(isinstance(s, Integral) and (s >= 1 or s == -1) for s in sizes)
        or sizes == (-1, -1)
    ):
        raise ValueError(
            f"image_shape must be (height, width), positive integers or one -1, "
            f"got {image_shape!r}"
        )
    if -1 in sizes:
        known = sizes[0] * sizes[1] * -1
        if n_features % known:
            raise ValueError(
                f"X has {n_features} feature(s) per row, not a multiple of "
                f"{known} as image_shape={sizes} needs"
            )
        return tuple(n_features // known if s == -1 else s for s in sizes)
    if sizes[0] * sizes[1] != n_features:
        raise ValueError(
            f"X has {n_features} feature(s) per row but image_shape={sizes} "
            f"needs {sizes[0] * sizes[1]}"
        )
    return sizes


def _is_image_list(X):
    """True for a list or tuple whose items are images (2-D or 3-D), not rows."""
    if not isinstance(X, (list, tuple)) or not len(X):
        return False
    return np.ndim(X[0]) >= 2


class DigitNormalizer(TransformerMixin, BaseEstimator):
    """Turn digit images of any size into MNIST-style rows of 784 grey levels.

    Follows the recipe that made MNIST: bright ink on a dark background, the
    digit's bounding box scaled (anti-aliased, aspect kept) to fit a
    ``box x box`` square, then placed in a 28 x 28 field so that its centre of
    mass lies at the field's centre. Put it in front of a model trained on
    MNIST, ``make_pipeline(DigitNormalizer(), pipe)``, to classify digits
    drawn, scanned or photographed at any size, either polarity and anywhere
    on the image.

    Each image is processed on its own, in this order:

    1. Background: the median of the image's outer ring of pixels is the
       background level. With ``polarity="auto"``, an image whose border is
       nearer its lightest than its darkest level holds dark ink on a light
       background and is inverted.
    2. Ink: how far each pixel is from the background level, towards the ink,
       less the background's noise when `denoise` is on. An image with no
       such pixel (blank, or 1 x 1) has no ink: see `on_empty`.
    3. Bounding box: the rows and columns holding ink above `threshold` times
       the brightest ink (with `denoise`, not counting isolated pixels); what
       lies outside is dropped (noise, specks).
    4. Deskewing (`deskew`, off by default): the ink is sheared
       horizontally about its centre of mass, at the image's own resolution,
       so that its second-order central moment mu11 is 0, as LeCun's
       "deskewed" MNIST: a slanted digit stands upright. The box is taken
       again.
    5. Size: the box is resized so that its longer side is `box` pixels
       (Lanczos when shrinking, bicubic when enlarging), and its grey levels
       stretched so that the brightest ink is 255, as in MNIST.
    6. Stroke width (`stroke_width`, off by default): the stroke width of
       the digit scaled to `box`, estimated as 2 x ink area / ink
       perimeter, is brought to the target by grey dilation (thickening)
       or erosion (thinning) with a disk, at 4 times that resolution so
       that the change can be a fraction of a pixel; the box is then fitted
       to `box` pixels again and the width checked, three times at most.
    7. Position: an integer shift puts the centre of mass at pixel
       (14, 14) (0-based row and column), where MNIST's own digits have
       theirs, within half a pixel; a digit whose mass is so far from the
       middle of its box that it would leave the field is shifted less and
       kept whole.

    A 28 x 28 MNIST digit comes out (nearly) unchanged: its box is 20 pixels
    and its centre of mass already at (14, 14).

    ``fit`` learns nothing: the transformer is stateless. It only records the
    number of pixels of a 2-D input (``n_features_in_``) so that later 2-D
    inputs can be checked against it.

    Parameters
    ----------
    polarity : {"auto", "bright_ink", "dark_ink"}, default="auto"
        Which way round the images are. ``"bright_ink"``: light ink on a dark
        background, as MNIST; ``"dark_ink"``: dark ink on a light background
        (a pen on paper), inverted; ``"auto"``: decided per image from its
        border, as described above.
    box : int, default=20
        Side of the square, in pixels, that the digit's bounding box is scaled
        to fit (MNIST: 20). At most 28.
    center : {"mass", "box"}, default="mass"
        ``"mass"``: the centre of mass goes to pixel (14, 14), as MNIST;
        ``"box"``: the bounding box is centred in the field instead.
    threshold : float, default=0.1
        Fraction of the brightest ink (0 <= threshold < 1) that a pixel must
        exceed to count in the bounding box (beyond the noise, with
        `denoise`). 0 counts every pixel brighter than the background.
    on_empty : {"error", "zeros"}, default="error"
        What an image without ink gives: a ``ValueError`` naming the image,
        or a row of zeros.
    image_shape : tuple of int (height, width), default=None
        Shape of the images flattened in the rows of a 2-D ``X``; one of the
        two may be -1, worked out from the row length as in ``numpy.reshape``
        (``(1, -1)``: each row is a one-pixel-high image). If None, they are
        square (28 x 28 for 784 pixels, 8 x 8 for 64). Ignored for other
        inputs.
    deskew : bool, default=False
        Shear each digit upright by its moments (step 4), as LeCun's
        deskewed MNIST: the slant of handwriting goes, and part of a small
        rotation. Best used for training and prediction alike,
        ``make_pipeline(DigitNormalizer(deskew=True), make_mnist_pipeline())``
        fitted on the training images: on the sample, such a model read
        rotated, noisy and warped photos of digits better (mean 91% against
        89% over nine kinds) and clean ones as well. Off by default because
        a model trained on digits as they are, slanted ones included, reads
        clean deskewed digits a little worse (95.3% against 95.9%).
    stroke_width : None, "mnist" or float, default=None
        Make strokes as thick as MNIST's (step 6), for pens much thinner or
        thicker. None leaves them as they are; ``"mnist"`` leaves a digit
        whose stroke width lies within that of 90% of MNIST's digits (1.73
        to 3.76 pixels of the 28 x 28 field) alone and brings the others to
        the nearer end of that range; a float brings every digit to that
        width (MNIST's median is 2.5), which changes most digits and helps
        less. ``"mnist"`` read thick strokes much better on the sample (94.5%
        against 90.2%) and thin ones a little (93.8% against 92.5%); it is
        off by default because it misread one more clean digit in a
        thousand, and makes a transform 2 to 3 times slower.
    denoise : bool, default=True
        Treat the background's noise as background (steps 2 and 3): its
        spread is estimated from the outer ring of pixels (1.4826 x their
        median absolute deviation from the background level), grey levels
        within 3 such deviations of the background are not ink, and a pixel
        with no inked neighbour does not stretch the bounding box. On a flat
        background (MNIST's digits, drawings, most scans) the spread is 0 and
        nothing changes; on a speckled photo, specks far from the digit no
        longer shrink it into a corner of a larger box. False keeps every
        pixel brighter than `threshold` allows.

    Attributes
    ----------
    n_features_in_ : int
        Number of pixels per row of the 2-D ``X`` seen in :meth:`fit`; not set
        when ``X`` was a list of images or a 3-D array.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :meth:`fit`, when ``X`` was a DataFrame
        with string column names.

    See Also
    --------
    sk_mnist.read_image : Read one image file as a grey array.
    sk_mnist.load_images : Read image files or a labelled folder.
    sk_mnist.PixelScaler : Scales the normalised rows to [0, 1] for the model.

    Notes
    -----
    Accepted inputs: a list of images (2-D grey arrays, or ``h x w x 3``
    colour and ``h x w x 4`` colour-with-alpha arrays) of any sizes; a 3-D
    array ``(n, h, w)`` of grey images, or 4-D ``(n, h, w, 3 or 4)``; a 2-D
    array or DataFrame with one flattened image per row (so one image goes
    in a list too, ``transform([image])``: a bare 2-D array is read as rows
    of flattened images). Grey levels lie in
    0-255 (a 0-1 image works too: the levels are stretched); NaN, infinity
    and values outside 0-255 raise ``ValueError`` naming the image and pixel.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mnist.images import DigitNormalizer
    >>> canvas = np.full((90, 60), 255.0)  # white paper
    >>> canvas[10:50, 5:15] = 0            # a black bar, off-centre
    >>> X = DigitNormalizer().fit_transform([canvas])
    >>> X.shape, X.dtype
    ((1, 784), dtype('uint8'))
    >>> digit = X[0].reshape(28, 28)
    >>> rows, cols = np.nonzero(digit)
    >>> int(rows.max() - rows.min() + 1), int(digit.max())
    (20, 255)
    >>> r, c = np.indices(digit.shape)   # centre of mass within half a pixel
    >>> [bool(abs(np.average(ix, weights=digit) - 14) <= 0.5) for ix in (r, c)]
    [True, True]
    """

    _parameter_constraints = {
        "polarity": [StrOptions({"auto", "bright_ink", "dark_ink"})],
        "box": [Interval(Integral, 1, SIDE, closed="both")],
        "center": [StrOptions({"mass", "box"})],
        "threshold": [Interval(Real, 0, 1, closed="left")],
        "on_empty": [StrOptions({"error", "zeros"})],
        "image_shape": [tuple, list, None],
        "deskew": ["boolean"],
        "stroke_width": [
            None,
            StrOptions({"mnist"}),
            Interval(Real, 0, SIDE, closed="neither"),
        ],
        "denoise": ["boolean"],
    }

    def __init__(
        self,
        *,
        polarity="auto",
        box=20,
        center="mass",
        threshold=0.1,
        on_empty="error",
        image_shape=None,
        deskew=False,
        stroke_width=None,
        denoise=True,
    ):
        self.polarity = polarity
        self.box = box
        self.center = center
        self.threshold = threshold
        self.on_empty = on_empty
        self.image_shape = image_shape
        self.deskew = deskew
        self.stroke_width = stroke_width
        self.denoise = denoise

    def fit(self, X, y=None):
        """Check the parameters and the images; record ``n_features_in_`` of 2-D input.

        Parameters
        ----------
        X : list of array-like, or array-like of shape (n_images, ...)
            The images (see Notes in the class docstring).
        y : None
            Ignored.

        Returns
        -------
        self : DigitNormalizer
            The transformer.
        """
        self._validate_params()
        for i, image in enumerate(self._images(X, reset=True)):
            _checked_grey(image, i)
        return self

    def transform(self, X):
        """Normalise each image to an MNIST-style row of 784 grey levels.

        Parameters
        ----------
        X : list of array-like, or array-like of shape (n_images, ...)
            The images (see Notes in the class docstring).

        Returns
        -------
        X_new : ndarray of shape (n_images, 784), dtype uint8
            One 28 x 28 image per row, flattened row-major.
        """
        return self._transform(X)[0]

    def _transform(self, X, stages=False):
        """``(rows, stages)``: the normalised rows and, with ``stages=True``, the
        steps before deskewing and stroke normalisation, ``{name: rows}``.
        """
        self._validate_params()
        images = self._images(X, reset=False)
        width = self.stroke_width
        params = (
            self.polarity,
            int(self.box),
            self.center,
            float(self.threshold),
            bool(self.deskew),
            None if width is None else _stroke_target(width),
            bool(self.denoise),
        )
        out = np.zeros((len(images), SIDE * SIDE), dtype=np.uint8)
        steps = {}
        for i, image in enumerate(images):
            grey, lo, hi = _checked_grey(image, i)
            found = [] if stages else None
            digit = _normalize_one(grey, lo, hi, params, found)
            for name, step in found or ():
                steps.setdefault(name, np.zeros_like(out))[i] = step.ravel()
            if digit is not None:
                out[i] = digit.ravel()
            elif self.on_empty == "error":
                raise ValueError(
                    f"image {i} has no ink: no pixel differs from its background "
                    f"level; pass on_empty='zeros' to get a blank row instead"
                )
        return out, steps

    def _images(self, X, *, reset):
        """The images of ``X`` as a sequence of arrays (2-D, or 3-D in colour)."""
        if _is_image_list(X):
            if reset:
                for name in ("n_features_in_", "feature_names_in_"):
                    self.__dict__.pop(name, None)
            return X
        if isinstance(X, np.ndarray) and X.ndim in (3, 4):
            if not len(X):
                raise ValueError(f"X holds no images (shape {X.shape})")
            if reset:
                for name in ("n_features_in_", "feature_names_in_"):
                    self.__dict__.pop(name, None)
            return X
        if isinstance(X, (list, tuple)) and not len(X):
            raise ValueError("X holds no images (an empty list)")
        _refuse_complex(X, "X")
        # Without a fit on 2-D input (stateless use), reset=False checks nothing.
        rows = validate_data(
            self, X, reset=reset, dtype="numeric", ensure_all_finite=False
        )
        shape = _rows_shape(rows.shape[1], self.image_shape)
        return rows.reshape(len(rows), *shape)

    def get_feature_names_out(self, input_features=None):
        """The names of the 784 output pixels, ``"1x1"`` to ``"28x28"``.

        The names of the columns of sk-mnist's CSV files: ``"RxC"`` for row R
        and column C, both counted from 1.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Checked against the input seen in :meth:`fit`, if any; it does not
            change the output names.

        Returns
        -------
        feature_names_out : ndarray of str objects, shape (784,)
            The pixel names.
        """
        if input_features is not None and hasattr(self, "n_features_in_"):
            input_features = np.asarray(input_features, dtype=object)
            if len(input_features) != self.n_features_in_:
                raise ValueError(
                    "input_features should have length equal to number of "
                    f"features ({self.n_features_in_}), got {len(input_features)}"
                )
            names_in = getattr(self, "feature_names_in_", None)
            if names_in is not None and not np.array_equal(names_in, input_features):
                raise ValueError("input_features is not equal to feature_names_in_")
        return _FEATURE_NAMES.copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.positive_only = True
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = []
        return tags
