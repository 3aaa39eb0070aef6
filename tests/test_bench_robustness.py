"""The robustness benchmark's wiring: wild sets per normaliser, tiny end-to-end runs.

The benchmark itself is run by hand (see docs/benchmarks.md).
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

# Slow: draws image sets and trains networks.
pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "bench_robustness.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_robustness", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_wild_sets_are_read_by_each_normaliser(bench):
    sets = bench.wild_sets(0, 6, ("on", "off"))
    assert set(sets) == {"on", "off"}
    on, off = sets["on"], sets["off"]
    assert list(on) == list(off) and "noisy" in on and "plain" in on
    for kind in on:
        X, y = on[kind]
        assert X.shape == (6, 784) and 0 <= X.min() and X.max() <= 1
        np.testing.assert_array_equal(y, off[kind][1])
    # Only the noisy images have a background that denoise changes.
    np.testing.assert_array_equal(on["plain"][0], off["plain"][0])
    assert (on["noisy"][0] != off["noisy"][0]).any(axis=1).all()


def test_sample_run_prints_a_row_per_setting_and_normaliser(bench, capsys):
    argv = ["--epochs", "1", "--n-digits", "5", "--rounds", "1", "--presets", "none"]
    status = bench.main([*argv, "--variant", 'rot={"rotation": 5}'])
    assert status in (0, 1)
    lines = capsys.readouterr().out.splitlines()
    cells = [line.split(" | ") for line in lines if line.count(" | ") > 10]
    rows = [row[:2] for row in cells]
    assert rows[0] == ["setting", "denoise"]
    assert rows[2:] == [["none", "on"], ["none", "off"], ["rot", "on"], ["rot", "off"]]
    # load_digits' real digits, beside the goals: one accuracy per fit.
    assert cells[0][-1] == "other writers"
    other = [float(row[-1]) for row in cells[2:]]
    assert all(0 <= a <= 1 for a in other) and other[0] == other[1]


# Needs Debian's dataset-fashion-mnist, which .ci/run installs: without it
# this fails with fetch's one-line message naming the package.
def test_fashion_run_compares_each_setting_with_none(bench, capsys):
    argv = ["--fashion", "--n-train", "600", "--epochs", "1"]
    status = bench.main([*argv, "--presets", "none", "affine"])
    out = capsys.readouterr().out
    assert "Fashion-MNIST, 600 training and 10000 test images" in out
    rows = [line.split(" | ") for line in out.splitlines() if line.count(" | ") == 4]
    assert [row[0] for row in rows] == ["setting", "---", "none", "affine"]
    assert rows[2][2] == "1.00" and rows[2][4] == "+0.0000"
    change = float(rows[3][4])
    assert status == (1 if change < -0.005 else 0)
