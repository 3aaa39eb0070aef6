"""Tests of the training-time distortions in sk_mnist._augment."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import ops
from scipy import ndimage

from sk_mnist._augment import PRESETS, DigitAugmenter, make_augmenter
from sk_mnist.datasets import load_sample


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
