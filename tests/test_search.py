"""Search grids from JSON, make_search, SearchScoresDisplay and `sk-mnist search`."""

import json
import logging
import re

import matplotlib
import pandas as pd
import pytest
from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

from sk_mnist import make_mnist_pipeline
from sk_mnist.cli import main
from sk_mnist.plotting import SearchScoresDisplay
from sk_mnist.search import (
    ProgressGridSearchCV,
    ProgressRandomizedSearchCV,
    count_fits,
    make_search,
    parse_grid,
)

matplotlib.use("Agg")

TINY_GRID = {
    "mlp__hidden_layer_sizes": [[16], [32]],
    "mlp__epochs": [1],
    "mlp__batch_size": [256],
}


@pytest.fixture(scope="module")
def pipe():
    return make_mnist_pipeline()


def test_grid_lists_become_tuples_and_files_are_read(pipe, tmp_path):
    text = json.dumps({"mlp__hidden_layer_sizes": [[256], [512, 256]]})
    expected = {"mlp__hidden_layer_sizes": [(256,), (512, 256)]}
    assert parse_grid(text, pipe) == expected
    path = tmp_path / "grid.json"
    path.write_text(text)
    assert parse_grid(str(path), pipe) == expected


def test_grid_files_may_start_with_a_bom_and_bad_ones_are_named(pipe, tmp_path):
    path = tmp_path / "grid.json"
    path.write_bytes(b'\xef\xbb\xbf{"mlp__epochs": [1, 2]}')  # as Notepad saves it
    assert parse_grid(str(path), pipe) == {"mlp__epochs": [1, 2]}
    path.write_text('{"mlp__epochs": [1],\n "mlp__batch_size": }')
    message = (
        f"grid file {path} is not valid JSON: Expecting value at line 2, column 21"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_grid(str(path), pipe)
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(ValueError, match=f"^grid file {re.escape(str(path))}: cannot"):
        parse_grid(str(path), pipe)


def test_routed_parameters_are_grid_keys_as_in_gridsearchcv(pipe):
    grid = {"mlp__optimizer__beta_1": [0.8, 0.9], "mlp__fit__verbose": [0]}
    assert parse_grid(grid, pipe) == grid
    search = make_search(pipe, grid)
    assert search.param_grid == grid


def test_randint_includes_both_bounds(pipe):
    grid = {"mlp__epochs": {"randint": [1, 2]}}
    dist = parse_grid(grid, pipe, randomized=True)["mlp__epochs"]
    assert set(dist.rvs(size=100, random_state=0)) == {1, 2}


def test_distributions_only_in_a_randomized_search(pipe):
    grid = {"mlp__learning_rate": {"loguniform": [1e-4, 1e-2]}}
    dist = parse_grid(grid, pipe, randomized=True)["mlp__learning_rate"]
    draws = dist.rvs(size=200, random_state=0)
    assert 1e-4 <= draws.min() and draws.max() <= 1e-2
    with pytest.raises(ValueError, match="'mlp__learning_rate': distributions need"):
        parse_grid(grid, pipe)


@pytest.mark.parametrize(
    "grid, message",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "non-empty JSON object"),
        ({"mlp__dropuot": [0.1]}, "'mlp__dropuot' is not a parameter.*'mlp__dropout'"),
        ({"mlp__batch_size": []}, "'mlp__batch_size' has an empty list of values"),
        ({"mlp__batch_size": 64}, "'mlp__batch_size': expected a non-empty list"),
        ({"mlp__dropout": [0.1, 1.5]}, "'mlp__dropout': value 1.5 is invalid"),
        ({"mlp__epochs": ["5"]}, "'mlp__epochs': value '5' is invalid"),
        ({"mlp__hidden_layer_sizes": [[10, -3]]}, "value \\(10, -3\\) is invalid"),
        ({"mlp__activation": ["bogus"]}, "'mlp__activation': value 'bogus'"),
        ({"mlp__alpha": {"loguniform": [0, 1]}}, "loguniform needs .*low > 0"),
        ({"mlp__epochs": {"randint": [5, 1]}}, "randint needs \\[low, high\\]"),
        ({"mlp__alpha": {"normal": [0, 1]}}, "a distribution is one of"),
        (
            {"mlp__learning_rate": {"uniform": [-1, 1]}},
            'value -1.0 from {"uniform": \\[-1, 1\\]} is invalid: The .learning_rate',
        ),
        ({"mlp__epochs": {"randint": [0, 3]}}, "'mlp__epochs': value 0 from"),
        ({"mlp__dropout": {"uniform": [0.5, 2]}}, "'mlp__dropout': value 1.99"),
        ({"mlp__loss__x": [1]}, "'mlp__loss__x' is not a parameter"),
        ({"mlp__optimzer__beta_1": [0.8]}, "did you mean 'mlp__optimizer'"),
        ({"scale__fit__verbose": [0]}, "'scale__fit__verbose' is not a parameter"),
        ("[" * 100000, "not valid JSON \\(and not a file\\): nested too deeply"),
    ],
)
def test_bad_grids_fail_naming_the_key(pipe, grid, message):
    with pytest.raises(ValueError, match=message) as info:
        parse_grid(grid, pipe, randomized=True)
    assert "\n" not in str(info.value)


