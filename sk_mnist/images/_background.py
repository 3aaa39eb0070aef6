"""The background of a digit image: its level and its noise, for DigitNormalizer."""

import numpy as np

# ``denoise``: grey levels within this many standard deviations of the
# border's noise from the background level are background. The deviation is
# 1.4826 x the ring's median absolute deviation, as for a normal noise.
_NOISE_SIGMAS = 3.0
_MAD_TO_SIGMA = 1.4826


def _ring(a):
    """The pixels of the outer ring of ``a``, each once (all of a thin image)."""
    if a.shape[0] <= 2 or a.shape[1] <= 2:
        return a.ravel()
    return np.concatenate([a[0], a[-1], a[1:-1, 0], a[1:-1, -1]])


def _median(values):
    """The median of a 1-D array."""
    # np.median's own overhead is larger than the work on a few hundred pixels.
    middle = (len(values) - 1) // 2, len(values) // 2
    return float(np.partition(values, middle)[list(middle)].mean())


def _border_median(a):
    """The median of the pixels of the outer ring of ``a``, each counted once."""
    return _median(_ring(a))


def _noise_floor(a, level):
    """How far from ``level`` the border's noise reaches: ``_NOISE_SIGMAS`` x sigma.

    Sigma is estimated from the outer ring's median absolute deviation from
    the background ``level``: 0 on a flat background, so that clean images
    are left as they are, and robust to the few ink pixels that touch it.
    """
    deviation = _median(np.abs(_ring(a) - np.float32(level)))
    return _NOISE_SIGMAS * _MAD_TO_SIGMA * deviation


def _without_specks(inked):
    """``inked`` without its isolated pixels (none of their 8 neighbours inked)."""
    padded = np.pad(inked, 1).astype(np.uint8)
    h, w = inked.shape
    neighbours = sum(
        padded[1 + dr : 1 + dr + h, 1 + dc : 1 + dc + w]
        for dr in (-1, 0, 1)
        for dc in (-1, 0, 1)
        if dr or dc
    )
    return inked & (neighbours > 0)
