"""ONNX export: onnxruntime predicts what the Keras pipeline predicts.

Every comparison runs the exported file with onnxruntime against the fitted
Keras model on real images (the embedded MNIST sample, sklearn's digits).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import sk_mnist
from sk_mnist import (
    DenseMLPClassifier,
    DigitNormalizer,
    PixelScaler,
    make_mnist_pipeline,
)
from sk_mnist.export import OnnxClassifier, export_onnx, load_onnx, to_onnx
from sk_mnist.model import ACTIVATIONS

HERE = Path(__file__).parent
TOLERANCE = 1e-5
TINY = {"hidden_layer_sizes": (16,), "epochs": 1, "batch_size": 256}


@pytest.fixture(scope="module")
def pipe(sample):
    """The default network (784-1024-512-256-10), one epoch on the sample."""
    (X, y), _ = sample
    return make_mnist_pipeline(epochs=1, batch_size=256, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def pipe_file(pipe, tmp_path_factory):
    return export_onnx(pipe, tmp_path_factory.mktemp("export") / "mnist.onnx")


def _roundtrip(model, tmp_path, name="model.onnx"):
    return load_onnx(export_onnx(model, tmp_path / name))


def _initializer(onnx_model, name):
    (tensor,) = [t for t in onnx_model.graph.initializer if t.name == name]
    return onnx.numpy_helper.to_array(tensor)


def _assert_same_predictions(model, onnx_model, X):
    np.testing.assert_array_equal(onnx_model.predict(X), model.predict(X))
    np.testing.assert_allclose(
        onnx_model.predict_proba(X), model.predict_proba(X), rtol=0, atol=TOLERANCE
    )


# ------------------------------------------------------------- agreement
@pytest.mark.slow
def test_onnx_agrees_with_keras_pipeline_on_the_sample_test_images(
    pipe, pipe_file, sample
):
    _, (X_test, y_test) = sample
    clf = load_onnx(pipe_file)
    assert isinstance(clf, OnnxClassifier)
    np.testing.assert_array_equal(clf.classes_, pipe.classes_)
    assert clf.n_features_in_ == 784
    labels, proba = clf.predict(X_test), clf.predict_proba(X_test)
    assert len(X_test) == 1000
    np.testing.assert_array_equal(labels, pipe.predict(X_test))
    assert np.abs(proba - pipe.predict_proba(X_test)).max() <= TOLERANCE
    assert clf.score(X_test, y_test) == pipe.score(X_test, y_test)
    assert labels.dtype == pipe.classes_.dtype


def test_plain_onnxruntime_gives_labels_and_probabilities(pipe, pipe_file, sample):
    _, (X_test, _) = sample
    session = ort.InferenceSession(pipe_file, providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["X"]
    assert [o.name for o in session.get_outputs()] == ["label", "probabilities"]
    label, proba = session.run(None, {"X": X_test.astype(np.float32)})
    assert label.dtype == np.int64 and proba.dtype == np.float32
    np.testing.assert_array_equal(label, pipe.predict(X_test))
    assert np.abs(proba - pipe.predict_proba(X_test)).max() <= TOLERANCE


def test_uint8_and_float_inputs_give_the_same_predictions(pipe_file, sample):
    _, (X_test, _) = sample
    assert X_test.dtype == np.uint8
    clf = load_onnx(pipe_file)
    expected = clf.predict_proba(X_test)
    for dtype in (np.float32, np.float64, np.int64):
        np.testing.assert_array_equal(clf.predict_proba(X_test.astype(dtype)), expected)
    np.testing.assert_array_equal(
        clf.predict(X_test[:1].tolist()), clf.predict(X_test[:1])
    )
    # More rows than one onnxruntime call takes: the same, row by row.
    many = clf.predict_proba(np.tile(X_test, (3, 1)))
    np.testing.assert_allclose(many, np.tile(expected, (3, 1)), rtol=0, atol=1e-6)


def test_metadata_records_version_classes_and_backend(pipe_file):
    model = onnx.load(pipe_file)
    meta = {p.key: p.value for p in model.metadata_props}
    assert model.producer_name == "sk-mnist"
    assert model.producer_version == sk_mnist.__version__
    assert meta["sk_mnist.version"] == sk_mnist.__version__
    assert json.loads(meta["sk_mnist.classes"]) == list(range(10))
    assert meta["keras.backend"] == keras.backend.backend()
    assert meta["sk_mnist.input"] == "pixels"
    assert meta["sk_mnist.network"] == "784-1024-512-256-10 relu"
    assert load_onnx(pipe_file).metadata_ == meta
    onnx.checker.check_model(model, full_check=True)


def test_scaling_is_in_the_graph_and_dropout_is_not(sample, tmp_path):
    (X, y), (X_test, _) = sample
    pipe = make_mnist_pipeline(
        hidden_layer_sizes=(32, 16),
        dropout=0.3,
        alpha=1e-3,
        epochs=1,
        batch_size=256,
        random_state=1,
    ).fit(X, y)
    assert any(isinstance(la, keras.layers.Dropout) for la in pipe[-1].model_.layers)
    onnx_model = to_onnx(pipe)
    ops = [node.op_type for node in onnx_model.graph.node]
    assert ops == ["Div", "Gemm", "Relu", "Gemm", "Relu", "Gemm", "Softmax"] + [
        "ArgMax",
        "Gather",
    ]
    divide = onnx_model.graph.node[0]
    assert divide.input[0] == "X"
    assert _initializer(onnx_model, divide.input[1]) == 255  # PixelScaler's / 255
    kernel = pipe[-1].model_.get_layer("hidden_1").get_weights()[0]
    np.testing.assert_array_equal(_initializer(onnx_model, "hidden_1_kernel"), kernel)
    _assert_same_predictions(pipe, _roundtrip(pipe, tmp_path), X_test)


@pytest.mark.slow
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_activation_of_a_bare_classifier(activation, digits, tmp_path):
    X, y = digits
    X = X / 255.0 * 4 - 2  # features in [-2, 2]: both sides of every activation
    clf = DenseMLPClassifier(
        hidden_layer_sizes=(16, 8),
        activation=activation,
        epochs=1,
        batch_size=256,
        random_state=0,
    ).fit(X, y)
    onnx_clf = _roundtrip(clf, tmp_path)
    assert onnx_clf.metadata_["sk_mnist.input"] == "features"
    _assert_same_predictions(clf, onnx_clf, X)


@pytest.mark.slow
@pytest.mark.parametrize(
    "make_labels",
    [
        lambda y: np.array(
            [
                "zero",
                "one",
                "two",
                "three",
                "four",
                "five",
                "six",
                "seven",
                "eight",
                "nine",
            ]
        )[y],
        lambda y: np.array([f"digit {d}" for d in y], dtype=object),
        lambda y: y * 10 + 3,
        lambda y: y.astype(np.int32) - 5,
        lambda y: y.astype(np.float64) + 10,
        lambda y: y >= 5,
    ],
    ids=["str", "object-str", "int64-sparse", "int32-negative", "float", "bool"],
)
def test_labels_come_back_as_the_estimators_classes(make_labels, digits, tmp_path):
    X, y = digits
    labels = make_labels(y)
    pipe = make_mnist_pipeline(**TINY, random_state=0).fit(X, labels)
    onnx_pipe = _roundtrip(pipe, tmp_path)
    np.testing.assert_array_equal(onnx_pipe.classes_, pipe.classes_)
    assert onnx_pipe.classes_.dtype == pipe.classes_.dtype
    predicted = onnx_pipe.predict(X)
    assert predicted.dtype == pipe.classes_.dtype
    _assert_same_predictions(pipe, onnx_pipe, X)


def test_passthrough_and_repeated_scalers_are_exported(digits, tmp_path):
    X, y = digits
    pipe = Pipeline(
        [
            ("scale", PixelScaler()),
            ("nothing", "passthrough"),
            ("again", PixelScaler()),
            ("mlp", DenseMLPClassifier(**TINY, random_state=0)),
        ]
    ).fit(X, y)
    ops = [node.op_type for node in to_onnx(pipe).graph.node]
    assert ops[:3] == ["Div", "Div", "Gemm"]
    _assert_same_predictions(pipe, _roundtrip(pipe, tmp_path), X)


def test_model_loaded_with_load_model_exports_the_same(digits, tmp_path):
    X, y = digits
    pipe = make_mnist_pipeline(**TINY, random_state=0).fit(X, y)
    sk_mnist.save_model(pipe, tmp_path / "saved")
    loaded = sk_mnist.load_model(tmp_path / "saved")
    a = _roundtrip(pipe, tmp_path, "a.onnx").predict_proba(X)
    b = _roundtrip(loaded, tmp_path, "b.onnx").predict_proba(X)
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------ any convertible pipeline
WORDS = np.array("zero one two three four five six seven eight nine".split())


@pytest.fixture(scope="module")
def fitted(sample):
    """``fitted(kind, labels)``: a tiny pipeline fitted on the sample, made once."""
    (X, y), _ = sample
    cache = {}

    def make(kind, labels):
        if (kind, labels) not in cache:
            if kind == "mnist":
                pipe = make_mnist_pipeline(**TINY, random_state=0)
            else:
                pipe = make_pipeline(
                    StandardScaler(),
                    PCA(50, random_state=0),
                    DenseMLPClassifier(**TINY, random_state=0),
                )
            cache[kind, labels] = pipe.fit(X, WORDS[y] if labels == "str" else y)
        return cache[kind, labels]

    return make


@pytest.mark.parametrize("labels", ["int", "str"])
@pytest.mark.parametrize("kind", ["mnist", "scaler_pca"])
def test_exported_pipeline_agrees_on_the_sample_test_digits(
    fitted, sample, tmp_path, kind, labels
):
    _, (X_test, y_test) = sample
    pipe = fitted(kind, labels)
    onnx_pipe = _roundtrip(pipe, tmp_path)
    assert len(X_test) == 1000
    _assert_same_predictions(pipe, onnx_pipe, X_test)
    assert onnx_pipe.predict(X_test).dtype == pipe.classes_.dtype
    np.testing.assert_array_equal(onnx_pipe.classes_, pipe.classes_)
    y_true = WORDS[y_test] if labels == "str" else y_test
    assert onnx_pipe.score(X_test, y_true) == pipe.score(X_test, y_true)
    meta = onnx_pipe.metadata_
    assert meta["sk_mnist.input"] == ("pixels" if kind == "mnist" else "features")
    steps = [[name, type(step).__name__] for name, step in pipe.steps]
    assert json.loads(meta["sk_mnist.steps"]) == steps
    width = 784 if kind == "mnist" else 50  # what the classifier sees
    assert meta["sk_mnist.network"] == f"{width}-16-10 relu"
    assert meta["sk_mnist.n_features"] == "784"
    assert "quantization" not in meta  # float32


def test_the_graph_is_the_one_skl2onnx_writes(fitted, sample):
    import skl2onnx

    (X, _), _ = sample
    pipe = fitted("scaler_pca", "int")
    ours = to_onnx(pipe)
    theirs = skl2onnx.to_onnx(pipe, X[:1].astype(np.float32), options={"zipmap": False})
    ops = [(node.domain, node.op_type) for node in ours.graph.node]
    assert ops == [(node.domain, node.op_type) for node in theirs.graph.node]
    assert ops[:3] == [("ai.onnx.ml", "Scaler"), ("", "Sub"), ("", "MatMul")]
    assert ("", 17) in [(o.domain, o.version) for o in ours.opset_import]
    assert ours.ir_version == 8


def test_a_users_column_transformer_is_exported(digits, tmp_path):
    from sklearn.compose import ColumnTransformer

    X, y = digits
    columns = ColumnTransformer(
        [
            ("top", StandardScaler(), list(range(32))),
            ("bottom", PCA(8), list(range(32, 64))),
        ]
    )
    pipe = make_pipeline(columns, DenseMLPClassifier(**TINY, random_state=0))
    pipe.fit(X.astype(np.float32), WORDS[y])
    onnx_pipe = _roundtrip(pipe, tmp_path)
    np.testing.assert_array_equal(onnx_pipe.predict(X), pipe.predict(X))
    # scikit-learn scales in float64, the graph in float32.
    proba = onnx_pipe.predict_proba(X)
    np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=0, atol=1e-4)


def test_a_step_whose_graph_load_onnx_refuses_is_refused_at_export(digits, tmp_path):
    from sklearn.preprocessing import Normalizer

    X, y = digits
    pipe = make_pipeline(Normalizer(), DenseMLPClassifier(**TINY, random_state=0))
    pipe.fit(X, y)
    with pytest.raises(ValueError, match="op 'Normalizer'.*load_onnx would refuse"):
        export_onnx(pipe, tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []


def _cli_export(monkeypatch, model, output, *extra):
    """``sk-mnist export`` with ``model`` as what its --model folder holds."""
    from sk_mnist.cli import _evaluate, main

    folder = output.parent / "model"
    folder.mkdir(exist_ok=True)
    monkeypatch.setattr(_evaluate, "load_saved_model", lambda path: model)
    return main(["export", "--model", str(folder), "--output", str(output), *extra])


def test_cli_exports_a_scaler_pca_pipeline(
    fitted, sample, tmp_path, monkeypatch, capsys
):
    _, (X_test, _) = sample
    pipe = fitted("scaler_pca", "str")
    output = tmp_path / "m.onnx"
    assert _cli_export(monkeypatch, pipe, output) == 0
    assert capsys.readouterr().out.startswith(f"wrote {output}: ")
    _assert_same_predictions(pipe, load_onnx(output), X_test)


def test_cli_refuses_a_step_skl2onnx_cannot_convert_in_one_line(
    digits, tmp_path, monkeypatch, capsys
):
    X, y = digits
    pipe = Pipeline(
        [("double", Doubler()), ("mlp", DenseMLPClassifier(**TINY, random_state=0))]
    ).fit(X, y)
    output = tmp_path / "m.onnx"
    assert _cli_export(monkeypatch, pipe, output) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert "step 'double' (Doubler)" in err[0]
    assert sorted(os.listdir(tmp_path)) == ["model"]


# ------------------------------------------------------- what is refused
def _one_line_error(excinfo):
    message = str(excinfo.value)
    assert "\n" not in message, message
    return message


class Doubler(TransformerMixin, BaseEstimator):
    """A user's own step that skl2onnx has no converter for."""

    def fit(self, X, y=None):
        self.n_features_in_ = np.shape(X)[1]
        return self

    def transform(self, X):
        return np.asarray(X) * 2


