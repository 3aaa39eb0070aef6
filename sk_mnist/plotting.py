"""Figures for MNIST-like digits, in scikit-learn's Display style.

Each figure is a class whose constructor stores the data to draw, whose
``plot`` method draws it and stores the matplotlib artists (``ax_`` or
``axes_``, ``figure_``, ...) and returns the display, and whose classmethods
(``from_labels``, ``from_arrays``, ``from_history``, ``from_estimator``,
``from_predictions``, ``from_cv_results``) compute that data and plot it in
one call, like :class:`sklearn.metrics.ConfusionMatrixDisplay`:

* :class:`ClassDistributionDisplay` - bar chart of the class counts of one or
  two label sets.
* :class:`DigitGridDisplay` - a grid of digit images titled with their labels.
* :class:`LearningCurveDisplay` - loss and accuracy per epoch.
* :func:`plot_confusion_matrix` - sklearn's ``ConfusionMatrixDisplay`` with a
  title.
* :class:`MisclassifiedDisplay` - the most confidently misclassified digits.
* :class:`SearchScoresDisplay` - mean cross-validated score of each candidate
  of a grid or randomized search.
* :func:`save_figure` - write a display's figure to a PNG file and close it.

Single-axes displays take ``ax=None`` (a new figure when None). Grid displays
draw a grid of axes and take ``fig=None`` instead: a matplotlib ``Figure`` or
``SubFigure`` to draw the grid in (a new figure when None).

matplotlib is imported only when something is drawn, and Keras never, so
importing this module is cheap.
"""

import contextlib
import math
from collections.abc import Mapping

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.multiclass import unique_labels

__all__ = [
    "ClassDistributionDisplay",
    "DigitGridDisplay",
    "LearningCurveDisplay",
    "MisclassifiedDisplay",
    "SearchScoresDisplay",
    "plot_confusion_matrix",
    "save_figure",
]


def _pyplot(caller):
    check_matplotlib_support(caller)
    import matplotlib.pyplot as plt

    return plt


@contextlib.contextmanager
def _axes_or_new(plt, ax, figsize):
    """Yield ``ax``, or the axes of a new figure that is closed if drawing fails."""
    if ax is not None:
        yield ax
        return
    figure, ax = plt.subplots(figsize=figsize, layout="constrained")
    try:
        yield ax
    except BaseException:
        plt.close(figure)
        raise


def _as_images(X, image_shape, what="X"):
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


def _check_grid(n_images, n_cols):
    if int(n_images) < 1:
        raise ValueError(f"n_images must be at least 1, got {n_images}")
    if int(n_cols) < 1:
        raise ValueError(f"n_cols must be at least 1, got {n_cols}")


def _new_grid(plt, fig, n_rows, n_cols, cell_size):
    """Return ``(fig, axes)``: an ``(n_rows, n_cols)`` array of axes in `fig`."""
    if fig is None:
        fig = plt.figure(
            figsize=(cell_size[0] * n_cols, cell_size[1] * n_rows),
            layout="constrained",
        )
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    return fig, axes


def _draw_images(axes, images, titles, image_shape, cmap, title_size):
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


