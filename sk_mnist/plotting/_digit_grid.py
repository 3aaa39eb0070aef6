"""DigitGridDisplay: a grid of digit images titled with their labels."""

import numpy as np
from sklearn.utils import check_random_state

from ._base import as_images, axes_or_new, check_grid, draw_images, grid_shape


class DigitGridDisplay:
    """Grid of digit images, each titled with its label.

    It is recommended to use :meth:`from_arrays` to create it.

    Parameters
    ----------
    images : array-like of shape (n_images, n_pixels) or (n_images, h, w)
        The images to draw, flattened row-major (``images[i].reshape(h, w)``
        is upright) or already 2-D.
    labels : array-like of shape (n_images,), default=None
        The title of each image. If None, images are not titled.
    indices : array-like of shape (n_images,), default=None
        Where the images come from in the original data, kept for reference.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes, shape (n_rows, n_cols)
        The grid; the axes after the last image are hidden.
    images_ : list of matplotlib AxesImage
        One per image, in order.
    indices_ : ndarray of shape (n_images,)
        `indices`, or ``0 .. n_images - 1`` when None.
    figure_ : matplotlib Figure or SubFigure
        The figure the grid is drawn in.

    See Also
    --------
    MisclassifiedDisplay : The most confidently misclassified images.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from sk_mnist.plotting import DigitGridDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> disp = DigitGridDisplay.from_arrays(X, y, n_images=10, random_state=0)
    >>> len(disp.images_), disp.axes_.shape
    (10, (2, 5))
    """

    def __init__(self, images, labels=None, *, indices=None):
        self.images = images
        self.labels = labels
        self.indices = indices

    def plot(self, *, n_cols=5, image_shape=None, cmap="gray_r", fig=None):
        """Draw the images in a grid.

        Parameters
        ----------
        n_cols : int, default=5
            Number of columns of the grid (fewer when there are fewer images).
        image_shape : tuple of int (height, width), default=None
            Shape of each image. If None, images are square (28x28 for 784
            pixels). Ignored for 3-D `images`.
        cmap : str or matplotlib Colormap, default="gray_r"
            Colormap; ``"gray_r"`` draws dark digits on white.
        fig : matplotlib Figure or SubFigure, default=None
            Where to add the grid of axes (``fig.subplots``). If None, a new
            figure is created.

        Returns
        -------
        display : DigitGridDisplay
            This display, with the artists stored.
        """
        images, image_shape = as_images(self.images, image_shape, "images")
        n_images = len(images)
        if not n_images:
            raise ValueError("images holds no images: nothing to draw")
        check_grid(n_images, n_cols)
        titles = None
        if self.labels is not None:
            labels = np.asarray(self.labels)
            if len(labels) != n_images:
                raise ValueError(
                    f"{len(labels)} labels for {n_images} images; they must match"
                )
            titles = [str(label) for label in labels]
        n_rows, n_cols = grid_shape(n_images, n_cols)
        with axes_or_new(
            "DigitGridDisplay.plot",
            figsize=(1.4 * n_cols, 1.6 * n_rows),
            shape=(n_rows, n_cols),
            fig=fig,
        ) as axes:
            self.images_ = draw_images(axes, images, titles, image_shape, cmap, 11)
        self.indices_ = (
            np.arange(n_images) if self.indices is None else np.asarray(self.indices)
        )
        self.axes_ = axes
        self.figure_ = axes[0, 0].figure
        return self

    @classmethod
    def from_arrays(
        cls,
        X,
        y=None,
        *,
        n_images=25,
        n_cols=5,
        image_shape=None,
        random_state=None,
        cmap="gray_r",
        fig=None,
    ):
        """Draw the first (or a random sample of) `n_images` images of `X`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_pixels) or (n_samples, h, w)
            Images, one per row.
        y : array-like of shape (n_samples,), default=None
            Labels, used as titles.
        n_images : int, default=25
            Number of images to draw (all of them when `X` has fewer).
        n_cols : int, default=5
            Number of columns of the grid.
        image_shape : tuple of int (height, width), default=None
            Shape of each image. If None, images are square (28x28 for 784
            pixels).
        random_state : int, RandomState instance or None, default=None
            If None, the first `n_images` images, in order; otherwise a random
            sample of them, drawn without replacement with this seed.
        cmap : str or matplotlib Colormap, default="gray_r"
            Colormap.
        fig : matplotlib Figure or SubFigure, default=None
            Where to add the grid of axes. If None, a new figure is created.

        Returns
        -------
        display : DigitGridDisplay
            The display, drawn.
        """
        X, image_shape = as_images(X, image_shape)
        check_grid(n_images, n_cols)
        if not len(X):
            raise ValueError("X holds no images")
        if y is not None:
            y = np.asarray(y)
            if len(y) != len(X):
                raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
        n = min(int(n_images), len(X))
        if random_state is None:
            indices = np.arange(n)
        else:
            indices = check_random_state(random_state).choice(len(X), n, replace=False)
        labels = None if y is None else y[indices]
        return cls(X[indices], labels, indices=indices).plot(
            n_cols=n_cols, image_shape=image_shape, cmap=cmap, fig=fig
        )