def test_a_step_skl2onnx_cannot_convert_is_refused_naming_it(digits, tmp_path):
    X, y = digits
    scaler = PixelScaler().fit(X)
    clf = DenseMLPClassifier(**TINY, random_state=0).fit(X / 255, y)
    steps = [
        Doubler().fit(X),
        FunctionTransformer(np.log1p).fit(X),  # a Python function: no graph
        DigitNormalizer(),
    ]
    for step in steps:
        pipe = Pipeline([("scale", scaler), ("custom", step), ("mlp", clf)])
        with pytest.raises(ValueError, match="step 'custom'") as excinfo:
            export_onnx(pipe, tmp_path / "m.onnx")
        assert f"({type(step).__name__})" in _one_line_error(excinfo)
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match="last step must be a DenseMLPClassifier"):
        to_onnx(Pipeline([("mlp", clf), ("scale", scaler)]))
    with pytest.raises(ValueError, match="Cannot export a LogisticRegression"):
        to_onnx(LogisticRegression())


def test_an_unfitted_step_is_refused_naming_it(digits):
    X, _ = digits
    with pytest.raises(NotFittedError, match="step 'scale' .*not fitted") as excinfo:
        export_onnx(make_mnist_pipeline(), "never.onnx")
    _one_line_error(excinfo)
    half = Pipeline([("scale", PixelScaler().fit(X)), ("mlp", DenseMLPClassifier())])
    with pytest.raises(ValueError, match="step 'mlp' .*not fitted"):
        to_onnx(half)
    with pytest.raises(NotFittedError, match="not fitted"):
        to_onnx(DenseMLPClassifier())
    assert not os.path.exists("never.onnx")


