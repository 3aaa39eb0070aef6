"""skl2onnx converters: ``skl2onnx.to_onnx`` of pipelines with sk-mnist steps.

Every converted model runs on onnxruntime against the fitted Keras pipeline
on real images (the embedded MNIST sample, sklearn's digits).
"""

import json
import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest
import skl2onnx
from skl2onnx.common.exceptions import MissingShapeCalculator
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_mnist import (
    DenseMLPClassifier,
    DigitNormalizer,
    PixelScaler,
    make_mnist_pipeline,
)
from sk_mnist.export._conversion import to_onnx_model
from sk_mnist.export._converters import (
    OP_TYPES,
    OnnxConversionError,
    register_converters,
)
from sk_mnist.model import ACTIVATIONS

TOLERANCE = 1e-5
TINY = {"hidden_layer_sizes": (16,), "epochs": 2, "batch_size": 256, "random_state": 0}
WORDS = np.array("zero one two three four five six seven eight nine".split())
NO_ZIPMAP = {"zipmap": False}

register_converters()  # the documented explicit call


class Doubler(TransformerMixin, BaseEstimator):
    """A user's own step that skl2onnx knows nothing about."""

    def fit(self, X, y=None):
        self.n_features_in_ = np.shape(X)[1]
        return self

    def transform(self, X):
        return np.asarray(X) * 2


@pytest.fixture(scope="module")
def digits():
    """sklearn's 8 x 8 digits scaled to [0, 1] (float32) and labels."""
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


@pytest.fixture(scope="module")
def fitted(sample):
    """``fitted(kind, labels)``: a pipeline fitted on the sample, made once."""
    (X, y), _ = sample
    cache = {}

    def make(kind, labels):
        if (kind, labels) not in cache:
            if kind == "mnist":
                pipe = make_mnist_pipeline(**TINY)
            else:
                pipe = make_pipeline(
                    StandardScaler(),
                    PCA(50, random_state=0),
                    DenseMLPClassifier(**TINY),
                )
            cache[kind, labels] = pipe.fit(X, WORDS[y] if labels == "str" else y)
        return cache[kind, labels]

    return make


def _run(onnx_model, X):
    session = ort.InferenceSession(
        onnx_model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, {session.get_inputs()[0].name: X})


def _assert_agrees(model, onnx_model, X, X_onnx=None):
    labels, proba = _run(onnx_model, X if X_onnx is None else X_onnx)
    np.testing.assert_array_equal(labels, model.predict(X))
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=TOLERANCE)
    return labels, proba


def _one_line_error(excinfo):
    message = str(excinfo.value)
    assert "\n" not in message, message
    return message


# ------------------------------------------------------------- agreement
@pytest.mark.slow
@pytest.mark.parametrize("labels", ["int", "str"])
@pytest.mark.parametrize("kind", ["mnist", "scaler_pca"])
def test_to_onnx_agrees_with_keras_on_the_sample_test_digits(
    fitted, sample, kind, labels
):
    (X, _), (X_test, _) = sample
    pipe = fitted(kind, labels)
    # skl2onnx's StandardScaler takes no uint8 input: give it floats.
    X_sample = X[:1] if kind == "mnist" else X[:1].astype(np.float32)
    onnx_model = skl2onnx.to_onnx(pipe, X_sample, options=NO_ZIPMAP)
    assert len(X_test) == 1000
    predicted, _ = _assert_agrees(
        pipe, onnx_model, X_test, X_test.astype(X_sample.dtype)
    )
    if labels == "str":
        assert set(predicted) <= set(WORDS)
    else:
        assert predicted.dtype == np.int64


def test_default_zipmap_gives_labels_and_a_dict_per_row(fitted, sample):
    (X, _), (X_test, _) = sample
    pipe = fitted("mnist", "str")
    labels, dicts = _run(skl2onnx.to_onnx(pipe, X[:1]), X_test[:50])
    np.testing.assert_array_equal(labels, pipe.predict(X_test[:50]))
    assert [sorted(d) for d in dicts] == [sorted(WORDS)] * 50
    proba = np.array([[d[c] for c in pipe.classes_] for d in dicts])
    np.testing.assert_allclose(
        proba, pipe.predict_proba(X_test[:50]), rtol=0, atol=TOLERANCE
    )


def test_zipmap_false_gives_a_float_tensor_and_nocl_class_indices(fitted, sample):
    (X, _), (X_test, _) = sample
    pipe = fitted("mnist", "str")
    onnx_model = skl2onnx.to_onnx(pipe, X[:1], options=NO_ZIPMAP)
    assert [o.name for o in onnx_model.graph.output] == ["label", "probabilities"]
    labels, proba = _run(onnx_model, X_test)
    assert isinstance(proba, np.ndarray)
    assert proba.dtype == np.float32 and proba.shape == (1000, 10)
    indices, _ = _run(
        skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": False, "nocl": True}), X_test
    )
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(pipe.classes_[indices], labels)


