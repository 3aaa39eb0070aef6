"""The sk-mnist command, end to end with tiny networks, and its bad-input paths."""

import errno
import json
import os
import shutil
import subprocess
import sys

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from sk_mnist import __version__
from sk_mnist.cli import build_parser, main
from sk_mnist.datasets import load_sample, save_mnist_csv

# Plain training (no --augment default): two epochs of a tiny net must learn.
FAST = ["--epochs", "2", "--hidden", "32", "--batch-size", "128", "--augment", "none"]
FAST += ["--quiet"]
PNGS = [
    "class_distribution.png",
    "samples.png",
    "learning_curves.png",
    "confusion_matrix.png",
    "misclassified.png",
]


@pytest.fixture(scope="module")
def csv_files(tmp_path_factory):
    """Small Kaggle-layout files cut from the embedded sample."""
    (X, y), (X_test, y_test) = load_sample()
    folder = tmp_path_factory.mktemp("csv")
    train = save_mnist_csv(folder / "train.csv", X[:1500], y[:1500])
    test = save_mnist_csv(folder / "test.csv.gz", X_test[:300], y_test[:300])
    unlabelled = save_mnist_csv(folder / "unlabelled.csv", X_test[:40])
    return {"train": train, "test": test, "unlabelled": unlabelled}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, csv_files):
    out = tmp_path_factory.mktemp("runs") / "run"
    args = [
        "train",
        "--train",
        str(csv_files["train"]),
        "--test",
        str(csv_files["test"]),
        "--out",
        str(out),
        *FAST,
    ]
    assert main(args) == 0
    return out


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: ") and "Traceback" not in err[0]
    return err[0]


@pytest.mark.slow
def test_train_writes_every_file(run_dir, capsys):
    assert (run_dir / "model" / "model.keras").is_file()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for key in (
        "test_accuracy",
        "test_loss",
        "per_class",
        "n_train",
        "n_test",
        "epochs_run",
        "fit_seconds",
        "params",
        "versions",
    ):
        assert key in metrics
    assert metrics["n_train"] == 1500 and metrics["n_test"] == 300
    assert metrics["epochs_run"] == 2
    assert metrics["params"]["hidden_layer_sizes"] == [32]
    assert set(metrics["per_class"]) == {str(d) for d in range(10)}
    assert {"precision", "recall"} <= set(metrics["per_class"]["3"])
    assert metrics["test_accuracy"] > 0.7
    history = pd.read_csv(run_dir / "history.csv")
    assert list(history.columns) == [
        "epoch",
        "accuracy",
        "loss",
        "val_accuracy",
        "val_loss",
        "learning_rate",
    ]
    assert history["epoch"].tolist() == [1, 2]
    # with --test, the last validation accuracy is the reported test accuracy
    assert history["val_accuracy"].iloc[-1] == pytest.approx(metrics["test_accuracy"])
    for name in PNGS:
        image = matplotlib.image.imread(run_dir / name)
        assert image.ndim == 3 and min(image.shape[:2]) > 100


@pytest.mark.slow
def test_train_on_embedded_sample_with_holdout_and_summary(tmp_path, capsys):
    out = tmp_path / "sample-run"
    assert main(["train", "--out", str(out), "--early-stopping", *FAST]) == 0
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert summary.startswith("test accuracy 0.") and str(out) in summary
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_train"] == 4000 and metrics["n_test"] == 1000
    assert metrics["params"]["early_stopping"] is True


@pytest.mark.slow
def test_train_without_test_file_holds_out_20_percent(tmp_path, csv_files):
    out = tmp_path / "holdout"
    assert (
        main(["train", "--train", str(csv_files["train"]), "--out", str(out), *FAST])
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["n_train"], metrics["n_test"]) == (1200, 300)


@pytest.mark.slow
def test_progress_is_shown_unless_quiet(tmp_path, csv_files, capfd):
    args = [
        "train",
        "--train",
        str(csv_files["train"]),
        "--epochs",
        "2",
        "--hidden",
        "8",
        "--batch-size",
        "256",
    ]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    loud = capfd.readouterr().out
    assert "Epoch 2/2" in loud and "loss" in loud
    assert main([*args, "--out", str(tmp_path / "b"), "--quiet"]) == 0
    quiet = capfd.readouterr().out
    assert "Epoch" not in quiet and quiet.strip().startswith("test accuracy")


