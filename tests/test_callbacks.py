"""scikit-learn's callbacks (sklearn.callback, 1.9+) see every fit and epoch.

The task tree is checked through a recording callback and through what
sklearn's ProgressBar prints (its bars' descriptions and percentages, not
the drawing). The last tests run scikit-learn 1.6, which has no callbacks,
and the JAX backend, each in a subprocess.
"""

import io
import logging
import os
import pickle
import re
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

import sk_mnist._callbacks
from sk_mnist import DenseMLPClassifier, PixelScaler, make_mnist_pipeline
from sk_mnist._callbacks import HAS_CALLBACKS, terminal_progress_bar
from sk_mnist.cli import main
from sk_mnist.persistence import load_model, save_model
from sk_mnist.search import ProgressGridSearchCV

ROOT = Path(__file__).parents[1]
SMALL = dict(hidden_layer_sizes=(8,), epochs=3, batch_size=128, random_state=0)

needs_callbacks = pytest.mark.skipif(
    not HAS_CALLBACKS, reason="scikit-learn < 1.9 has no sklearn.callback"
)


@pytest.fixture(scope="module")
def digits(digits):
    """The first 600 of the shared digits."""
    X, y = digits
    return X[:600], y[:600]


def last_epoch(estimator, X, y, **metadata):
    """A ScoringMonitor scoring: the epoch's entries of ``history_``."""
    return {name: values[-1] for name, values in estimator.history_.items()}


class TaskRecorder:
    """Auto-propagated callback recording the path of every task that ends.

    A path is a tuple of ``(estimator_name, task_name, task_id)`` from the
    root task down. In-process only (no transport to worker processes).
    """

    max_propagation_depth = None

    def __init__(self):
        self.ended = []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        path = []
        while context is not None:
            path.append((context.estimator_name, context.task_name, context.task_id))
            context = context.parent
        self.ended.append(tuple(reversed(path)))


class StopAfter:
    """Asks to stop (returns True) at the end of epoch ``epochs``."""

    def __init__(self, epochs):
        self.epochs = epochs

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        return context.task_name == "epoch" and context.task_id + 1 == self.epochs


@pytest.fixture
def rich_output(monkeypatch):
    """What sklearn's ProgressBar prints, through rich's global console."""
    import rich
    from rich.console import Console

    buffer = io.StringIO()
    monkeypatch.setattr(rich, "_console", Console(file=buffer, width=200))
    return buffer


def bars(text):
    """The progress bars printed: ``[(description, percentage), ...]``.

    The description is indented by its depth in the task tree.
    """
    found = []
    for line in text.splitlines():
        match = re.match(r"^( *\S.*?\S)\s+━+\s+(\d+)%", line)
        if match:
            found.append((match[1], int(match[2])))
    return found


def test_callbacks_only_with_the_framework():
    for estimator in (DenseMLPClassifier(), PixelScaler()):
        assert hasattr(estimator, "set_callbacks") == HAS_CALLBACKS


@needs_callbacks
def test_scoring_monitor_records_each_epoch_as_in_history(digits):
    from sklearn.callback import ScoringMonitor

    X, y = digits
    logs = ScoringMonitor(scoring=last_epoch)
    accuracy = ScoringMonitor(scoring="accuracy")
    clf = DenseMLPClassifier(**SMALL).set_callbacks(logs, accuracy)
    clf.fit(X / 255, y, X_val=X[:100] / 255, y_val=y[:100])

    epochs = [row for row in logs.get_logs().data if row["task_name"] == "epoch"]
    assert [row["task_id"] for row in epochs] == list(range(clf.n_iter_)) == [0, 1, 2]
    assert set(clf.history_) == {
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "learning_rate",
    }
    for name, values in clf.history_.items():
        assert [row[name] for row in epochs] == values
    # Each epoch's fitted_estimator predicts with the network of that epoch.
    scored = [row for row in accuracy.get_logs().data if row["task_name"] == "epoch"]
    assert len(scored) == 3
    assert scored[-1]["accuracy"] == pytest.approx(clf.score(X / 255, y))
    # The fit's own task is scored too, with the fitted estimator.
    (fit,) = [row for row in logs.get_logs().data if row["task_name"] == "fit"]
    assert fit["loss"] == clf.history_["loss"][-1]
    # Nothing of the fit's context is left behind.
    assert not hasattr(clf, "_callback_fit_ctx")