def test_graph_holds_only_standard_ops(fitted, sample):
    (X, _), _ = sample
    onnx_model = skl2onnx.to_onnx(fitted("mnist", "int"), X[:1], options=NO_ZIPMAP)
    assert {node.domain for node in onnx_model.graph.node} == {""}
    ops = [node.op_type for node in onnx_model.graph.node]
    # uint8 in: one Cast, then PixelScaler's division, the two layers, labels.
    assert ops == ["Cast", "Div", "Gemm", "Relu", "Gemm", "Softmax", "ArgMax", "Gather"]


@pytest.mark.slow
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_each_activation_converts(digits, activation):
    X, y = digits
    clf = DenseMLPClassifier(
        hidden_layer_sizes=(8,), activation=activation, epochs=1, random_state=0
    ).fit(X, y)
    onnx_model = skl2onnx.to_onnx(clf, X[:1], options=NO_ZIPMAP)
    assert {node.op_type for node in onnx_model.graph.node} <= OP_TYPES
    _assert_agrees(clf, onnx_model, X)


def test_dropout_layers_and_double_input(digits):
    X, y = digits
    clf = DenseMLPClassifier(
        hidden_layer_sizes=(16, 8), dropout=0.3, epochs=2, random_state=0
    ).fit(X, y)
    X64 = X.astype(np.float64)
    onnx_model = skl2onnx.to_onnx(clf, X64[:1], options=NO_ZIPMAP)
    assert "Dropout" not in {node.op_type for node in onnx_model.graph.node}
    _, proba = _assert_agrees(clf, onnx_model, X64)
    assert proba.dtype == np.float64  # as skl2onnx's own classifiers do


def test_double_input_with_zipmap_gives_a_valid_graph(digits):
    X, y = digits
    X64 = X.astype(np.float64)
    pipe = make_pipeline(
        StandardScaler(), DenseMLPClassifier(hidden_layer_sizes=(8,), epochs=1)
    ).fit(X64, y)
    # ZipMap takes float probabilities only (skl2onnx's own MLPClassifier
    # gives a graph onnxruntime refuses to load here).
    labels, dicts = _run(skl2onnx.to_onnx(pipe, X64[:1]), X64)
    np.testing.assert_array_equal(labels, pipe.predict(X64))
    proba = np.array([[d[c] for c in pipe.classes_] for d in dicts])
    np.testing.assert_allclose(proba, pipe.predict_proba(X64), rtol=0, atol=TOLERANCE)


def test_float_labels_come_out_as_int64(digits):
    X, y = digits
    clf = DenseMLPClassifier(hidden_layer_sizes=(8,), epochs=1, random_state=0)
    clf.fit(X, y.astype(np.float64))
    labels, _ = _run(skl2onnx.to_onnx(clf, X[:1], options=NO_ZIPMAP), X)
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, clf.predict(X))


def test_column_transformer_of_a_users_own_preprocessing(digits):
    X, y = digits
    pre = ColumnTransformer(
        [
            ("scale", StandardScaler(), list(range(32))),
            ("pca", PCA(8, random_state=0), list(range(32, 64))),
        ]
    )
    pipe = make_pipeline(pre, DenseMLPClassifier(hidden_layer_sizes=(8,), epochs=1))
    pipe.fit(X, WORDS[y])
    _assert_agrees(pipe, to_onnx_model(pipe, X[:1], options=NO_ZIPMAP), X)


def test_two_pixel_scalers_divide_twice(digits):
    X, y = digits
    pipe = Pipeline(
        [
            ("a", PixelScaler()),
            ("b", PixelScaler()),
            ("mlp", DenseMLPClassifier(hidden_layer_sizes=(8,), epochs=1)),
        ]
    ).fit(X * 255, y)
    onnx_model = skl2onnx.to_onnx(pipe, X[:1] * 255, options=NO_ZIPMAP)
    assert [node.op_type for node in onnx_model.graph.node][:2] == ["Div", "Div"]
    _assert_agrees(pipe, onnx_model, X * 255)


# ------------------------------------------------------------- refusals
def test_digit_normalizer_is_refused_in_one_line(fitted, sample):
    (X, _), _ = sample
    # Assembled from fitted parts: DigitNormalizer learns nothing.
    normalize = DigitNormalizer().fit(X[:10])
    pipe = Pipeline([("normalize", normalize), ("model", fitted("mnist", "int"))])
    why = "DigitNormalizer to ONNX: it resizes, centres and thresholds whole images"
    with pytest.raises(OnnxConversionError, match=why) as excinfo:
        skl2onnx.to_onnx(pipe, X[:1])
    _one_line_error(excinfo)
    with pytest.raises(
        OnnxConversionError,
        match=r"^Cannot convert step 'normalize' \(DigitNormalizer\)",
    ) as excinfo:
        to_onnx_model(pipe, X[:1])
    _one_line_error(excinfo)


