"""scikit-learn's callback framework (``sklearn.callback``, 1.9+) for sk-mnist.

* :class:`FitTask`: a DenseMLPClassifier fit, one subtask per epoch,
  reported by the Keras callback :class:`EpochReporter`.
* :func:`leaf_fit_task`: PixelScaler's fit, one task.
* :class:`SearchRounds` and :func:`progress_bar_instead_of_lines`: the rounds
  of sk-mnist's searches, and sklearn's ``ProgressBar`` in place of their log
  lines where it can show.

On scikit-learn < 1.9 ``CallbackSupportMixin`` is an empty class and
``with_callbacks`` returns the method unchanged: nothing is reported.
"""

import contextlib
import logging
import sys

import joblib
import keras

try:
    from sklearn.callback import CallbackSupportMixin, with_callbacks
except ImportError:  # scikit-learn < 1.9
    HAS_CALLBACKS = False

    class CallbackSupportMixin:
        """Stand-in for scikit-learn < 1.9, which has no callback framework."""

    def with_callbacks(method):
        """Stand-in for scikit-learn < 1.9: ``method`` unchanged."""
        return method

else:
    HAS_CALLBACKS = True

__all__ = [
    "HAS_CALLBACKS",
    "CallbackSupportMixin",
    "EpochReporter",
    "FitTask",
    "SearchRounds",
    "leaf_fit_task",
    "progress_bar_instead_of_lines",
    "terminal_progress_bar",
    "with_callbacks",
]


def _supports_callbacks(estimator):
    return HAS_CALLBACKS and hasattr(estimator, "_init_callback_context")


@contextlib.contextmanager
def leaf_fit_task(estimator, X, y=None):
    """Report the body of ``estimator``'s fit as one task without subtasks.

    The end hook runs only when the body succeeds.
    """
    if not _supports_callbacks(estimator):
        yield
        return
    context = estimator._init_callback_context()
    context.call_on_fit_task_begin(estimator=estimator, X=X, y=y)
    yield
    context.call_on_fit_task_end(
        estimator=estimator, X=X, y=y, reconstruction_attributes={}
    )


class FitTask:
    """One fit of a DenseMLPClassifier as a task of sklearn's callback tree.

    Created once the inputs are checked, ended by :meth:`end` once the
    fitted attributes are set; without callbacks it reports nothing.

    Parameters
    ----------
    estimator : DenseMLPClassifier
        The estimator being fitted.
    X : ndarray of shape (n_samples, n_features)
        The samples trained on (without the early-stopping hold-out).
    y_idx : ndarray of shape (n_samples,)
        Their labels, as indices into ``estimator.classes_``; the hooks get
        the labels themselves.
    sample_weight : ndarray of shape (n_samples,) or None
        The weights trained with, passed to the hooks as metadata.
    epochs : int
        The most epochs this call runs: the task's number of subtasks
        (``partial_fit`` runs one).
    """

    def __init__(self, estimator, X, y_idx, sample_weight, *, epochs):
        self.estimator = estimator
        self.context = None
        self.keras_callbacks = []
        if not _supports_callbacks(estimator):
            return
        classes = estimator.classes_
        self._hook_args = {
            "X": X,
            # Evaluated only if a callback asks for y.
            "y": lambda: classes[y_idx],
            "metadata": None
            if sample_weight is None
            else {"sample_weight": sample_weight},
        }
        self.context = estimator._init_callback_context(max_subtasks=epochs)
        self.context.call_on_fit_task_begin(estimator=estimator, **self._hook_args)
        if getattr(estimator, "_skl_callbacks", None):
            self.keras_callbacks = [EpochReporter(self)]

    def end(self):
        """End the fit's task: the estimator holds its fitted attributes now."""
        if self.context is None:
            return
        self.context.call_on_fit_task_end(
            estimator=self.estimator,
            **self._hook_args,
            reconstruction_attributes={},
        )


