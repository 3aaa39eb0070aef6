"""PixelScaler: range, dtype, inverse and validation."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sk_mnist import PixelScaler

pixel_matrices = arrays(
    np.uint8,
    st.tuples(st.integers(1, 20), st.integers(1, 30)),
    elements=st.integers(0, 255),
)


@settings(max_examples=60, deadline=None)
@given(pixel_matrices)
def test_transform_is_float32_in_unit_range_and_inverts(X):
    scaler = PixelScaler().fit(X)
    Xt = scaler.transform(X)
    assert Xt.dtype == np.float32 and Xt.shape == X.shape
    assert Xt.min() >= 0.0 and Xt.max() <= 1.0
    np.testing.assert_array_equal(Xt, (X / 255).astype(np.float32))
    back = scaler.inverse_transform(Xt)
    np.testing.assert_allclose(back, X, atol=1e-4)
    np.testing.assert_array_equal(np.rint(back).astype(np.uint8), X)


@settings(max_examples=40, deadline=None)
@given(pixel_matrices, st.sampled_from([-1.0, -0.5, 255.5, 256.0, 1e6]), st.data())
def test_any_value_outside_0_255_is_rejected(X, bad, data):
    X = X.astype(np.float64)
    row = data.draw(st.integers(0, X.shape[0] - 1))
    col = data.draw(st.integers(0, X.shape[1] - 1))
    X[row, col] = bad
    with pytest.raises(
        ValueError, match=re.escape(f"0-255, found {bad:g} at row {row}, column {col}")
    ):
        PixelScaler().fit(X)
    with pytest.raises(ValueError, match="pixel values must lie in 0-255"):
        PixelScaler().fit(np.zeros_like(X)).transform(X)


def test_nan_is_rejected():
    X = np.zeros((2, 3))
    X[1, 2] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        PixelScaler().fit(X)


def test_wrong_number_of_features():
    scaler = PixelScaler().fit(np.zeros((2, 784), np.uint8))
    with pytest.raises(
        ValueError, match="X has 783 features, but PixelScaler is expecting 784"
    ):
        scaler.transform(np.zeros((2, 783), np.uint8))


def test_inverse_transform_takes_its_own_output_after_a_dataframe_fit():
    frame = pd.DataFrame(np.full((2, 3), 51, np.uint8), columns=["a", "b", "c"])
    scaler = PixelScaler().fit(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = scaler.inverse_transform(scaler.transform(frame))
    np.testing.assert_allclose(back, frame.to_numpy(), atol=1e-4)
    with pytest.raises(ValueError, match="X has 2 features, but PixelScaler is"):
        scaler.inverse_transform(np.zeros((1, 2), np.float32))


def test_fit_learns_only_the_shape():
    scaler = PixelScaler().fit(np.full((3, 5), 7, np.uint8))
    learned = {k for k in vars(scaler) if k.endswith("_")}
    assert learned == {"n_features_in_"}
    assert scaler.n_features_in_ == 5


def test_feature_names_and_pandas_output():
    frame = pd.DataFrame(
        np.arange(6, dtype=np.uint8).reshape(2, 3) * 50, columns=["1x1", "1x2", "1x3"]
    )
    scaler = PixelScaler().set_output(transform="pandas").fit(frame)
    np.testing.assert_array_equal(scaler.feature_names_in_, frame.columns)
    np.testing.assert_array_equal(scaler.get_feature_names_out(), frame.columns)
    out = scaler.transform(frame)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == list(frame.columns)
    assert out.to_numpy().max() == pytest.approx(250 / 255)


def test_uint8_input_is_not_copied_to_float64(monkeypatch):
    X = np.full((4, 784), 255, np.uint8)
    seen = []
    original = np.divide

    def spy(a, *args, **kwargs):
        seen.append(a.dtype)
        return original(a, *args, **kwargs)

    monkeypatch.setattr(np, "divide", spy)
    PixelScaler().fit(X).transform(X)
    assert seen == [np.uint8]


def test_fitted_state_round_trips_with_feature_names():
    X = pd.DataFrame(np.zeros((2, 3)), columns=["a", "b", "c"])
    state = PixelScaler().fit(X).get_fitted_state()
    assert state == {"n_features_in_": 3, "feature_names_in_": ["a", "b", "c"]}
    copy = PixelScaler().set_fitted_state(state)
    assert copy.transform(X).shape == (2, 3)
    assert list(copy.feature_names_in_) == ["a", "b", "c"]
    # Restoring a state without names drops earlier names.
    copy.set_fitted_state({"n_features_in_": 3})
    assert not hasattr(copy, "feature_names_in_")


@pytest.mark.parametrize(
    "state, match",
    [
        ({}, "missing entry 'n_features_in_'"),
        ({"n_features_in_": -1}, "n_features_in_ must be a non-negative int"),
        ({"n_features_in_": 2, "feature_names_in_": ["a"]}, "n_features_in_ strings"),
        ([1], "the fitted state must be a dict"),
    ],
)
def test_invalid_fitted_state_is_refused(state, match):
    scaler = PixelScaler()
    with pytest.raises(ValueError, match=match):
        scaler.set_fitted_state(state)
    assert not hasattr(scaler, "n_features_in_")
    with pytest.raises(sklearn.exceptions.NotFittedError):
        scaler.get_fitted_state()
