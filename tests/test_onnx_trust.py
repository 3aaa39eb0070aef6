"""An ONNX file is untrusted input: what load_onnx refuses before onnxruntime.

Each test crafts a model with ``onnx.helper`` from a tiny exported pipeline
and checks the one-line error (naming the file and the op or tensor), or that
what our exporters write still loads.
"""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from sk_mnist import DenseMLPClassifier, make_mnist_pipeline
from sk_mnist.export import _graph_check, _predictor, load_onnx, to_onnx

TINY = {"hidden_layer_sizes": (8,), "epochs": 1, "random_state": 0}
SECRET = b"the notes beside the model: do not serve these bytes!\n" * 4


@pytest.fixture(scope="module")
def model(digits):
    """A tiny exported pipeline, as an ``onnx.ModelProto`` (copy before use)."""
    X, y = digits
    return to_onnx(make_mnist_pipeline(**TINY).fit(X, y))


@pytest.fixture(scope="module")
def named_model(digits):
    """A bare classifier with string labels, exported."""
    X, y = digits
    names = np.array(["zero", "one", "two", "three", "four"] * 2)
    return to_onnx(DenseMLPClassifier(**TINY).fit(X / 255.0, names[y]))


def _copy(model):
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    return copy


def _write(model, path):
    path.write_bytes(model.SerializeToString())
    return path


def _refused(path, *words):
    """The one-line ValueError of ``load_onnx(path)``; checks it names ``words``."""
    with pytest.raises(ValueError) as info:
        load_onnx(path)
    message = str(info.value)
    assert "\n" not in message and len(message) < 400, message
    assert str(path) in message, message
    for word in words:
        assert word in message, message
    return message


def _initializer(model, name):
    return next(t for t in model.graph.initializer if t.name.endswith(name))


def _make_external(tensor, location="notes.txt"):
    tensor.ClearField("raw_data")
    tensor.ClearField("int64_data")
    tensor.ClearField("float_data")
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", location


# ------------------------------------------------------------ external data
def test_an_initializer_reading_a_file_beside_the_model_is_refused(
    model, tmp_path, digits
):
    (tmp_path / "notes.txt").write_bytes(SECRET)
    crafted = _copy(model)
    _make_external(_initializer(crafted, "classes"))  # int64 labels from the notes
    path = _write(crafted, tmp_path / "m.onnx")
    message = _refused(path, "'classes'", "external data")
    assert SECRET[:20].decode() not in message


def test_external_data_is_refused_before_onnxruntime_sees_it(
    model, tmp_path, monkeypatch
):
    (tmp_path / "notes.txt").write_bytes(SECRET)
    crafted = _copy(model)
    _make_external(_initializer(crafted, "_kernel"), location="../notes.txt")
    path = _write(crafted, tmp_path / "m.onnx")

    def no_session(*args, **kwargs):
        raise AssertionError("onnxruntime was given the crafted model")

    monkeypatch.setattr(ort, "InferenceSession", no_session)
    _refused(path, "external data")


def test_a_data_location_flag_alone_is_refused(model, tmp_path):
    crafted = _copy(model)
    _initializer(crafted, "classes").data_location = TensorProto.EXTERNAL
    _refused(_write(crafted, tmp_path / "m.onnx"), "'classes'", "external data")


def test_external_data_in_a_constant_node_is_refused(model, tmp_path):
    (tmp_path / "notes.txt").write_bytes(SECRET)
    crafted = _copy(model)
    classes = _initializer(crafted, "classes")
    value = onnx.TensorProto()
    value.CopyFrom(classes)
    _make_external(value)
    crafted.graph.initializer.remove(classes)
    crafted.graph.node.insert(
        0, helper.make_node("Constant", [], ["classes"], value=value)
    )
    _refused(_write(crafted, tmp_path / "m.onnx"), "Constant", "external data")


def test_external_data_in_a_sparse_initializer_is_refused(model, tmp_path):
    (tmp_path / "notes.txt").write_bytes(SECRET)
    crafted = _copy(model)
    values = numpy_helper.from_array(np.zeros(2, np.int64), name="classes")
    _make_external(values)
    indices = numpy_helper.from_array(np.array([0, 1], np.int64))
    crafted.graph.initializer.remove(_initializer(crafted, "classes"))
    crafted.graph.sparse_initializer.append(
        helper.make_sparse_tensor(values, indices, [10])
    )
    _refused(_write(crafted, tmp_path / "m.onnx"), "sparse initializer", "external")