def test_a_step_skl2onnx_cannot_convert_is_named_in_one_line(digits):
    X, y = digits
    pre = ColumnTransformer(
        [("scale", StandardScaler(), list(range(32))), ("double", Doubler(), [40])]
    )
    pipe = make_pipeline(pre, DenseMLPClassifier(hidden_layer_sizes=(4,), epochs=1))
    pipe.fit(X, y)
    with pytest.raises(MissingShapeCalculator):  # what skl2onnx alone says
        skl2onnx.to_onnx(pipe, X[:1])
    with pytest.raises(
        OnnxConversionError,
        match=r"^Cannot convert step 'columntransformer__double' \(Doubler\) to ONNX: "
        "skl2onnx has no converter for it",
    ) as excinfo:
        to_onnx_model(pipe, X[:1])
    _one_line_error(excinfo)


def test_an_input_type_a_converter_refuses_is_named(fitted, sample):
    (X, _), _ = sample
    with pytest.raises(
        OnnxConversionError,
        match=r"^Cannot convert step 'standardscaler' \(StandardScaler\) to ONNX: "
        r"skl2onnx converts it from .*Float.* input only, not UInt8",
    ) as excinfo:
        to_onnx_model(fitted("scaler_pca", "int"), X[:1])
    _one_line_error(excinfo)


def test_an_unfitted_step_is_named(digits):
    X, y = digits
    pipe = make_mnist_pipeline(**TINY)
    with pytest.raises(
        NotFittedError,
        match=r"^Cannot convert step 'scale' \(PixelScaler\).*not fitted",
    ):
        to_onnx_model(pipe, X[:1])
    with pytest.raises(NotFittedError, match=r"DenseMLPClassifier.*not fitted"):
        skl2onnx.to_onnx(DenseMLPClassifier(), X[:1])


# ---------------------------------------------------------- registration
def test_importing_the_module_does_not_import_skl2onnx():
    code = "import sys, sk_mnist.export._converters\nprint('skl2onnx' in sys.modules)\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["False"]


_HOOK_SCRIPT = """
import json, sys
import sk_mnist
eager = sorted({{"skl2onnx", "keras", "numpy"}} & set(sys.modules))
import numpy as np
if {first!r} == "skl2onnx":
    import skl2onnx
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sk_mnist import DenseMLPClassifier
import onnxruntime as ort, skl2onnx
X, y = load_digits(return_X_y=True)
X = X.astype(np.float32)
pipe = make_pipeline(StandardScaler(), PCA(50), DenseMLPClassifier(
    hidden_layer_sizes=(8,), epochs=1, random_state=0)).fit(X, y)
onx = skl2onnx.to_onnx(pipe, X[:1], options={{"zipmap": False}})
session = ort.InferenceSession(onx.SerializeToString(),
                               providers=["CPUExecutionProvider"])
labels, proba = session.run(None, {{"X": X}})
print(json.dumps({{
    "eager": eager,
    "same_labels": bool((labels == pipe.predict(X)).all()),
    "max_diff": float(np.abs(proba - pipe.predict_proba(X)).max()),
}}))
"""


@pytest.mark.slow  # a fresh interpreter each, to see what the imports register
@pytest.mark.parametrize("first", ["skl2onnx", "sk_mnist.estimator"])
def test_plain_skl2onnx_converts_after_import_sk_mnist(first):
    """No explicit call: importing skl2onnx and the estimator registers."""
    result = subprocess.run(
        [sys.executable, "-c", _HOOK_SCRIPT.format(first=first)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["eager"] == []  # import sk_mnist imported none of them
    assert report["same_labels"]
    assert report["max_diff"] <= 1e-4  # scikit-learn scales in float64


def test_registering_twice_keeps_one_converter(fitted, sample):
    from skl2onnx._supported_operators import sklearn_operator_name_map

    register_converters()
    assert sklearn_operator_name_map[DenseMLPClassifier] == "SkMnistDenseMLPClassifier"
    (X, _), (X_test, _) = sample
    pipe = fitted("mnist", "int")
    _assert_agrees(pipe, skl2onnx.to_onnx(pipe, X[:1], options=NO_ZIPMAP), X_test)


_JAX_SCRIPT = """
import json, keras, numpy as np, onnxruntime as ort, skl2onnx
from sklearn.datasets import load_digits
from sk_mnist import make_mnist_pipeline
from sk_mnist.export._converters import register_converters

register_converters()
X, y = load_digits(return_X_y=True)
X = np.round(X * 255 / 16).astype(np.uint8)
pipe = make_mnist_pipeline(hidden_layer_sizes=(8,), activation="gelu", epochs=1,
                           random_state=0).fit(X, y)
onx = skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": False})
session = ort.InferenceSession(onx.SerializeToString(),
                               providers=["CPUExecutionProvider"])
labels, proba = session.run(None, {session.get_inputs()[0].name: X})
print(json.dumps({
    "backend": keras.backend.backend(),
    "same_labels": bool((labels == pipe.predict(X)).all()),
    "max_diff": float(np.abs(proba - pipe.predict_proba(X)).max()),
}))
"""


@pytest.mark.slow
def test_converts_on_the_jax_backend():
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run(
        [sys.executable, "-c", _JAX_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["backend"] == "jax"
    assert report["same_labels"]
    assert report["max_diff"] <= TOLERANCE