class ClassDistributionDisplay:
    """Bar chart of the number of samples of each class.

    One set of bars per label set (for example training and test labels),
    side by side, with a legend when there is more than one set. It is
    recommended to use :meth:`from_labels` to create it.

    Parameters
    ----------
    counts : dict of str to array-like of int
        For each label set, by name, its number of samples of each class of
        `labels`.
    labels : array-like of shape (n_classes,)
        The classes, in the order of the counts; the x tick labels.

    Attributes
    ----------
    counts_ : dict of str to ndarray of shape (n_classes,)
        The counts drawn, as integer arrays.
    bars_ : dict of str to matplotlib BarContainer
        The bars of each label set.
    legend_ : matplotlib Legend or None
        The legend, or None for a single label set.
    ax_ : matplotlib Axes
        Axes with the bar chart.
    figure_ : matplotlib Figure
        Figure containing the bar chart.

    See Also
    --------
    DigitGridDisplay : Sample images with their labels.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sk_mnist.plotting import ClassDistributionDisplay
    >>> disp = ClassDistributionDisplay.from_labels([0, 1, 1, 2], [1, 2, 2])
    >>> {name: c.tolist() for name, c in disp.counts_.items()}
    {'train': [1, 2, 1], 'test': [0, 1, 2]}
    >>> len(disp.ax_.patches)
    6
    """

    def __init__(self, counts, *, labels):
        self.counts = counts
        self.labels = labels

    def plot(self, *, ax=None, width=0.8):
        """Draw the bar chart.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on. If None, a new figure and axes are created.
        width : float, default=0.8
            Width of each group of bars, in units of the class spacing.

        Returns
        -------
        display : ClassDistributionDisplay
            This display, with the artists stored.
        """
        plt = _pyplot("ClassDistributionDisplay.plot")
        labels = np.asarray(self.labels)
        counts = {
            str(name): np.asarray(c, dtype=np.int64) for name, c in self.counts.items()
        }
        if not counts:
            raise ValueError("counts is empty: nothing to draw")
        for name, c in counts.items():
            if c.shape != labels.shape:
                raise ValueError(
                    f"counts[{name!r}] has shape {c.shape}, expected "
                    f"{labels.shape} (one count per label)"
                )
        with _axes_or_new(plt, ax, (7, 4)) as ax:
            x = np.arange(len(labels))
            n_sets = len(counts)
            bar_width = width / n_sets
            self.bars_ = {}
            for k, (name, c) in enumerate(counts.items()):
                offset = (k - (n_sets - 1) / 2) * bar_width
                self.bars_[name] = ax.bar(x + offset, c, bar_width, label=name)
            ax.set_xticks(x, [str(label) for label in labels])
            ax.set(xlabel="Class", ylabel="Count", title="Class distribution")
            ax.yaxis.grid(True, alpha=0.3)
            ax.set_axisbelow(True)
            # Outside the axes, on the right: equal class counts leave no free
            # corner.
            self.legend_ = (
                ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
                if n_sets > 1
                else None
            )
        self.counts_ = counts
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_labels(
        cls, y_train, y_test=None, *, labels=None, names=("train", "test"), ax=None
    ):
        """Count the classes of one or two label sets and draw them.

        Parameters
        ----------
        y_train : array-like of shape (n_samples,)
            The first label set.
        y_test : array-like of shape (n_test_samples,), default=None
            A second label set, drawn beside the first.
        labels : array-like of shape (n_classes,), default=None
            The classes to count, in order. If None, the sorted classes found
            in either label set. Labels not listed are not counted.
        names : tuple of str, default=("train", "test")
            Names of the label sets, shown in the legend.
        ax : matplotlib Axes, default=None
            Axes to draw on. If None, a new figure and axes are created.

        Returns
        -------
        display : ClassDistributionDisplay
            The display, drawn.
        """
        sets = [np.asarray(y_train)]
        if y_test is not None:
            sets.append(np.asarray(y_test))
        if len(names) < len(sets):
            raise ValueError(f"names needs {len(sets)} names, got {names!r}")
        if len(set(names[: len(sets)])) < len(sets):
            raise ValueError(f"names must differ, got {names!r}")
        labels = unique_labels(*sets) if labels is None else np.asarray(labels)
        counts = {}
        for name, y in zip(names, sets, strict=False):
            found, n = np.unique(y, return_counts=True)
            per_label = dict(zip(found.tolist(), n.tolist(), strict=True))
            counts[name] = np.array(
                [per_label.get(label, 0) for label in labels.tolist()], dtype=np.int64
            )
        return cls(counts, labels=labels).plot(ax=ax)


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
            Where to add the grid of axes (``fig.subplots``), for example one
            of ``plt.figure().subfigures(1, 2)``. If None, a new figure is
            created.

        Returns
        -------
        display : DigitGridDisplay
            This display, with the artists stored.
        """
        plt = _pyplot("DigitGridDisplay.plot")
        images, image_shape = _as_images(self.images, image_shape, "images")
        n_images = len(images)
        if not n_images:
            raise ValueError("images holds no images: nothing to draw")
        _check_grid(n_images, n_cols)
        titles = None
        if self.labels is not None:
            labels = np.asarray(self.labels)
            if len(labels) != n_images:
                raise ValueError(
                    f"{len(labels)} labels for {n_images} images; they must match"
                )
            titles = [str(label) for label in labels]
        n_cols = min(int(n_cols), n_images)
        n_rows = -(-n_images // n_cols)
        fig, axes = _new_grid(plt, fig, n_rows, n_cols, (1.4, 1.6))
        self.images_ = _draw_images(axes, images, titles, image_shape, cmap, 11)
        self.indices_ = (
            np.arange(n_images) if self.indices is None else np.asarray(self.indices)
        )
        self.axes_ = axes
        self.figure_ = fig
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
        X, image_shape = _as_images(X, image_shape)
        _check_grid(n_images, n_cols)
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


_CURVES = (("loss", "Loss"), ("accuracy", "Accuracy"))


class LearningCurveDisplay:
    """Training (and validation) loss and accuracy per epoch.

    Two side-by-side axes: loss on the left (``loss``, and ``val_loss`` when
    present), accuracy on the right (``accuracy``, and ``val_accuracy`` when
    present), against the epoch number, starting at 1. It is recommended to
    use :meth:`from_history` or :meth:`from_estimator` to create it. Unlike
    :class:`sklearn.model_selection.LearningCurveDisplay`, which plots scores
    against the training-set size, this one plots one training run's
    per-epoch history.

    Parameters
    ----------
    history : dict of str to list of float
        Per-epoch values, as in ``DenseMLPClassifier.history_`` or Keras'
        ``History.history``. Must hold ``loss``.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes, shape (2,)
        The loss and accuracy axes.
    lines_ : dict of str to matplotlib Line2D
        One line per history key drawn (``loss``, ``val_loss``, ``accuracy``,
        ``val_accuracy``).
    figure_ : matplotlib Figure
        Figure containing the axes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sk_mnist.plotting import LearningCurveDisplay
    >>> history = {"loss": [0.9, 0.5, 0.4], "accuracy": [0.7, 0.85, 0.9],
    ...            "val_loss": [0.6, 0.5, 0.45], "val_accuracy": [0.8, 0.84, 0.86]}
    >>> disp = LearningCurveDisplay.from_history(history)
    >>> sorted(disp.lines_)
    ['accuracy', 'loss', 'val_accuracy', 'val_loss']
    >>> disp.lines_["loss"].get_xdata().tolist()
    [1, 2, 3]
    """

    def __init__(self, history):
        self.history = history

    def plot(self, *, axes=None):
        """Draw the learning curves.

        Parameters
        ----------
        axes : sequence of two matplotlib Axes, default=None
            Axes for the loss and the accuracy. If None, a new figure with two
            side-by-side axes is created.

        Returns
        -------
        display : LearningCurveDisplay
            This display, with the artists stored.
        """
        plt = _pyplot("LearningCurveDisplay.plot")
        from matplotlib.ticker import MaxNLocator

        history = self.history
        if not isinstance(history, Mapping) or not len(history.get("loss", ())):
            raise ValueError(
                "history has no 'loss' values: expected a dict of per-epoch lists "
                "such as a fitted DenseMLPClassifier's history_, got "
                f"{history if isinstance(history, Mapping) else type(history)!r}"
            )
        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
        axes = np.asarray(axes, dtype=object).ravel()
        if len(axes) != 2:
            raise ValueError(f"axes must hold 2 Axes (loss, accuracy), got {len(axes)}")
        self.lines_ = {}
        for ax, (key, title) in zip(axes, _CURVES, strict=True):
            for name, label, style in (
                (key, "train", "-o"),
                (f"val_{key}", "validation", "--s"),
            ):
                values = np.asarray(history.get(name, ()), dtype=float)
                if not len(values):
                    continue
                epochs = np.arange(1, len(values) + 1)
                (self.lines_[name],) = ax.plot(
                    epochs, values, style, label=label, markersize=4
                )
            ax.set(title=title, xlabel="Epoch", ylabel=title.lower())
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(True, alpha=0.3)
            if ax.get_lines():
                ax.legend()
        self.axes_ = axes
        self.figure_ = axes[0].figure
        return self

    @classmethod
    def from_history(cls, history, *, axes=None):
        """Draw the learning curves of a history dict.

        Parameters
        ----------
        history : dict of str to list of float
            Per-epoch ``loss``, ``accuracy`` and optionally ``val_loss`` and
            ``val_accuracy``.
        axes : sequence of two matplotlib Axes, default=None
            Axes for the loss and the accuracy. If None, a new figure is
            created.

        Returns
        -------
        display : LearningCurveDisplay
            The display, drawn.
        """
        return cls(history).plot(axes=axes)

    @classmethod
    def from_estimator(cls, estimator, *, axes=None):
        """Draw the learning curves of a fitted classifier.

        Parameters
        ----------
        estimator : DenseMLPClassifier or Pipeline
            A fitted estimator with a ``history_`` attribute, or a fitted
            pipeline whose last step has one.
        axes : sequence of two matplotlib Axes, default=None
            Axes for the loss and the accuracy. If None, a new figure is
            created.

        Returns
        -------
        display : LearningCurveDisplay
            The display, drawn.
        """
        from sklearn.exceptions import NotFittedError

        model = estimator[-1] if hasattr(estimator, "steps") else estimator
        history = getattr(model, "history_", None)
        if history is None:
            raise NotFittedError(
                f"{type(model).__name__} has no history_: fit it first (or pass an "
                f"estimator that records its training history)"
            )
        return cls(history).plot(axes=axes)


_UNSET = object()  # a parameter a candidate does not set


def plot_confusion_matrix(
    estimator, X, y, *, y_pred=None, ax=None, normalize=None, **kwargs
):
    """Draw the confusion matrix of a classifier with sklearn, titled.

    A thin wrapper of
    :meth:`sklearn.metrics.ConfusionMatrixDisplay.from_predictions` (on
    ``y_pred``, or on the estimator's predictions) that sizes a new figure for
    10 classes, adds the colorbar and the title "Confusion matrix". The rows
    and columns are the estimator's ``classes_`` (and any other label found in
    ``y`` or ``y_pred``), so a class that neither holds still gets its row and
    column of zeros.

    Parameters
    ----------
    estimator : fitted classifier or Pipeline
        Anything with ``predict``; its ``classes_``, when it has them, label
        the matrix.
    X : array-like of shape (n_samples, n_pixels)
        Images.
    y : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,), default=None
        The estimator's predictions for ``X``, when the caller already has
        them; None predicts ``X`` here.
    ax : matplotlib Axes, default=None
        Axes to draw on. If None, a new figure and axes are created.
    normalize : {"true", "pred", "all"}, default=None
        Normalise the counts over the true rows, the predicted columns or all
        samples; None draws counts.
    **kwargs : dict
        Passed on to ``ConfusionMatrixDisplay.from_predictions`` (for example
        ``cmap="Blues"``, ``values_format=".0f"`` or ``labels``, which
        replaces the default above).

    Returns
    -------
    display : sklearn.metrics.ConfusionMatrixDisplay
        sklearn's display, drawn; ``display.confusion_matrix`` is the matrix.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sk_mnist.plotting import plot_confusion_matrix
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = LogisticRegression(max_iter=200).fit(X / 16, y)
    >>> disp = plot_confusion_matrix(clf, X / 16, y)
    >>> int(disp.confusion_matrix.sum()) == len(y)
    True
    """
    plt = _pyplot("plot_confusion_matrix")
    from sklearn.metrics import ConfusionMatrixDisplay
    from sklearn.utils.validation import check_consistent_length

    kwargs.setdefault("colorbar", True)
    if normalize is not None:
        kwargs.setdefault("values_format", ".2f")
    if y_pred is None:
        y_pred = estimator.predict(X)
    # Bad labels (of mixed types, say) fail here, before a figure is made.
    check_consistent_length(y, y_pred)
    classes = getattr(estimator, "classes_", None)
    labels = unique_labels(y, y_pred, *([] if classes is None else [classes]))
    kwargs.setdefault("labels", labels)
    # What from_estimator does, minus the prediction the caller may have.
    with _axes_or_new(plt, ax, (7, 6)) as ax:
        disp = ConfusionMatrixDisplay.from_predictions(
            y, y_pred, normalize=normalize, ax=ax, **kwargs
        )
        ax.set_title("Confusion matrix")
    return disp


class MisclassifiedDisplay:
    """The misclassified images a classifier was most confident about.

    Each image is titled ``"true -> predicted (p)"``, where ``p`` is the
    probability given to the predicted class, and the images are ordered by
    ``p``, highest first. When nothing is misclassified, a single axes says
    so. It is recommended to use :meth:`from_estimator` or
    :meth:`from_predictions` to create it.

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
    plot_confusion_matrix : Counts of each (true, predicted) pair.

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
        plt = _pyplot("MisclassifiedDisplay.plot")
        images = np.asarray(self.images)
        y_true, y_pred = np.asarray(self.y_true), np.asarray(self.y_pred)
        confidence = np.asarray(self.confidence, dtype=float)
        n_shown = len(images)
        if not len(y_true) == len(y_pred) == len(confidence) == n_shown:
            raise ValueError(
                "images, y_true, y_pred and confidence must have the same length"
            )
        _check_grid(max(n_shown, 1), n_cols)
        self.n_shown_ = n_shown
        self.indices_ = (
            np.arange(n_shown) if self.indices is None else np.asarray(self.indices)
        )
        if n_shown == 0:
            fig, axes = _new_grid(plt, fig, 1, 1, (4, 1.5))
            ax = axes[0, 0]
            ax.text(
                0.5,
                0.5,
                "no misclassified images",
                ha="center",
                va="center",
                transform=ax.transAxes,
            )
            ax.set_axis_off()
            self.images_ = []
        else:
            images, image_shape = _as_images(images, image_shape, "images")
            titles = [
                f"{t} -> {p} ({c:.2f})"
                for t, p, c in zip(y_true, y_pred, confidence, strict=True)
            ]
            n_cols = min(int(n_cols), n_shown)
            n_rows = -(-n_shown // n_cols)
            fig, axes = _new_grid(plt, fig, n_rows, n_cols, (1.9, 2.0))
            self.images_ = _draw_images(axes, images, titles, image_shape, cmap, 10)
            total = self.n_misclassified
            fig.suptitle(
                "Most confident mistakes"
                + (f" ({n_shown} of {total} misclassified)" if total else "")
            )
        self.axes_ = axes
        self.figure_ = fig
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
        X, image_shape = _as_images(X, image_shape)
        _check_grid(n_images, n_cols)
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


def _short(value):
    """A parameter value for a label: floats to 4 significant digits."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class SearchScoresDisplay:
    """Mean cross-validated score of each search candidate, with error bars.

    One horizontal bar per candidate, best on top, with +- one standard
    deviation over the folds, labelled by the parameters that vary. It is
    recommended to use :meth:`from_estimator` or :meth:`from_cv_results`.

    Parameters
    ----------
    cv_results : dict
        A search's ``cv_results_`` (``params``, ``mean_test_score``,
        ``std_test_score`` are used).

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes drawn on.
    bars_ : matplotlib BarContainer
        One bar per candidate, in the drawn (best first) order.
    labels_ : list of str
        The candidates' labels, in the drawn order.
    figure_ : matplotlib Figure
        Figure containing the axes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sk_mnist.plotting import SearchScoresDisplay
    >>> results = {"params": [{"mlp__batch_size": 64}, {"mlp__batch_size": 256}],
    ...            "mean_test_score": [0.90, 0.93], "std_test_score": [0.01, 0.02]}
    >>> disp = SearchScoresDisplay.from_cv_results(results)
    >>> disp.labels_
    ['batch_size=256', 'batch_size=64']
    """

    def __init__(self, cv_results):
        self.cv_results = cv_results

    def plot(self, *, ax=None):
        """Draw the bars.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on. If None, a new figure and axes are created.

        Returns
        -------
        display : SearchScoresDisplay
            This display, with the artists stored.
        """
        plt = _pyplot("SearchScoresDisplay.plot")
        results = self.cv_results
        try:
            params = list(results["params"])
            mean = np.asarray(results["mean_test_score"], dtype=float)
            std = np.asarray(results["std_test_score"], dtype=float)
        except (KeyError, TypeError):
            raise ValueError(
                "cv_results must hold 'params', 'mean_test_score' and "
                "'std_test_score', as a fitted search's cv_results_ does"
            ) from None
        if not params or not len(mean) == len(std) == len(params):
            raise ValueError(
                "cv_results holds no candidates, or columns of unequal length"
            )
        # The keys of every candidate: a list of grids gives candidates
        # different keys.
        keys = list(dict.fromkeys(key for p in params for key in p))
        varying = [
            key for key in keys if len({repr(p.get(key, _UNSET)) for p in params}) > 1
        ] or keys
        labels = [
            ", ".join(
                f"{key.split('__')[-1]}={_short(p[key])}" for key in varying if key in p
            )
            for p in params
        ]
        order = np.argsort(-mean, kind="stable")
        if ax is None:
            height = 1.5 + 0.4 * len(params)
            _, ax = plt.subplots(figsize=(8, height), layout="constrained")
        positions = np.arange(len(order))[::-1]
        self.bars_ = ax.barh(
            positions, mean[order], xerr=std[order], capsize=3, color="tab:blue"
        )
        self.labels_ = [labels[i] for i in order]
        ax.set_yticks(positions, self.labels_)
        low = float(np.min(mean - std))
        ax.set_xlim(max(0.0, low - 0.05 * abs(low)), None)
        ax.set(
            xlabel="mean cross-validated score (+- 1 std over folds)",
            title=f"Search: {len(params)} candidates",
        )
        ax.grid(True, axis="x", alpha=0.3)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_cv_results(cls, cv_results, *, ax=None):
        """Draw the scores of a ``cv_results_`` dict.

        Parameters
        ----------
        cv_results : dict
            A search's ``cv_results_``.
        ax : matplotlib Axes, default=None
            Axes to draw on. If None, a new figure is created.

        Returns
        -------
        display : SearchScoresDisplay
            The display, drawn.
        """
        return cls(cv_results).plot(ax=ax)

    @classmethod
    def from_estimator(cls, search, *, ax=None):
        """Draw the scores of a fitted ``GridSearchCV``/``RandomizedSearchCV``.

        Parameters
        ----------
        search : fitted sklearn search
            Anything with ``cv_results_``.
        ax : matplotlib Axes, default=None
            Axes to draw on. If None, a new figure is created.

        Returns
        -------
        display : SearchScoresDisplay
            The display, drawn.
        """
        if not hasattr(search, "cv_results_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(
                f"{type(search).__name__} has no cv_results_: fit the search first"
            )
        return cls.from_cv_results(search.cv_results_, ax=ax)


def save_figure(display_or_figure, path, dpi=100):
    """Save a display's figure (or a figure) to `path`, then close it.

    Parameters
    ----------
    display_or_figure : display, matplotlib Figure or SubFigure
        A display of this module or of sklearn (anything with ``figure_``),
        or a figure. For a SubFigure, the whole figure is saved.
    path : str or os.PathLike
        The file to write; the format follows the extension (``.png``).
    dpi : int, default=100
        Resolution.

    Returns
    -------
    path : str or os.PathLike
        `path`.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import os, tempfile
    >>> from sk_mnist.plotting import ClassDistributionDisplay, save_figure
    >>> disp = ClassDistributionDisplay.from_labels([0, 1, 1])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     os.path.getsize(save_figure(disp, os.path.join(tmp, "c.png"))) > 0
    True
    """
    plt = _pyplot("save_figure")
    fig = getattr(display_or_figure, "figure_", display_or_figure)
    try:  # matplotlib >= 3.10: a SubFigure's parent may be another SubFigure
        fig = fig.get_figure(root=True)
    except TypeError:  # older: SubFigure.figure is the root figure
        fig = fig.figure
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path