def test_onnxruntime_gets_the_checked_bytes_not_the_path(model, tmp_path, monkeypatch):
    path = _write(_copy(model), tmp_path / "m.onnx")
    given = []
    session = ort.InferenceSession

    def recording(source, *args, **kwargs):
        given.append(source)
        return session(source, *args, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", recording)
    load_onnx(path)
    assert given == [path.read_bytes()]


# ------------------------------------------------------------ graph shape
def _with_node(model, node, *initializers):
    crafted = _copy(model)
    crafted.graph.node.insert(0, node)
    crafted.graph.initializer.extend(initializers)
    return crafted


def test_a_constant_of_shape_blowup_is_refused(model, tmp_path):
    shape = numpy_helper.from_array(np.array([100_000, 100_000], np.int64), "shape")
    node = helper.make_node("ConstantOfShape", ["shape"], ["big"])
    crafted = _with_node(model, node, shape)
    crafted.graph.output.append(
        helper.make_tensor_value_info("big", TensorProto.FLOAT, None)
    )
    _refused(_write(crafted, tmp_path / "m.onnx"), "'ConstantOfShape'")


@pytest.mark.parametrize("op", ["Expand", "Tile", "Loop", "Scan"])
def test_ops_outside_the_allow_list_are_refused(model, tmp_path, op):
    crafted = _with_node(model, helper.make_node(op, ["X"], ["y"]))
    _refused(_write(crafted, tmp_path / "m.onnx"), f"op {op!r}")


def test_an_allowed_op_in_another_domain_is_refused(model, tmp_path):
    crafted = _copy(model)
    relu = next(n for n in crafted.graph.node if n.op_type == "Relu")
    relu.domain = "com.microsoft"  # Relu is not a quantiser op
    crafted.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    _refused(_write(crafted, tmp_path / "m.onnx"), "'Relu'", "com.microsoft")


def test_a_subgraph_attribute_is_refused(model, tmp_path):
    crafted = _copy(model)
    body = helper.make_graph([], "body", [], [])
    crafted.graph.node[1].attribute.append(helper.make_attribute("body", body))
    _refused(_write(crafted, tmp_path / "m.onnx"), "'body'", "subgraph")


def test_model_local_functions_are_refused(model, tmp_path):
    crafted = _copy(model)
    crafted.functions.append(
        helper.make_function(
            "evil", "Relu", ["x"], ["y"], [helper.make_node("Relu", ["x"], ["y"])],
            [helper.make_opsetid("", 17)],
        )
    )  # fmt: skip
    _refused(_write(crafted, tmp_path / "m.onnx"), "functions")


def test_too_many_nodes_are_refused(model, tmp_path):
    crafted = _copy(model)
    crafted.graph.node[0].input[0] = "x_1000"
    chain = [
        helper.make_node("Identity", [f"x_{i}"], [f"x_{i + 1}"]) for i in range(1000)
    ]
    chain[0].input[0] = "X"
    for node in reversed(chain):
        crafted.graph.node.insert(0, node)
    _refused(_write(crafted, tmp_path / "m.onnx"), "over 1000 nodes")


def test_weights_over_max_model_weights_are_refused(model, tmp_path, monkeypatch):
    import sk_mnist.persistence

    path = _write(_copy(model), tmp_path / "m.onnx")
    n_weights = sum(np.prod(t.dims, dtype=int) for t in model.graph.initializer)
    monkeypatch.setattr(sk_mnist.persistence, "MAX_MODEL_WEIGHTS", n_weights)
    load_onnx(path)  # at the limit
    monkeypatch.setattr(sk_mnist.persistence, "MAX_MODEL_WEIGHTS", n_weights - 1)
    _refused(path, "MAX_MODEL_WEIGHTS")


def test_constant_node_weights_count_too(model, tmp_path, monkeypatch):
    import sk_mnist.persistence

    n_weights = sum(np.prod(t.dims, dtype=int) for t in model.graph.initializer)
    big = numpy_helper.from_array(np.zeros(1000, np.float32))
    crafted = _with_node(model, helper.make_node("Constant", [], ["unused"], value=big))
    monkeypatch.setattr(sk_mnist.persistence, "MAX_MODEL_WEIGHTS", n_weights + 999)
    load_onnx(_write(_copy(model), tmp_path / "plain.onnx"))  # fits without it
    _refused(_write(crafted, tmp_path / "m.onnx"), "MAX_MODEL_WEIGHTS")


def test_huge_declared_dims_are_refused_before_allocating(model, tmp_path):
    crafted = _copy(model)
    kernel = _initializer(crafted, "_kernel")
    kernel.ClearField("raw_data")
    kernel.dims[:] = [10**9, 10**9]
    _refused(_write(crafted, tmp_path / "m.onnx"), "_kernel'", "weights over")


def test_a_file_over_the_size_limit_is_refused(model, tmp_path, monkeypatch):
    path = _write(_copy(model), tmp_path / "m.onnx")
    monkeypatch.setattr(_predictor, "MAX_ONNX_BYTES", path.stat().st_size - 1)
    _refused(path, "bytes")


@pytest.mark.parametrize(
    "data", [b"\x0a\xff\xff\xff\xff\x0f", b"\x00\x00\x00\x00ORTM" + bytes(40)]
)
def test_malformed_or_ort_format_bytes_are_refused(tmp_path, data):
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    _refused(path)


def test_what_the_int8_quantiser_writes_still_loads(model, tmp_path, digits):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source = _write(_copy(model), tmp_path / "m.onnx")
    target = tmp_path / "m.int8.onnx"
    quantize_dynamic(source, target, weight_type=QuantType.QInt8)
    ops = {(n.domain, n.op_type) for n in onnx.load(target).graph.node}
    assert ("", "MatMulInteger") in ops or ("com.microsoft", "QGemm") in ops, ops
    X, _ = digits
    proba = load_onnx(target).predict_proba(X[:50])
    assert np.abs(proba - load_onnx(source).predict_proba(X[:50])).max() < 0.1


# ------------------------------------------------------------ shape blow-ups
def _with_output(crafted, name):
    crafted.graph.output.append(
        helper.make_tensor_value_info(name, TensorProto.FLOAT, None)
    )
    return crafted


def test_a_node_of_constants_only_is_refused(model, tmp_path):
    # onnxruntime folds it when making the session: [3000,1] x [1,3000] takes
    # 36 MB more than the 24 KB file (3.6 GB at 30,000).
    tall = numpy_helper.from_array(np.ones((3000, 1), np.float32), "tall")
    wide = numpy_helper.from_array(np.ones((1, 3000), np.float32), "wide")
    node = helper.make_node("MatMul", ["tall", "wide"], ["square"], name="fold")
    crafted = _with_output(_with_node(model, node, tall, wide), "square")
    _refused(_write(crafted, tmp_path / "m.onnx"), "'fold'", "MatMul", "constants")


def test_a_constant_node_feeding_a_node_counts_as_a_constant(model, tmp_path):
    tall = numpy_helper.from_array(np.ones((3000, 1), np.float32))
    crafted = _with_node(
        model, helper.make_node("MatMul", ["tall", "tall_t"], ["square"])
    )
    crafted.graph.initializer.append(
        numpy_helper.from_array(np.ones((1, 3000), np.float32), "tall_t")
    )
    crafted.graph.node.insert(0, helper.make_node("Constant", [], ["tall"], value=tall))
    _refused(_write(_with_output(crafted, "square"), tmp_path / "m.onnx"), "node 1")


def test_broadcasting_each_row_to_a_huge_tensor_is_refused(model, tmp_path):
    # [N, 64] -> [N, 64, 1] + [1, 1, 100000]: 6.4 million floats a row.
    shape = numpy_helper.from_array(np.array([0, 64, 1], np.int64), "column")
    wide = numpy_helper.from_array(np.zeros((1, 1, 100_000), np.float32), "wide")
    crafted = _copy(model)
    crafted.graph.node.insert(0, helper.make_node("Add", ["Xc", "wide"], ["big"]))
    crafted.graph.node.insert(0, helper.make_node("Reshape", ["X", "column"], ["Xc"]))
    crafted.graph.initializer.extend([shape, wide])
    message = _refused(
        _write(_with_output(crafted, "big"), tmp_path / "m.onnx"),
        "node 1 (Add)", "6,400,000", "MAX_ONNX_ROW_ELEMENTS",
    )  # fmt: skip
    assert "'big'" in message


@pytest.mark.parametrize("axis, words", [(1, "262,144"), (0, "batch dimension")])
def test_chained_concats_are_refused(model, tmp_path, axis, words):
    crafted = _copy(model)
    for i in reversed(range(12)):  # 4,096 times the input, along the axis
        node = helper.make_node("Concat", [f"c{i}"] * 2, [f"c{i + 1}"], axis=axis)
        crafted.graph.node.insert(0, node)
    crafted.graph.node[0].input[:] = ["X", "X"]
    _refused(_write(_with_output(crafted, "c12"), tmp_path / "m.onnx"), "Concat", words)


def test_the_batch_dimension_twice_is_refused(model, tmp_path):
    # [N, 1] + [1, N] broadcasts to [N, N]: N * N growth.
    row = numpy_helper.from_array(np.array([1, -1], np.int64), "row")
    crafted = _copy(model)
    nodes = [
        helper.make_node("ArgMax", ["X"], ["i"], axis=1, keepdims=1),
        helper.make_node("Cast", ["i"], ["column"], to=TensorProto.FLOAT),
        helper.make_node("Reshape", ["column", "row"], ["r"]),
        helper.make_node("Add", ["column", "r"], ["square"]),
    ]
    for node in reversed(nodes):
        crafted.graph.node.insert(0, node)
    crafted.graph.initializer.append(row)
    _refused(
        _write(_with_output(crafted, "square"), tmp_path / "m.onnx"),
        "node 3 (Add)", "batch dimension twice",
    )  # fmt: skip


def test_a_reshape_to_a_computed_shape_is_refused(model, tmp_path):
    crafted = _copy(model)
    # A shape from the request's values: the class index of each row.
    argmax = helper.make_node("ArgMax", ["X"], ["s"], axis=1, keepdims=0)
    crafted.graph.node.insert(0, argmax)
    crafted.graph.node.insert(1, helper.make_node("Reshape", ["X", "s"], ["r"]))
    _refused(
        _write(_with_output(crafted, "r"), tmp_path / "m.onnx"),
        "node 1 (Reshape)", "not a constant",
    )  # fmt: skip


def test_an_allowed_op_without_a_shape_rule_is_refused(model, tmp_path, monkeypatch):
    allowed = dict(_graph_check.ALLOWED_OPS)
    allowed[""] = allowed[""] | {"Transpose"}
    monkeypatch.setattr(_graph_check, "ALLOWED_OPS", allowed)
    crafted = _with_node(model, helper.make_node("Transpose", ["X"], ["t"]))
    _refused(
        _write(_with_output(crafted, "t"), tmp_path / "m.onnx"),
        "node 0 (Transpose)", "no shape rule",
    )  # fmt: skip


def test_a_wide_enough_reshape_still_loads(model, tmp_path, digits):
    # [N, 64] -> [N, 64, 1] + [1, 1, 2048]: 131,072 floats a row, the limit.
    shape = numpy_helper.from_array(np.array([-1, 64, 1], np.int64), "column")
    wide = numpy_helper.from_array(np.zeros((1, 1, 2048), np.float32), "wide")
    crafted = _copy(model)
    crafted.graph.node.insert(0, helper.make_node("Add", ["Xc", "wide"], ["big"]))
    crafted.graph.node.insert(0, helper.make_node("Reshape", ["X", "column"], ["Xc"]))
    crafted.graph.initializer.extend([shape, wide])
    X, _ = digits
    onnx_clf = load_onnx(_write(_with_output(crafted, "big"), tmp_path / "m.onnx"))
    assert onnx_clf.predict(X[:5]).shape == (5,)


def _as_sk_mnist_file(onnx_model, pipe, pixels, path):
    """An skl2onnx model with the metadata load_onnx reads, written to ``path``."""
    helper.set_model_props(
        onnx_model,
        {
            "sk_mnist.format": "sk_mnist-onnx",
            "sk_mnist.format_version": "1",
            "sk_mnist.classes": json.dumps(pipe.classes_.tolist()),
            "sk_mnist.classes_dtype": pipe.classes_.dtype.str,
            "sk_mnist.input": "pixels" if pixels else "features",
            "sk_mnist.n_features": str(pipe.n_features_in_),
        },
    )
    return _write(onnx_model, path)


@pytest.fixture(scope="module")
def skl2onnx_pipelines(digits):
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = digits
    X = X.astype(np.float32)
    return {
        "scaler_pca_mlp": make_pipeline(
            StandardScaler(), PCA(50, random_state=0), DenseMLPClassifier(**TINY)
        ).fit(X, y),
        "mnist_pipeline": make_mnist_pipeline(**TINY).fit(X, y),
    }


@pytest.mark.parametrize("int8", [False, True], ids=["float", "int8"])
@pytest.mark.parametrize("name", ["scaler_pca_mlp", "mnist_pipeline"])
def test_what_skl2onnx_writes_still_loads(
    skl2onnx_pipelines, tmp_path, digits, name, int8
):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from sk_mnist.export._conversion import to_onnx_model

    pipe = skl2onnx_pipelines[name]
    X = digits[0].astype(np.float32)
    onnx_model = to_onnx_model(pipe, X[:1], options={"zipmap": False})
    path = _as_sk_mnist_file(
        onnx_model, pipe, name == "mnist_pipeline", tmp_path / "m.onnx"
    )
    if int8:
        quantize_dynamic(
            path, tmp_path / "m.int8.onnx", weight_type=QuantType.QInt8,
            extra_options={"DefaultTensorType": TensorProto.FLOAT},
        )  # fmt: skip
        path = tmp_path / "m.int8.onnx"
        assert "MatMulInteger" in {n.op_type for n in onnx.load(path).graph.node}
    proba = load_onnx(path).predict_proba(X[:50])
    assert np.abs(proba - pipe.predict_proba(X[:50])).max() < (0.1 if int8 else 1e-4)


def test_what_export_onnx_writes_still_loads(tmp_path, digits):
    from sk_mnist.export import export_onnx

    X, y = digits
    pipe = make_mnist_pipeline(**TINY).fit(X, y)
    onnx_clf = load_onnx(export_onnx(pipe, tmp_path / "m.onnx"))
    proba = onnx_clf.predict_proba(X[:50])
    assert np.abs(proba - pipe.predict_proba(X[:50])).max() < 1e-4


# ------------------------------------------------------------ metadata
def _with_metadata(model, **entries):
    crafted = _copy(model)
    props = {p.key: p.value for p in crafted.metadata_props}
    props.update({f"sk_mnist.{k}": v for k, v in entries.items()})
    helper.set_model_props(crafted, props)
    return crafted


@pytest.mark.parametrize(
    "classes, dtype",
    [
        (["zero", {"one": 1}, 2, 3, 4, 5, 6, 7, 8, 9], "|O"),  # mixed types
        ([0, "1", 2, 3, 4, 5, 6, 7, 8, 9], "|O"),
        ([0, "1", 2, 3, 4, 5, 6, 7, 8, 9], "<i8"),
        ([0, 1, 2, 3, 4, 5, 6, 7, 8, 8], "<i8"),  # a label twice
        ([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]], "<i8"),  # 2-D
        ([False, True, 2, 3, 4, 5, 6, 7, 8, 9], "<i8"),  # booleans among ints
        ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "V8"),
    ],
)
def test_bad_classes_in_the_metadata_are_refused(model, tmp_path, classes, dtype):
    crafted = _with_metadata(model, classes=json.dumps(classes), classes_dtype=dtype)
    _refused(_write(crafted, tmp_path / "m.onnx"), "classes")


