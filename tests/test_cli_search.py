"""``sk-mnist search`` says what it will run before it runs it.

A 10,000-candidate grid started 30,000 fits with one log line, and
``--n-jobs 8`` on 2 cores took 7.3 GB: the plan line, ``--dry-run`` and the
cap on local workers.
"""

import json

import pandas as pd
import pytest

from sk_mnist.cli import main

GRID = {"mlp__hidden_layer_sizes": [[8], [16]], "mlp__epochs": [1, 2]}


def test_dry_run_prints_the_fits_and_the_candidates(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # No data is read (the file is missing) and nothing is written.
    args = ["search", "--grid", json.dumps(GRID), "--cv", "3", "--dry-run"]
    assert main([*args, "--train", "missing.csv", "--out", "s"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "4 candidates x 3 folds = 12 fits, then 1 refit of the best candidate "
        "on all the training data"
    )
    assert out[1:5] == [
        "  1: mlp__epochs=1, mlp__hidden_layer_sizes=(8,)",
        "  2: mlp__epochs=1, mlp__hidden_layer_sizes=(16,)",
        "  3: mlp__epochs=2, mlp__hidden_layer_sizes=(8,)",
        "  4: mlp__epochs=2, mlp__hidden_layer_sizes=(16,)",
    ]
    assert out[5] == "dry run: no data was read, nothing was trained or written"
    assert list(tmp_path.iterdir()) == []


def test_dry_run_still_refuses_a_bad_grid(tmp_path, capsys):
    args = ["search", "--grid", '{"mlp__nope": [1]}', "--dry-run"]
    assert main([*args, "--out", str(tmp_path / "s")]) == 2
    assert "--grid: grid key 'mlp__nope'" in capsys.readouterr().err


@pytest.mark.slow
def test_dry_run_lists_the_candidates_the_search_runs(tmp_path, capsys):
    # A randomized search: the sampled candidates, in the order they run.
    grid = json.dumps(
        {
            "mlp__learning_rate": {"loguniform": [1e-4, 1e-2]},
            "mlp__hidden_layer_sizes": [[8]],
            "mlp__epochs": [1],
        }
    )
    args = ["search", "--grid", grid, "--n-iter", "2", "--cv", "2", "--seed", "3"]
    out = tmp_path / "s"
    assert main([*args, "--dry-run"]) == 0
    planned = capsys.readouterr().out.splitlines()
    assert planned[0].startswith("2 candidates x 2 folds = 4 fits, then 1 refit")
    assert main([*args, "--out", str(out), "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == planned[0]  # said before it started
    rates = pd.read_csv(out / "cv_results.csv")["param_mlp__learning_rate"]
    listed = [float(line.split("mlp__learning_rate=")[1]) for line in planned[1:3]]
    assert listed == pytest.approx(rates.tolist(), rel=1e-12)


def test_n_jobs_above_the_cores_is_capped_with_a_warning(tmp_path, capsys, monkeypatch):
    import joblib

    monkeypatch.setattr(joblib, "cpu_count", lambda *args, **kwargs: 2)
    args = ["search", "--grid", json.dumps(GRID), "--n-jobs", "8", "--dry-run"]
    assert main([*args, "--out", str(tmp_path / "s")]) == 0
    captured = capsys.readouterr()
    assert captured.err.strip() == (
        "warning: --n-jobs 8 is more than the 2 CPU cores here; running 2 fits at once"
    )
    assert captured.out.startswith("4 candidates x 3 folds = 12 fits")
    assert main([*args[:-2], "2", "--dry-run", "--out", str(tmp_path / "s")]) == 0
    assert capsys.readouterr().err == ""


def test_augment_is_grid_searchable_and_checked(tmp_path, capsys):
    grid = {"mlp__augment": [None, "elastic"], "mlp__epochs": [1]}
    args = ["search", "--grid", json.dumps(grid), "--cv", "2", "--dry-run"]
    assert main([*args, "--out", str(tmp_path / "s")]) == 0
    assert capsys.readouterr().out.splitlines()[1:3] == [
        "  1: mlp__augment=None, mlp__epochs=1",
        "  2: mlp__augment='elastic', mlp__epochs=1",
    ]
    args = ["search", "--grid", '{"mlp__augment": ["wobble"]}', "--dry-run"]
    assert main([*args, "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--grid: grid key 'mlp__augment'" in err and "'wobble'" in err
