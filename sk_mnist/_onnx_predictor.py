"""OnnxClassifier: predictions of an exported sk-mnist model on onnxruntime.

The reading side of :mod:`sk_mnist.export`'s file format, kept apart from
the writing side so that serving an ONNX file imports neither ``onnx`` nor
Keras nor TensorFlow: only NumPy and onnxruntime.

An ONNX file is untrusted input, as a saved model folder is. Before
onnxruntime sees a file, :func:`load_onnx` reads its bytes once and walks
their protobuf encoding (:func:`_check_model_bytes`, a reader of the few
fields that matter, so that loading does not need the ``onnx`` package):
tensors whose data lies outside the file (ONNX external data) are refused,
and so are ops outside :data:`ALLOWED_OPS`, subgraphs, model-local functions,
more than :data:`MAX_ONNX_NODES` nodes, more weights than
``sk_mnist.persistence.MAX_MODEL_WEIGHTS`` and files over
:data:`MAX_ONNX_BYTES`. A shape pass (:func:`_check_shapes`) then bounds
what the graph computes: nodes of constants only (which onnxruntime computes
when it makes the session) are refused, and so is any tensor over
:data:`MAX_ONNX_ROW_ELEMENTS` a row or whose shape is not known from the
input's. The session is then made from those same bytes.
"""

import importlib
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

__all__ = ["OnnxClassifier", "load_onnx"]

FORMAT_NAME = "sk_mnist-onnx"
FORMAT_VERSION = 1
INPUT, LABEL, PROBABILITIES = "X", "label", "probabilities"
MAX_PIXEL = 255
# Rows per onnxruntime call: bounds the memory of the hidden activations
# (2048 x 1024 floats stay in cache; measured a little faster than one call).
_CHUNK = 2048

#: The ops a loaded ONNX file may use, by domain: those :mod:`sk_mnist.export`
#: writes, those skl2onnx writes for our pipelines, and those onnxruntime's
#: int8 quantiser (``onnxruntime.quantization``) writes for MatMul and Gemm
#: (the ``com.microsoft`` ones, and the quantise / dequantise ops). Anything
#: else (ConstantOfShape, Expand, Tile, Loop, ...) is refused on load.
ALLOWED_OPS = {
    "": frozenset(
        {
            # export.py and skl2onnx
            "Add",
            "ArgMax",
            "Cast",
            "Concat",
            "Constant",
            "Div",
            "Elu",
            "Erf",
            "Flatten",
            "Gather",
            "Gemm",
            "Identity",
            "LeakyRelu",
            "MatMul",
            "Mul",
            "Relu",
            "Reshape",
            "Selu",
            "Sigmoid",
            "Slice",
            "Softmax",
            "Softplus",
            "Sub",
            "Tanh",
            # onnxruntime's quantiser
            "DequantizeLinear",
            "DynamicQuantizeLinear",
            "MatMulInteger",
            "QuantizeLinear",
        }
    ),  # fmt: skip
    "ai.onnx.ml": frozenset({"ArrayFeatureExtractor", "Scaler", "ZipMap"}),
    "com.microsoft": frozenset(
        {"DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QGemm"}
    ),
}
#: The largest ONNX file :func:`load_onnx` reads, in bytes (100 million
#: float32 weights take 0.4 GB).
MAX_ONNX_BYTES = 2**30
#: The most nodes in a loaded ONNX graph (an exported MLP has a few per layer).
MAX_ONNX_NODES = 1_000
#: The most elements per row (per sample of the batch) of any tensor a
#: loaded graph computes. 2**17 float32 take 512 KiB a row, 1 GiB for one
#: onnxruntime call of 2048 rows; a dense layer fed by 784 pixels reaches
#: MAX_MODEL_WEIGHTS (100 million) at 127,551 units, under the limit.
MAX_ONNX_ROW_ELEMENTS = 2**17
#: The most bytes of metadata (``metadata_props``) in a loaded ONNX file.
MAX_METADATA_BYTES = 16 * 2**20
# sk_mnist.persistence.MAX_MODEL_WEIGHTS, read from there when that module is
# imported (it imports Keras, which serving an ONNX file does not).
_DEFAULT_MAX_WEIGHTS = 100_000_000


def one_line(text, limit=300):
    """``text`` on one line, cut to ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def require(module):
    """Import ``onnx`` or ``onnxruntime``, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"sk_mnist.export needs the {module} package ({err}); install it "
            'with: pip install "sk-mnist[onnx]"'
        ) from None


# Python types of the JSON labels each classes dtype kind takes.
_LABEL_TYPES = {"b": (bool,), "i": (int,), "u": (int,), "f": (int, float)}
_MAX_CLASSES_BYTES = 64 * 2**20