@pytest.mark.slow
@needs_callbacks
@pytest.mark.parametrize("early_stopping", [False, True])
def test_a_stop_request_ends_the_fit_after_that_epoch(digits, early_stopping):
    X, y = digits
    clf = DenseMLPClassifier(**{**SMALL, "epochs": 5}, early_stopping=early_stopping)
    clf.set_callbacks(StopAfter(2)).fit(X / 255, y)
    assert clf.n_iter_ == 2
    assert {len(values) for values in clf.history_.values()} == {2}
    assert clf.predict(X[:5] / 255).shape == (5,)
    # A warm start counts on from there, and stops again after 2 more epochs.
    clf.set_params(warm_start=True).fit(X / 255, y)
    assert clf.n_iter_ == 4
    assert {len(values) for values in clf.history_.values()} == {4}


@needs_callbacks
def test_partial_fit_is_a_fit_of_one_epoch(digits):
    X, y = digits
    recorder = TaskRecorder()
    clf = DenseMLPClassifier(**SMALL).set_callbacks(recorder)
    clf.partial_fit(X / 255, y, classes=np.arange(10))
    clf.partial_fit(X / 255, y)
    fit = ("DenseMLPClassifier", "fit", 0)
    epoch = ("DenseMLPClassifier", "epoch", 0)
    assert recorder.ended == [(fit, epoch), (fit,), (fit, epoch), (fit,)]
    assert clf.n_iter_ == 2


@needs_callbacks
def test_pipeline_alone_shows_its_steps_and_the_epochs(digits, rich_output):
    from sklearn.callback import ProgressBar

    X, y = digits
    recorder = TaskRecorder()
    pipe = make_mnist_pipeline(**SMALL).set_callbacks(ProgressBar(), recorder)
    pipe.fit(X, y)
    assert bars(rich_output.getvalue()) == [
        ("Pipeline - fit", 100),
        ("  Pipeline - fit-transform-scale | PixelScaler - fit #0", 100),
        ("  Pipeline - fit-final-estimator | DenseMLPClassifier - fit #1", 100),
    ]
    mlp_fit = (("Pipeline", "fit", 0), ("DenseMLPClassifier", "fit", 1))
    assert [path for path in recorder.ended if path[:2] == mlp_fit] == [
        (*mlp_fit, ("DenseMLPClassifier", "epoch", epoch)) for epoch in range(3)
    ] + [mlp_fit]


def check_search_tree(recorder, text, search_name, n_fits, epochs):
    """Every candidate x fold and the refit: a Pipeline fit, its steps, epochs."""
    ended = recorder.ended
    epochs_per_fit = Counter(path[:-1] for path in ended if path[-1][1] == "epoch")
    assert len(epochs_per_fit) == n_fits + 1  # and the refit
    assert set(epochs_per_fit.values()) == {epochs}
    for fit in epochs_per_fit:
        assert fit[-1][:2] == ("DenseMLPClassifier", "fit")
        assert fit[-2][:2] == ("Pipeline", "fit")
        assert fit[:-1] + (("PixelScaler", "fit", 0),) in ended
    assert ended[-1] == ((search_name, "fit", 0),)

    assert {percent for _, percent in bars(text)} == {100}
    found = [name for name, _ in bars(text)]
    evaluations = [
        name
        for name in found
        if re.search(r"candidate-split-evaluation \| Pipeline - fit #\d+$", name)
    ]
    refits = [name for name in found if "refit-with-best-params" in name]
    mlps = [name for name in found if "| DenseMLPClassifier - fit" in name]
    assert len(evaluations) == n_fits and len(refits) == 1
    assert len(mlps) == n_fits + 1


@pytest.mark.slow
@needs_callbacks
@pytest.mark.parametrize("search_class", [GridSearchCV, ProgressGridSearchCV])
def test_nested_progress_of_a_grid_search(digits, rich_output, search_class):
    from sklearn.callback import ProgressBar

    X, y = digits
    recorder = TaskRecorder()
    grid = {"mlp__learning_rate": [1e-3, 1e-2]}
    search = search_class(make_mnist_pipeline(**SMALL), grid, cv=2)
    search.set_callbacks(ProgressBar(max_propagation_depth=None), recorder)
    search.fit(X, y)
    name = search_class.__name__
    check_search_tree(recorder, rich_output.getvalue(), name, 4, 3)
    if search_class is ProgressGridSearchCV:
        # One worker: a round per candidate, its folds in it.
        rounds = Counter(path[:4] for path in recorder.ended if len(path) > 4)
        assert sorted(rounds) == [
            ((name, "fit", 0), (name, "search", 0), (name, "round", r), fit)
            for r in range(2)
            for fit in [("Pipeline", "fit", 0), ("Pipeline", "fit", 1)]
        ]
    # The callbacks stay on the search, none is left on its estimators.
    assert len(search._skl_callbacks) == 2
    for estimator in (search.best_estimator_, *search.best_estimator_):
        assert not hasattr(estimator, "_skl_callbacks")


