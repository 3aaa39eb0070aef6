"""TrainingHistoryDisplay: loss and accuracy per epoch of one training run."""

from collections.abc import Mapping

import numpy as np

from ._base import axes_or_new

_CURVES = (("loss", "Loss"), ("accuracy", "Accuracy"))


def _draw_curves(ax, curves, key, title):
    """Draw ``key`` and ``val_key`` of `curves` on `ax`; return their lines."""
    from matplotlib.ticker import MaxNLocator

    lines = {}
    for name, label, style in (
        (key, "train", "-o"),
        (f"val_{key}", "validation", "--s"),
    ):
        values = curves[name]
        if len(values):
            epochs = np.arange(1, len(values) + 1)
            (lines[name],) = ax.plot(epochs, values, style, label=label, markersize=4)
    ax.set(title=title, xlabel="Epoch", ylabel=title.lower())
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    if ax.get_lines():
        ax.legend()
    return lines


class TrainingHistoryDisplay:
    """Training (and validation) loss and accuracy per epoch of one fit.

    Two side-by-side axes: loss on the left (``loss``, and ``val_loss`` when
    present), accuracy on the right (``accuracy``, and ``val_accuracy`` when
    present), against the epoch number, starting at 1. Create it with
    :meth:`from_history` or :meth:`from_estimator`.

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
    >>> from sk_mnist.plotting import TrainingHistoryDisplay
    >>> history = {"loss": [0.9, 0.5, 0.4], "accuracy": [0.7, 0.85, 0.9],
    ...            "val_loss": [0.6, 0.5, 0.45], "val_accuracy": [0.8, 0.84, 0.86]}
    >>> disp = TrainingHistoryDisplay.from_history(history)
    >>> sorted(disp.lines_)
    ['accuracy', 'loss', 'val_accuracy', 'val_loss']
    >>> disp.lines_["loss"].get_xdata().tolist()
    [1, 2, 3]
    """

    def __init__(self, history):
        self.history = history

    def plot(self, *, axes=None):
        """Draw the loss and accuracy curves.

        Parameters
        ----------
        axes : sequence of two matplotlib Axes, default=None
            Axes for the loss and the accuracy. If None, a new figure with two
            side-by-side axes is created.

        Returns
        -------
        display : TrainingHistoryDisplay
            This display, with the artists stored.
        """
        history = self.history
        if not isinstance(history, Mapping) or not len(history.get("loss", ())):
            raise ValueError(
                "history has no 'loss' values: expected a dict of per-epoch lists "
                "such as a fitted DenseMLPClassifier's history_, got "
                f"{history if isinstance(history, Mapping) else type(history)!r}"
            )
        curves = {
            prefix + key: np.asarray(history.get(prefix + key, ()), dtype=float)
            for key, _ in _CURVES
            for prefix in ("", "val_")
        }
        if axes is not None:
            axes = np.asarray(axes, dtype=object).ravel()
            if len(axes) != 2:
                raise ValueError(
                    f"axes must hold 2 Axes (loss, accuracy), got {len(axes)}"
                )
        with axes_or_new(
            "TrainingHistoryDisplay.plot", axes, figsize=(10, 4), shape=(1, 2)
        ) as axes:
            axes = np.asarray(axes, dtype=object).ravel()
            self.lines_ = {}
            for ax, (key, title) in zip(axes, _CURVES, strict=True):
                self.lines_.update(_draw_curves(ax, curves, key, title))
        self.axes_ = axes
        self.figure_ = axes[0].figure
        return self

    @classmethod
    def from_history(cls, history, *, axes=None):
        """Draw the loss and accuracy curves of a history dict.

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
        display : TrainingHistoryDisplay
            The display, drawn.
        """
        return cls(history).plot(axes=axes)

    @classmethod
    def from_estimator(cls, estimator, *, axes=None):
        """Draw the loss and accuracy curves of a fitted classifier.

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
        display : TrainingHistoryDisplay
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
