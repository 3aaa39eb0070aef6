"""build_dense_mlp: the homework's Keras network from plain parameters."""

import keras
import numpy as np
import pytest

from sk_mnist import build_dense_mlp


def _dense_layers(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def test_homework_architecture():
    model = build_dense_mlp(784, 10)
    dense = _dense_layers(model)
    assert [layer.units for layer in dense] == [1024, 512, 256, 10]
    assert [layer.activation.__name__ for layer in dense] == ["relu"] * 3 + ["softmax"]
    assert model.count_params() == (
        784 * 1024 + 1024 + 1024 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10
    )
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in model.layers)


def test_dropout_and_l2_options():
    model = build_dense_mlp(20, 3, (8, 4), activation="tanh", dropout=0.3, alpha=1e-3)
    drops = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert [d.rate for d in drops] == [0.3, 0.3]
    assert all(layer.kernel_regularizer is not None for layer in _dense_layers(model))
    assert _dense_layers(model)[0].activation.__name__ == "tanh"


def test_outputs_are_probabilities_and_seed_is_reproducible():
    X = np.random.default_rng(0).random((5, 20)).astype(np.float32)
    a = build_dense_mlp(20, 3, (8,), seed=1).predict(X, verbose=0)
    b = build_dense_mlp(20, 3, (8,), seed=1).predict(X, verbose=0)
    c = build_dense_mlp(20, 3, (8,), seed=2).predict(X, verbose=0)
    np.testing.assert_allclose(a.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_empty_hidden_layers_give_logistic_regression():
    assert [layer.units for layer in _dense_layers(build_dense_mlp(4, 2, ()))] == [2]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"hidden_layer_sizes": (4, 0)}, "positive integer widths"),
        ({"activation": "nope"}, "activation must be one of"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
        ({"alpha": -1}, "alpha must be >= 0"),
        ({"alpha": float("nan")}, "alpha must be >= 0 and finite, got nan"),
        ({"alpha": float("inf")}, "alpha must be >= 0 and finite, got inf"),
        ({"n_classes": 1}, "n_classes one >= 2"),
        ({"n_features": 4.5}, "n_features must be an integer"),
        ({"hidden_layer_sizes": (16.7,)}, r"positive integer widths, got \(16.7,\)"),
        ({"hidden_layer_sizes": (True,)}, r"positive integer widths, got \(True,\)"),
    ],
)
def test_invalid_arguments(kwargs, message):
    params = {"n_features": 4, "n_classes": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        build_dense_mlp(**params)


def test_unchecked_build_is_the_same_network():
    # DenseMLPClassifier checks its parameters once and builds unchecked.
    checked = build_dense_mlp(20, 3, (8,), dropout=0.1, alpha=1e-3, seed=1)
    unchecked = build_dense_mlp(
        20, 3, (8,), dropout=0.1, alpha=1e-3, seed=1, check_input=False
    )
    assert checked.get_config() == unchecked.get_config()
    X = np.random.default_rng(0).random((5, 20)).astype(np.float32)
    np.testing.assert_array_equal(
        checked.predict(X, verbose=0), unchecked.predict(X, verbose=0)
    )