def _metadata_classes(text, dtype):
    """``sk_mnist.classes`` (JSON) as an array of ``dtype``, or a ValueError.

    The labels must be a flat list of unique values of one type, the type of
    ``dtype``: all strings, all ints (all numbers for a float dtype) or all
    booleans.
    """
    if dtype.kind not in "biufUO":
        raise ValueError(f"classes dtype {dtype.str!r} is not numbers or strings")
    try:
        labels = json.loads(text)
    except RecursionError:
        raise ValueError("classes JSON nested too deep") from None
    if not isinstance(labels, list) or not labels:
        raise ValueError("classes must be a non-empty JSON list")
    types = (str,) if dtype.kind in "UO" else _LABEL_TYPES[dtype.kind]
    for label in labels:
        if (
            not isinstance(label, types)
            or isinstance(label, bool) != (dtype.kind == "b")
            or (isinstance(label, float) and not np.isfinite(label))
        ):
            wanted = "strings" if dtype.kind in "UO" else f"{dtype} values"
            raise ValueError(
                f"classes must all be {wanted}, got {one_line(repr(label), 40)}"
            )
    if len(set(labels)) != len(labels):
        raise ValueError("classes holds a label twice")
    if dtype.itemsize * len(labels) > _MAX_CLASSES_BYTES:
        raise ValueError(f"classes dtype {dtype.str!r} is too large")
    try:
        return np.array(labels, dtype=dtype)
    except OverflowError:
        raise ValueError(f"classes do not fit their dtype {dtype.str!r}") from None


def _model_description(metadata, session, where):
    """``(classes_, n_features_in_, pixels)`` of an sk-mnist ONNX model."""

    def fail(problem):
        return ValueError(f"{where}: not an sk-mnist ONNX model: {problem}")

    if metadata.get("sk_mnist.format") != FORMAT_NAME:
        raise fail("its metadata has no sk_mnist.format 'sk_mnist-onnx'")
    try:
        version = int(metadata["sk_mnist.format_version"])
        dtype = np.dtype(metadata["sk_mnist.classes_dtype"])
        classes = _metadata_classes(metadata["sk_mnist.classes"], dtype)
        n_features = int(metadata["sk_mnist.n_features"])
        pixels = {"pixels": True, "features": False}[metadata["sk_mnist.input"]]
    except (KeyError, TypeError, ValueError) as err:
        raise fail(f"bad or missing metadata ({one_line(err, 100)})") from None
    if version > FORMAT_VERSION:
        raise fail(
            f"format version {version} is newer than this sk-mnist reads "
            f"({FORMAT_VERSION}); upgrade sk-mnist"
        )
    inputs, outputs = session.get_inputs(), session.get_outputs()
    shapes = {o.name: o.shape for o in outputs}
    if (
        [i.name for i in inputs] != [INPUT]
        or inputs[0].type != "tensor(float)"
        or inputs[0].shape[1:] != [n_features]
        or {LABEL, PROBABILITIES} - set(shapes)
        or shapes[PROBABILITIES][1:] != [len(classes)]
    ):
        raise fail(
            f"expected input {INPUT!r} (float, (n, {n_features})) and outputs "
            f"{LABEL!r} and {PROBABILITIES!r} (n, {len(classes)})"
        )
    return classes, n_features, pixels


def _first(mask):
    row, col = np.argwhere(mask)[0]
    return f"row {row}, column {col}"


def _check_X(X, n_features, pixels):
    """``X`` as a float32 array, or a one-line ValueError naming the problem."""
    X = np.asarray(X)
    if X.dtype.kind == "O":  # e.g. a DataFrame of mixed columns
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError("X must hold numbers, got other objects") from None
    if X.dtype.kind not in "iuf":
        raise ValueError(f"X must hold numbers, got values of dtype {X.dtype}")
    if X.ndim != 2 or X.shape[1] != n_features:
        raise ValueError(
            f"X must have shape (n_samples, {n_features}), got shape {X.shape}"
        )
    if X.shape[0] == 0:
        raise ValueError(f"X holds no samples: shape {X.shape}")
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        nan = np.isnan(X)
        if nan.any():
            raise ValueError(f"X holds NaN at {_first(nan)}")
        raise ValueError(f"X holds infinity at {_first(np.isinf(X))}")
    if pixels and X.dtype != np.uint8:
        lo, hi = X.min(), X.max()
        if lo < 0 or hi > MAX_PIXEL:
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"X holds a pixel value outside 0-{MAX_PIXEL}: {bad.item():g} at "
                f"{_first(X == bad)}"
            )
    X = X.astype(np.float32, copy=False)
    if not pixels and not np.isfinite(X).all():
        raise ValueError(
            f"X holds a value too large for float32 at {_first(~np.isfinite(X))}"
        )
    return X


def _label_kind(labels):
    """``"strings"``, ``"numbers"`` or ``"mixed labels"``: what ``labels`` holds."""
    if labels.dtype.kind in "US":
        return "strings"
    if labels.dtype.kind != "O":
        return "numbers"
    strings = [isinstance(label, str) for label in labels.ravel()]
    if all(strings):
        return "strings"
    return "mixed labels" if any(strings) else "numbers"