def test_deeply_nested_metadata_json_is_a_one_line_error(model, tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    crafted = _with_metadata(model, classes=deep)
    _refused(_write(crafted, tmp_path / "m.onnx"), "classes")


def test_string_labels_still_load(named_model, tmp_path, digits):
    onnx_clf = load_onnx(_write(named_model, tmp_path / "m.onnx"))
    assert onnx_clf.classes_.dtype.kind == "U"
    X, _ = digits
    assert set(onnx_clf.predict(X[:20] / 255.0)) <= set(onnx_clf.classes_)


# ------------------------------------------------------------ score
def test_score_with_string_labels_on_int_classes_raises(model, tmp_path, digits):
    X, y = digits
    onnx_clf = load_onnx(_write(_copy(model), tmp_path / "m.onnx"))
    assert 0 <= onnx_clf.score(X, y) <= 1
    with pytest.raises(ValueError, match="Mix of label input types"):
        onnx_clf.score(X, y.astype(str))


def test_score_with_int_labels_on_string_classes_raises(named_model, tmp_path, digits):
    X, y = digits
    onnx_clf = load_onnx(_write(named_model, tmp_path / "m.onnx"))
    with pytest.raises(ValueError, match="Mix of label input types"):
        onnx_clf.score(X / 255.0, y)
