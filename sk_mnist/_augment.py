"""Training-time distortions of digit images, as one Keras layer.

:func:`make_augmenter` checks an ``augment`` value (None, a preset name or a
dict of ranges) and returns a :class:`DigitAugmenter`: a layer that, called
with ``training=True`` on a batch of flat rows of square grey images scaled
to [0, 1], draws fresh random distortions for every image and returns rows of
the same shape; with ``training=False`` it returns its input unchanged. It is
written with ``keras.ops`` in one resampling pass rather than with Keras'
``Random*`` layers: why, in :ref:`real-handwriting`.
"""

import math
from numbers import Integral, Real

import keras
import numpy as np
from keras import ops

__all__ = [
    "AUGMENT_KEYS",
    "PRESETS",
    "DigitAugmenter",
    "check_augment",
    "image_side",
    "make_augmenter",
]

#: The keys of a dict ``augment``, with their largest allowed value. Every
#: range is symmetric about "no change": ``rotation=12`` draws an angle in
#: [-12, 12] degrees.
AUGMENT_KEYS = {
    "rotation": 180.0,  # degrees
    "zoom": 0.9,  # fraction of the size, per axis
    "shear": 45.0,  # degrees of horizontal slant
    "translation": None,  # pixels, per axis
    "elastic_alpha": None,  # pixels: strength of the displacement field
    "elastic_sigma": None,  # pixels: smoothness of the displacement field
    "stroke": 1.0,  # weight of the dilation (> 0) or erosion (< 0)
}

_AFFINE = {"rotation": 12.0, "zoom": 0.12, "shear": 15.0, "translation": 2.0}
#: The presets, as the dicts they stand for.
PRESETS = {
    "affine": {**_AFFINE, "stroke": 0.8},
    "elastic": {**_AFFINE, "elastic_alpha": 34.0, "elastic_sigma": 4.0, "stroke": 0.8},
}
# Simard, Steinkraus and Platt (2003) smooth the field with sigma = 4 pixels.
_DEFAULT_SIGMA = 4.0


def _allowed():
    keys = ", ".join(f"{k!r}" for k in AUGMENT_KEYS)
    presets = ", ".join(repr(p) for p in PRESETS)
    return (
        f"augment must be None, one of {presets}, or a dict with keys among "
        f"{keys} and non-negative numbers as values"
    )


def check_augment(augment):
    """The ranges that ``augment`` stands for, a full dict; or None.

    Raises one ``ValueError`` naming ``augment`` and the allowed values.
    """
    if augment is None:
        return None
    if isinstance(augment, str):
        if augment not in PRESETS:
            raise ValueError(f"{_allowed()}; got the unknown preset {augment!r}")
        augment = PRESETS[augment]
    if not isinstance(augment, dict):
        raise ValueError(f"{_allowed()}; got {augment!r}")
    unknown = sorted(str(k) for k in augment if k not in AUGMENT_KEYS)
    if unknown:
        raise ValueError(f"{_allowed()}; got the unknown key {unknown[0]!r}")
    ranges = {key: 0.0 for key in AUGMENT_KEYS}
    ranges["elastic_sigma"] = _DEFAULT_SIGMA
    for key, value in augment.items():
        top = AUGMENT_KEYS[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, Real)
            or not math.isfinite(value)
            or value < 0
            or (top is not None and value > top)
            or (key == "elastic_sigma" and value == 0)
        ):
            limit = "" if top is None else f" at most {top:g}"
            kind = "> 0" if key == "elastic_sigma" else ">= 0"
            raise ValueError(
                f"{_allowed()}; got {key}={value!r}, expected a number {kind}{limit}"
            )
        ranges[key] = float(value)
    return ranges


def make_augmenter(augment, n_features, seed=None):
    """Check ``augment`` and return the layer that applies it, or None.

    Parameters
    ----------
    augment : None, str or dict
        None: no augmentation (returns None). A preset name (a key of
        :data:`PRESETS`) or a dict with keys among :data:`AUGMENT_KEYS`; see
        :class:`DigitAugmenter` for what each draws.
    n_features : int
        Pixels per row; must be a perfect square (the images are square).
    seed : int or None, default=None
        Seed of the distortions: the same seed draws the same sequence.

    Returns
    -------
    augmenter : DigitAugmenter or None
    """
    ranges = check_augment(augment)
    side = image_side(augment, n_features)
    if ranges is None:
        return None
    return DigitAugmenter(side, seed=seed, **ranges)