class OnnxClassifier:
    """Predictions of an exported sk-mnist model, run by onnxruntime.

    Made by :func:`load_onnx`. It predicts as the exported pipeline does
    (same labels, probabilities within about 1e-6), checks its input as the
    pipeline does, and needs neither Keras nor TensorFlow. It is not
    fitted: it only predicts.

    Parameters
    ----------
    session : onnxruntime.InferenceSession
        A session over a model written by :func:`export_onnx`.
    source : str, default="the ONNX model"
        How error messages name the model (:func:`load_onnx` passes the
        file's path).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, with the dtype of the exported model's ``classes_``.
    n_features_in_ : int
        Number of features (pixels) per sample.
    metadata_ : dict of str to str
        The file's metadata (sk-mnist version, Keras backend, steps, ...).
    session_ : onnxruntime.InferenceSession
        The session that runs the model. Its ``run`` is thread-safe.

    See Also
    --------
    load_onnx : Read an ONNX file written by export_onnx.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sk_mnist import make_mnist_pipeline
    >>> from sk_mnist.export import export_onnx, load_onnx
    >>> X, y = load_digits(return_X_y=True)
    >>> X = np.round(X * 255 / 16).astype(np.uint8)
    >>> pipe = make_mnist_pipeline(hidden_layer_sizes=(8,), epochs=1,
    ...                            random_state=0).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     clf = load_onnx(export_onnx(pipe, f"{tmp}/digits.onnx"))
    >>> clf.classes_
    array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    >>> clf.n_features_in_, clf.metadata_["sk_mnist.input"]
    (64, 'pixels')
    >>> bool((clf.predict(X) == pipe.predict(X)).all())
    True
    """

    def __init__(self, session, source="the ONNX model"):
        self.session_ = session
        self.source = str(source)
        self.metadata_ = dict(session.get_modelmeta().custom_metadata_map)
        self.classes_, self.n_features_in_, self._pixels = _model_description(
            self.metadata_, session, self.source
        )

    def __repr__(self):
        return f"{type(self).__name__}(source={self.source!r})"

    def _run(self, output, X):
        X = _check_X(X, self.n_features_in_, self._pixels)
        parts = [
            self.session_.run([output], {INPUT: X[start : start + _CHUNK]})[0]
            for start in range(0, X.shape[0], _CHUNK)
        ]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples: grey levels 0-255 (uint8 or float) for an exported
            pipeline with a PixelScaler.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), dtype float64
            Rows sum to 1; columns follow ``classes_``.
        """
        proba = self._run(PROBABILITIES, X).astype(np.float64)
        # As DenseMLPClassifier: the float32 softmax, renormalised in float64.
        proba /= proba.sum(axis=1, keepdims=True)
        return proba

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, as for :meth:`predict_proba`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``, in its dtype.
        """
        return np.asarray(self._run(LABEL, X)).astype(self.classes_.dtype, copy=False)

    def score(self, X, y):
        """Mean accuracy on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,)
            True labels.

        Returns
        -------
        score : float
            Fraction of ``self.predict(X)`` equal to ``y``.
        """
        y = np.asarray(y)
        y_pred = self.predict(X)
        if y.shape != y_pred.shape:
            raise ValueError(f"y has shape {y.shape}, X gives {y_pred.shape}")
        kind, classes_kind = _label_kind(y), _label_kind(self.classes_)
        if kind != classes_kind:
            # As scikit-learn's accuracy_score (the Keras pipeline's score).
            raise ValueError(
                f"Mix of label input types (string and number): y holds {kind}, "
                f"the model's classes_ are {classes_kind} ({self.classes_.dtype})"
            )
        return float(np.mean(y_pred == y))


# ------------------------------------------------------------ file checks
# Field numbers of onnx.proto (onnx/onnx.proto3) that the checks read.
_MODEL_GRAPH, _MODEL_METADATA, _MODEL_TRAINING, _MODEL_FUNCTIONS = 7, 14, 20, 25
_GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_INPUT, _GRAPH_SPARSE = 1, 5, 11, 15
_NODE_INPUT, _NODE_OUTPUT, _NODE_NAME, _NODE_OP = 1, 2, 3, 4
_NODE_ATTRIBUTE, _NODE_DOMAIN = 5, 7
_ATTR_NAME, _ATTR_I, _ATTR_T, _ATTR_G, _ATTR_INTS = 1, 3, 5, 6, 8
_ATTR_FLOATS, _ATTR_STRINGS, _ATTR_TENSORS, _ATTR_GRAPHS = 7, 9, 10, 11
_ATTR_TYPE, _ATTR_SPARSE, _ATTR_SPARSES = 20, 22, 23
_ATTR_GRAPH_TYPES = (5, 10)  # AttributeProto.GRAPH, GRAPHS
_TENSOR_DIMS, _TENSOR_TYPE, _TENSOR_INT32, _TENSOR_INT64 = 1, 2, 5, 7
_TENSOR_NAME, _TENSOR_RAW, _TENSOR_EXTERNAL, _TENSOR_LOCATION = 8, 9, 13, 14
_INT32, _INT64 = 6, 7  # TensorProto.DataType
# ValueInfoProto.type, TypeProto.tensor_type, .shape, TensorShapeProto.dim,
# Dimension.dim_value: the path to a graph input's dims.
_INFO_NAME, _INFO_TYPE, _TYPE_TENSOR, _TENSOR_SHAPE, _SHAPE_DIM, _DIM_VALUE = (
    1, 2, 1, 2, 1, 1,
)  # fmt: skip
# Integer tensors of up to this many values are read (Reshape's shape, Slice's).
_MAX_READ_VALUES = 64
_SPARSE_VALUES, _SPARSE_INDICES, _SPARSE_DIMS = 1, 2, 3
_VARINT, _FIXED64, _LEN, _FIXED32 = 0, 1, 2, 5


class _Malformed(ValueError):
    """The bytes are not a protobuf message (onnxruntime would refuse them too)."""