@pytest.mark.slow
def test_rerun_replaces_an_earlier_run(run_dir, csv_files, tmp_path):
    out = tmp_path / "again"
    shutil.copytree(run_dir, out)
    (out / "cv_results.csv").write_text("from an old search")
    assert (
        main(["train", "--train", str(csv_files["train"]), "--out", str(out), *FAST])
        == 0
    )
    assert not (out / "cv_results.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again"]


@pytest.mark.slow
def test_train_replaces_an_earlier_search(tmp_path, capsys):
    out = tmp_path / "run"
    grid = '{"mlp__epochs": [1], "mlp__hidden_layer_sizes": [[8]]}'
    assert (
        main(["search", "--grid", grid, "--cv", "2", "--out", str(out), "--quiet"]) == 0
    )
    assert (out / "cv_results.csv").is_file()
    assert main(["train", "--out", str(out), *FAST]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["model", "metrics.json", "history.csv", *PNGS]
    )


@pytest.mark.parametrize(
    "metrics", ['{"foo": 1}', "[]", "not json", '{"versions": {"keras": "3"}}']
)
def test_refuses_a_folder_with_a_foreign_metrics_json(tmp_path, capsys, metrics):
    # Only a folder that sk-mnist wrote, and nothing else, is replaced.
    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    (project / "metrics.json").write_text(metrics)
    (project / "src" / "code.py").write_text("x")
    assert main(["train", "--out", str(project), *FAST]) == 2
    assert "is not an earlier sk-mnist run" in _error_line(capsys)
    assert (project / "src" / "code.py").read_text() == "x"
    assert (project / "metrics.json").read_text() == metrics


