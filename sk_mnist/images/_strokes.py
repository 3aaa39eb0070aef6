"""Deskewing and stroke-width normalisation of a digit's ink (two options)."""

import math

import numpy as np
from PIL import Image

_RESIZE_DOWN = Image.Resampling.LANCZOS
_RESIZE_UP = Image.Resampling.BICUBIC
# MNIST's stroke widths, in pixels of the 28 x 28 field, as _stroke_width
# measures them on the 4,000 training digits of the embedded sample: median
# 2.48, quartiles 2.13 and 2.88.
# Its 5th and 95th percentiles (1.73 and 3.76): ``stroke_width="mnist"``
# leaves a digit whose width is in this range alone, as 90% of MNIST's. (A
# narrower range, the 10th-90th or the quartiles, changed more clean
# digits and misread more of them.)
_MNIST_STROKE_RANGE = (1.73, 3.76)
# Largest shear deskewing applies (45 degrees): only a flat smear has more.
_MAX_SKEW = 1.0
# Stroke normalisation works at this many times the box's resolution, and
# measures and corrects the width at most this many times.
_STROKE_SCALE = 4
_STROKE_PASSES = 3
# How near the wanted width, in pixels, is near enough.
_STROKE_TOLERANCE = 0.1


def _span(mask_1d):
    """``(first, last + 1)`` of the True entries of a 1-D mask."""
    hits = np.flatnonzero(mask_1d)
    return int(hits[0]), int(hits[-1]) + 1


def _skew(ink):
    """``(skew, centre row)`` of ``ink``: mu11 / mu02 of its central moments."""
    rows = np.arange(ink.shape[0], dtype=np.float64)[:, None]
    cols = np.arange(ink.shape[1], dtype=np.float64)[None, :]
    mass = ink.sum(dtype=np.float64)
    cy = float((ink * rows).sum(dtype=np.float64) / mass)
    cx = float((ink * cols).sum(dtype=np.float64) / mass)
    mu02 = float((ink * (rows - cy) ** 2).sum(dtype=np.float64))
    mu11 = float((ink * (rows - cy) * (cols - cx)).sum(dtype=np.float64))
    return (mu11 / mu02 if mu02 > 0 else 0.0), cy


def _deskewed(ink):
    """``ink`` sheared so that its skew moment mu11 is 0 (LeCun's deskewing).

    Row ``r`` of the output samples the input at column ``c + skew * (r -
    cy)``, linearly interpolated, about the centre of mass ``cy``: the
    slant of the digit goes, its height and centre of mass stay.
    """
    skew, cy = _skew(ink)
    skew = min(max(skew, -_MAX_SKEW), _MAX_SKEW)
    h, w = ink.shape
    shift = skew * (np.arange(h) - cy)
    pad = math.ceil(np.abs(shift).max()) if h else 0
    if not pad and not skew:
        return ink
    x = np.arange(w + 2 * pad) - pad + shift[:, None]
    x0 = np.floor(x)
    frac = (x - x0).astype(np.float32)
    # One zero column either side: a sample outside the image reads 0.
    padded = np.pad(ink, ((0, 0), (1, 1)))
    i0 = x0.astype(np.intp) + 1
    i0, i1 = np.clip(i0, 0, w + 1), np.clip(i0 + 1, 0, w + 1)
    rows = np.arange(h)[:, None]
    return padded[rows, i0] * (1 - frac) + padded[rows, i1] * frac


def _stroke_width(a):
    """Mean stroke width of the grey ink ``a``, in pixels: 2 x area / perimeter.

    The area is the ink's mass; the perimeter its total variation, the sums
    of the absolute differences of neighbouring pixels, times pi / 4
    (Cauchy-Crofton: a perimeter in every direction, not only along the
    axes). Grey edges count in proportion, so anti-aliased strokes thinner
    than a pixel are measured too.
    """
    a = np.asarray(a, dtype=np.float64)
    edges = np.abs(np.diff(a, axis=0)).sum() + np.abs(np.diff(a, axis=1)).sum()
    return 2 * a.sum() / (math.pi / 4 * edges) if edges > 0 else 0.0