def test_make_search_picks_the_search_and_checks_scoring(pipe):
    assert isinstance(make_search(pipe, TINY_GRID), GridSearchCV)
    randomized = make_search(pipe, TINY_GRID, n_iter=2, random_state=0)
    assert isinstance(randomized, RandomizedSearchCV) and randomized.n_iter == 2
    with pytest.raises(ValueError, match="scoring"):
        make_search(pipe, TINY_GRID, scoring="acc")


# Issue 16: grids refused before any training


def _one_line(info):
    assert "\n" not in str(info.value)
    return str(info.value)


@pytest.mark.parametrize(
    "text, key",
    [
        (
            '{"mlp__epochs": [1], "mlp__batch_size": [64], "mlp__epochs": [2]}',
            "mlp__epochs",
        ),
        ('{"mlp__alpha": {"uniform": [0, 1], "uniform": [0, 2]}}', "uniform"),
        ('{"mlp__class_weight": [{"1": 2, "1": 3}]}', "1"),
    ],
)
def test_a_key_given_twice_is_refused_not_silently_overwritten(
    pipe, tmp_path, text, key
):
    with pytest.raises(ValueError, match=f"key '{key}' is given twice") as info:
        parse_grid(text, pipe, randomized=True)
    assert _one_line(info).startswith(f"key '{key}' is given twice in one JSON object")
    path = tmp_path / "grid.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=f"^grid file {re.escape(str(path))}: key"):
        parse_grid(str(path), pipe, randomized=True)


@pytest.mark.parametrize("values", [["/tmp/sk-mnist-cache"], [None]])
def test_memory_is_refused_in_a_grid(pipe, tmp_path, values):
    # joblib's cache unpickles what it finds in that folder: load_model refuses
    # a saved 'memory' for the same reason.
    with pytest.raises(ValueError, match="grid key 'memory' is refused: ") as info:
        make_search(pipe, {"memory": values, "mlp__epochs": [1]})
    assert "unpickle" in _one_line(info)
    with pytest.raises(ValueError, match="grid key 'scale__memory' is"):
        parse_grid({"scale__memory": [None]}, pipe)


@pytest.mark.parametrize(
    "grid, message",
    [
        (
            {"mlp__callbacks": [["x"]]},
            "grid key 'mlp__callbacks': value ('x',) is invalid: ",
        ),
        (
            {"mlp__callbacks": [[{"monitor": "loss"}]]},
            "grid key 'mlp__callbacks': value ({'monitor': 'loss'},) is invalid: ",
        ),
        (
            {"steps": [[["a", 1]]]},
            "grid key 'steps': value (('a', 1),) is invalid: the last step 'a' is 1, "
            "not a classifier",
        ),
        (
            {"steps": [[["a", 1], ["b", 2]]]},
            "grid key 'steps': value (('a', 1), ('b', 2)) is invalid: step 'a' is 1, "
            "not a transformer or 'passthrough'",
        ),
        (
            {"steps": [[["scale", "passthrough"]]]},
            "grid key 'steps': value (('scale', 'passthrough'),) is invalid: the "
            "last step 'scale' is 'passthrough', not a classifier",
        ),
        (
            {"mlp": ["passthrough"]},
            "grid key 'mlp': value 'passthrough' is invalid: the last step 'mlp'",
        ),
        (
            {"verbose": [[]]},
            "grid key 'verbose': value () is invalid: The 'verbose' parameter of "
            "Pipeline",
        ),
    ],
)
def test_values_a_fit_would_refuse_fail_before_the_search(pipe, grid, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}") as info:
        make_search(pipe, grid)
    _one_line(info)