def test_refuses_a_run_folder_holding_other_files(run_dir, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(run_dir, out)
    (out / "notes.txt").write_text("mine")
    assert main(["train", "--out", str(out), *FAST]) == 2
    assert "is not an earlier sk-mnist run" in _error_line(capsys)
    assert (out / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("out", [".", "./", "sub/..", "..", "<absolute>"])
def test_refuses_the_current_folder_before_loading_data(
    run_dir, tmp_path, capsys, monkeypatch, out
):
    # The current folder, or one holding it, cannot be replaced; it is refused
    # before the data (here a missing file) is read, even when it is a run.
    here = tmp_path / "here"
    shutil.copytree(run_dir, here)
    (here / "sub").mkdir()
    monkeypatch.chdir(here / "sub" if out == ".." else here)
    out = str(here) if out == "<absolute>" else out
    assert main(["train", "--train", "missing.csv", "--out", out, *FAST]) == 2
    assert "is the current folder or holds it" in _error_line(capsys)
    assert (here / "model").is_dir() and (here / "sub").is_dir()


def test_evaluate_prints_report_and_writes_files(run_dir, csv_files, tmp_path, capsys):
    metrics_path = tmp_path / "m.json"
    cm_path = tmp_path / "cm.png"
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(run_dir / "model"),
                "--data",
                str(csv_files["test"]),
                "--metrics",
                str(metrics_path),
                "--confusion-matrix",
                str(cm_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("accuracy 0.") and "precision" in out and "recall" in out
    saved = json.loads((run_dir / "metrics.json").read_text())
    written = json.loads(metrics_path.read_text())
    assert written["test_accuracy"] == pytest.approx(saved["test_accuracy"])
    assert matplotlib.image.imread(cm_path).ndim == 3


@pytest.mark.parametrize("data", ["test", "unlabelled"])
def test_predict_writes_one_row_per_image(run_dir, csv_files, tmp_path, data):
    output = tmp_path / "pred.csv"
    assert (
        main(
            [
                "predict",
                "--model",
                str(run_dir / "model"),
                "--data",
                str(csv_files[data]),
                "--output",
                str(output),
            ]
        )
        == 0
    )
    frame = pd.read_csv(output)
    assert len(frame) == (300 if data == "test" else 40)
    assert list(frame.columns) == ["prediction"] + [f"proba_{d}" for d in range(10)]
    proba = frame.iloc[:, 1:].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-4)
    np.testing.assert_array_equal(frame["prediction"], proba.argmax(axis=1))


@pytest.fixture
def umask_002():
    old = os.umask(0o002)
    yield 0o664
    os.umask(old)


def test_output_files_get_the_usual_permissions(
    run_dir, csv_files, tmp_path, umask_002
):
    # Not mkstemp's 0o600: 0o666 less the umask, as any other program's files.
    model, data = str(run_dir / "model"), str(csv_files["test"])
    outputs = [tmp_path / "p.csv", tmp_path / "m.json", tmp_path / "cm.png"]
    assert (
        main(["predict", "--model", model, "--data", data, "--output", str(outputs[0])])
        == 0
    )
    args = ["--metrics", str(outputs[1]), "--confusion-matrix", str(outputs[2])]
    assert main(["evaluate", "--model", model, "--data", data, *args]) == 0
    assert [path.stat().st_mode & 0o777 for path in outputs] == [umask_002] * 3


@pytest.mark.parametrize("name", ["cm", "cm.txt", "cm.png.tmp"])
def test_confusion_matrix_without_an_image_extension_is_refused_first(
    csv_files, tmp_path, capsys, name
):
    # Refused before the model is read (here it does not exist) or anything
    # is printed or written; it was refused after the report and --metrics.
    metrics = tmp_path / "m.json"
    args = ["evaluate", "--model", str(tmp_path / "nowhere"), "--data"]
    args += [str(csv_files["test"]), "--metrics", str(metrics)]
    assert main([*args, "--confusion-matrix", str(tmp_path / name)]) == 2
    line = _error_line(capsys)
    assert line.startswith("error: argument --confusion-matrix: expected a file ")
    assert ".png" in line and ".svg" in line and repr(str(tmp_path / name)) in line
    assert "tmp-" not in line.replace(str(tmp_path), "")
    assert list(tmp_path.iterdir()) == []


def test_evaluate_draws_with_the_agg_backend(run_dir, csv_files, tmp_path):
    # As train and search: no window, whatever the default backend.
    before = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        args = ["evaluate", "--model", str(run_dir / "model"), "--data"]
        args += [str(csv_files["test"]), "--confusion-matrix", str(tmp_path / "c.png")]
        assert main(args) == 0
        assert matplotlib.get_backend().lower() == "agg"
    finally:
        matplotlib.use(before)
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_predict_refuses_to_overwrite_its_data(run_dir, csv_files, tmp_path, capsys):
    data = tmp_path / "digits.csv"
    shutil.copy(csv_files["unlabelled"], data)
    before = data.read_bytes()
    for output in (data, tmp_path / "." / "digits.csv"):
        args = ["predict", "--model", str(run_dir / "model"), "--data", str(data)]
        assert main([*args, "--output", str(output)]) == 2
        assert _error_line(capsys) == (
            f"error: --output {output} is the --data file; choose another --output"
        )
    assert data.read_bytes() == before


@pytest.mark.slow
def test_labels_the_model_does_not_know_are_named(csv_files, tmp_path, capsys):
    (X, y), _ = load_sample()
    low = y < 5
    train04 = save_mnist_csv(tmp_path / "train04.csv", X[low][:500], y[low][:500])
    test = str(csv_files["test"])
    out = tmp_path / "run04"
    args = ["train", "--train", str(train04), "--out", str(out), *FAST]
    assert main([*args, "--test", test]) == 2
    expected = "labels 5, 6, 7, 8, 9 not among the training labels (0, 1, 2, 3, 4)"
    assert _error_line(capsys) == f"error: {test}: {expected}"
    assert not out.exists()
    assert main(args) == 0
    capsys.readouterr()
    model = out / "model"
    assert main(["evaluate", "--model", str(model), "--data", test]) == 2
    assert _error_line(capsys) == (
        f"error: {test}: labels 5, 6, 7, 8, 9 not among the classes of {model} "
        "(0, 1, 2, 3, 4)"
    )


@pytest.mark.slow
def test_disk_full_while_writing_the_run_names_it(tmp_path, capsys, monkeypatch):
    from sk_mnist.cli import _train

    def disk_full(history, path):
        raise OSError(errno.ENOSPC, "No space left on device")  # no file name

    monkeypatch.setattr(_train, "write_history", disk_full)
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *FAST]) == 2
    assert _error_line(capsys) == (
        f"error: {out}: cannot write there (No space left on device)"
    )
    assert list(tmp_path.iterdir()) == []


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"sk-mnist {__version__}"


