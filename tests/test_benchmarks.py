"""The training benchmark's arithmetic, and one tiny end-to-end run of it.

The benchmark itself is run by hand (see docs/benchmarks.md); this only keeps
the script working and its FLOP count right.
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

# Slow: runs the benchmarks in subprocesses.
pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "bench_training.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_training", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_flop_count_of_the_homework_network(bench):
    macs = 784 * 1024 + 1024 * 512 + 512 * 256 + 256 * 10
    assert bench.forward_flops(1) == 2 * macs
    # forward, weight gradients, and input gradients of all but the first layer
    assert bench.epoch_flops(60_000) == 2 * 60_000 * (3 * macs - 784 * 1024)
    assert 4.2e11 < bench.epoch_flops(60_000) < 4.4e11


def test_time_to_target_counts_setup_and_training_only(bench):
    record = {"cumulative_s": [3.0, 5.0, 7.0], "accuracy": [0.5, 0.8, 0.9]}
    assert bench.time_to(record, 0.8) == 5.0
    assert bench.time_to(record, 0.95) is None


def test_tiny_run_prints_the_table_and_records(tmp_path):
    out = tmp_path / "records.json"
    cmd = [
        sys.executable,
        str(SCRIPT),
        "--synthetic",
        "--n-train",
        "600",
        "--configs",
        "a,c,d,f,g",
        "--seeds",
        "1",
        "--epochs",
        "1",
        "--short-epochs",
        "1",
        "--csv-repeat",
        "1",
        "--json",
        str(out),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert "SYNTHETIC" in result.stdout
    for name in ("keras-homework", "pipeline-default", "sklearn-mlp"):
        assert name in result.stdout
    assert "CSV loader, 600 rows" in result.stdout
    records = json.loads(out.read_text())["records"]
    assert sorted(records) == ["a", "c", "d", "f", "g"]
    for (run,) in records.values():
        assert len(run["epoch_s"]) == len(run["accuracy"]) >= 1
        assert 0.0 <= run["final_accuracy"] <= 1.0 and run["predict_per_s"] > 0
    assert len(records["c"][0]["epoch_s"]) == 15  # the defaults' epochs
    # a tiny run misses the speed targets, so the script reports a miss
    assert result.returncode in (0, 1) and "MISS" in result.stdout


def test_tiny_parallel_search_run_compares_rankings():
    script = SCRIPT.parent / "bench_search.py"
    cmd = [sys.executable, str(script), "--n-train", "300", "--cv", "2"]
    cmd += ["--epochs", "1", "--n-jobs", "1,2"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "4 candidates x 2 folds, 1 epochs on 300 images" in result.stdout
    assert "repeat 1, n_jobs=2" in result.stdout
    # Seeded fits score the same in one process and in two worker processes.
    assert "identical rankings over all runs: yes" in result.stdout
    assert ("PASS" in result.stdout) != ("MISS" in result.stdout)


def test_tiny_early_stopping_run_gives_a_verdict():
    script = SCRIPT.parent / "bench_early_stopping.py"
    cmd = [sys.executable, str(script), "--n-train", "400", "--epochs", "2"]
    cmd += ["--seeds", "0"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    out = result.stdout
    for name in ("to the end", "early_stopping=True", "to the end on 90%"):
        assert f"seed 0  {name} " in out, out + result.stderr[-2000:]
    assert "400 training and 1000 test images" in out
    verdicts = [line for line in out.splitlines() if line.startswith(("PASS", "MISS"))]
    assert len(verdicts) == 1
    assert result.returncode == (0 if verdicts[0].startswith("PASS") else 1)