def test_an_activation_without_onnx_mapping_is_refused_naming_the_layer(digits):
    X, y = digits
    clf = DenseMLPClassifier(**TINY, random_state=0).fit(X / 255, y)
    layer = clf.model_.get_layer("hidden_1")
    # A lambda as well: Keras cannot serialise it, so it has no config name.
    for function, name in [
        (keras.activations.hard_sigmoid, "hard_sigmoid"),
        (lambda x: x, "<lambda>"),
    ]:
        layer.activation = function
        with pytest.raises(ValueError, match=f"layer 'hidden_1'.*'{name}'") as err:
            to_onnx(clf)
        _one_line_error(err)


# ----------------------------------------------------------- the file
def test_export_writes_atomically(pipe, tmp_path, monkeypatch):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"old")

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        export_onnx(pipe, target)
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["model.onnx"]
    assert export_onnx(pipe, target) == target
    assert target.stat().st_size > 1_000_000  # the default network's weights
    assert os.listdir(tmp_path) == ["model.onnx"]


def test_failed_export_leaves_no_folders_and_directories_are_refused(tmp_path):
    with pytest.raises(NotFittedError):
        export_onnx(make_mnist_pipeline(), tmp_path / "new" / "sub" / "m.onnx")
    assert os.listdir(tmp_path) == []
    with pytest.raises(IsADirectoryError, match="is a directory"):
        export_onnx(make_mnist_pipeline(), tmp_path)


