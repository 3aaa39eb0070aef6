"""SearchScoresDisplay: mean cross-validated score of each search candidate."""

import numpy as np

from ._base import axes_or_new

_UNSET = object()  # a parameter a candidate does not set


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
        height = 1.5 + 0.4 * len(params)
        with axes_or_new("SearchScoresDisplay.plot", ax, figsize=(8, height)) as ax:
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