class EpochReporter(keras.callbacks.Callback):
    """Keras callback reporting each epoch as a subtask of a :class:`FitTask`.

    The callbacks get a ``fitted_estimator`` whose network, ``history_`` and
    ``n_iter_`` are those of the epoch; one returning True from
    ``on_fit_task_end`` stops training (Keras' ``stop_training``). Place it
    after the callbacks that add to the epoch's logs.
    """

    def __init__(self, task):
        super().__init__()
        self.task = task
        self.history = {}
        self.stop_requested = None
        self._epoch_context = None

    def on_train_begin(self, logs=None):
        # The estimator's history_ so far: empty for a new network, the
        # earlier calls' epochs for a warm start or partial_fit.
        self.history = {
            key: list(values)
            for key, values in getattr(self.task.estimator, "history_", {}).items()
        }

    def _attributes(self):
        return {
            "model_": self.model,
            "history_": {key: list(values) for key, values in self.history.items()},
            "n_iter_": len(self.history.get("loss", ())),
        }

    def on_epoch_begin(self, epoch, logs=None):
        task = self.task
        self._epoch_context = task.context.subcontext(task_name="epoch")
        self._epoch_context.call_on_fit_task_begin(
            estimator=task.estimator,
            **task._hook_args,
            reconstruction_attributes=self._attributes,
        )

    def on_epoch_end(self, epoch, logs=None):
        task = self.task
        logs = dict(logs or {})
        # As the estimator's history_ records it: no schedule, a constant rate.
        logs.setdefault("learning_rate", task.estimator.learning_rate)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        stop = self._epoch_context.call_on_fit_task_end(
            estimator=task.estimator,
            **task._hook_args,
            reconstruction_attributes=self._attributes,
        )
        if stop:
            self.stop_requested = epoch
            self.model.stop_training = True


def terminal_progress_bar(stream=None):
    """sklearn's ``ProgressBar`` for every level of a search, where it can show.

    Parameters
    ----------
    stream : file object, default=None
        Where rich draws: ``sys.stdout`` by default.

    Returns
    -------
    bar : sklearn.callback.ProgressBar or None
        ``ProgressBar(max_propagation_depth=None)``; None on scikit-learn
        < 1.9, without rich, when ``stream`` is not a terminal, or under
        joblib's Dask backend.
    """
    if not HAS_CALLBACKS:
        return None
    try:
        import rich  # noqa: F401 (ProgressBar draws with it)
        from sklearn.callback import ProgressBar
    except ImportError:
        return None
    stream = sys.stdout if stream is None else stream
    try:
        terminal = bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed file
        terminal = False
    backend, _ = joblib.parallel.get_active_backend()
    if not terminal or "Dask" in type(backend).__name__:
        return None
    return ProgressBar(max_propagation_depth=None)


class _HoldInfo(logging.Filter):
    def filter(self, record):
        return record.levelno > logging.INFO


@contextlib.contextmanager
def progress_bar_instead_of_lines(search, logger):
    """While ``search`` fits, show sklearn's progress bars instead of log lines.

    Only where ``logger`` would print INFO, :func:`terminal_progress_bar`
    has a bar and the search has no callbacks of its own; ``logger``'s INFO
    records are then held back (warnings still go through).
    """
    bar = None
    if (
        logger.isEnabledFor(logging.INFO)
        and not getattr(search, "_skl_callbacks", None)
        and not hasattr(search, "_parent_callback_ctx")
    ):
        bar = terminal_progress_bar()
    if bar is None:
        yield
        return
    hold = _HoldInfo()
    search.set_callbacks(bar)
    logger.addFilter(hold)
    try:
        yield
    finally:
        logger.removeFilter(hold)
        search.set_callbacks()


class SearchRounds:
    """The rounds of an sk-mnist search as tasks of sklearn's callback tree.

    Search, then a task per round (sklearn numbers each
    ``evaluate_candidates`` call's evaluations from 0), then sklearn's
    ``candidate-split-evaluation`` tasks.

    Parameters
    ----------
    search : BaseSearchCV
        The search.
    callback_ctx : CallbackContext or None
        The root context sklearn passes to ``_run_search`` (1.9+); None
        before, and then nothing is reported.
    n_rounds : int
        The number of rounds.
    """

    def __init__(self, search, callback_ctx, n_rounds):
        self.search = search
        self.context = self._round = None
        if callback_ctx is not None:
            self.context = callback_ctx.subcontext(
                task_name="search", max_subtasks=n_rounds
            ).call_on_fit_task_begin(estimator=search)

    def begin_round(self, n_fits):
        """Begin the task of a round of ``n_fits`` fits.

        Returns
        -------
        kwargs : dict
            For the round's ``evaluate_candidates`` call: its context, or
            nothing before scikit-learn 1.9.
        """
        if self.context is None:
            return {}
        self._round = self.context.subcontext(
            task_name="round", max_subtasks=n_fits, sequential_subtasks=False
        ).call_on_fit_task_begin(estimator=self.search)
        return {"callback_ctx": self._round}

    def end_round(self):
        """End the task of the current round."""
        if self._round is not None:
            self._round.call_on_fit_task_end(estimator=self.search)

    def end(self):
        """End the search's task, after its last round."""
        if self.context is not None:
            self.context.call_on_fit_task_end(estimator=self.search)