def image_side(augment, n_features):
    """The side of the square images of ``n_features`` pixels, for ``augment``.

    None when ``augment`` is None and the rows are not square images; a
    ``ValueError`` naming ``augment`` when it is set and they are not.
    """
    side = math.isqrt(n_features) if isinstance(n_features, Integral) else 0
    if side >= 2 and side * side == n_features:
        return side
    if augment is None:
        return None
    raise ValueError(
        f"augment={augment!r} distorts square images, but X has "
        f"{n_features!r} features per row, not a square number; augment "
        "must be None for such data"
    )


def _blur_matrix(side, sigma):
    """``side x side`` matrix of a 1-D Gaussian blur, zero outside, 3 sigma wide."""
    offsets = np.arange(side)[:, None] - np.arange(side)[None, :]
    taps = np.exp(-0.5 * (offsets / sigma) ** 2)
    taps[np.abs(offsets) > max(1, math.ceil(3 * sigma))] = 0
    # Normalised as the full kernel is, so the field is weaker near the edges
    # as with a zero-padded convolution.
    kernel = np.exp(-0.5 * (np.arange(-side, side + 1) / sigma) ** 2)
    kernel[np.abs(np.arange(-side, side + 1)) > max(1, math.ceil(3 * sigma))] = 0
    return (taps / kernel.sum()).astype(np.float32)


