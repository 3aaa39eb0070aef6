"""DigitConfusionMatrixDisplay: a classifier's confusion matrix, every class shown."""

import numpy as np
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_consistent_length

from ._base import axes_or_new


class DigitConfusionMatrixDisplay:
    """Confusion matrix of a classifier, titled, with a row for every class.

    Drawn by :class:`sklearn.metrics.ConfusionMatrixDisplay`, titled
    "Confusion matrix". Unlike sklearn's, :meth:`from_estimator` keeps a row
    and column for every class of ``classes_``, even one absent from ``y``
    and ``y_pred``. Create it with :meth:`from_estimator` or
    :meth:`from_predictions`.

    Parameters
    ----------
    confusion_matrix : ndarray of shape (n_classes, n_classes)
        The matrix: rows are true labels, columns predicted ones.
    display_labels : array-like of shape (n_classes,), default=None
        Tick labels; None numbers them from 0.

    Attributes
    ----------
    im_ : matplotlib AxesImage
        The image of the matrix.
    text_ : ndarray of shape (n_classes, n_classes) of matplotlib Text or None
        The value in each cell, or None when ``include_values=False``.
    ax_ : matplotlib Axes
        Axes with the matrix.
    figure_ : matplotlib Figure
        Figure containing the matrix and its colorbar.

    See Also
    --------
    MisclassifiedDisplay : The misclassified images themselves.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sk_mnist.plotting import DigitConfusionMatrixDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = LogisticRegression(max_iter=200).fit(X / 16, y)
    >>> disp = DigitConfusionMatrixDisplay.from_estimator(clf, X / 16, y)
    >>> int(disp.confusion_matrix.sum()) == len(y), disp.ax_.get_title()
    (True, 'Confusion matrix')
    """

    def __init__(self, confusion_matrix, *, display_labels=None):
        self.confusion_matrix = confusion_matrix
        self.display_labels = display_labels

    def plot(
        self,
        *,
        include_values=True,
        cmap="viridis",
        xticks_rotation="horizontal",
        values_format=None,
        ax=None,
        colorbar=True,
        im_kw=None,
        text_kw=None,
    ):
        """Draw the matrix.

        Parameters
        ----------
        include_values : bool, default=True
            Write the value in each cell.
        cmap : str or matplotlib Colormap, default="viridis"
            Colormap.
        xticks_rotation : {"vertical", "horizontal"} or float, \
default="horizontal"
            Rotation of the x tick labels.
        values_format : str, default=None
            Format of the values (``".2f"``); None lets sklearn choose.
        ax : matplotlib Axes, default=None
            Axes to draw on. If None, a new figure and axes are created.
        colorbar : bool, default=True
            Add a colorbar.
        im_kw : dict, default=None
            Passed to ``matplotlib.pyplot.imshow``.
        text_kw : dict, default=None
            Passed to ``matplotlib.pyplot.text``.

        Returns
        -------
        display : DigitConfusionMatrixDisplay
            This display, with the artists stored.
        """
        from sklearn.metrics import ConfusionMatrixDisplay

        with axes_or_new("DigitConfusionMatrixDisplay.plot", ax, figsize=(7, 6)) as ax:
            drawn = ConfusionMatrixDisplay(
                np.asarray(self.confusion_matrix), display_labels=self.display_labels
            ).plot(
                include_values=include_values,
                cmap=cmap,
                xticks_rotation=xticks_rotation,
                values_format=values_format,
                ax=ax,
                colorbar=colorbar,
                im_kw=im_kw,
                text_kw=text_kw,
            )
            ax.set_title("Confusion matrix")
        self.im_, self.text_ = drawn.im_, drawn.text_
        self.ax_, self.figure_ = drawn.ax_, drawn.figure_
        return self

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_pred,
        *,
        labels=None,
        sample_weight=None,
        normalize=None,
        display_labels=None,
        include_values=True,
        xticks_rotation="horizontal",
        values_format=None,
        cmap="viridis",
        ax=None,
        colorbar=True,
        im_kw=None,
        text_kw=None,
    ):
        """Count each (true, predicted) pair and draw the matrix.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True labels.
        y_pred : array-like of shape (n_samples,)
            Predicted labels.
        labels : array-like of shape (n_classes,), default=None
            The rows and columns, in order; None takes every label of
            `y_true` and `y_pred`, sorted.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        normalize : {"true", "pred", "all"}, default=None
            Normalise the counts over the true rows, the predicted columns or
            all samples; None draws counts.
        display_labels : array-like of shape (n_classes,), default=None
            Tick labels; None uses `labels`.
        include_values : bool, default=True
            Write the value in each cell.
        xticks_rotation : {"vertical", "horizontal"} or float, \
default="horizontal"
            Rotation of the x tick labels.
        values_format : str, default=None
            Format of the values; None writes counts as integers and
            normalised values with 2 decimals (``".2f"``).
        cmap : str or matplotlib Colormap, default="viridis"
            Colormap.
        ax : matplotlib Axes, default=None
            Axes to draw on. If None, a new figure and axes are created.
        colorbar : bool, default=True
            Add a colorbar.
        im_kw : dict, default=None
            Passed to ``matplotlib.pyplot.imshow``.
        text_kw : dict, default=None
            Passed to ``matplotlib.pyplot.text``.

        Returns
        -------
        display : DigitConfusionMatrixDisplay
            The display, drawn.
        """
        from sklearn.metrics import confusion_matrix

        check_consistent_length(y_true, y_pred)
        if labels is None:
            labels = unique_labels(y_true, y_pred)  # mixed label types fail here
        matrix = confusion_matrix(
            y_true,
            y_pred,
            labels=labels,
            sample_weight=sample_weight,
            normalize=normalize,
        )
        if normalize is not None and values_format is None:
            values_format = ".2f"
        display_labels = labels if display_labels is None else display_labels
        return cls(matrix, display_labels=display_labels).plot(
            include_values=include_values,
            cmap=cmap,
            xticks_rotation=xticks_rotation,
            values_format=values_format,
            ax=ax,
            colorbar=colorbar,
            im_kw=im_kw,
            text_kw=text_kw,
        )

    @classmethod
    def from_estimator(cls, estimator, X, y, *, y_pred=None, labels=None, **kwargs):
        """Draw the confusion matrix of a fitted classifier on `X`.

        Parameters
        ----------
        estimator : fitted classifier or Pipeline
            Anything with ``predict``; its ``classes_``, when it has them,
            are rows and columns of the matrix.
        X : array-like of shape (n_samples, n_pixels)
            Images.
        y : array-like of shape (n_samples,)
            True labels.
        y_pred : array-like of shape (n_samples,), default=None
            The estimator's predictions for `X`, when the caller already has
            them; None predicts `X` here.
        labels : array-like of shape (n_classes,), default=None
            The rows and columns, in order; None takes the estimator's
            ``classes_`` and any other label of `y` or `y_pred`, sorted.
        **kwargs : dict
            The other parameters of :meth:`from_predictions`: ``normalize``,
            ``ax``, ``cmap``, ``values_format``, ``sample_weight``, ...

        Returns
        -------
        display : DigitConfusionMatrixDisplay
            The display, drawn.
        """
        if y_pred is None:
            y_pred = estimator.predict(X)
        check_consistent_length(y, y_pred)
        if labels is None:
            classes = getattr(estimator, "classes_", None)
            labels = unique_labels(y, y_pred, *([] if classes is None else [classes]))
        return cls.from_predictions(y, y_pred, labels=labels, **kwargs)