def _varint(data, pos):
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise _Malformed("a truncated or overlong varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(data):
    """``(field, wire_type, value)`` of a protobuf message's encoding.

    ``value`` is an int for varints and fixed-width fields, a memoryview of
    the bytes for length-delimited ones. Groups (deprecated) are malformed.
    """
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, pos = _varint(data, pos)
        elif wire in (_FIXED64, _FIXED32):
            width = 8 if wire == _FIXED64 else 4
            value, pos = int.from_bytes(data[pos : pos + width], "little"), pos + width
        elif wire == _LEN:
            size, pos = _varint(data, pos)
            value, pos = data[pos : pos + size], pos + size
        else:
            raise _Malformed(f"wire type {wire} in field {field}")
        if pos > len(data):
            raise _Malformed(f"field {field} runs past the end of its message")
        yield field, wire, value


def _int64s(wire, value):
    """The int64 values of one (packed or not) repeated int64 field."""
    if wire == _VARINT:
        values = [value]
    elif wire == _LEN:
        values, pos = [], 0
        while pos < len(value):
            item, pos = _varint(value, pos)
            values.append(item)
    else:
        raise _Malformed("an int64 field of the wrong wire type")
    return [v - (1 << 64) if v >= 1 << 63 else v for v in values]


def _text(value, limit=80):
    """A protobuf string field, quoted, for an error message."""
    return repr(one_line(bytes(value).decode("utf-8", "replace"), limit))


class _ModelCheck:
    """Walks a serialized ``onnx.ModelProto``, raising ``fail(problem)``."""

    def __init__(self, fail, max_weights):
        self.fail, self.max_weights = fail, max_weights
        self.weights = self.nodes = self.metadata_bytes = 0
        self.has_graph = False
        # What the shape pass reads: (name, op, inputs, outputs, attributes)
        # of each node, the constants' (dims, int values or None), the inputs.
        self.node_list, self.constants, self.inputs = [], {}, []

    def model(self, data):
        for field, wire, value in _fields(data):
            if field == _MODEL_GRAPH and wire == _LEN:
                self.has_graph = True
                self.graph(value)
            elif field == _MODEL_METADATA and wire == _LEN:
                self.metadata_bytes += len(value)
                if self.metadata_bytes > MAX_METADATA_BYTES:
                    raise self.fail(f"its metadata is over {MAX_METADATA_BYTES} bytes")
            elif field == _MODEL_FUNCTIONS:
                raise self.fail("it defines model-local functions")
            elif field == _MODEL_TRAINING:
                raise self.fail("it holds training information (more graphs)")
        if not self.has_graph:
            raise self.fail("it holds no graph")
        # After all of it: protobuf merges a graph given twice into one.
        _check_shapes(self)

    def graph(self, data):
        for field, wire, value in _fields(data):
            if wire != _LEN:
                continue
            if field == _GRAPH_NODE:
                self.nodes += 1
                if self.nodes > MAX_ONNX_NODES:
                    raise self.fail(f"its graph has over {MAX_ONNX_NODES} nodes")
                self.node(value)
            elif field == _GRAPH_INITIALIZER:
                self.constant(*self.tensor(value, "initializer"))
            elif field == _GRAPH_SPARSE:
                self.constant(*self.sparse_tensor(value, "sparse initializer"))
            elif field == _GRAPH_INPUT:
                self.inputs.append(_value_info(value))

    def constant(self, name, dims, values):
        if name in self.constants:
            raise self.fail(f"constant {name!r} is defined twice")
        self.constants[name] = dims, values

    def node(self, data):
        op, domain, node_name, attributes = b"", b"", "", []
        inputs, outputs = [], []
        for field, wire, value in _fields(data):
            if wire != _LEN:
                continue
            if field == _NODE_OP:
                op = bytes(value)
            elif field == _NODE_DOMAIN:
                domain = bytes(value)
            elif field == _NODE_ATTRIBUTE:
                attributes.append(value)
            elif field in (_NODE_INPUT, _NODE_OUTPUT, _NODE_NAME):
                text = bytes(value).decode("utf-8", "replace")
                if field == _NODE_NAME:
                    node_name = text
                else:
                    (inputs if field == _NODE_INPUT else outputs).append(text)
        name = op.decode("utf-8", "replace")
        dom = domain.decode("utf-8", "replace")
        allowed = ALLOWED_OPS.get("" if dom == "ai.onnx" else dom, ())
        if name not in allowed:
            where = f"op {one_line(name, 60)!r}" + (f" (domain {dom!r})" if dom else "")
            raise self.fail(
                f"{where} is not one sk-mnist's exporters write (allowed: "
                "sk_mnist.export.ALLOWED_OPS)"
            )
        attrs = {}
        for attribute in attributes:
            key, info = self.attribute(attribute, f"op {name!r}")
            if key in attrs:
                raise self.fail(f"attribute {key!r} of op {name!r} is given twice")
            attrs[key] = info
        self.node_list.append((node_name, name, inputs, outputs, attrs))

    def attribute(self, data, where):
        """``(name, info)``: ``info`` has the attribute's int ``"i"``, its
        ``"ints"``, its list length ``"n"`` and ``"t"``, a tensor's dims and values.
        """
        fields = list(_fields(data))
        raw = next((bytes(v) for f, w, v in fields if f == _ATTR_NAME), b"")
        name = _text(raw)
        where = f"attribute {name} of {where}"
        info = {"ints": [], "n": 0}
        for field, wire, value in fields:
            if field == _ATTR_I and wire == _VARINT:
                info["i"] = _int64s(wire, value)[0]
            elif field == _ATTR_INTS:
                ints = _int64s(wire, value)
                info["ints"] += ints
                info["n"] += len(ints)
            elif field == _ATTR_FLOATS:
                info["n"] += len(value) // 4 if wire == _LEN else 1
            elif field == _ATTR_STRINGS:
                info["n"] += 1
            if field in (_ATTR_G, _ATTR_GRAPHS) or (
                field == _ATTR_TYPE and wire == _VARINT and value in _ATTR_GRAPH_TYPES
            ):
                raise self.fail(f"{where} is a subgraph")
            if wire != _LEN:
                continue
            if field in (_ATTR_T, _ATTR_TENSORS):
                info["t"] = self.tensor(value, f"tensor in {where}")[1:]
            elif field in (_ATTR_SPARSE, _ATTR_SPARSES):
                info["t"] = self.sparse_tensor(value, f"sparse tensor in {where}")[1:]
        self.count([info["n"]], where)
        return raw.decode("utf-8", "replace"), info

    def tensor(self, data, kind, count=True):
        """``(name, dims, values)``; ``values``: small integer tensors' only."""
        dims, key, external, dtype, ints, raw = [], "", False, 0, [], None
        for field, wire, value in _fields(data):
            if field == _TENSOR_DIMS:
                dims += _int64s(wire, value)
            elif field == _TENSOR_NAME and wire == _LEN:
                key = bytes(value).decode("utf-8", "replace")
            elif field == _TENSOR_EXTERNAL or (field == _TENSOR_LOCATION and value):
                external = True
            elif field == _TENSOR_TYPE and wire == _VARINT:
                dtype = value
            elif field in (_TENSOR_INT32, _TENSOR_INT64) and ints is not None:
                # Large tensors are not decoded (a varint takes 10 bytes at most).
                small = wire != _LEN or len(value) <= 10 * _MAX_READ_VALUES
                small = small and len(ints) <= _MAX_READ_VALUES
                ints = ints + _int64s(wire, value) if small else None
            elif field == _TENSOR_RAW and wire == _LEN:
                raw = value
        name = repr(one_line(key, 80))
        if external:
            raise self.fail(
                f"{kind} {name} keeps its data outside the file (ONNX external "
                "data); only self-contained files are read"
            )
        if count:
            self.count(dims, f"{kind} {name}")
        size, values = math.prod(max(d, 0) for d in dims), None
        if dtype in (_INT32, _INT64) and size <= _MAX_READ_VALUES:
            width = 8 if dtype == _INT64 else 4
            if raw is not None and len(raw) == size * width:
                ints = np.frombuffer(raw, f"<i{width}").tolist()
            values = ints if ints is not None and len(ints) == size else None
        return key, tuple(dims), values

    def sparse_tensor(self, data, kind):
        dims, key = [], ""
        for field, wire, value in _fields(data):
            if field in (_SPARSE_VALUES, _SPARSE_INDICES) and wire == _LEN:
                name = self.tensor(value, kind, count=False)[0]
                key = name if field == _SPARSE_VALUES else key
            elif field == _SPARSE_DIMS:
                dims += _int64s(wire, value)
        self.count(dims, kind)  # onnxruntime makes sparse initializers dense
        return key, tuple(dims), None

    def count(self, dims, where):
        size = 1
        for dim in dims:
            if dim < 0:
                raise self.fail(f"{where} has a negative dimension {dim}")
            size = min(size * dim, self.max_weights + 1)
        self.weights += size
        if self.weights > self.max_weights:
            raise self.fail(
                f"{where} takes its weights over {self.max_weights:,} "
                "(sk_mnist.persistence.MAX_MODEL_WEIGHTS; raise it to load a "
                "larger model you trust)"
            )


def _last(data, number, wire_type=_LEN):
    """The last field ``number`` of a message (protobuf's rule), or None."""
    found = [v for f, w, v in _fields(data) if f == number and w == wire_type]
    return found[-1] if found else None


def _value_info(data):
    """``(name, dims)`` of a graph input (a ``ValueInfoProto``).

    Dims are ints, with N for the others (a ``dim_param``, or no value);
    ``dims`` is None when the input has no tensor shape.
    """
    name = bytes(_last(data, _INFO_NAME) or b"").decode("utf-8", "replace")
    shape = _last(data, _INFO_TYPE)
    for number in (_TYPE_TENSOR, _TENSOR_SHAPE):
        shape = None if shape is None else _last(shape, number)
    if shape is None:
        return name, None
    dims = [
        _last(d, _DIM_VALUE, _VARINT)
        for f, w, d in _fields(shape)
        if f == _SHAPE_DIM and w == _LEN
    ]
    return name, tuple(d if d and d < 1 << 63 else _N for d in dims)


# ------------------------------------------------------------ shape pass
# A shape is a tuple of ints and _N, the number of rows (the batch), unknown.
_N = "N"


class _ShapeError(ValueError):
    """A node whose output shapes are unknown or unbounded (says why)."""


def _merged(dims):
    """The size of ``dims`` as one dimension: an int, or N alone."""
    size = math.prod(d for d in dims if d != _N)
    if _N in dims and size != 1:
        raise _ShapeError(f"it merges the batch dimension with others {dims}")
    return _N if _N in dims else size


def _int(attrs, name, default=None):
    """The int attribute ``name`` of a node."""
    return attrs.get(name, {}).get("i", default)


def _axis(axis, rank):
    if axis is None or not -rank <= axis < rank:
        raise _ShapeError(f"its axis {axis} is not one of a rank-{rank} tensor")
    return axis % rank


def _broadcast(*shapes):
    """NumPy's broadcasting, where N meets only N or 1."""
    rank = max(map(len, shapes))
    out = []
    for dims in zip(*[(1,) * (rank - len(s)) + s for s in shapes], strict=True):
        rest = set(dims) - {1}
        if len(rest) > 1:
            raise _ShapeError(f"its input shapes {shapes} do not broadcast")
        out.append(rest.pop() if rest else 1)
    return tuple(out)


def _matmul(a, b):
    """NumPy's matmul (1-D operands promoted, leading dims broadcast)."""
    if not a or not b:
        raise _ShapeError("it multiplies a scalar")
    a2, b2 = (a if len(a) > 1 else (1, *a)), (b if len(b) > 1 else (*b, 1))
    if a2[-1] != b2[-2]:
        raise _ShapeError(f"its input shapes {a} and {b} do not multiply")
    out = [*_broadcast(a2[:-2], b2[:-2]), a2[-2], b2[-1]]
    if len(b) == 1:  # drop the promoted dims
        del out[-1]
    if len(a) == 1:
        del out[-2 if len(b) > 1 else -1]
    return tuple(out)


def _gemm(a, b, c, attrs):
    if len(a) != 2 or len(b) != 2:
        raise _ShapeError(f"its input shapes {a} and {b} are not matrices")
    a = a[::-1] if _int(attrs, "transA") else a
    out = _matmul(a, b[::-1] if _int(attrs, "transB") else b)
    if c is not None and _broadcast(out, c) != out:
        raise _ShapeError(f"its bias of shape {c} does not broadcast to {out}")
    return out


def _reshape(shape, target, attrs):
    """ONNX Reshape: a 0 copies the input's dim (unless allowzero), -1 is inferred."""
    if target is None:
        raise _ShapeError("its shape input is not a constant")
    if target.count(-1) > 1 or min(target, default=0) < -1:
        raise _ShapeError(f"its shape {target} is not a shape")
    copy = not _int(attrs, "allowzero")
    dims = [
        shape[i] if d == 0 and copy and i < len(shape) else d
        for i, d in enumerate(target)
    ]
    known = [d for d in dims if d != -1]
    rows, size = _N in shape, math.prod(d for d in shape if d != _N)
    known_rows, known_size = _N in known, math.prod(d for d in known if d != _N)
    if -1 in dims and known_size and size % known_size == 0 and rows >= known_rows:
        free = size // known_size
        dims[dims.index(-1)] = _merged((_N, free)) if rows > known_rows else free
    elif -1 in dims or (rows, size) != (known_rows, known_size):
        raise _ShapeError(f"it cannot reshape {shape} to {target}")
    return tuple(dims)


def _concat(shapes, attrs):
    axis = _axis(_int(attrs, "axis"), len(shapes[0]))
    rest = {s[:axis] + s[axis + 1 :] for s in shapes}
    if len(rest) > 1 or {len(s) for s in shapes} != {len(shapes[0])}:
        raise _ShapeError(f"its input shapes {shapes} differ off axis {axis}")
    sizes = [s[axis] for s in shapes]
    if _N in sizes and len(sizes) > 1:
        raise _ShapeError("it concatenates along the batch dimension")
    size = _N if _N in sizes else sum(sizes)
    return shapes[0][:axis] + (size,) + shapes[0][axis + 1 :]


def _slice(shapes, values):
    shapes, values = (shapes + [None] * 4)[:5], (values + [None] * 4)[:5]
    if any(
        s is not None and v is None for s, v in zip(shapes[1:], values[1:], strict=True)
    ):
        raise _ShapeError("its starts, ends, axes or steps are not constants")
    shape, (starts, ends, axes, steps) = shapes[0], values[1:]
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    out = list(shape)
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        axis = _axis(axis, len(shape))
        whole = start == 0 and step == 1 and end >= 2**31 - 1
        if step == 0 or (out[axis] == _N and not whole):
            raise _ShapeError(f"it slices {start}:{end}:{step} of dim {out[axis]}")
        if out[axis] != _N:
            out[axis] = len(range(*slice(start, end, step).indices(out[axis])))
    return tuple(out)


def _flatten(shape, attrs):
    axis = _int(attrs, "axis", 1)
    axis += len(shape) if axis < 0 else 0
    if not 0 <= axis <= len(shape):
        raise _ShapeError(f"its axis is not one of a rank-{len(shape)} tensor")
    return _merged(shape[:axis]), _merged(shape[axis:])


def _arg_max(shape, attrs):
    axis = _axis(_int(attrs, "axis", 0), len(shape))
    return shape[:axis] + (1,) * bool(_int(attrs, "keepdims", 1)) + shape[axis + 1 :]


def _gather(data, indices, attrs):
    axis = _axis(_int(attrs, "axis", 0), len(data))
    return data[:axis] + indices + data[axis + 1 :]


_SAME_SHAPE = (
    "Cast Elu Erf Identity LeakyRelu Relu Selu Sigmoid Softmax Softplus Tanh "
    "DequantizeLinear QuantizeLinear Scaler ZipMap"
).split()
_MATMULS = "MatMul MatMulInteger DynamicQuantizeMatMul MatMulIntegerToFloat".split()
# Op -> rule(input shapes, their int values, attributes) -> output shapes.
# Absent optional inputs have shape None; non-constant inputs value None.
_RULES = {
    **{op: lambda s, v, a: [s[0]] for op in _SAME_SHAPE},
    **{
        op: lambda s, v, a: [_broadcast(s[0], s[1])]
        for op in ("Add", "Sub", "Mul", "Div")
    },
    **{op: lambda s, v, a: [_matmul(s[0], s[1])] for op in _MATMULS},
    "Gemm": lambda s, v, a: [_gemm(s[0], s[1], (s + [None])[2], a)],
    "QGemm": lambda s, v, a: [_gemm(s[0], s[3], (s + [None] * 6)[6], a)],
    "Reshape": lambda s, v, a: [_reshape(s[0], v[1], a)],
    "Concat": lambda s, v, a: [_concat(s, a)],
    "Slice": lambda s, v, a: [_slice(s, v)],
    "Flatten": lambda s, v, a: [_flatten(s[0], a)],
    "ArgMax": lambda s, v, a: [_arg_max(s[0], a)],
    "Gather": lambda s, v, a: [_gather(s[0], s[1], a)],
    "ArrayFeatureExtractor": lambda s, v, a: [(s[0][:-1] or (1,)) + (_merged(s[1]),)],
    "DynamicQuantizeLinear": lambda s, v, a: [s[0], (), ()],
}


def _constant(attrs):
    """``(dims, int values or None)`` of a Constant node's value."""
    (name, info), *others = attrs.items() or [("", {})]
    if others or name not in _CONSTANT_SHAPES:
        raise _ShapeError(f"its attributes {list(attrs)} are not a Constant's")
    if name in ("value", "sparse_value"):
        return info.get("t", ((), None))
    if name.endswith("s"):  # value_ints, value_floats, value_strings
        return (info["n"],), info["ints"] if name == "value_ints" else None
    return (), [info["i"]] if "i" in info else None


_CONSTANT_SHAPES = {"value", "sparse_value"} | {
    f"value_{kind}{s}" for kind in ("int", "float", "string") for s in ("", "s")
}


def _node_shapes(node, shapes, values, constants):
    """Output ``(shapes, values)`` of ``node``, or a _ShapeError."""
    _, op, inputs, outputs, attrs = node
    present = [i for i in inputs if i]
    undefined = [i for i in present if i not in shapes]
    if undefined:
        raise _ShapeError(
            f"its input {one_line(undefined[0], 60)!r} is not computed before it"
        )
    if op == "Constant":
        dims, vals = _constant(attrs)
        return [dims], [vals]
    if all(i in constants for i in present):
        raise _ShapeError(
            "its inputs are all constants, which onnxruntime would compute on load"
        )
    if op not in _RULES:
        raise _ShapeError(f"sk-mnist has no shape rule for op {op!r}")
    ins = [shapes[i] if i else None for i in inputs]
    try:
        results = _RULES[op](ins, [values.get(i) for i in inputs], attrs)
    except _ShapeError:
        raise
    except (IndexError, TypeError, ValueError):  # missing inputs, zip(strict=True)
        raise _ShapeError(f"its inputs or attributes are not those of {op}") from None
    return results, [None] * len(results)


def _check_shapes(check):
    """Refuse a graph unless the shape of each tensor it computes is bounded.

    From the graph input's shape (N rows), node by node: refuse a node whose
    inputs are all constants (onnxruntime computes it when making the
    session), or whose output's shape does not follow from its inputs',
    has the batch dimension twice, or holds over MAX_ONNX_ROW_ELEMENTS a row
    (over MAX_MODEL_WEIGHTS without the batch dimension).
    """
    shapes = {name: dims for name, (dims, _) in check.constants.items()}
    values = {name: vals for name, (_, vals) in check.constants.items()}
    constants = set(check.constants)
    for name, dims in check.inputs:
        if name not in shapes:
            if dims is None:
                raise check.fail(f"graph input {name!r} has no tensor shape")
            shapes[name] = _bound(dims, f"graph input {one_line(name, 60)!r}", check)
    for index, node in enumerate(check.node_list):
        name, op, _, outputs, _ = node
        where = f"node {index} ({op}{f' {one_line(name, 60)!r}' if name else ''})"
        try:
            results, vals = _node_shapes(node, shapes, values, constants)
        except _ShapeError as err:
            raise check.fail(f"{where}: {one_line(err, 200)}") from None
        # (Outputs past the rule's are left undefined: using one is refused.)
        for output, dims, val in zip(outputs, results, vals, strict=False):
            if not output:  # an optional output left out
                continue
            if output in shapes:
                raise check.fail(f"{where}: its output {output!r} is defined twice")
            shapes[output] = _bound(
                dims, f"{where}: its output {one_line(output, 60)!r}", check
            )
            values[output] = val
        if op == "Constant":
            constants.update(outputs)


def _bound(dims, where, check):
    """``dims``, unless too large or with N twice (then ``check.fail``)."""
    if dims.count(_N) > 1:
        raise check.fail(f"{where} has the batch dimension twice {dims}")
    size = math.prod(d for d in dims if d != _N)
    if _N in dims and size > MAX_ONNX_ROW_ELEMENTS:
        raise check.fail(
            f"{where} holds {size:,} elements a row, over MAX_ONNX_ROW_ELEMENTS "
            f"({MAX_ONNX_ROW_ELEMENTS:,}; shape {dims})"
        )
    if _N not in dims and size > check.max_weights:
        raise check.fail(f"{where} holds {size:,} elements, over MAX_MODEL_WEIGHTS")
    return dims


def _max_weights():
    persistence = sys.modules.get("sk_mnist.persistence")
    return getattr(persistence, "MAX_MODEL_WEIGHTS", _DEFAULT_MAX_WEIGHTS)


def _check_model_bytes(data, where):
    """Refuse an ONNX file's bytes unless they hold only what we export.

    Parameters
    ----------
    data : bytes
        The serialized ``onnx.ModelProto``.
    where : str
        How the messages name the file.

    Raises
    ------
    ValueError
        One line naming ``where`` and the op, tensor or limit.
    """

    def fail(problem):
        return ValueError(f"{where}: refused ONNX model: {problem}")

    if data[4:8] == b"ORTM":  # onnxruntime's own (flatbuffer) format
        raise fail("it is in onnxruntime's ORT format; give an .onnx file")
    try:
        _ModelCheck(fail, _max_weights()).model(memoryview(data))
    except _Malformed as err:
        raise ValueError(f"{where}: not a readable ONNX model ({err})") from None


def _read_bounded(path):
    with open(path, "rb") as f:
        data = f.read(MAX_ONNX_BYTES + 1)
    if len(data) > MAX_ONNX_BYTES:
        raise ValueError(
            f"{path}: refused ONNX model: the file is over {MAX_ONNX_BYTES:,} bytes"
        )
    return data


def load_onnx(path, *, providers=None, session_options=None):
    """Read an ONNX file written by :func:`export_onnx`, for predictions.

    Only onnxruntime runs the model: nothing in it runs as Python, and
    neither Keras nor TensorFlow is imported. The file is untrusted input:
    its bytes are read once and checked (see Raises), and onnxruntime is
    given those bytes. ``session_options`` gets the config entry
    ``session.load_model_format = ONNX``.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.onnx`` file.
    providers : list of str, default=None
        onnxruntime execution providers, in order of preference; None means
        ``["CPUExecutionProvider"]``.
    session_options : onnxruntime.SessionOptions, default=None
        Options of the session (threads, optimisation level).

    Returns
    -------
    classifier : OnnxClassifier
        A predictor with ``predict``, ``predict_proba``, ``classes_`` and
        ``n_features_in_``.

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        If ``path`` is not a file.
    ValueError
        One line naming the file, if it is not an ONNX model or not one
        written by :func:`export_onnx`: tensors whose data lies outside the
        file (ONNX external data), ops outside :data:`ALLOWED_OPS`,
        subgraphs, more than :data:`MAX_ONNX_NODES` nodes, more weights than
        ``sk_mnist.persistence.MAX_MODEL_WEIGHTS``, a file over
        :data:`MAX_ONNX_BYTES` or bad metadata are refused before
        onnxruntime reads the model.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sk_mnist import DenseMLPClassifier
    >>> from sk_mnist.export import export_onnx, load_onnx
    >>> X, y = load_digits(return_X_y=True)
    >>> names = np.array(["zero", "one", "two", "three", "four", "five",
    ...                   "six", "seven", "eight", "nine"])
    >>> clf = DenseMLPClassifier(hidden_layer_sizes=(8,), epochs=1,
    ...                          random_state=0).fit(X / 16, names[y])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     onnx_clf = load_onnx(export_onnx(clf, f"{tmp}/digits.onnx"))
    >>> onnx_clf.predict(X[:3] / 16).dtype == clf.classes_.dtype
    True
    """
    ort = require("onnxruntime")
    path = Path(os.fspath(path))
    if path.is_dir():
        raise IsADirectoryError(
            f"{path}: is a directory, not an ONNX file (a model saved by "
            "save_model is read with sk_mnist.load_model)"
        )
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    # Read once and check; onnxruntime gets the same bytes, never the path,
    # so the file cannot change between the check and the load.
    data = _read_bounded(path)
    _check_model_bytes(data, path)
    options = ort.SessionOptions() if session_options is None else session_options
    options.add_session_config_entry("session.load_model_format", "ONNX")
    try:
        session = ort.InferenceSession(
            data,
            sess_options=options,
            providers=list(providers or ["CPUExecutionProvider"]),
        )
    except Exception as err:  # onnxruntime's own types, not exported stably
        raise ValueError(
            f"{path}: not a readable ONNX model ({one_line(err)})"
        ) from None
    return OnnxClassifier(session, source=path)
