"""Image folders and files on the command line: train, evaluate and predict.

The sample's digits are written as PNG files, some as MNIST has them, some
four times larger and dark on light (as a scan would be), in the
``<label>/`` layout; the commands read them through ``load_images`` and
``DigitNormalizer``, and must agree with the same model run offline.
"""

import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sk_mnist import load_model
from sk_mnist.cli import main
from sk_mnist.datasets import load_sample, save_mnist_csv
from sk_mnist.images import DigitNormalizer, load_images

# Plain training (no --augment default): two epochs of a tiny net must learn.
FAST = ["--epochs", "2", "--hidden", "16", "--batch-size", "32", "--augment", "none"]
FAST += ["--quiet"]
N_TRAIN, N_TEST = 1000, 100


def _save(path, row, i):
    """Digit ``row`` as a PNG file; every third one large and dark on light."""
    image = Image.fromarray(row.reshape(28, 28).astype(np.uint8))
    if i % 3 == 2:
        image = Image.fromarray(255 - np.asarray(image)).resize((112, 112))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def _labelled(root, X, y):
    for i, (row, label) in enumerate(zip(X, y, strict=True)):
        _save(root / str(label) / f"{i:04d}.png", row, i)
    return root


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    (X, y), (X_test, y_test) = load_sample()
    root = tmp_path_factory.mktemp("images")
    flat = root / "flat"
    for i in range(6):
        _save(flat / f"digit{i}.png", X_test[N_TEST + i], i)
    return {
        "train": _labelled(root / "train", X[:N_TRAIN], y[:N_TRAIN]),
        "test": _labelled(root / "test", X_test[:N_TEST], y_test[:N_TEST]),
        "flat": flat,
    }


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, folders):
    out = tmp_path_factory.mktemp("runs") / "run"
    args = ["train", "--train", str(folders["train"]), "--test", str(folders["test"])]
    assert main([*args, "--out", str(out), *FAST]) == 0
    return out


def _offline(run_dir, source):
    """Probabilities of the saved model on images read and normalised here."""
    found = load_images(source)
    X = DigitNormalizer().transform(found.images)
    return load_model(run_dir / "model").predict_proba(X), found


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: ") and "Traceback" not in err[0]
    return err[0]


@pytest.mark.slow
def test_train_on_label_folders(run_dir, folders):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert (metrics["n_train"], metrics["n_test"]) == (N_TRAIN, N_TEST)
    assert metrics["data"] == {
        "train": str(folders["train"]),
        "test": str(folders["test"]),
    }
    # Well above chance (0.1): the large, inverted third was normalised.
    assert metrics["test_accuracy"] > 0.5
    proba, found = _offline(run_dir, folders["test"])
    accuracy = np.mean(proba.argmax(axis=1) == found.target)
    assert metrics["test_accuracy"] == pytest.approx(accuracy)


def test_evaluate_a_label_folder(run_dir, folders, tmp_path, capsys):
    metrics = tmp_path / "m.json"
    args = ["evaluate", "--model", str(run_dir / "model")]
    assert main([*args, "--data", str(folders["test"]), "--metrics", str(metrics)]) == 0
    proba, found = _offline(run_dir, folders["test"])
    accuracy = np.mean(proba.argmax(axis=1) == found.target)
    out = capsys.readouterr().out
    assert out.startswith(f"accuracy {accuracy:.4f} on {N_TEST} images")
    assert json.loads(metrics.read_text())["n_test"] == N_TEST


def test_predict_a_folder_writes_file_label_and_probability(run_dir, folders, tmp_path):
    output = tmp_path / "p.csv"
    args = ["predict", "--model", str(run_dir / "model"), "--data"]
    assert main([*args, str(folders["test"]), "--output", str(output)]) == 0
    frame = pd.read_csv(output)
    assert list(frame.columns) == ["file", "prediction", "probability"] + [
        f"proba_{d}" for d in range(10)
    ]
    proba, found = _offline(run_dir, folders["test"])
    assert frame["file"].tolist() == found.filenames
    assert frame["prediction"].tolist() == proba.argmax(axis=1).tolist()
    np.testing.assert_allclose(frame["probability"], proba.max(axis=1), rtol=1e-5)
    np.testing.assert_allclose(frame.iloc[:, 3:], proba, rtol=1e-5, atol=1e-7)


def test_predict_image_files_in_the_order_given(run_dir, folders, tmp_path):
    files = [folders["flat"] / f"digit{i}.png" for i in (4, 0, 2)]
    output = tmp_path / "p.csv"
    args = ["predict", "--model", str(run_dir / "model"), "--data", *map(str, files)]
    assert main([*args, "--output", str(output)]) == 0
    frame = pd.read_csv(output)
    assert frame["file"].tolist() == [str(f) for f in files]
    proba, _ = _offline(run_dir, files)
    assert frame["prediction"].tolist() == proba.argmax(axis=1).tolist()


def test_predict_a_folder_and_files_together(run_dir, folders, tmp_path):
    extra = folders["test"] / "3"
    output = tmp_path / "p.csv"
    args = ["predict", "--model", str(run_dir / "model"), "--data"]
    args += [str(folders["flat"]), str(next(extra.iterdir())), "--output", str(output)]
    assert main(args) == 0
    assert len(pd.read_csv(output)) == 6 + 1


