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
:data:`MAX_ONNX_BYTES`. The session is then made from those same bytes.
"""

import importlib
import json
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
_GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_SPARSE = 1, 5, 15
_NODE_OP, _NODE_ATTRIBUTE, _NODE_DOMAIN = 4, 5, 7
_ATTR_NAME, _ATTR_T, _ATTR_G, _ATTR_TENSORS, _ATTR_GRAPHS = 1, 5, 6, 10, 11
_ATTR_TYPE, _ATTR_SPARSE, _ATTR_SPARSES = 20, 22, 23
_ATTR_GRAPH_TYPES = (5, 10)  # AttributeProto.GRAPH, GRAPHS
_TENSOR_DIMS, _TENSOR_NAME, _TENSOR_EXTERNAL, _TENSOR_LOCATION = 1, 8, 13, 14
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
                self.tensor(value, "initializer")
            elif field == _GRAPH_SPARSE:
                self.sparse_tensor(value, "sparse initializer")

    def node(self, data):
        op, domain, attributes = b"", b"", []
        for field, wire, value in _fields(data):
            if field == _NODE_OP and wire == _LEN:
                op = bytes(value)
            elif field == _NODE_DOMAIN and wire == _LEN:
                domain = bytes(value)
            elif field == _NODE_ATTRIBUTE and wire == _LEN:
                attributes.append(value)
        name = op.decode("utf-8", "replace")
        dom = domain.decode("utf-8", "replace")
        allowed = ALLOWED_OPS.get("" if dom == "ai.onnx" else dom, ())
        if name not in allowed:
            where = f"op {one_line(name, 60)!r}" + (f" (domain {dom!r})" if dom else "")
            raise self.fail(
                f"{where} is not one sk-mnist's exporters write (allowed: "
                "sk_mnist.export.ALLOWED_OPS)"
            )
        for attribute in attributes:
            self.attribute(attribute, f"op {name!r}")

    def attribute(self, data, where):
        fields = list(_fields(data))
        name = next((_text(v) for f, w, v in fields if f == _ATTR_NAME), "''")
        where = f"attribute {name} of {where}"
        for field, wire, value in fields:
            if field in (_ATTR_G, _ATTR_GRAPHS) or (
                field == _ATTR_TYPE and wire == _VARINT and value in _ATTR_GRAPH_TYPES
            ):
                raise self.fail(f"{where} is a subgraph")
            if wire != _LEN:
                continue
            if field in (_ATTR_T, _ATTR_TENSORS):
                self.tensor(value, f"tensor in {where}")
            elif field in (_ATTR_SPARSE, _ATTR_SPARSES):
                self.sparse_tensor(value, f"sparse tensor in {where}")

    def tensor(self, data, kind, count=True):
        dims, name, external = [], "''", False
        for field, wire, value in _fields(data):
            if field == _TENSOR_DIMS:
                dims += _int64s(wire, value)
            elif field == _TENSOR_NAME and wire == _LEN:
                name = _text(value)
            elif field == _TENSOR_EXTERNAL or (field == _TENSOR_LOCATION and value):
                external = True
        if external:
            raise self.fail(
                f"{kind} {name} keeps its data outside the file (ONNX external "
                "data); only self-contained files are read"
            )
        if count:
            self.count(dims, f"{kind} {name}")

    def sparse_tensor(self, data, kind):
        dims = []
        for field, wire, value in _fields(data):
            if field in (_SPARSE_VALUES, _SPARSE_INDICES) and wire == _LEN:
                self.tensor(value, kind, count=False)
            elif field == _SPARSE_DIMS:
                dims += _int64s(wire, value)
        self.count(dims, kind)  # onnxruntime makes sparse initializers dense

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
