"""Tests of the training-time distortions in sk_mnist._augment."""

import json
import os
import pickle
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import ops
from scipy import ndimage
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss

from sk_mnist import (
    DenseMLPClassifier,
    load_model,
    make_mnist_pipeline,
    save_model,
)
from sk_mnist import _keras_runtime as keras_runtime
from sk_mnist._augment import PRESETS, DigitAugmenter, make_augmenter
from sk_mnist.cli import build_parser, main
from sk_mnist.datasets import load_sample
from sk_mnist.search._grid import parse_values


@pytest.fixture(scope="module")
def digits():
    (X, _), _ = load_sample()
    return X[:64].astype(np.float32) / 255


@pytest.mark.parametrize(
    "augment, problem",
    [
        ("warp", "unknown preset 'warp'"),
        ({"rotation": -5}, "rotation=-5"),
        ({"zoom": 0.1, "twist": 3}, "unknown key 'twist'"),
        ({"shear": 90}, "shear=90, expected a number >= 0 at most 45"),
        ({"stroke": float("nan")}, "stroke=nan"),
        ({"translation": True}, "translation=True"),
        ({"elastic_alpha": 30, "elastic_sigma": 0}, "elastic_sigma=0"),
        ({"rotation": "10"}, "rotation='10'"),
        (["affine"], r"got \['affine'\]"),
    ],
)
def test_bad_augment_raises_one_error_naming_it(augment, problem):
    with pytest.raises(ValueError, match=problem) as info:
        make_augmenter(augment, 784)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("augment must be None, one of 'affine', 'elastic'")
    assert "'rotation'" in message and "'stroke'" in message


def test_augment_on_non_square_rows_is_refused():
    with pytest.raises(
        ValueError, match="augment='affine' distorts square images, but X has 63 "
    ):
        make_augmenter("affine", 63)
    # No augmentation needs no image.
    assert make_augmenter(None, 63) is None


def test_presets_and_dicts_build_layers():
    assert make_augmenter(None, 784) is None
    for name, ranges in PRESETS.items():
        layer = make_augmenter(name, 784, seed=0)
        assert isinstance(layer, DigitAugmenter) and layer.side == 28
        assert {k: getattr(layer, k) for k in ranges} == ranges
    layer = make_augmenter({"rotation": 10}, 64)
    assert (layer.side, layer.rotation, layer.zoom) == (8, 10.0, 0.0)


def test_identity_when_not_training(digits):
    layer = make_augmenter("elastic", 784, seed=0)
    for training in (False, None):
        out = ops.convert_to_numpy(layer(digits, training=training))
        np.testing.assert_array_equal(out, digits)


@pytest.mark.parametrize("augment", ["affine", "elastic", {"stroke": 1.0}])
def test_training_distorts_within_range(digits, augment):
    layer = make_augmenter(augment, 784, seed=0)
    first = ops.convert_to_numpy(layer(digits, training=True))
    second = ops.convert_to_numpy(layer(digits, training=True))
    assert first.shape == digits.shape and first.dtype == np.float32
    assert first.min() >= 0 and first.max() <= 1
    # Nearly every image changes (a weight near 0 changes little), and each
    # batch draws afresh.
    assert np.mean(np.abs(first - digits).max(axis=1) > 0.05) > 0.9
    assert np.abs(first - second).mean() > 0.01
    # Distorted, not destroyed: the ink stays about as much.
    ratio = first.sum(axis=1) / digits.sum(axis=1)
    assert np.all((ratio > 0.05) & (ratio < 3)) and np.all(first.max(axis=1) > 0.3)


def test_same_seed_same_distortions(digits):
    runs = [make_augmenter("elastic", 784, seed=seed) for seed in (3, 3, 4)]
    a, b, c = (ops.convert_to_numpy(layer(digits, training=True)) for layer in runs)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 0.01


def test_resampling_matches_scipy(digits):
    layer = make_augmenter("elastic", 784, seed=0)
    n = 8
    coords = ops.convert_to_numpy(layer._source_coordinates(layer._draw(n), n))
    got = layer._resample(ops.convert_to_tensor(digits[:n]), coords, n)
    expected = [
        ndimage.map_coordinates(
            digits[i].reshape(28, 28), [coords[i, 1], coords[i, 0]], order=1, cval=0
        )
        for i in range(n)
    ]
    np.testing.assert_allclose(
        ops.convert_to_numpy(got), np.reshape(expected, (n, 784)), atol=1e-5
    )