def test_a_step_may_become_passthrough(pipe):
    assert parse_grid({"scale": ["passthrough"]}, pipe) == {"scale": ["passthrough"]}


@pytest.fixture
def fits(monkeypatch):
    """The DenseMLPClassifier fits started in this process."""
    from sk_mnist.estimator import DenseMLPClassifier

    started = []
    fit = DenseMLPClassifier.fit

    def counting_fit(self, *args, **kwargs):
        started.append(self.get_params(deep=False))
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(DenseMLPClassifier, "fit", counting_fit)
    return started


def test_class_weight_naming_no_class_of_y_fails_before_any_fit(digits, fits):
    X, y = digits
    # JSON object keys are strings: "0" is not the class 0.
    grid = '{"mlp__class_weight": [null, {"0": 2}], "mlp__epochs": [1]}'
    search = make_search(make_mnist_pipeline(hidden_layer_sizes=(8,)), grid, cv=2)
    with pytest.raises(ValueError) as info:
        search.fit(X, y)
    assert _one_line(info).startswith(
        "grid key 'mlp__class_weight': value {'0': 2} is invalid: it weights "
        "['0'], not classes of y, which are [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"
    )
    assert fits == []


def test_every_candidate_is_checked_before_any_fit(digits, fits):
    X, y = digits
    # A search made without parse_grid: its values are checked when fit starts.
    search = ProgressGridSearchCV(
        make_mnist_pipeline(hidden_layer_sizes=(8,), epochs=1),
        {"mlp__batch_size": [256, 0]},
        cv=2,
    )
    with pytest.raises(ValueError, match="^grid key 'mlp__batch_size': value 0 is"):
        search.fit(X, y)
    assert fits == []


class _RefusesToFit(ClassifierMixin, BaseEstimator):
    """Valid parameters, refused by fit only (as sklearn's own combinations are)."""

    def __init__(self, size=1):
        self.size = size

    def fit(self, X, y):
        raise ValueError(f"size {self.size} does not fit these data")


def test_when_every_fit_fails_the_error_says_why_on_its_first_line():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    search = ProgressGridSearchCV(_RefusesToFit(), {"size": [3]}, cv=2)
    with pytest.raises(ValueError) as info:
        search.fit(X, y)
    first = str(info.value).splitlines()[0]
    assert first == (
        "all 2 fits of a round of the search failed, the first with ValueError: "
        "size 3 does not fit these data"
    )


def test_count_fits_is_candidates_times_folds_plus_the_refit(pipe):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import KFold
    from sklearn.neighbors import KNeighborsClassifier

    grid = {"mlp__batch_size": [64, 128, 256], "mlp__epochs": [1, 2]}
    assert count_fits(make_search(pipe, grid)) == 6 * 3 + 1
    assert count_fits(make_search(pipe, grid, cv=5)) == 6 * 5 + 1
    assert count_fits(make_search(pipe, grid, n_iter=4)) == 4 * 3 + 1
    assert count_fits(make_search(pipe, grid, n_iter=50)) == 6 * 3 + 1  # all of them
    spread = {"mlp__learning_rate": {"loguniform": [1e-4, 1e-2]}}
    assert count_fits(make_search(pipe, spread, n_iter=50)) == 50 * 3 + 1
    X, y = load_digits(return_X_y=True)
    knn = ProgressGridSearchCV(
        KNeighborsClassifier(), {"n_neighbors": [1, 3, 5]}, cv=KFold(4), refit=False
    )
    assert count_fits(knn, X, y) == 3 * 4
    splits = list(KFold(2).split(X))
    knn.set_params(cv=splits, refit=True)
    assert count_fits(knn, X, y) == 3 * 2 + 1
    # what a fit then does: the same number
    knn.fit(X, y)
    assert len(knn.cv_results_["params"]) * knn.n_splits_ + 1 == 7
    knn.set_params(cv=(split for split in splits))
    with pytest.raises(ValueError, match="a generator of splits"):
        count_fits(knn, X, y)