def test_load_onnx_refuses_what_is_not_an_exported_model(pipe_file, tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.onnx: no such file"):
        load_onnx(tmp_path / "missing.onnx")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        load_onnx(tmp_path)
    bad = tmp_path / "bad.onnx"
    for content in (b"not a model at all", Path(pipe_file).read_bytes()[:5000]):
        bad.write_bytes(content)
        with pytest.raises(ValueError, match="bad.onnx: not a readable ONNX") as err:
            load_onnx(bad)
        _one_line_error(err)
    # A valid ONNX model that export_onnx did not write.
    x = onnx.helper.make_tensor_value_info("X", onnx.TensorProto.FLOAT, ["N", 784])
    y = onnx.helper.make_tensor_value_info("Y", onnx.TensorProto.FLOAT, ["N", 784])
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["X"], ["Y"])], "g", [x], [y]
    )
    foreign = onnx.helper.make_model(
        graph, opset_imports=[onnx.helper.make_opsetid("", 17)], ir_version=8
    )
    onnx.save(foreign, bad)
    with pytest.raises(ValueError, match="bad.onnx: not an sk-mnist ONNX model"):
        load_onnx(bad)
    # One of ours with a newer format version or broken classes.
    for key, value in [("sk_mnist.format_version", "99"), ("sk_mnist.classes", "[")]:
        model = onnx.load(pipe_file)
        for prop in model.metadata_props:
            if prop.key == key:
                prop.value = value
        onnx.save(model, bad)
        with pytest.raises(ValueError, match="not an sk-mnist ONNX model") as err:
            load_onnx(bad)
        _one_line_error(err)