def test_elastic_field_moves_each_axis_on_its_own():
    layer = make_augmenter({"elastic_alpha": 34, "elastic_sigma": 4}, 784, seed=0)
    field = ops.convert_to_numpy(layer._smoothed_field(64))
    dx, dy = field[:, 0].ravel(), field[:, 1].ravel()
    assert 0.5 < dx.std() < 3 and 0.5 < dy.std() < 3  # pixels
    assert abs(np.corrcoef(dx, dy)[0, 1]) < 0.1


def test_stroke_dilation_thickens_and_erosion_thins(digits):
    layer = make_augmenter({"stroke": 1.0}, 784, seed=0)
    n = len(digits)
    inked = (digits > 0.5).sum(axis=1)
    for sign in (1.0, -1.0):
        weight = ops.convert_to_tensor(np.full(n, sign, np.float32))
        out = ops.convert_to_numpy(layer._restroke(digits, weight, n))
        changed = (out > 0.5).sum(axis=1)
        assert np.all(changed > inked) if sign > 0 else np.all(changed < inked)


def test_distorts_inside_fit_with_a_partial_last_batch(digits):
    # 64 rows in batches of 24: the last batch is smaller, so the traced
    # training step sees an unknown batch size.
    layer = make_augmenter("elastic", 784, seed=0)
    inputs = keras.Input(shape=(784,))
    dense = keras.layers.Dense(10, activation="softmax")
    model = keras.Model(inputs, dense(layer(inputs)))
    model.compile("adam", "sparse_categorical_crossentropy")
    y = np.arange(len(digits)) % 10
    model.fit(digits, y, batch_size=24, epochs=2, verbose=0)
    probabilities = model.predict(digits, verbose=0)
    np.testing.assert_allclose(probabilities, dense(digits), rtol=1e-5, atol=1e-6)


_JAX_CHECK = textwrap.dedent(
    """
    import keras, numpy as np
    from keras import ops
    from sk_mnist._augment import make_augmenter
    assert keras.backend.backend() == "jax"
    x = np.random.default_rng(0).random((32, 784), dtype=np.float32)
    a, b = (make_augmenter("elastic", 784, seed=1) for _ in range(2))
    out = ops.convert_to_numpy(a(x, training=True))
    assert out.shape == x.shape and 0 <= out.min() and out.max() <= 1
    assert np.abs(out - x).mean() > 0.01
    np.testing.assert_array_equal(out, ops.convert_to_numpy(b(x, training=True)))
    np.testing.assert_array_equal(ops.convert_to_numpy(a(x, training=False)), x)
    inputs = keras.Input(shape=(784,))
    model = keras.Model(inputs, keras.layers.Dense(10)(a(inputs)))
    model.compile("adam", "mse")
    model.fit(x, np.zeros((32, 10)), batch_size=12, epochs=1, verbose=0)
    print("jax ok")
    """
)


