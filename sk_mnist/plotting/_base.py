"""What every display shares: the figure to draw in, and digit-image grids.

:func:`axes_or_new` gives every display its axes: the caller's, or new ones
on a figure closed again if drawing fails.
"""

import contextlib
import math

import numpy as np


def pyplot(caller):
    """``matplotlib.pyplot``; an ImportError naming `caller` without matplotlib."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError(
            f"{caller} requires matplotlib; install it with `pip install matplotlib`"
        ) from err
    return plt


@contextlib.contextmanager
def axes_or_new(caller, ax=None, *, figsize, shape=None, fig=None):
    """Yield the caller's axes, or new axes on a new figure closed if drawing fails.

    Parameters
    ----------
    caller : str
        The display method, named when matplotlib is missing.
    ax : matplotlib Axes, sequence of Axes or None, default=None
        The caller's axes, yielded as they are; nothing is created or closed.
    figsize : tuple of float
        Size of a new figure, in inches.
    shape : tuple of int (n_rows, n_cols), default=None
        None for a single new Axes; otherwise an ndarray of new Axes of this
        shape.
    fig : matplotlib Figure or SubFigure, default=None
        The caller's figure to add the new axes to (never closed).

    Yields
    ------
    ax : matplotlib Axes or ndarray of Axes
        `ax`, or the new axes.
    """
    plt = pyplot(caller)
    if ax is not None:
        yield ax
        return
    made = None
    if fig is None:
        made = fig = plt.figure(figsize=figsize, layout="constrained")
    try:
        yield fig.subplots() if shape is None else fig.subplots(*shape, squeeze=False)
    except BaseException:
        if made is not None:
            plt.close(made)
        raise


def as_images(X, image_shape, what="X"):
    """Return ``(X as an ndarray, (height, width))`` for 2-D or 3-D image input.

    A 2-D ``X`` holds one flattened image per row; ``image_shape=None`` means
    square images (28x28 for 784 pixels, 8x8 for 64).
    """
    X = np.asarray(X)
    if X.ndim == 3:
        shape = X.shape[1:]
        if image_shape is not None and tuple(image_shape) != shape:
            raise ValueError(
                f"{what} holds {shape[0]}x{shape[1]} images but image_shape="
                f"{tuple(image_shape)}"
            )
        return X, shape
    if X.ndim != 2:
        raise ValueError(
            f"{what} must be 2-D (n_samples, n_pixels) or 3-D (n_samples, height, "
            f"width), got shape {X.shape}"
        )
    n_features = X.shape[1]
    if image_shape is None:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ValueError(
                f"cannot infer the image shape from {n_features} pixels, which is "
                f"not a square number; pass image_shape=(height, width)"
            )
        return X, (side, side)
    image_shape = tuple(int(s) for s in image_shape)
    if len(image_shape) != 2 or math.prod(image_shape) != n_features:
        raise ValueError(
            f"image_shape={image_shape} does not match the {n_features} pixels "
            f"of each row of {what}"
        )
    return X, image_shape


def check_grid(n_images, n_cols):
    """Raise ValueError unless `n_images` and `n_cols` are at least 1."""
    if int(n_images) < 1:
        raise ValueError(f"n_images must be at least 1, got {n_images}")
    if int(n_cols) < 1:
        raise ValueError(f"n_cols must be at least 1, got {n_cols}")


def grid_shape(n_images, n_cols):
    """``(n_rows, n_cols)`` of a grid for `n_images`: no column left empty."""
    n_cols = min(int(n_cols), n_images)
    return -(-n_images // n_cols), n_cols


def draw_images(axes, images, titles, image_shape, cmap, title_size):
    """imshow each image in its axes; hide the axes left over; return the images."""
    # One grey scale for the whole grid, so that images compare fairly.
    vmin, vmax = (np.min(images), np.max(images)) if len(images) else (None, None)
    shown = []
    for k, ax in enumerate(axes.ravel()):
        if k >= len(images):
            ax.set_visible(False)
            continue
        shown.append(
            ax.imshow(
                images[k].reshape(image_shape),
                cmap=cmap,
                vmin=vmin,
                vmax=vmax,
                interpolation="nearest",
            )
        )
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[k], fontsize=title_size)
    return shown
