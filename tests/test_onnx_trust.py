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
from sk_mnist import _onnx_predictor as predictor
from sk_mnist.export import load_onnx, to_onnx

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
    crafted.graph.node[1].domain = "com.microsoft"  # Relu is not a quantiser op
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
    monkeypatch.setattr(predictor, "MAX_ONNX_BYTES", path.stat().st_size - 1)
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