def _progress(caplog):
    messages = [r.getMessage() for r in caplog.records if r.name == "sk_mnist.search"]
    return messages[1:]  # after the plan: "N candidates x K folds = ..."


@pytest.mark.slow
def test_search_runs_refits_the_best_and_logs_progress(digits, caplog):
    X, y = digits
    grid = {**TINY_GRID, "mlp__epochs": [10], "mlp__batch_size": [64]}
    search = make_search(make_mnist_pipeline(random_state=0), grid, cv=2)
    with caplog.at_level(logging.INFO, logger="sk_mnist.search"):
        search.fit(X, y)
    assert len(search.cv_results_["params"]) == 2
    assert search.best_params_["mlp__hidden_layer_sizes"] in [(16,), (32,)]
    assert search.best_estimator_.score(X, y) > 0.8
    assert search.best_score_ == max(search.cv_results_["mean_test_score"])
    # One line per candidate when fits run one at a time.
    messages = _progress(caplog)
    assert [m.split(" fits")[0] for m in messages] == ["2/4", "4/4"]
    best = search.best_params_["mlp__hidden_layer_sizes"]
    assert f"best so far {search.best_score_:.4f}" in messages[-1]
    assert f"mlp__hidden_layer_sizes={best!r}" in messages[-1]


def test_rounds_fill_the_workers_and_match_sklearn(caplog):
    from sklearn.datasets import load_digits
    from sklearn.neighbors import KNeighborsClassifier

    X, y = load_digits(return_X_y=True)
    grid = {"n_neighbors": [1, 3, 9, 27, 81]}
    ours = ProgressGridSearchCV(KNeighborsClassifier(), grid, cv=3, n_jobs=2)
    with caplog.at_level(logging.INFO, logger="sk_mnist.search"):
        ours.fit(X, y)
    # lcm(2 workers, 3 folds) = 6 fits, two candidates, per round.
    fits = [m.split(" fits")[0] for m in _progress(caplog)]
    assert fits == ["6/15", "12/15", "15/15"]
    assert "(5 of 5 candidates x 3 folds)" in _progress(caplog)[-1]
    plain = GridSearchCV(KNeighborsClassifier(), grid, cv=3, n_jobs=2).fit(X, y)
    for key in ("mean_test_score", "std_test_score", "rank_test_score", "params"):
        assert list(ours.cv_results_[key]) == list(plain.cv_results_[key])
    assert ours.best_params_ == plain.best_params_


def test_randomized_rounds_sample_the_same_candidates_as_sklearn():
    from sklearn.datasets import load_digits
    from sklearn.neighbors import KNeighborsClassifier

    X, y = load_digits(return_X_y=True)
    space = {"n_neighbors": stats.randint(1, 60), "weights": ["uniform", "distance"]}
    kwargs = dict(n_iter=5, cv=2, random_state=3)
    ours = ProgressRandomizedSearchCV(KNeighborsClassifier(), space, **kwargs)
    plain = RandomizedSearchCV(KNeighborsClassifier(), space, **kwargs)
    ours.fit(X, y)
    plain.fit(X, y)
    assert ours.cv_results_["params"] == plain.cv_results_["params"]
    assert list(ours.cv_results_["rank_test_score"]) == list(
        plain.cv_results_["rank_test_score"]
    )