@pytest.mark.parametrize(
    "command", ["train", "evaluate", "predict", "search", "download"]
)
def test_every_subcommand_has_help_with_examples(command, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text and f"sk-mnist {command}" in text
    # The prose is wrapped to the terminal; example lines keep their layout.
    description = text.split("\n\n")[1]
    assert max(map(len, description.splitlines())) <= 58, description
    assert all(len(line) <= 80 for line in text.splitlines()), text


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--epochs", "0"], "--epochs: expected a positive integer, got '0'"),
        (["train", "--hidden", "10,-3"], "--hidden: expected comma-separated"),
        (["train", "--batch-size", "x"], "--batch-size: expected a positive integer"),
        (["train", "--learning-rate", "-1"], "--learning-rate: expected a positive"),
        (["train", "--dropout", "1"], r"--dropout: expected a number in \[0, 1\)"),
        (["train", "--bogus"], "unrecognized arguments: --bogus"),
        (["train", "--bogus"], r"\(see 'sk-mnist train --help'\)$"),
        (["train", "--seed", "-5"], "--seed: expected an integer 0-4294967295"),
        (["search", "--grid", "{}", "--seed", str(2**32)], "--seed: expected an "),
        (["fly"], "invalid choice: 'fly'"),
        (["train", "--test", "t.csv"], "--test needs --train"),
        (["train", "--train", "missing.csv"], "^error: missing.csv: No such file"),
        (["evaluate", "--data", "x.csv"], "--model"),
    ],
)
def test_bad_options_exit_2_with_one_line(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    assert __import__("re").search(message, _error_line(capsys))
    assert list(tmp_path.iterdir()) == []  # no output directory, no temp files


def test_malformed_csv_exits_2_naming_file_and_line(tmp_path, csv_files, capsys):
    bad = tmp_path / "bad.csv"
    lines = open(csv_files["train"]).read().splitlines()[:6]
    lines[3] = lines[3].rsplit(",", 1)[0]  # one pixel short
    bad.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    assert main(["train", "--train", str(bad), "--out", str(out), *FAST]) == 2
    line = _error_line(capsys)
    assert "bad.csv" in line and "line 4" in line
    assert not out.exists()


def test_unwritable_output_exits_2_naming_it(tmp_path, csv_files, capsys):
    # An output path below a file: the system's error, reported as one line.
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    out = blocker / "run"
    assert main(["train", "--train", str(csv_files["train"]), "--out", str(out)]) == 2
    expected = f"error: {out}: cannot write there ({blocker} is not a folder)"
    assert _error_line(capsys) == expected
    assert sorted(tmp_path.iterdir()) == [blocker]


@pytest.mark.slow
def test_failure_mid_run_leaves_no_folder_behind(
    tmp_path, csv_files, capsys, monkeypatch
):
    import sk_mnist.persistence

    def disk_full(pipe, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(sk_mnist.persistence, "save_model", disk_full)
    out = tmp_path / "new" / "deeper" / "run"
    args = ["train", "--train", str(csv_files["train"]), "--out", str(out), *FAST]
    assert main(args) == 2
    line = _error_line(capsys)
    assert line.startswith("error: ") and line.endswith(
        "model: No space left on device"
    )
    # The run's staging folder and the two folders made for it are gone.
    assert list(tmp_path.iterdir()) == []


def test_evaluate_needs_labels(run_dir, csv_files, capsys):
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(run_dir / "model"),
                "--data",
                str(csv_files["unlabelled"]),
            ]
        )
        == 2
    )
    assert "needs a label column" in _error_line(capsys)