@pytest.mark.slow
@needs_callbacks
def test_a_search_in_two_processes_reports_every_epoch(digits, rich_output):
    from sklearn.callback import ProgressBar, ScoringMonitor

    X, y = digits
    monitor = ScoringMonitor(scoring=last_epoch)
    pipe = make_mnist_pipeline(**SMALL)
    pipe[-1].set_callbacks(monitor)  # clones share it, workers send to it
    grid = {"mlp__learning_rate": [1e-3, 1e-2]}
    search = ProgressGridSearchCV(pipe, grid, cv=2, n_jobs=2)
    search.set_callbacks(ProgressBar(max_propagation_depth=None))
    search.fit(X, y)
    epochs = [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]
    assert len(epochs) == (4 + 1) * 3
    # The refit's epochs are those of the best estimator's history_.
    refit = [row for row in epochs if len(row["task_id_path"]) == 4]
    assert [row["loss"] for row in refit] == search.best_estimator_[-1].history_["loss"]
    found = [name for name, _ in bars(rich_output.getvalue())]
    assert sum("| DenseMLPClassifier - fit" in name for name in found) == 5


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_search_bar_shows_only_where_it_can():
    assert terminal_progress_bar(io.StringIO()) is None  # not a terminal
    bar = terminal_progress_bar(_Terminal())
    if not HAS_CALLBACKS:
        assert bar is None
        return
    assert type(bar).__name__ == "ProgressBar"
    assert bar.max_propagation_depth is None
    # Dask's workers cannot reach the bar: the log lines stay.
    dask = type("DaskDistributedBackend", (), {})()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("joblib.parallel.get_active_backend", lambda: (dask, 2))
        assert terminal_progress_bar(_Terminal()) is None


@pytest.fixture
def in_a_terminal(monkeypatch):
    """sk-mnist's searches see a terminal (pytest captures their output)."""
    if not HAS_CALLBACKS:
        pytest.skip("scikit-learn < 1.9 has no sklearn.callback")
    chosen = terminal_progress_bar(_Terminal())
    monkeypatch.setattr(
        sk_mnist._callbacks, "terminal_progress_bar", lambda stream=None: chosen
    )


@pytest.mark.slow
def test_progress_search_shows_bars_instead_of_lines_in_a_terminal(
    digits, rich_output, in_a_terminal, caplog
):
    X, y = digits
    grid = {"mlp__learning_rate": [1e-2]}
    search = ProgressGridSearchCV(make_mnist_pipeline(**SMALL), grid, cv=2)
    search.fit(X, y)  # the logger is silent: no lines asked for, no bars
    assert rich_output.getvalue() == ""
    caplog.set_level(logging.INFO, logger="sk_mnist.search")
    search.fit(X, y)
    found = [name for name, _ in bars(rich_output.getvalue())]
    assert found[:3] == [
        "ProgressGridSearchCV - fit",
        "  ProgressGridSearchCV - search #0",
        "    ProgressGridSearchCV - round #0",
    ]
    assert not [r for r in caplog.records if r.name == "sk_mnist.search"]
    assert not hasattr(search, "_skl_callbacks")  # only for that fit
    # With callbacks of the user's, neither bar nor filter is added.
    recorder = TaskRecorder()
    rich_output.truncate(0)
    search.set_callbacks(recorder).fit(X, y)
    assert rich_output.getvalue() == "" and recorder.ended
    assert "2/2 fits (1 of 1 candidates x 2 folds)" in caplog.text