@pytest.mark.parametrize("search_class", ["grid", "randomized"])
def test_a_generator_of_splits_works_as_in_sklearn(search_class):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import StratifiedKFold
    from sklearn.neighbors import KNeighborsClassifier

    X, y = load_digits(return_X_y=True)
    grid = {"n_neighbors": [1, 3]}
    splits = StratifiedKFold(2).split(X, y)  # a generator: it can be read once
    if search_class == "grid":
        ours = ProgressGridSearchCV(KNeighborsClassifier(), grid, cv=splits)
    else:
        ours = ProgressRandomizedSearchCV(
            KNeighborsClassifier(), grid, n_iter=2, random_state=0, cv=splits
        )
    ours.fit(X, y)
    assert ours.cv is splits  # get_params still gives what the user passed
    plain = GridSearchCV(KNeighborsClassifier(), grid, cv=2).fit(X, y)
    assert ours.n_splits_ == 2
    assert list(ours.cv_results_["mean_test_score"]) == list(
        plain.cv_results_["mean_test_score"]
    )


def test_scores_display_orders_best_first_with_error_bars():
    results = {
        "params": [
            {"mlp__batch_size": 64, "mlp__epochs": 5},
            {"mlp__batch_size": 256, "mlp__epochs": 5},
            {"mlp__batch_size": 128, "mlp__epochs": 5},
        ],
        "mean_test_score": [0.90, 0.95, 0.92],
        "std_test_score": [0.01, 0.02, 0.03],
    }
    disp = SearchScoresDisplay.from_cv_results(results)
    # only the parameter that varies labels the bars
    assert disp.labels_ == ["batch_size=256", "batch_size=128", "batch_size=64"]
    widths = [bar.get_width() for bar in disp.bars_]
    assert widths == [0.95, 0.92, 0.90]
    top = max(disp.bars_, key=lambda bar: bar.get_y())
    assert top.get_width() == 0.95  # the best candidate is drawn on top


def test_scores_display_labels_candidates_of_a_list_of_grids():
    results = {
        "params": [
            {"mlp__batch_size": 64},
            {"mlp__batch_size": 256},
            {"mlp__hidden_layer_sizes": (256,)},
        ],
        "mean_test_score": [0.90, 0.95, 0.92],
        "std_test_score": [0.01, 0.02, 0.03],
    }
    disp = SearchScoresDisplay.from_cv_results(results)
    # each bar names the parameters its own grid sets, not another grid's
    assert disp.labels_ == [
        "batch_size=256",
        "hidden_layer_sizes=(256,)",
        "batch_size=64",
    ]


def test_scores_display_rejects_what_is_not_cv_results():
    with pytest.raises(ValueError, match="mean_test_score"):
        SearchScoresDisplay.from_cv_results({"params": [{}]})
    with pytest.raises(NotFittedError, match="fit the search first"):
        SearchScoresDisplay.from_estimator(GridSearchCV(make_mnist_pipeline(), {}))


@pytest.mark.slow
def test_cli_search_writes_results_and_a_usable_model(tmp_path, capsys):
    out = tmp_path / "search"
    grid = json.dumps(TINY_GRID)
    assert (
        main(["search", "--grid", grid, "--cv", "2", "--out", str(out), "--quiet"]) == 0
    )
    for name in (
        "cv_results.csv",
        "best_params.json",
        "metrics.json",
        "search_scores.png",
    ):
        assert (out / name).is_file(), name
    results = pd.read_csv(out / "cv_results.csv")
    assert len(results) == 2 and "mean_test_score" in results
    best = json.loads((out / "best_params.json").read_text())
    assert best["mlp__hidden_layer_sizes"] in ([16], [32])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_candidates"] == 2 and metrics["n_test"] == 1000
    assert 0.5 < metrics["test_accuracy"] <= 1
    assert "best accuracy" in capsys.readouterr().out
    # the refit best model is what predict/evaluate load
    assert (
        main(
            ["evaluate", "--model", str(out / "model"), "--data", _sample_csv(tmp_path)]
        )
        == 0
    )