def test_a_csv_file_is_read_as_before(run_dir, tmp_path):
    # Not an image suffix: a Kaggle-layout CSV, with the same columns as ever.
    _, (X_test, y_test) = load_sample()
    data = save_mnist_csv(tmp_path / "digits.csv", X_test[:20], y_test[:20])
    output = tmp_path / "p.csv"
    args = ["predict", "--model", str(run_dir / "model"), "--data", str(data)]
    assert main([*args, "--output", str(output)]) == 0
    frame = pd.read_csv(output)
    assert list(frame.columns) == ["prediction"] + [f"proba_{d}" for d in range(10)]
    assert len(frame) == 20


# ---------------------------------------------------------------- errors
def test_an_unreadable_image_is_named(run_dir, tmp_path, capsys):
    folder = tmp_path / "digits"
    folder.mkdir()
    Image.new("L", (30, 30), 0).save(folder / "a.png")
    (folder / "b.png").write_bytes(b"not a PNG at all")
    output = tmp_path / "p.csv"
    args = ["predict", "--model", str(run_dir / "model"), "--data", str(folder)]
    assert main([*args, "--output", str(output)]) == 2
    assert _error_line(capsys).startswith(
        f"error: {folder / 'b.png'}: not an image file that Pillow can read"
    )
    assert not output.exists()


def test_an_image_without_ink_is_named(run_dir, folders, tmp_path, capsys):
    blank = tmp_path / "blank.png"
    Image.new("L", (40, 40), 255).save(blank)
    args = ["predict", "--model", str(run_dir / "model"), "--data"]
    args += [str(folders["flat"] / "digit0.png"), str(blank)]
    assert main([*args, "--output", str(tmp_path / "p.csv")]) == 2
    assert _error_line(capsys) == (
        f"error: {blank}: the image has no ink: no pixel differs from its "
        "background; remove it or draw a digit in it"
    )


@pytest.mark.parametrize("name", ["cat", "10"])
def test_label_folders_must_be_digits(folders, tmp_path, capsys, name):
    train = tmp_path / "train"
    for label in ("1", name):
        _save(train / label / "a.png", np.asarray(load_sample()[0][0][0]), 0)
    out = tmp_path / "run"
    assert main(["train", "--train", str(train), "--out", str(out), *FAST]) == 2
    assert _error_line(capsys) == (
        f"error: --train {train}: label folder {name!r} is not a digit 0-9; "
        "name the label folders 0 to 9 (one per digit)"
    )
    assert not out.exists()


def test_evaluate_needs_label_folders(run_dir, folders, capsys):
    args = ["evaluate", "--model", str(run_dir / "model")]
    assert main([*args, "--data", str(folders["flat"])]) == 2
    assert _error_line(capsys) == (
        f"error: --data {folders['flat']}: needs labelled images, a folder of "
        "label folders 0/ to 9/ holding the image files; found images without "
        "labels"
    )


def test_several_data_paths_must_all_be_images(run_dir, folders, tmp_path, capsys):
    csv = tmp_path / "digits.csv"
    args = ["predict", "--model", str(run_dir / "model"), "--data"]
    args += [str(folders["flat"]), str(csv), "--output", str(tmp_path / "p.csv")]
    assert main(args) == 2
    assert _error_line(capsys).startswith(
        f"error: --data {csv}: not a folder or an image file (.png .jpg"
    )


def test_outputs_never_land_in_an_image_folder(run_dir, folders, capsys):
    # A prediction file or a run's figures there would be read as images next.
    model = str(run_dir / "model")
    output = folders["flat"] / "p.csv"
    args = ["predict", "--model", model, "--data", str(folders["flat"])]
    assert main([*args, "--output", str(output)]) == 2
    assert _error_line(capsys) == (
        f"error: --output {output} is inside the --data folder {folders['flat']}; "
        "choose another --output"
    )
    out = folders["train"] / "run"
    assert main(["train", "--train", str(folders["train"]), "--out", str(out)]) == 2
    assert _error_line(capsys) == (
        f"error: --out {out} is in the --train image folder {folders['train']}, "
        "all of whose images are read; choose another --out"
    )
    assert not output.exists() and not out.exists()


def test_a_missing_image_file_is_named(run_dir, tmp_path, capsys):
    missing = tmp_path / "seven.png"
    args = ["predict", "--model", str(run_dir / "model"), "--data", str(missing)]
    assert main([*args, "--output", str(tmp_path / "p.csv")]) == 2
    assert _error_line(capsys) == f"error: {missing}: no such file or folder"


def test_predict_keeps_a_file_name_that_is_not_utf8(run_dir, folders, tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    raw = os.fsencode(folder) + b"/d\xff\xfe.png"  # Latin-1 bytes, not UTF-8
    shutil.copyfile(os.fsencode(folders["flat"] / "digit0.png"), raw)
    output = tmp_path / "p.csv"
    args = ["predict", "--model", str(run_dir / "model"), "--data", str(folder)]
    assert main([*args, "--output", str(output)]) == 0
    line = output.read_bytes().splitlines()[1]
    # The name is written back as the bytes it has on disk.
    assert line.startswith(b"d\xff\xfe.png,") or b"/d\xff\xfe.png," in line