@pytest.mark.slow
def test_cli_search_shows_bars_in_a_terminal(
    tmp_path, capsys, rich_output, in_a_terminal
):
    grid = '{"mlp__hidden_layer_sizes": [[8]], "mlp__epochs": [1, 2]}'
    args = ["search", "--grid", grid, "--cv", "2", "--out", str(tmp_path / "s")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "search: " not in out  # the log lines gave way to the bars
    found = [name for name, _ in bars(rich_output.getvalue())]
    assert found[0] == "ProgressGridSearchCV - fit"
    assert sum("| DenseMLPClassifier - fit" in name for name in found) == 5


@pytest.mark.slow
@needs_callbacks
def test_clone_pickle_and_save_model_keep_callbacks_as_sklearn_does(digits, tmp_path):
    from sklearn.callback import ScoringMonitor
    from sklearn.preprocessing import StandardScaler

    X, y = digits
    monitor = ScoringMonitor(scoring=last_epoch)
    clf = DenseMLPClassifier(**SMALL).set_callbacks(monitor)
    # clone shares the callback instances (sklearn: one callback, many clones).
    assert clone(clf)._skl_callbacks[0] is monitor
    assert clone(StandardScaler().set_callbacks(monitor))._skl_callbacks[0] is monitor
    clf.fit(X / 255, y)
    # Pickle keeps them, as it does for sklearn's estimators; a refit after
    # unpickling reports to the unpickled copy of the callback.
    copy = pickle.loads(pickle.dumps(clf))
    assert len(copy._skl_callbacks) == 1
    copy.fit(X / 255, y)
    epochs = [r for r in copy._skl_callbacks[0].get_logs().data if r["task_id_path"]]
    assert len(epochs) >= 3
    # save_model writes parameters and fitted state only: no callbacks.
    save_model(clf, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert not hasattr(loaded, "_skl_callbacks")
    assert loaded.history_ == clf.history_


def run_script(script, env=None, timeout=300):
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
@needs_callbacks
def test_epochs_and_stop_requests_on_the_jax_backend():
    out = run_script(
        """
        import numpy as np, keras
        from sklearn.callback import ScoringMonitor
        from sklearn.datasets import load_digits
        from sk_mnist import DenseMLPClassifier
        from tests.test_callbacks import SMALL, StopAfter, last_epoch

        assert keras.backend.backend() == "jax"
        X, y = load_digits(return_X_y=True)
        monitor = ScoringMonitor(scoring=last_epoch)
        clf = DenseMLPClassifier(**{**SMALL, "epochs": 5}, early_stopping=True)
        clf.set_callbacks(monitor, StopAfter(2)).fit(X / 16, y)
        rows = [r for r in monitor.get_logs().data if r["task_name"] == "epoch"]
        assert clf.n_iter_ == len(rows) == 2, (clf.n_iter_, rows)
        for name, values in clf.history_.items():
            assert [row[name] for row in rows] == values, name
        print("jax ok")
        """,
        env={"KERAS_BACKEND": "jax"},
    )
    assert "jax ok" in out


OLDEST_SKLEARN = "scikit-learn==1.6.*"


@pytest.fixture(scope="session")
def oldest_sklearn(tmp_path_factory):
    """scikit-learn 1.6 installed apart, to put in front of this one.

    Installed with pip, from the package index (``--no-deps``: the NumPy and
    SciPy here serve it). With no index to install from, the test fails
    saying so: skipping would hide that the oldest version went untested.
    """
    target = tmp_path_factory.mktemp("oldest-sklearn")
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet"]
    command += ["--target", str(target), OLDEST_SKLEARN]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.fail(
            f"could not install {OLDEST_SKLEARN} to test the oldest supported "
            f"scikit-learn (is the package index reachable?): "
            f"{' '.join(command)} said:\n{result.stderr[-2000:]}",
            pytrace=False,
        )
    return target


@pytest.mark.slow
def test_scikit_learn_1_6_still_imports_and_fits(oldest_sklearn):
    out = run_script(
        """
        import logging, sys
        import numpy as np, sklearn
        from sklearn.datasets import load_digits
        from sk_mnist import DenseMLPClassifier, PixelScaler, make_mnist_pipeline
        from sk_mnist.search import make_search

        assert sklearn.__version__.startswith("1.6."), sklearn.__version__
        assert not hasattr(DenseMLPClassifier(), "set_callbacks")
        assert not hasattr(PixelScaler(), "set_callbacks")
        X, y = load_digits(return_X_y=True)
        X = np.round(X * 255 / 16).astype(np.uint8)[:600]
        y = y[:600]
        small = dict(hidden_layer_sizes=(8,), epochs=2, random_state=0)
        pipe = make_mnist_pipeline(**small).fit(X, y)
        assert pipe[-1].n_iter_ == 2
        pipe[-1].partial_fit(PixelScaler().fit_transform(X), y)
        assert pipe[-1].n_iter_ == 3
        logging.basicConfig(level=logging.INFO, stream=sys.stdout)
        search = make_search(
            make_mnist_pipeline(**small), {"mlp__batch_size": [64, 128]}, cv=2
        )
        search.fit(X, y)
        print("1.6 ok", sorted(search.best_params_))
        """,
        env={"PYTHONPATH": os.pathsep.join([str(oldest_sklearn), str(ROOT)])},
    )
    assert "1.6 ok ['mlp__batch_size']" in out
    # The search's progress lines, as before the callback framework.
    assert "4/4 fits (2 of 2 candidates x 2 folds)" in out