@keras.saving.register_keras_serializable(package="sk_mnist")
class DigitAugmenter(keras.layers.Layer):
    """Random distortions of flat square grey images, in training only.

    Each image gets its own draw, from uniform distributions:

    * ``rotation``: turned by an angle in [-rotation, rotation] degrees;
    * ``zoom``: its width and its height each scaled by a factor in
      [1 - zoom, 1 + zoom], independently;
    * ``shear``: slanted (horizontal shear) by an angle in [-shear, shear]
      degrees;
    * ``translation``: moved by [-translation, translation] pixels along
      each axis;
    * ``elastic_alpha``, ``elastic_sigma``: Simard's elastic deformation,
      each pixel displaced by a random field (uniform in [-1, 1] per pixel
      and axis, smoothed by a Gaussian of ``elastic_sigma`` pixels, times
      ``elastic_alpha``); 0 alpha: none;
    * ``stroke``: a weight ``t`` in [-stroke, stroke]; the image moves a
      fraction ``t`` of the way towards its grey-level dilation (3 x 3
      maximum: thicker ink) when ``t > 0``, ``-t`` of the way towards its
      erosion (3 x 3 minimum: thinner ink) when ``t < 0``.

    The geometric distortions are one resampling (bilinear, black outside
    the image) about the image's centre; the stroke change comes after.
    The presets of :data:`PRESETS`:

    * ``"affine"``: rotation 12, zoom 0.12, shear 15, translation 2,
      stroke 0.8;
    * ``"elastic"``: the same plus elastic_alpha 34, elastic_sigma 4
      (Simard's values for MNIST).

    Parameters
    ----------
    side : int
        Side of the square images, in pixels.
    rotation, zoom, shear, translation, elastic_alpha, stroke : float, default=0
        The ranges above; 0 draws nothing.
    elastic_sigma : float, default=4.0
        Smoothness of the elastic field, in pixels.
    seed : int or None, default=None
        Seed of the layer's :class:`keras.random.SeedGenerator`.
    """

    def __init__(
        self,
        side,
        *,
        rotation=0.0,
        zoom=0.0,
        shear=0.0,
        translation=0.0,
        elastic_alpha=0.0,
        elastic_sigma=_DEFAULT_SIGMA,
        stroke=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.side = int(side)
        self.rotation = float(rotation)
        self.zoom = float(zoom)
        self.shear = float(shear)
        self.translation = float(translation)
        self.elastic_alpha = float(elastic_alpha)
        self.elastic_sigma = float(elastic_sigma)
        self.stroke = float(stroke)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        centre = (self.side - 1) / 2
        rows, cols = np.indices((self.side, self.side), dtype=np.float32)
        ones = np.ones(self.side**2, np.float32)
        # Output pixels in homogeneous coordinates about the centre.
        self._grid = np.stack([cols.ravel() - centre, rows.ravel() - centre, ones])
        self._blur = _blur_matrix(self.side, self.elastic_sigma)

    def _draw(self, n):
        """Every image's draws, (n, 7), each column uniform in +-its range."""
        limits = (
            math.radians(self.rotation),
            math.radians(self.shear),
            self.zoom,
            self.zoom,
            self.translation,
            self.translation,
            self.stroke,
        )
        # One call, not seven: each is an op and a seed-state update per batch.
        unit = keras.random.uniform(
            (n, len(limits)),
            -1.0,
            1.0,
            dtype=self.compute_dtype,
            seed=self.seed_generator,
        )
        return unit * ops.convert_to_tensor(np.asarray(limits, np.float32))

    def _smoothed_field(self, n):
        """Simard's displacement field, of shape (n, 2, side**2): x then y."""
        field = keras.random.uniform(
            (n, 2, self.side, self.side),
            -1.0,
            1.0,
            dtype=self.compute_dtype,
            seed=self.seed_generator,
        )
        # The Gaussian blur as two products with a banded matrix: XLA compiles
        # a depthwise convolution on CPU into a loop 200 times slower.
        blur = ops.convert_to_tensor(self._blur, self.compute_dtype)
        field = ops.matmul(ops.matmul(blur, field), ops.transpose(blur))
        return ops.reshape(field * self.elastic_alpha, (n, 2, self.side**2))

    def _source_coordinates(self, draws, n):
        """Where each output pixel is read from, (n, 2, side**2): x then y."""
        # The forward map is rotate . shear . scale, then translate; the
        # output is read through its inverse, one 2 x 3 matrix per image.
        angle, slant = draws[:, 0], ops.tan(draws[:, 1])
        scale_x, scale_y = 1.0 + draws[:, 2], 1.0 + draws[:, 3]
        tx, ty = draws[:, 4], draws[:, 5]
        cos, sin = ops.cos(angle), ops.sin(angle)
        a, b = (cos + slant * sin) / scale_x, (sin - slant * cos) / scale_x
        c, d = -sin / scale_y, cos / scale_y
        centre = (self.side - 1) / 2
        inverse = ops.stack(
            [
                ops.stack([a, b, centre - a * tx - b * ty], axis=-1),
                ops.stack([c, d, centre - c * tx - d * ty], axis=-1),
            ],
            axis=1,
        )
        grid = ops.convert_to_tensor(self._grid, self.compute_dtype)
        coords = ops.matmul(inverse, grid)
        if self.elastic_alpha > 0:
            coords = coords + self._smoothed_field(n)
        return coords

    def _resample(self, flat, coords, n):
        """Bilinear reading of ``flat`` at ``coords``; 0 outside the image."""
        side, wide = self.side, self.side + 2
        # A zero border, and coordinates clipped into it: every corner read
        # is inside the padded image and outside reads give 0.
        padded = ops.pad(ops.reshape(flat, (n, side, side)), ((0, 0), (1, 1), (1, 1)))
        coords = ops.clip(coords, -1.0, float(side)) + 1.0
        corner = ops.floor(coords)
        weight = coords - corner
        corner = ops.cast(corner, "int32")
        base = ops.reshape(ops.arange(n, dtype="int32") * (wide * wide), (n, 1))
        index = corner[:, 1] * wide + corner[:, 0] + base
        table = ops.reshape(padded, (-1,))
        # The last row and column of the padded image are zero: an index one
        # past them reads the next image's first, zero-weighted, pixels.
        table = ops.concatenate([table, ops.zeros((wide + 1,), table.dtype)])
        v00, v01 = ops.take(table, index), ops.take(table, index + 1)
        v10, v11 = ops.take(table, index + wide), ops.take(table, index + wide + 1)
        wx, wy = weight[:, 0], weight[:, 1]
        top = v00 + wx * (v01 - v00)
        bottom = v10 + wx * (v11 - v10)
        return top + wy * (bottom - top)

    def _restroke(self, flat, weight, n):
        """Thicken or thin each image's ink by its drawn weight."""
        images = ops.reshape(flat, (n, self.side, self.side, 1))
        dilated = ops.max_pool(images, 3, strides=1, padding="same")
        eroded = -ops.max_pool(-images, 3, strides=1, padding="same")
        t = ops.reshape(weight, (n, 1, 1, 1))
        images = (
            images + ops.relu(t) * (dilated - images) + ops.relu(-t) * (eroded - images)
        )
        return ops.reshape(images, (n, self.side**2))

    def call(self, inputs, training=None):
        if not training:
            return inputs
        flat = ops.cast(inputs, self.compute_dtype)
        n = ops.shape(flat)[0]
        geometric = (
            self.rotation,
            self.zoom,
            self.shear,
            self.translation,
            self.elastic_alpha,
        )
        draws = self._draw(n)
        if any(geometric):
            flat = self._resample(flat, self._source_coordinates(draws, n), n)
        if self.stroke > 0:
            flat = self._restroke(flat, draws[:, 6], n)
        return ops.clip(flat, 0.0, 1.0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        names = ("rotation", "zoom", "shear", "translation")
        names += ("elastic_alpha", "elastic_sigma", "stroke", "seed")
        return {
            **super().get_config(),
            "side": self.side,
            **{name: getattr(self, name) for name in names},
        }