def test_corrupt_or_missing_model_exits_2(run_dir, csv_files, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(run_dir / "model", broken)
    keras_file = broken / "model.keras"
    keras_file.write_bytes(keras_file.read_bytes()[:1000])
    output = tmp_path / "p.csv"
    for model in (broken, tmp_path / "nowhere"):
        assert (
            main(
                [
                    "predict",
                    "--model",
                    str(model),
                    "--data",
                    str(csv_files["test"]),
                    "--output",
                    str(output),
                ]
            )
            == 2
        )
        assert str(model.name) in _error_line(capsys)
    assert not output.exists()


def test_refuses_to_overwrite_a_directory_that_is_not_a_run(tmp_path, capsys):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("do not delete")
    assert main(["train", "--out", str(precious), *FAST]) == 2
    assert "is not an earlier sk-mnist run" in _error_line(capsys)
    assert (precious / "thesis.tex").read_text() == "do not delete"


def test_ctrl_c_during_training_leaves_nothing(tmp_path, capsys, monkeypatch):
    from sklearn.pipeline import Pipeline

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Pipeline, "fit", interrupted)
    assert main(["train", "--out", str(tmp_path / "run"), *FAST]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


class ResourceExhaustedError(Exception):
    """Named as TensorFlow's, which the CLI recognises by name."""


class XlaRuntimeError(RuntimeError):
    """Named as JAX's."""


@pytest.mark.parametrize(
    "error",
    [
        MemoryError("Unable to allocate 2.92 TiB for an array"),
        ResourceExhaustedError(
            "{{function_node __wrapped__RandomUniform}} OOM when allocating tensor "
            "with shape[784,1000000000]\nmore detail"
        ),
        XlaRuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 3136000000000"),
    ],
)
def test_out_of_memory_exits_with_one_line(tmp_path, capsys, monkeypatch, error):
    # A network too large for memory (faked: nothing is really allocated).
    from sklearn.pipeline import Pipeline

    def fit(self, *args, **kwargs):
        raise error

    monkeypatch.setattr(Pipeline, "fit", fit)
    out = tmp_path / "new" / "run"
    args = ["train", "--out", str(out), "--hidden", "1000000000", "--quiet"]
    assert main(args) == 2
    line = _error_line(capsys)
    assert line.startswith(
        "error: out of memory building or running the network (--hidden 1000000000)"
    )
    assert "function_node" not in line and "detail" not in line
    assert str(error).splitlines()[0][-20:] in line
    assert list(tmp_path.iterdir()) == []


def test_other_runtime_errors_are_not_reported_as_out_of_memory(tmp_path, monkeypatch):
    from sklearn.pipeline import Pipeline

    def fit(self, *args, **kwargs):
        raise XlaRuntimeError("INTERNAL: something else")

    monkeypatch.setattr(Pipeline, "fit", fit)
    with pytest.raises(XlaRuntimeError):
        main(["train", "--out", str(tmp_path / "run"), *FAST])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "address", ["garbage", "tcp://scheduler", "tcp://:8786", "h:99999", "ucx://h:1"]
)
def test_malformed_scheduler_address_is_refused_before_connecting(
    tmp_path, capsys, monkeypatch, address
):
    # Client() on such an address fails, then hangs in Client.__del__.
    from distributed import Client

    def no_client(*args, **kwargs):
        raise AssertionError("Client() called")

    monkeypatch.setattr(Client, "__init__", no_client)
    monkeypatch.chdir(tmp_path)
    grid = '{"mlp__epochs": [1]}'
    args = ["search", "--grid", grid, "--train", "missing.csv", "--scheduler"]
    assert main([*args, address]) == 2
    assert _error_line(capsys).startswith(
        f"error: --scheduler: expected an address such as tcp://10.0.0.5:8786, "
        f"got {address!r} ("
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_console_script_reports_errors_without_traceback(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sk_mnist.cli",
            "train",
            "--train",
            str(tmp_path / "none.csv"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        line for line in result.stderr.strip().splitlines() if line.startswith("error:")
    ]
    assert "Traceback" not in result.stderr and "none.csv" in result.stderr


def test_parser_lists_the_documented_options():
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    options = {opt for action in train._actions for opt in action.option_strings}
    assert {
        "--train",
        "--test",
        "--out",
        "--epochs",
        "--batch-size",
        "--hidden",
        "--learning-rate",
        "--schedule",
        "--homework",
        "--dropout",
        "--early-stopping",
        "--seed",
        "--quiet",
    } <= options


def test_help_defaults_are_the_commands():
    from sk_mnist import HOMEWORK_PARAMS, DenseMLPClassifier
    from sk_mnist.cli._train import TRAIN_DEFAULTS

    train = build_parser()._subparsers._group_actions[0].choices["train"]
    helps = {action.dest: action.help for action in train._actions}
    # The estimator's defaults, but for what the command changes.
    params = {**DenseMLPClassifier().get_params(), **TRAIN_DEFAULTS}
    assert DenseMLPClassifier().augment is None
    shown = {
        "epochs": str(params["epochs"]),
        "augment": params["augment"],
        "batch_size": str(params["batch_size"]),
        "hidden": ",".join(map(str, params["hidden_layer_sizes"])),
        "learning_rate": f"{params['learning_rate']:g}",
        "schedule": params["learning_rate_schedule"],
        "dropout": f"{params['dropout']:g}",
    }
    fashion = {"epochs": str(DenseMLPClassifier().epochs), "augment": "none"}
    for dest, default in shown.items():
        end = (
            f" {fashion[dest]} with --dataset fashion-mnist" if dest in fashion else ""
        )
        end = f"(default: {default};{end})" if end else f"(default: {default})"
        assert helps[dest].endswith(end), (dest, helps[dest])
    assert f"batch {HOMEWORK_PARAMS['batch_size']}," in helps["homework"]
    assert f"{HOMEWORK_PARAMS['epochs']} epochs" in helps["homework"]


@pytest.mark.parametrize(
    "options, augment, epochs",
    [
        ([], "elastic", 20),
        (["--augment", "none"], None, 20),
        (["--augment", "affine", "--epochs", "3"], "affine", 3),
        (["--homework"], None, 20),
        (["--homework", "--augment", "elastic"], "elastic", 20),
        (["--dataset", "mnist"], "elastic", 20),
        # Not digits: the estimator's defaults.
        (["--dataset", "fashion-mnist"], None, "estimator's"),
        (
            ["--dataset", "fashion-mnist", "--augment", "affine"],
            "affine",
            "estimator's",
        ),
    ],
)
def test_train_recipe_augments_by_default(options, augment, epochs):
    from sk_mnist import HOMEWORK_PARAMS, DenseMLPClassifier
    from sk_mnist.cli._train import recipe_pipeline

    args = build_parser().parse_args(["train", *options])
    mlp = recipe_pipeline(args).named_steps["mlp"]
    if epochs == "estimator's":
        epochs = DenseMLPClassifier().epochs
    assert mlp.augment == augment and mlp.epochs == epochs
    plain = (
        HOMEWORK_PARAMS
        if "--homework" in options
        else DenseMLPClassifier().get_params()
    )
    assert mlp.batch_size == plain["batch_size"]


@pytest.mark.slow
def test_homework_flag_trains_the_homework_recipe_and_flags_override(tmp_path):
    from sk_mnist import HOMEWORK_PARAMS

    out = tmp_path / "hw"
    args = ["train", "--homework", "--epochs", "1", "--hidden", "16", "--quiet"]
    assert main([*args, "--out", str(out)]) == 0
    params = json.loads((out / "metrics.json").read_text())["params"]
    assert params["batch_size"] == HOMEWORK_PARAMS["batch_size"] == 32
    assert params["learning_rate"] == HOMEWORK_PARAMS["learning_rate"]
    assert params["learning_rate_schedule"] == "constant"
    assert params["epochs"] == 1 and params["hidden_layer_sizes"] == [16]
    assert params["augment"] is None  # the homework had no augmentation
    history = pd.read_csv(out / "history.csv")
    assert history["learning_rate"].tolist() == [HOMEWORK_PARAMS["learning_rate"]]
