"""Fits that fail leave nothing half-done; writes that fail name their file."""

import errno
import os

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from sk_mnist import DenseMLPClassifier, make_mnist_pipeline, save_model
from sk_mnist._callbacks import HAS_CALLBACKS
from sk_mnist.cli import main
from sk_mnist.datasets import save_mnist_csv

SMALL = dict(hidden_layer_sizes=(8,), epochs=3, batch_size=128, random_state=0)
NO_SPACE = os.strerror(errno.ENOSPC)


class FailAtEpoch:
    """A sklearn callback that raises at the end of epoch ``epoch`` (0-based)."""

    def __init__(self, epoch):
        self.epoch = epoch

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        if context.task_name == "epoch" and context.task_id == self.epoch:
            raise RuntimeError("the callback failed")


@pytest.mark.skipif(not HAS_CALLBACKS, reason="scikit-learn < 1.9 has no callbacks")
def test_a_callback_raising_mid_fit_leaves_the_classifier_unfitted(digits):
    X, y = digits
    clf = DenseMLPClassifier(**SMALL).set_callbacks(FailAtEpoch(1))
    with pytest.raises(RuntimeError, match="the callback failed"):
        clf.fit(X / 255, y)
    with pytest.raises(NotFittedError):
        clf.predict(X[:3] / 255)
    assert not hasattr(clf, "model_") and not hasattr(clf, "classes_")


@pytest.mark.skipif(not HAS_CALLBACKS, reason="scikit-learn < 1.9 has no callbacks")
def test_a_callback_raising_in_partial_fit_restores_the_earlier_network(digits):
    X, y = digits
    clf = DenseMLPClassifier(**SMALL).partial_fit(X / 255, y, classes=np.arange(10))
    before = clf.predict_proba(X[:20] / 255)
    history = {key: list(values) for key, values in clf.history_.items()}
    clf.set_callbacks(FailAtEpoch(0))
    with pytest.raises(RuntimeError, match="the callback failed"):
        clf.partial_fit(X / 255, y)
    np.testing.assert_array_equal(clf.predict_proba(X[:20] / 255), before)
    assert clf.history_ == history and clf.n_iter_ == 1


@pytest.mark.parametrize("name", ["batch_size", "epochs", "n_iter_no_change"])
def test_counts_beyond_int32_are_refused_by_the_parameter_check(digits, name):
    X, y = digits
    clf = DenseMLPClassifier(**{**SMALL, name: 2**70})
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        clf.fit(X[:50] / 255, y[:50])
    DenseMLPClassifier(**{**SMALL, name: 2**31 - 1})._validate_params()


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: ") and "Traceback" not in err[0]
    return err[0]


def test_cli_refuses_a_huge_batch_size_on_one_line(tmp_path, capsys):
    code = main(["train", "--out", str(tmp_path / "run"), "--batch-size", str(2**70)])
    assert code == 2
    line = _error_line(capsys)
    assert "--batch-size" in line or "batch_size" in line
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def model_dir(sample, tmp_path_factory):
    (X, y), _ = sample
    pipe = make_mnist_pipeline(hidden_layer_sizes=(8,), epochs=1, random_state=0)
    folder = tmp_path_factory.mktemp("saved") / "model"
    save_model(pipe.fit(X[:300], y[:300]), folder)
    return folder


@pytest.fixture(scope="module")
def data_csv(sample, tmp_path_factory):
    _, (X, y) = sample
    return save_mnist_csv(tmp_path_factory.mktemp("csv") / "digits.csv", X[:20], y[:20])


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, NO_SPACE)


def _only(folder):
    return sorted(p.name for p in folder.iterdir())


def test_predict_on_a_full_disk_names_the_output(
    model_dir, data_csv, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(pd.DataFrame, "to_csv", _disk_full)
    output = tmp_path / "predictions.csv"
    args = ["predict", "--model", str(model_dir), "--data", str(data_csv)]
    assert main([*args, "--output", str(output)]) == 2
    assert _error_line(capsys) == f"error: {output}: {NO_SPACE}"
    assert _only(tmp_path) == []


def test_evaluate_on_a_full_disk_names_the_metrics_file(
    model_dir, data_csv, tmp_path, monkeypatch, capsys
):
    from pathlib import Path

    monkeypatch.setattr(Path, "write_text", _disk_full)
    metrics = tmp_path / "metrics.json"
    args = ["evaluate", "--model", str(model_dir), "--data", str(data_csv)]
    assert main([*args, "--metrics", str(metrics)]) == 2
    assert f"error: {metrics}: {NO_SPACE}" == _error_line(capsys)
    assert _only(tmp_path) == []


def test_export_on_a_full_disk_names_the_onnx_file(
    model_dir, tmp_path, monkeypatch, capsys
):
    from sk_mnist.export import _writer

    monkeypatch.setattr(_writer.os, "fsync", _disk_full)
    output = tmp_path / "out" / "model.onnx"
    assert main(["export", "--model", str(model_dir), "--output", str(output)]) == 2
    assert _error_line(capsys) == f"error: {output}: {NO_SPACE}"
    assert _only(tmp_path) == []


def test_a_failed_write_in_a_staged_folder_names_the_target(tmp_path):
    from sk_mnist._files import staged_folder, temporary_beside

    target = tmp_path / "model"
    with pytest.raises(OSError) as info:
        with staged_folder(target) as new:
            raise OSError(errno.ENOSPC, NO_SPACE, os.path.join(new, "model.keras"))
    assert info.value.filename == os.path.join(target, "model.keras")
    assert _only(tmp_path) == []
    # An error about another file keeps its own name.
    with pytest.raises(FileNotFoundError) as info:
        with temporary_beside(tmp_path / "x.csv"):
            open(tmp_path / "missing.txt")
    assert info.value.filename == str(tmp_path / "missing.txt")
