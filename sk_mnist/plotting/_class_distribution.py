"""ClassDistributionDisplay: bar chart of the class counts of label sets."""

import numpy as np
from sklearn.utils.multiclass import unique_labels

from ._base import axes_or_new


class ClassDistributionDisplay:
    """Bar chart of the number of samples of each class.

    One set of bars per label set (for example training and test labels),
    side by side, with a legend when there is more than one set. Create it
    with :meth:`from_labels`.

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
        with axes_or_new("ClassDistributionDisplay.plot", ax, figsize=(7, 4)) as ax:
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
