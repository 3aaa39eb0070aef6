"""The searches, the grid parser and fit counting (see the package docstring)."""

import logging
import math
import re
import threading
import time
from datetime import timedelta
from numbers import Integral

import joblib
from sklearn.base import is_classifier
from sklearn.metrics import get_scorer
from sklearn.model_selection import (
    GridSearchCV,
    ParameterGrid,
    ParameterSampler,
    RandomizedSearchCV,
    check_cv,
)

from .._callbacks import SearchRounds, progress_bar_instead_of_lines
from ._dask import scattered
from ._grid import check_candidates, check_key, parse_values, read_grid

logger = logging.getLogger("sk_mnist.search")


def parse_grid(grid, pipeline, *, randomized=False):
    """Read and check a search grid for ``pipeline``.

    Parameters
    ----------
    grid : str, path or dict
        JSON text, the path of a JSON file (UTF-8, with or without a byte
        order mark), or an already parsed dict.
    pipeline : sklearn.pipeline.Pipeline
        The pipeline to search. Its ``get_params()`` names the valid keys,
        plus the routed parameters of its classifier, such as
        ``mlp__optimizer__beta_1`` or ``mlp__fit__verbose``.
    randomized : bool, default=False
        Whether distributions are allowed (a randomized search):
        ``{"loguniform": [low, high]}``, ``{"uniform": [low, high]}`` or
        ``{"randint": [low, high]}``, with both bounds included (``randint``
        draws integers from ``low`` to ``high``; scipy's own ``randint``
        excludes ``high``).

    Returns
    -------
    grid : dict
        Parameter name to list of candidates (or scipy distribution).

    Raises
    ------
    ValueError
        A one-line message naming the offending key: not JSON (naming the
        file, line and column), not an object, a key given twice in one
        object, an unknown parameter, ``memory`` (joblib would unpickle the
        files of that cache folder), an empty list, or a value the pipeline
        refuses (each value is tried on a clone of the pipeline), including
        either end or the middle of a distribution.

    Examples
    --------
    >>> from sk_mnist import make_mnist_pipeline
    >>> from sk_mnist.search import parse_grid
    >>> parse_grid('{"mlp__hidden_layer_sizes": [[256], [512, 256]]}',
    ...            make_mnist_pipeline())
    {'mlp__hidden_layer_sizes': [(256,), (512, 256)]}
    """
    if not isinstance(grid, dict):
        grid = read_grid(grid)
    if not isinstance(grid, dict) or not grid:
        raise ValueError(
            'the grid must be a non-empty JSON object such as {"mlp__batch_size": '
            "[64, 256]}"
        )
    valid = pipeline.get_params()
    parsed = {}
    for key, values in grid.items():
        check_key(key, valid)
        parsed[key] = parse_values(key, values, pipeline, randomized)
    return parsed


def _import_the_estimator():
    from .._keras_runtime import import_keras_quietly

    import_keras_quietly()
    import sk_mnist.estimator  # noqa: F401


def start_workers(n_jobs):
    """Start the ``n_jobs`` joblib worker processes of a search in the background.

    Their Keras imports then run alongside this process's own; joblib keeps
    the warm workers for the search's ``Parallel`` call with the same ``n_jobs``.

    Parameters
    ----------
    n_jobs : int or None
        The search's ``n_jobs``; nothing is started for fewer than 2 workers.

    Returns
    -------
    thread : threading.Thread or None
        Join it before the search, so that the two do not overlap.

    Examples
    --------
    >>> from sk_mnist.search import start_workers
    >>> start_workers(1) is None  # one process: nothing to start
    True
    """
    workers = joblib.effective_n_jobs(n_jobs)
    if workers < 2:
        return None

    def run():
        try:
            joblib.Parallel(n_jobs=n_jobs)(
                joblib.delayed(_import_the_estimator)() for _ in range(workers)
            )
        except Exception:  # only a head start: the search reports real errors
            logger.debug("starting the workers failed", exc_info=True)

    thread = threading.Thread(target=run, name="sk-mnist-start-workers", daemon=True)
    thread.start()
    return thread


class _FixedSplits:
    """A splitter that yields the same index arrays in every round."""

    def __init__(self, splits):
        self.splits = splits

    def split(self, X=None, y=None, groups=None, **params):
        return iter(self.splits)

    def get_n_splits(self, X=None, y=None, groups=None, **params):
        return len(self.splits)


def _candidates_of(search):
    """The candidates ``search`` evaluates, in its order (sklearn's own rule)."""
    if isinstance(search, GridSearchCV):
        return ParameterGrid(search.param_grid)
    if isinstance(search, RandomizedSearchCV):
        return ParameterSampler(
            search.param_distributions, search.n_iter, random_state=search.random_state
        )
    raise TypeError(
        f"expected a GridSearchCV or RandomizedSearchCV, got {type(search).__name__}"
    )


# The last line of a traceback: "ValueError: ..." or "package.module.SomeError: ..."
_FAILED = re.compile(r"^((?:\w+\.)*\w+(?:Error|Exception)): (.+)$", re.MULTILINE)