@pytest.mark.slow
def test_runs_on_jax_backend():
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run(
        [sys.executable, "-c", _JAX_CHECK],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "jax ok" in result.stdout


# ------------------------------------------------- DenseMLPClassifier(augment=)
TINY = {"hidden_layer_sizes": (8,), "epochs": 2, "batch_size": 64, "random_state": 0}


@pytest.fixture(scope="module")
def small_digits():
    X, y = load_digits(return_X_y=True)  # 8 x 8 images: a square
    return (X / 16).astype(np.float32), y


def _no_augmenter(model):
    return not any(isinstance(layer, DigitAugmenter) for layer in model.layers)


@pytest.mark.parametrize(
    "augment, problem",
    [
        ("warp", "unknown preset 'warp'"),
        ({"rotation": -5}, "rotation=-5"),
        ({"zoom": 0.1, "twist": 3}, "unknown key 'twist'"),
        (["affine"], r"got \['affine'\]"),
    ],
)
def test_estimator_bad_augment_raises_one_error_in_fit(small_digits, augment, problem):
    X, y = small_digits
    clf = DenseMLPClassifier(**TINY, augment=augment)  # __init__ only stores it
    assert clf.get_params()["augment"] == augment
    with pytest.raises(ValueError, match=problem) as info:
        clf.fit(X, y)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("The 'augment' parameter of DenseMLPClassifier must")
    assert "'affine', 'elastic'" in message and "'stroke'" in message
    assert not hasattr(clf, "model_")


def test_estimator_augment_on_non_square_rows_is_refused(small_digits):
    X, y = small_digits
    clf = DenseMLPClassifier(**TINY, augment="affine")
    with pytest.raises(ValueError, match="but X has 63 features per row") as info:
        clf.fit(X[:, :63], y)
    assert "\n" not in str(info.value)
    assert not hasattr(clf, "model_") and not hasattr(clf, "n_features_in_")
    # Without augment, the same data trains.
    DenseMLPClassifier(**{**TINY, "epochs": 1}).fit(X[:, :63], y)


@pytest.mark.slow
def test_estimator_augment_is_seeded_and_changes_training(small_digits):
    X, y = small_digits
    params = {**TINY, "alpha": 1e-3, "dropout": 0.2}

    def proba(augment):
        clf = DenseMLPClassifier(**params, augment=augment).fit(X, y)
        return clf.predict_proba(X)

    first, second = proba("affine"), proba("affine")
    np.testing.assert_array_equal(first, second)
    plain = proba(None)
    assert np.abs(first - plain).max() > 1e-3
    assert np.abs(proba("elastic") - first).max() > 1e-3
    # All-zero ranges distort nothing: the augmented training model then
    # trains the network exactly as without augmentation (the L2 penalty
    # and dropout included).
    np.testing.assert_allclose(proba({}), plain, rtol=0, atol=1e-6)


@pytest.mark.slow
def test_estimator_inference_network_and_predictions_are_unaugmented(small_digits):
    X, y = small_digits
    clf = DenseMLPClassifier(**TINY, augment="elastic").fit(X, y)
    plain = DenseMLPClassifier(**TINY).fit(X, y)
    assert _no_augmenter(clf.model_)
    assert [type(layer) for layer in clf.model_.layers] == [
        type(layer) for layer in plain.model_.layers
    ]
    assert [w.shape for w in clf.model_.weights] == [
        w.shape for w in plain.model_.weights
    ]
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    np.testing.assert_array_equal(clf.predict(X), clf.predict(X))
    network = ops.convert_to_numpy(clf.model_(X, training=False))
    np.testing.assert_allclose(proba, network, rtol=1e-5, atol=1e-6)
    assert clf.score(X, y) == np.mean(clf.predict(X) == y)


@pytest.mark.slow
def test_estimator_validation_data_is_not_augmented(small_digits):
    X, y = small_digits
    clf = DenseMLPClassifier(**{**TINY, "epochs": 1}, augment="elastic")
    clf.fit(X[:1400], y[:1400], X_val=X[1400:], y_val=y[1400:])
    # The last epoch's validation loss is the loss of the final network on
    # the clean validation images.
    clean = log_loss(y[1400:], clf.predict_proba(X[1400:]), labels=clf.classes_)
    np.testing.assert_allclose(clf.history_["val_loss"][-1], clean, rtol=1e-4)
    assert clf.history_["loss"][-1] != pytest.approx(clean, rel=1e-3)


@pytest.mark.slow
def test_estimator_partial_fit_draws_fresh_distortions_each_call(small_digits):
    X, y = small_digits
    classes = np.unique(y)

    def three_calls():
        clf = DenseMLPClassifier(**TINY, augment="affine")
        states = []
        for _ in range(3):
            clf.partial_fit(X, y, classes=classes)
            augmenter = clf._trainer[3]
            states.append(ops.convert_to_numpy(augmenter.seed_generator.state)[0])
        return clf, states

    clf, states = three_calls()
    assert clf.n_iter_ == 3 and _no_augmenter(clf.model_)
    # Each call starts the distortions from its own seed (random_state is
    # an int, so the same seed would repeat them), and reuses the same
    # compiled training model.
    assert len(set(states)) == 3
    again, states_again = three_calls()
    assert states_again == states
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


@pytest.mark.slow
def test_estimator_save_load_and_pickle_round_trip(small_digits, tmp_path):
    X, y = small_digits
    augment = {"rotation": 10, "stroke": 0.5}
    clf = DenseMLPClassifier(**TINY, augment=augment).fit(X, y)
    proba = clf.predict_proba(X)
    save_model(clf, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert loaded.get_params() == clf.get_params()
    assert loaded.get_params()["augment"] == augment
    np.testing.assert_array_equal(loaded.predict_proba(X), proba)
    assert _no_augmenter(loaded.model_)
    copied = pickle.loads(pickle.dumps(clf))
    assert not hasattr(copied, "_trainer") and hasattr(clf, "_trainer")
    np.testing.assert_array_equal(copied.predict_proba(X), proba)
    # Both train on, with augmentation, from where they were.
    for model in (loaded, copied):
        model.partial_fit(X, y)
        assert model.n_iter_ == 3 and _no_augmenter(model.model_)
        assert np.abs(model.predict_proba(X) - proba).max() > 0


@pytest.mark.slow
def test_estimator_augment_under_xla(small_digits, monkeypatch):
    # Large fits compile with XLA on TensorFlow: make this small one large.
    monkeypatch.setattr(keras_runtime, "XLA_MIN_WORK", 0)
    X, y = small_digits
    runs = [DenseMLPClassifier(**TINY, augment="elastic").fit(X, y) for _ in range(2)]
    if keras.backend.backend() == "tensorflow":
        assert runs[0]._trainer[2].jit_compile
    np.testing.assert_array_equal(runs[0].predict_proba(X), runs[1].predict_proba(X))


_JAX_ESTIMATOR_CHECK = textwrap.dedent(
    """
    import sys, keras, numpy as np
    from sklearn.datasets import load_digits
    from sk_mnist import DenseMLPClassifier, load_model, save_model
    assert keras.backend.backend() == "jax"
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    params = dict(hidden_layer_sizes=(8,), epochs=2, batch_size=64, random_state=0)
    a, b = (DenseMLPClassifier(**params, augment="elastic").fit(X, y) for _ in "ab")
    proba = a.predict_proba(X)
    np.testing.assert_array_equal(proba, b.predict_proba(X))
    plain = DenseMLPClassifier(**params).fit(X, y).predict_proba(X)
    assert np.abs(proba - plain).max() > 1e-3
    save_model(a, sys.argv[1])
    loaded = load_model(sys.argv[1])
    np.testing.assert_array_equal(loaded.predict_proba(X), proba)
    loaded.partial_fit(X, y)
    assert loaded.n_iter_ == 3
    print("jax ok")
    """
)


@pytest.mark.slow
def test_estimator_augment_on_jax_backend(tmp_path):
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run(
        [sys.executable, "-c", _JAX_ESTIMATOR_CHECK, str(tmp_path / "model")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "jax ok" in result.stdout


# ------------------------------------------------------------ CLI and grids
def _cli_error(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: ") and "Traceback" not in err[0]
    return err[0]


@pytest.mark.parametrize(
    "value, problem",
    [
        ("warp", "unknown preset 'warp'"),
        ('{"rotation": -1}', "rotation=-1"),
        ('{"rotation": 1', "not valid JSON"),
    ],
)
def test_cli_bad_augment_exits_2_naming_it(tmp_path, capsys, value, problem):
    out = tmp_path / "run"
    args = ["train", "--out", str(out), "--epochs", "1", "--hidden", "8"]
    assert main([*args, "--augment", value, "--quiet"]) == 2
    line = _cli_error(capsys)
    assert line.startswith("error: argument --augment: ") and problem in line
    assert not out.exists()


def test_cli_augment_option_values():
    parser = build_parser()
    args = ["train", "--augment"]
    # "none" is kept apart from no --augment (the command's default).
    assert parser.parse_args([*args, "none"]).augment == "none"
    assert parser.parse_args([*args, "elastic"]).augment == "elastic"
    parsed = parser.parse_args([*args, '{"rotation": 10, "stroke": 0.5}'])
    assert parsed.augment == {"rotation": 10, "stroke": 0.5}
    assert parser.parse_args(["train"]).augment is None


@pytest.mark.slow
@pytest.mark.parametrize("value, recorded", [("affine", "affine"), ("none", None)])
def test_cli_train_with_augment(tmp_path, capsys, value, recorded):
    out = tmp_path / "run"
    args = ["train", "--out", str(out), "--epochs", "1", "--hidden", "8"]
    assert main([*args, "--augment", value, "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["params"]["augment"] == recorded
    model = load_model(out / "model")
    assert model.named_steps["mlp"].augment == recorded


def test_grid_accepts_augment_values():
    pipe = make_mnist_pipeline()
    values = [None, "affine", {"rotation": 10}]
    assert parse_values("mlp__augment", values, pipe, False) == values
    with pytest.raises(ValueError, match="grid key 'mlp__augment': value 'warp'"):
        parse_values("mlp__augment", ["warp"], pipe, False)