@pytest.mark.parametrize(
    "make_X, message",
    [
        (lambda X: X[:, :783], r"shape \(n_samples, 784\), got shape \(2, 783\)"),
        (lambda X: X[0], r"got shape \(784,\)"),
        (lambda X: X[:0], "no samples"),
        (
            lambda X: np.where(np.eye(2, 784, 5) == 1, np.nan, X),
            "NaN at row 0, column 5",
        ),
        (lambda X: np.where(np.eye(2, 784, 7) == 1, np.inf, X), "infinity at row 0"),
        (lambda X: np.where(np.eye(2, 784, 3) == 1, 256.0, X), "outside 0-255: 256 at"),
        (lambda X: X.astype(np.int64) - 1, "outside 0-255: -1 at row 0, column 0"),
        (lambda X: X.astype(str), "must hold numbers"),
        (lambda X: [[None] * 784] * 2, "NaN at row 0, column 0"),
        (lambda X: [["7"] * 783 + [object()]] * 2, "must hold numbers"),
    ],
    ids=[
        "columns",
        "1-D",
        "empty",
        "nan",
        "inf",
        "256",
        "negative",
        "str",
        "None",
        "object",
    ],
)
def test_bad_input_gets_a_one_line_error(pipe_file, sample, make_X, message):
    _, (X_test, _) = sample
    clf = load_onnx(pipe_file)
    X = make_X(X_test[:2])
    for method in (clf.predict, clf.predict_proba):
        with pytest.raises(ValueError, match=message) as err:
            method(X)
        _one_line_error(err)


def test_a_bare_classifier_takes_its_features_unchecked_for_range(digits, tmp_path):
    X, y = digits
    clf = DenseMLPClassifier(**TINY, random_state=0).fit(X / 255.0, y)
    onnx_clf = _roundtrip(clf, tmp_path)
    shifted = X / 255.0 - 3  # what the classifier's own predict takes too
    _assert_same_predictions(clf, onnx_clf, shifted)


def test_loading_and_predicting_imports_neither_keras_nor_onnx(pipe_file):
    code = (
        "import sys, numpy as np\n"
        "from sk_mnist.export import load_onnx\n"
        f"clf = load_onnx({str(pipe_file)!r})\n"
        "print(clf.predict(np.zeros((3, 784), np.uint8)).tolist())\n"
        "print(sorted({'keras', 'tensorflow', 'jax', 'onnx'} & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.split("\n")
    assert len(json.loads(lines[0])) == 3
    assert lines[1] == "[]"


@pytest.mark.slow
@pytest.mark.skipif(
    keras.backend.backend() == "jax", reason="this process is already the JAX run"
)
def test_export_and_agreement_on_jax_backend():
    """The agreement tests again under Keras' JAX backend (a fresh process)."""
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    # The activations whose constants or formulas each backend implements
    # itself (the others are single ops everywhere): JAX compiles each fit.
    activations = "gelu or selu or leaky_relu or softplus or swish"
    tests = f"agrees or plain_onnxruntime or metadata or dropout or {activations}"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(HERE / "test_export.py"),
            "-k",
            tests,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    tail = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 0, tail
    assert " passed" in result.stdout and " failed" not in result.stdout, tail