def _all_fits_failed(err):
    """sklearn's "All the N fits failed" error with the reason on line one, or None."""
    text = str(err)
    counted = re.match(r"\s*All the (\d+) fits failed", text)
    reason = _FAILED.search(text)
    if not counted or not reason:
        return None
    return ValueError(
        f"all {counted[1]} fits of a round of the search failed, the first with "
        f"{reason[1].rsplit('.', 1)[-1]}: {reason[2]}\n{text.strip()}"
    )


class _ProgressMixin:
    """Evaluate candidates in rounds of ``lcm(workers, folds) / folds``; log each.

    Results are those of one round: same candidates, order and folds.
    """

    def fit(self, X, y=None, **params):
        """Run the search; see sklearn's ``fit`` of the same search.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training images.
        y : array-like of shape (n_samples,), default=None
            Labels.
        **params : dict
            Passed to the estimator's ``fit`` (and routed as sklearn does).

        Returns
        -------
        self : object
            The fitted search.
        """
        # Every candidate is checked first: a value the estimator refuses
        # fails now, in one line, not as "All the fits failed" after them all.
        self._candidate_list = list(_candidates_of(self))
        check_candidates(self.estimator, self._candidate_list, y)
        # Every round must use the same folds: a splitter that shuffles
        # without a seed would deal new ones to each round otherwise.
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        self._splits = _FixedSplits(list(cv.split(X, y, params.get("groups"))))
        # ``cv`` may be a generator of splits, which the line above has just
        # used up: sklearn's own fit reads the materialised splits instead.
        # ``self.cv`` is restored after, so get_params and clone see no change.
        user_cv = self.cv
        self.cv = self._splits
        try:
            with (
                scattered(X, y, self._splits),
                progress_bar_instead_of_lines(self, logger),
            ):
                return super().fit(X, y, **params)
        finally:
            self.cv = user_cv
            del self._splits, self._candidate_list

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):
        start = time.perf_counter()
        # Not self.n_splits_: scikit-learn < 1.9 sets it after the search.
        n_splits = self._splits.get_n_splits()
        workers = max(1, joblib.effective_n_jobs(self.n_jobs))
        per_round = math.lcm(workers, n_splits) // n_splits

        candidates = self._candidate_list
        logger.info(
            f"{len(candidates)} candidates x {n_splits} folds = "
            f"{len(candidates) * n_splits} fits on {workers} worker(s), "
            f"{per_round} candidate(s) per round"
        )
        # The callbacks' tasks (scikit-learn 1.9+): search, round, fits.
        rounds = SearchRounds(self, callback_ctx, -(-len(candidates) // per_round))
        for first in range(0, len(candidates), per_round):
            batch = candidates[first : first + per_round]
            try:
                results = evaluate_candidates(
                    batch,
                    cv=self._splits,
                    **rounds.begin_round(len(batch) * n_splits),
                )
            except ValueError as err:
                failed = _all_fits_failed(err)
                if failed is None:
                    raise
                raise failed from None
            rounds.end_round()
            self._log_progress(results, len(candidates), start)
        rounds.end()

    def _log_progress(self, results, n_candidates, start):
        done = len(results["params"])
        n_splits = self._splits.get_n_splits()
        key = "mean_test_score"
        if key not in results and isinstance(self.refit, str):
            key = f"mean_test_{self.refit}"
        message = (
            f"{done * n_splits}/{n_candidates * n_splits} fits "
            f"({done} of {n_candidates} candidates x {n_splits} folds), "
            f"{timedelta(seconds=round(time.perf_counter() - start))} elapsed"
        )
        if key in results:
            scores = results[key]
            # A failed fit scores NaN (error_score); NaN != NaN ranks it last.
            best = max(range(done), key=lambda i: (scores[i] == scores[i], scores[i]))
            params = ", ".join(f"{k}={v!r}" for k, v in results["params"][best].items())
            message += f", best so far {scores[best]:.4f} ({params})"
        logger.info(message)


class ProgressGridSearchCV(_ProgressMixin, GridSearchCV):
    """sklearn's ``GridSearchCV`` with progress logging and Dask-friendly data.

    Same parameters and results as :class:`sklearn.model_selection.GridSearchCV`.
    ``fit`` first checks every candidate and raises a one-line ``ValueError``
    naming a key and value a fit would refuse. Candidates run in rounds sized
    to the workers; after each, the ``sk_mnist.search`` logger reports (INFO)
    the fits done, the time and the best score so far. Under joblib's Dask
    backend the data is sent to the workers once. :doc:`/model_selection`
    has the details.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from sk_mnist.search import ProgressGridSearchCV
    >>> X, y = load_digits(return_X_y=True)
    >>> search = ProgressGridSearchCV(KNeighborsClassifier(),
    ...                               {"n_neighbors": [1, 50]}, cv=2).fit(X, y)
    >>> search.best_params_
    {'n_neighbors': 1}

    ``logging.basicConfig(level=logging.INFO)`` shows lines such as ``2/4
    fits (1 of 2 candidates x 2 folds), 0:00:01 elapsed, best so far 0.9610
    (n_neighbors=1)``; on a terminal with scikit-learn 1.9+ and rich,
    sklearn's ``ProgressBar`` shows instead.
    """


class ProgressRandomizedSearchCV(_ProgressMixin, RandomizedSearchCV):
    """sklearn's ``RandomizedSearchCV`` with progress logging and Dask-friendly data.

    Same parameters and results as
    :class:`sklearn.model_selection.RandomizedSearchCV`; checks, progress and
    data handling as in :class:`ProgressGridSearchCV`.

    Examples
    --------
    >>> from scipy.stats import randint
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from sk_mnist.search import ProgressRandomizedSearchCV
    >>> X, y = load_digits(return_X_y=True)
    >>> search = ProgressRandomizedSearchCV(
    ...     KNeighborsClassifier(), {"n_neighbors": randint(1, 30)},
    ...     n_iter=2, cv=2, random_state=0).fit(X, y)
    >>> len(search.cv_results_["params"])
    2
    """


def make_search(
    pipeline,
    grid,
    *,
    n_iter=None,
    cv=3,
    scoring="accuracy",
    n_jobs=None,
    random_state=None,
    verbose=0,
):
    """A ``GridSearchCV`` (or ``RandomizedSearchCV`` with ``n_iter``) over ``grid``.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        The pipeline to tune, for example ``make_mnist_pipeline(epochs=5)``.
    grid : str, path or dict
        The grid, checked by :func:`~sk_mnist.search.parse_grid`.
    n_iter : int, default=None
        Number of sampled candidates; None searches the whole grid.
    cv : int or cross-validation generator, default=3
        Folds (stratified for this classifier).
    scoring : str, default="accuracy"
        An sklearn scorer name.
    n_jobs : int, default=None
        Parallel fits (joblib processes).
    random_state : int or None, default=None
        Seeds the candidate sampling of a randomized search.
    verbose : int, default=0
        sklearn's search verbosity.

    Returns
    -------
    search : ProgressGridSearchCV or ProgressRandomizedSearchCV
        Not fitted; ``refit=True``. sklearn's searches, with progress logged
        to the ``sk_mnist.search`` logger after every round of candidates.

    Examples
    --------
    >>> from sk_mnist import make_mnist_pipeline
    >>> from sk_mnist.search import make_search
    >>> search = make_search(make_mnist_pipeline(epochs=2),
    ...                      {"mlp__batch_size": [64, 256]}, cv=2)
    >>> type(search).__name__, search.cv
    ('ProgressGridSearchCV', 2)
    """
    param_grid = parse_grid(grid, pipeline, randomized=n_iter is not None)
    get_scorer(scoring)  # an unknown name fails now, not after the first fit
    common = dict(scoring=scoring, cv=cv, n_jobs=n_jobs, refit=True, verbose=verbose)
    if n_iter is None:
        return ProgressGridSearchCV(pipeline, param_grid, **common)
    return ProgressRandomizedSearchCV(
        pipeline, param_grid, n_iter=n_iter, random_state=random_state, **common
    )


def count_fits(search, X=None, y=None, groups=None):
    """Number of fits ``search.fit(X, y)`` will run: candidates x folds (+ refit).

    Counted without fitting anything (``sk-mnist search --dry-run``).

    Parameters
    ----------
    search : GridSearchCV or RandomizedSearchCV
        The search, such as :func:`~sk_mnist.make_search` returns it, fitted
        or not.
    X : array-like of shape (n_samples, n_features), default=None
        Training data, for splitters whose number of folds depends on it
        (``LeaveOneOut``); an integer ``cv`` needs none.
    y : array-like of shape (n_samples,), default=None
        Labels, likewise.
    groups : array-like of shape (n_samples,), default=None
        Group labels, for group splitters (``LeaveOneGroupOut``).

    Returns
    -------
    n_fits : int
        ``n_candidates * n_folds``, plus 1 for the refit of the best candidate
        on all the data unless ``refit=False``. A randomized search samples
        ``n_iter`` candidates, or every candidate of a grid of lists when it
        has fewer.

    Raises
    ------
    ValueError
        When ``cv`` is a generator of splits: counting it would use it up.

    Examples
    --------
    >>> from sk_mnist import make_mnist_pipeline
    >>> from sk_mnist.search import count_fits, make_search
    >>> search = make_search(make_mnist_pipeline(),
    ...                      {"mlp__batch_size": [64, 128, 256]}, cv=5)
    >>> count_fits(search)  # 3 candidates x 5 folds + the refit
    16
    """
    n_candidates = len(_candidates_of(search))
    cv = search.cv
    if cv is None or isinstance(cv, Integral) or hasattr(cv, "get_n_splits"):
        classifier = is_classifier(search.estimator)
        n_folds = check_cv(cv, y, classifier=classifier).get_n_splits(X, y, groups)
    elif hasattr(cv, "__len__"):
        n_folds = len(cv)
    else:
        raise ValueError(
            "cv is a generator of splits: counting its folds would use it up; "
            "pass a list of splits or a splitter"
        )
    return n_candidates * n_folds + (1 if search.refit is not False else 0)
