"""MisclassifiedDisplay: the misclassified digits a classifier was surest of."""

import numpy as np
from sklearn.utils.multiclass import unique_labels

from ._base import as_images, axes_or_new, check_grid, draw_images, grid_shape


def _say_none(ax):
    ax.text(
        0.5,
        0.5,
        "no misclassified images",
        ha="center",
        va="center",
        transform=ax.transAxes,
    )
    ax.set_axis_off()


class MisclassifiedDisplay:
    """The misclassified images a classifier was most confident about.

    Each image is titled ``"true -> predicted (p)"``, where ``p`` is the
    probability given to the predicted class, and the images are ordered by
    ``p``, highest first. Create it with :meth:`from_estimator` or
    :meth:`from_predictions`.

    Parameters
    ----------
    images : array-like of shape (n_shown, n_pixels) or (n_shown, h, w)
        The misclassified images to draw.
    y_true : array-like of shape (n_shown,)
        Their true labels.
    y_pred : array-like of shape (n_shown,)
        Their predicted labels.
    confidence : array-like of shape (n_shown,)
        The probability of each predicted label.
    indices : array-like of shape (n_shown,), default=None
        Where the images come from in the original data.
    n_misclassified : int, default=None
        Total number of misclassified samples, shown in the figure title.

    Attributes
    ----------
    n_shown_ : int
        Number of images drawn (0 when nothing is misclassified).
    indices_ : ndarray of shape (`n_shown_`,)
        `indices` (``0 .. n_shown_ - 1`` when None).
    axes_ : ndarray of matplotlib Axes, shape (n_rows, n_cols)
        The grid; the axes after the last image are hidden. A single axes
        holding the text "no misclassified images" when there are none.
    images_ : list of matplotlib AxesImage
        One per image drawn.
    figure_ : matplotlib Figure or SubFigure
        The figure the grid is drawn in.

    See Also
    --------
    DigitConfusionMatrixDisplay : Counts of each (true, predicted) pair.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sk_mnist.plotting import MisclassifiedDisplay
    >>> X = np.eye(4, 16)  # four 4x4 "images"
    >>> y_proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
    >>> disp = MisclassifiedDisplay.from_predictions(
    ...     X, [0, 0, 1, 1], y_proba, classes=[0, 1])
    >>> disp.indices_.tolist()
    [1, 3]
    >>> [ax.get_title() for ax in disp.axes_.ravel()[:2]]
    ['0 -> 1 (0.80)', '1 -> 0 (0.60)']
    """

    def __init__(
        self, images, y_true, y_pred, confidence, *, indices=None, n_misclassified=None
    ):
        self.images = images
        self.y_true = y_true
        self.y_pred = y_pred
        self.confidence = confidence
        self.indices = indices
        self.n_misclassified = n_misclassified

    def plot(self, *, n_cols=4, image_shape=None, cmap="gray_r", fig=None):
        """Draw the misclassified images in a grid.

        Parameters
        ----------
        n_cols : int, default=4
            Number of columns of the grid (fewer when there are fewer images).
        image_shape : tuple of int (height, width), default=None
            Shape of each image. If None, images are square (28x28 for 784
            pixels).
        cmap : str or matplotlib Colormap, default="gray_r"
            Colormap.
        fig : matplotlib Figure or SubFigure, default=None
            Where to add the grid of axes. If None, a new figure is created.

        Returns
        -------
        display : MisclassifiedDisplay
            This display, with the artists stored.
        """
        images = np.asarray(self.images)
        y_true, y_pred = np.asarray(self.y_true), np.asarray(self.y_pred)
        confidence = np.asarray(self.confidence, dtype=float)
        n_shown = len(images)
        if not len(y_true) == len(y_pred) == len(confidence) == n_shown:
            raise ValueError(
                "images, y_true, y_pred and confidence must have the same length"
            )
        check_grid(max(n_shown, 1), n_cols)
        titles = []
        if n_shown:
            images, image_shape = as_images(images, image_shape, "images")
            titles = [
                f"{t} -> {p} ({c:.2f})"
                for t, p, c in zip(y_true, y_pred, confidence, strict=True)
            ]
        n_rows, n_cols = grid_shape(n_shown, n_cols) if n_shown else (1, 1)
        with axes_or_new(
            "MisclassifiedDisplay.plot",
            figsize=(1.9 * n_cols, 2.0 * n_rows) if n_shown else (4, 1.5),
            shape=(n_rows, n_cols),
            fig=fig,
        ) as axes:
            if n_shown:
                self.images_ = draw_images(axes, images, titles, image_shape, cmap, 10)
                total = self.n_misclassified
                axes[0, 0].figure.suptitle(
                    "Most confident mistakes"
                    + (f" ({n_shown} of {total} misclassified)" if total else "")
                )
            else:
                _say_none(axes[0, 0])
                self.images_ = []
        self.n_shown_ = n_shown
        self.indices_ = (
            np.arange(n_shown) if self.indices is None else np.asarray(self.indices)
        )
        self.axes_ = axes
        self.figure_ = axes[0, 0].figure
        return self

    @classmethod
    def from_predictions(
        cls,
        X,
        y_true,
        y_proba,
        *,
        classes,
        n_images=16,
        n_cols=4,
        image_shape=None,
        cmap="gray_r",
        fig=None,
    ):
        """Draw the most confident mistakes, given predicted probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_pixels) or (n_samples, h, w)
            Images.
        y_true : array-like of shape (n_samples,)
            True labels, all among `classes` and of their type (``1``
            against ``"1"`` raises ``ValueError``).
        y_proba : array-like of shape (n_samples, n_classes)
            Predicted class probabilities, columns in the order of `classes`.
        classes : array-like of shape (n_classes,)
            The class of each column of `y_proba` (an estimator's
            ``classes_``).
        n_images : int, default=16
            Most images to draw.
        n_cols : int, default=4
            Number of columns of the grid.
        image_shape : tuple of int (height, width), default=None
            Shape of each image. If None, images are square (28x28 for 784
            pixels).
        cmap : str or matplotlib Colormap, default="gray_r"
            Colormap.
        fig : matplotlib Figure or SubFigure, default=None
            Where to add the grid of axes. If None, a new figure is created.

        Returns
        -------
        display : MisclassifiedDisplay
            The display, drawn.
        """
        X, image_shape = as_images(X, image_shape)
        check_grid(n_images, n_cols)
        y_true = np.asarray(y_true)
        y_proba = np.asarray(y_proba, dtype=float)
        classes = np.asarray(classes)
        if y_proba.ndim != 2 or y_proba.shape[1] != len(classes):
            raise ValueError(
                f"y_proba must have shape (n_samples, {len(classes)}) to match "
                f"classes, got {y_proba.shape}"
            )
        if not len(X) == len(y_true) == len(y_proba):
            raise ValueError(
                f"X, y_true and y_proba have {len(X)}, {len(y_true)} and "
                f"{len(y_proba)} samples; they must match"
            )
        # Labels of another type (1 against "1") would all count as mistakes.
        unique_labels(classes, y_true)  # raises on a mix of label types
        unknown = np.setdiff1d(y_true, classes)
        if len(unknown):
            raise ValueError(
                f"y_true holds labels that are not among classes "
                f"{classes.tolist()}: {unknown[:5].tolist()}"
            )
        best = np.argmax(y_proba, axis=1)
        y_pred = classes[best]
        confidence = y_proba[np.arange(len(y_proba)), best]
        wrong = np.flatnonzero(y_pred != y_true)
        order = wrong[np.argsort(-confidence[wrong], kind="stable")][: int(n_images)]
        return cls(
            X[order],
            y_true[order],
            y_pred[order],
            confidence[order],
            indices=order,
            n_misclassified=len(wrong),
        ).plot(n_cols=n_cols, image_shape=image_shape, cmap=cmap, fig=fig)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        n_images=16,
        n_cols=4,
        image_shape=None,
        cmap="gray_r",
        fig=None,
    ):
        """Draw the most confident mistakes of a fitted classifier on `X`.

        Parameters
        ----------
        estimator : fitted classifier or Pipeline
            Anything with ``predict_proba`` and ``classes_``.
        X : array-like of shape (n_samples, n_pixels)
            Images, as the estimator takes them.
        y : array-like of shape (n_samples,)
            True labels, all among the estimator's ``classes_`` and of their
            type.
        n_images : int, default=16
            Most images to draw.
        n_cols : int, default=4
            Number of columns of the grid.
        image_shape : tuple of int (height, width), default=None
            Shape of each image. If None, images are square (28x28 for 784
            pixels).
        cmap : str or matplotlib Colormap, default="gray_r"
            Colormap.
        fig : matplotlib Figure or SubFigure, default=None
            Where to add the grid of axes. If None, a new figure is created.

        Returns
        -------
        display : MisclassifiedDisplay
            The display, drawn.
        """
        y_proba = estimator.predict_proba(X)
        return cls.from_predictions(
            X,
            y,
            y_proba,
            classes=estimator.classes_,
            n_images=n_images,
            n_cols=n_cols,
            image_shape=image_shape,
            cmap=cmap,
            fig=fig,
        )