@pytest.mark.slow
def test_cli_search_in_two_processes_prints_progress(tmp_path, capsys):
    out = tmp_path / "search"
    grid = json.dumps(TINY_GRID)
    args = ["search", "--grid", grid, "--cv", "2", "--n-jobs", "2", "--out", str(out)]
    assert main(args) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "search:" in ln]
    assert lines[0] == (
        "search: 2 candidates x 2 folds = 4 fits on 2 worker(s), "
        "1 candidate(s) per round"
    )
    assert lines[1].startswith("search: 2/4 fits (1 of 2 candidates x 2 folds), ")
    assert lines[2].startswith("search: 4/4 fits (2 of 2 candidates x 2 folds), ")
    metrics = json.loads((out / "metrics.json").read_text())
    assert f"best so far {metrics['best_cv_accuracy']:.4f}" in lines[2]
    assert metrics["n_jobs"] == 2 and metrics["scheduler"] is None


def test_cli_search_with_an_unreachable_scheduler_exits_2(
    tmp_path, capsys, monkeypatch
):
    import socket

    from sk_mnist.cli import _search as cli_search

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(cli_search, "SCHEDULER_TIMEOUT", "1s")
    out = tmp_path / "search"
    address = f"tcp://127.0.0.1:{port}"
    grid = json.dumps(TINY_GRID)
    args = ["search", "--grid", grid, "--out", str(out), "--scheduler", address]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(
        f"error: --scheduler: cannot reach a Dask scheduler at {address}"
    )
    assert "\n" not in err and not out.exists()


def _sample_csv(tmp_path):
    from sk_mnist.datasets import load_sample, save_mnist_csv

    _, (X_test, y_test) = load_sample()
    return str(save_mnist_csv(tmp_path / "test.csv", X_test[:200], y_test[:200]))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--grid", '{"mlp__dropout": [2]}'], "--grid: grid key 'mlp__dropout'"),
        (["--grid", '{"mlp__nope": [1]}'], "--grid: grid key 'mlp__nope'"),
        (["--grid", "{}"], "--grid: the grid must be a non-empty"),
        (["--grid", '{"mlp__epochs": [1]}', "--scoring", "acc"], "--scoring: unknown"),
        (["--grid", '{"mlp__epochs": [1]}', "--cv", "1"], "--cv: expected an integer"),
        (
            ["--grid", '{"mlp__epochs": [1], "mlp__epochs": [2]}'],
            "'mlp__epochs' is given",
        ),
        (["--grid", '{"memory": ["cache"]}'], "--grid: grid key 'memory' is refused"),
        (["--grid", '{"steps": [[["a", 1]]]}'], "--grid: grid key 'steps': value"),
        (
            ["--grid", '{"mlp__callbacks": [["x"]]}'],
            "--grid: grid key 'mlp__callbacks': value ('x',) is invalid",
        ),
        (
            ["--grid", '{"mlp__class_weight": [{"0": 2}], "mlp__epochs": [1]}'],
            "grid key 'mlp__class_weight': value {'0': 2} is invalid: it weights",
        ),
    ],
)
def test_cli_bad_search_input_exits_2_before_training(tmp_path, capsys, args, message):
    out = tmp_path / "search"
    assert main(["search", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not out.exists()


def test_start_workers_leaves_warm_workers_for_the_search():
    import joblib

    from sk_mnist.search import start_workers

    assert start_workers(1) is None
    thread = start_workers(2)
    thread.join(timeout=120)
    assert not thread.is_alive()
    # The next Parallel call with the same n_jobs reuses those processes, and
    # they already have Keras and the estimator (eval: no import of our own).
    probe = (
        "__import__('os').getpid(), 'sk_mnist.estimator' in __import__('sys').modules"
    )
    answers = joblib.Parallel(n_jobs=2)(joblib.delayed(eval)(probe) for _ in range(4))
    assert all(imported for _, imported in answers)


def test_every_round_uses_the_same_folds():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import KFold
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_digits(return_X_y=True)
    # Three identical candidates in three rounds, with a splitter that shuffles
    # without a seed: only the same folds give the same fold scores.
    search = ProgressGridSearchCV(
        DecisionTreeClassifier(random_state=0),
        {"max_depth": [3, 3, 3]},
        cv=KFold(3, shuffle=True),
    ).fit(X, y)
    for fold in range(3):
        assert len(set(search.cv_results_[f"split{fold}_test_score"])) == 1