def _resized(ink, long_side):
    """Float ``ink`` resized so that its longer side is ``long_side``, aspect kept."""
    h, w = ink.shape
    scale = long_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size == (w, h):
        return ink
    resample = _RESIZE_DOWN if scale < 1 else _RESIZE_UP
    return np.asarray(Image.fromarray(ink).resize(size, resample, reducing_gap=3.0))


def _disk(radius):
    """A disk of ``radius`` pixels, a boolean footprint."""
    r = np.arange(-radius, radius + 1)
    return r[:, None] ** 2 + r[None, :] ** 2 <= radius**2 + radius


def _morphed(work, radius):
    """``work`` dilated (radius > 0) or eroded (radius < 0) by a disk."""
    from scipy import ndimage

    size = abs(radius)
    padded = np.pad(work, size) if radius > 0 else work
    op = ndimage.grey_dilation if radius > 0 else ndimage.grey_erosion
    return op(padded, footprint=_disk(size), mode="constant", cval=0.0)


def _fractional_morph(work, radius):
    """``work`` dilated or eroded by a disk of a fractional ``radius``.

    A blend of the two whole radii either side: the edges move by the
    fraction of a pixel, which the resize to the box turns into grey.
    """
    whole = math.floor(radius)
    part = np.float32(radius - whole)
    low = _morphed(work, whole) if whole else work
    if not part:
        return low
    high = _morphed(work, whole + 1) if whole + 1 else work
    # A dilation grows the image by the radius on each side.
    grow = (high.shape[0] - low.shape[0]) // 2
    low = np.pad(low, grow) if grow > 0 else low
    high = np.pad(high, -grow) if grow < 0 else high
    return low + part * (high - low)


def _box_width(patch):
    """:func:`_stroke_width` of a box-sized ``patch``, edges at the border counted."""
    return _stroke_width(np.pad(np.maximum(patch, 0), 1))


def _stroke_normalized(ink, box, target):
    """``ink`` thickened or thinned to a stroke width in ``target``.

    ``target`` is ``(lo, hi)``: the width of the ``box``-pixel digit is
    measured (:func:`_stroke_width`) and, outside ``lo``-``hi``, brought to
    the nearer end, by grey dilation or erosion with a disk at
    ``_STROKE_SCALE`` times the resolution of the box: the change is a
    fraction of a pixel of the digit, and its edges stay anti-aliased as
    MNIST's. The box is fitted again, and the width measured and corrected
    again, ``_STROKE_PASSES`` times at most.

    Returns
    -------
    patch : ndarray of float32 or None
        The ink resized to ``box``, or None when its width was in range.
    """
    lo, hi = target
    # Clipped: the ringing of the resize below 0 would spread in an erosion.
    work = np.clip(_resized(ink, _STROKE_SCALE * box), 0, ink.max())
    patch, changed = _resized(work, box), None
    radius, long_side = 0.0, max(work.shape)
    limit = _STROKE_SCALE * box / 4
    for _ in range(_STROKE_PASSES):
        width = _box_width(patch)
        wanted = min(max(width, lo), hi)
        if abs(wanted - width) < _STROKE_TOLERANCE:
            break
        # Half the change on each side, in pixels of the work image; at most
        # a quarter of the box, which a stroke as wide as the box would need.
        new = radius + (wanted - width) / 2 * long_side / box
        new = min(max(new, -limit), limit)
        if new == radius:
            break
        morphed = _fractional_morph(work, new)
        result = _ink_box(morphed, 0.01 * morphed.max())
        if result is None:  # eroded away: keep the last that had ink
            break
        radius, long_side = new, max(result.shape)
        patch = changed = _resized(result, box)
    return changed


def _stroke_target(stroke_width):
    """``(lo, hi)``, the stroke widths that `stroke_width` leaves alone."""
    if isinstance(stroke_width, str):  # "mnist"
        return _MNIST_STROKE_RANGE
    return float(stroke_width), float(stroke_width)


def _ink_box(ink, cut):
    """``ink`` cropped to the rows and columns holding ink above ``cut``."""
    inked = ink > cut
    if not inked.any():
        return None
    r0, r1 = _span(inked.any(axis=1))
    c0, c1 = _span(inked[r0:r1].any(axis=0))
    return np.ascontiguousarray(ink[r0:r1, c0:c1], dtype=np.float32)
