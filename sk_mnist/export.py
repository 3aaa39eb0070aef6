"""ONNX export of a fitted pipeline, and inference on the file with onnxruntime.

:func:`~sk_mnist.export.export_onnx` writes one ONNX file for a whole fitted
:func:`~sk_mnist.make_mnist_pipeline` (or a bare fitted
:class:`~sk_mnist.DenseMLPClassifier`): grey levels in, class labels and
probabilities out, the ``/ 255`` of :class:`~sk_mnist.PixelScaler` included.
:func:`~sk_mnist.export.load_onnx` reads such a file back as an
:class:`~sk_mnist.export.OnnxClassifier`, a predictor with ``predict`` and
``predict_proba`` that runs on onnxruntime alone: neither Keras nor
TensorFlow is imported, and nothing in the file is executed as Python.

The graph is written node by node with the ``onnx`` package's helpers from
the network's weights (``layer.get_weights()``), which every Keras backend
gives as NumPy arrays, rather than by a converter that traces one backend's
graph (tf2onnx, ``Model.export(format="onnx")``). The network is a chain of
Dense layers, so the graph is short:

``X -> [Gemm -> activation] * k -> Gemm -> Softmax -> probabilities``, and
``probabilities -> ArgMax -> Gather(classes) -> label``, the ``/ 255`` of
each PixelScaler folded into the first layer's weights.

Dropout is the identity at inference and L2 only acts in training, so
neither appears in the graph. Both ``onnx`` and ``onnxruntime`` come with the
``[onnx]`` extra (``pip install "sk-mnist[onnx]"``); exporting needs
``onnx``, loading needs ``onnxruntime`` only.
"""

import json
import os
from pathlib import Path

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from . import __version__
from ._files import temporary_beside
from ._onnx_predictor import (  # noqa: F401 (ALLOWED_OPS & co.: what load_onnx reads)
    ALLOWED_OPS,
    FORMAT_NAME,
    FORMAT_VERSION,
    INPUT,
    LABEL,
    MAX_ONNX_BYTES,
    MAX_ONNX_NODES,
    MAX_PIXEL,
    PROBABILITIES,
    OnnxClassifier,
    load_onnx,
    require,
)

__all__ = ["OnnxClassifier", "export_onnx", "load_onnx", "to_onnx"]

#: Opset and IR version of the written files: ONNX 1.13 / onnxruntime 1.14
#: and later read them.
OPSET = 17
IR_VERSION = 8
# Keras' constants (keras.activations.selu, leaky_relu's default slope).
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_LEAKY_RELU_SLOPE = 0.2
# One ONNX op each; the others are written as formulas in _activation.
_SIMPLE_OPS = {
    "relu": ("Relu", {}),
    "tanh": ("Tanh", {}),
    "sigmoid": ("Sigmoid", {}),
    "softplus": ("Softplus", {}),
    "elu": ("Elu", {"alpha": 1.0}),
    "selu": ("Selu", {"alpha": _SELU_ALPHA, "gamma": _SELU_SCALE}),
    "leaky_relu": ("LeakyRelu", {"alpha": _LEAKY_RELU_SLOPE}),
    "softmax": ("Softmax", {"axis": -1}),
}
#: Activations :func:`to_onnx` can write: every one of
#: :data:`sk_mnist.model.ACTIVATIONS`, plus the output layer's softmax.
SUPPORTED_ACTIVATIONS = frozenset(_SIMPLE_OPS) | {"linear", "gelu", "silu", "swish"}


# ------------------------------------------------------------------ export
def _export_steps(model):
    """``(n_scalers, classifier, steps)`` of an exportable fitted model."""
    from .estimator import DenseMLPClassifier
    from .preprocessing import PixelScaler

    if type(model) is DenseMLPClassifier:
        steps = [("(the model)", model)]
    elif isinstance(model, Pipeline):
        steps = [(n, e) for n, e in model.steps if e is not None and e != "passthrough"]
    else:
        raise ValueError(
            f"Cannot export a {type(model).__name__}: export_onnx takes a fitted "
            "Pipeline of PixelScaler and DenseMLPClassifier steps (as "
            "make_mnist_pipeline makes) or a fitted DenseMLPClassifier."
        )
    if not steps or type(steps[-1][1]) is not DenseMLPClassifier:
        raise ValueError(
            "Cannot export the pipeline: its last step must be a DenseMLPClassifier."
        )
    for name, est in steps:
        if type(est) not in (PixelScaler, DenseMLPClassifier):
            raise ValueError(
                f"Cannot export step {name!r} ({type(est).__name__}): only "
                "PixelScaler and DenseMLPClassifier steps can be written to ONNX."
            )
        if type(est) is DenseMLPClassifier and est is not steps[-1][1]:
            raise ValueError(
                f"Cannot export step {name!r}: a DenseMLPClassifier must be the "
                "last step."
            )
        try:
            check_is_fitted(est)
        except NotFittedError:
            raise NotFittedError(
                f"Cannot export step {name!r} ({type(est).__name__}): it is not "
                "fitted yet; fit the model first."
            ) from None
    clf = steps[-1][1]
    for name, est in steps[:-1]:
        if est.n_features_in_ != clf.n_features_in_:
            raise ValueError(
                f"Cannot export step {name!r}: it was fitted on "
                f"{est.n_features_in_} features, the classifier on "
                f"{clf.n_features_in_}."
            )
    return len(steps) - 1, clf, steps


def _dense_layers(network, n_features):
    """``[(name, kernel, bias or None, activation)]`` of a Dense chain.

    Raises ValueError for any layer other than Dense, Dropout and the input,
    and for a network that is not a single chain of them.
    """
    import keras

    if len(network.inputs) != 1 or len(network.outputs) != 1:
        raise ValueError("Cannot export: the network must have one input and output.")
    # By identity, not by name: a custom function may share a built-in's name.
    known = {keras.activations.get(name): name for name in SUPPORTED_ACTIVATIONS}
    layers, previous, width = [], network.inputs[0], n_features
    for layer in network.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        where = f"layer {layer.name!r} ({type(layer).__name__})"
        if not isinstance(layer, (keras.layers.Dense, keras.layers.Dropout)):
            raise ValueError(f"Cannot export {where}: it has no ONNX mapping.")
        if layer.input is not previous:
            raise ValueError(f"Cannot export {where}: the network is not a chain.")
        previous = layer.output
        if isinstance(layer, keras.layers.Dropout):
            continue  # the identity at inference
        weights = [np.asarray(w, dtype=np.float32) for w in layer.get_weights()]
        expected = [(width, layer.units)] + [(layer.units,)] * bool(layer.use_bias)
        if [w.shape for w in weights] != expected:
            raise ValueError(f"Cannot export {where}: unexpected weight shapes.")
        activation = known.get(layer.activation)
        if activation is None:
            name = getattr(layer.activation, "__name__", layer.activation)
            raise ValueError(
                f"Cannot export {where}: activation {name!r} has no ONNX mapping "
                f"(supported: {', '.join(sorted(SUPPORTED_ACTIVATIONS))})."
            )
        bias = weights[1] if len(weights) == 2 else None
        layers.append((layer.name, weights[0], bias, activation))
        width = weights[0].shape[1]
    if previous is not network.outputs[0]:
        raise ValueError("Cannot export: the network's output is not its last layer.")
    if not layers or layers[-1][3] != "softmax":
        raise ValueError("Cannot export: the last layer must be a softmax Dense layer.")
    return layers


class _GraphWriter:
    """Collects nodes and constant tensors, naming them uniquely."""

    def __init__(self, onnx):
        self.helper, self.numpy_helper = onnx.helper, onnx.numpy_helper
        self.nodes, self.initializers, self._constants = [], [], {}

    def constant(self, name, array):
        self.initializers.append(self.numpy_helper.from_array(array, name=name))
        return name

    def scalar(self, value):
        """Name of a float32 scalar constant (shared by value)."""
        key = float(np.float32(value))
        if key not in self._constants:
            name = f"const_{len(self._constants)}"
            self._constants[key] = self.constant(name, np.array(key, np.float32))
        return self._constants[key]

    def node(self, op, inputs, output, **attributes):
        self.nodes.append(
            self.helper.make_node(op, inputs, [output], name=output, **attributes)
        )
        return output


def _activation(graph, activation, x, prefix):
    """Write ``activation(x)``; return the name of its output."""
    if activation == "linear":
        return x
    if activation in _SIMPLE_OPS:
        op, attributes = _SIMPLE_OPS[activation]
        return graph.node(op, [x], f"{prefix}_{activation}", **attributes)
    if activation in ("silu", "swish"):  # x * sigmoid(x)
        sigmoid = graph.node("Sigmoid", [x], f"{prefix}_sigmoid")
        return graph.node("Mul", [x, sigmoid], f"{prefix}_silu")
    # gelu, Keras' default exact form: x * (1 + erf(x / sqrt(2))) / 2
    scaled = graph.node("Mul", [x, graph.scalar(2**-0.5)], f"{prefix}_gelu_scaled")
    erf = graph.node("Erf", [scaled], f"{prefix}_gelu_erf")
    one_plus = graph.node("Add", [erf, graph.scalar(1.0)], f"{prefix}_gelu_add")
    times_x = graph.node("Mul", [x, one_plus], f"{prefix}_gelu_mul")
    return graph.node("Mul", [times_x, graph.scalar(0.5)], f"{prefix}_gelu")


def _onnx_classes(classes):
    """``classes_`` as an array ONNX can hold (strings as an object array)."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "biuf":
        return classes
    if classes.dtype.kind in "UO" and all(isinstance(c, str) for c in classes):
        return np.array([str(c) for c in classes], dtype=object)
    raise ValueError(
        f"Cannot export class labels of dtype {classes.dtype}: ONNX holds numbers "
        "and strings only."
    )


def _metadata(steps, clf, n_scalers, layers):
    import keras

    widths = [clf.n_features_in_] + [kernel.shape[1] for _, kernel, _, _ in layers]
    network = "-".join(map(str, widths)) + f" {clf.activation}"
    return {
        "sk_mnist.format": FORMAT_NAME,
        "sk_mnist.format_version": str(FORMAT_VERSION),
        "sk_mnist.version": __version__,
        "sk_mnist.classes": json.dumps(np.asarray(clf.classes_).tolist()),
        "sk_mnist.classes_dtype": np.asarray(clf.classes_).dtype.str,
        "sk_mnist.input": "pixels" if n_scalers else "features",
        "sk_mnist.n_features": str(clf.n_features_in_),
        "sk_mnist.steps": json.dumps([[n, type(e).__name__] for n, e in steps]),
        "sk_mnist.network": network,
        "keras.backend": keras.backend.backend(),
        "keras.version": keras.__version__,
    }


def to_onnx(model):
    """Return the ONNX model of a fitted pipeline or DenseMLPClassifier.

    See :func:`export_onnx` for what the model computes; this returns it in
    memory (an ``onnx.ModelProto``, checked with ``onnx.checker``) instead
    of writing a file.

    Parameters
    ----------
    model : Pipeline or DenseMLPClassifier
        A fitted :func:`~sk_mnist.make_mnist_pipeline` (any Pipeline of
        PixelScaler steps followed by one DenseMLPClassifier) or a fitted
        bare DenseMLPClassifier.

    Returns
    -------
    onnx_model : onnx.ModelProto
        Input ``X`` (float32, ``(n, n_features)``); outputs ``label``
        (``(n,)``, the dtype of ``classes_``) and ``probabilities``
        (float32, ``(n, n_classes)``).

    Raises
    ------
    ValueError
        Naming the step or layer that cannot be exported.
    sklearn.exceptions.NotFittedError
        Naming the step that is not fitted.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sk_mnist import DenseMLPClassifier
    >>> from sk_mnist.export import to_onnx
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DenseMLPClassifier(hidden_layer_sizes=(8,), epochs=1,
    ...                          random_state=0).fit(X / 16, y)
    >>> onnx_model = to_onnx(clf)
    >>> [node.op_type for node in onnx_model.graph.node]
    ['Gemm', 'Relu', 'Gemm', 'Softmax', 'ArgMax', 'Gather']
    """
    onnx = require("onnx")
    n_scalers, clf, steps = _export_steps(model)
    layers = _dense_layers(clf.model_, clf.n_features_in_)
    onnx_model = onnx.helper.make_model(
        _graph(onnx, n_scalers, clf, layers),
        producer_name="sk-mnist",
        producer_version=__version__,
        doc_string="sk-mnist classifier: X in, label and probabilities out.",
        opset_imports=[onnx.helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
    )
    onnx.helper.set_model_props(onnx_model, _metadata(steps, clf, n_scalers, layers))
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model


def _graph(onnx, n_scalers, clf, layers):
    """The ``onnx.GraphProto`` of the scalers and the network."""
    helper, tensor = onnx.helper, onnx.TensorProto
    graph = _GraphWriter(onnx)
    x = INPUT
    # Each PixelScaler divides by 255: (X / 255) @ W == X @ (W / 255), so the
    # factor goes into the first kernel (rounded once, from float64), which
    # saves a pass over the input (6% of the time on 2,048 images).
    first_name, first_kernel = layers[0][:2]
    scaled = (first_kernel.astype(np.float64) / MAX_PIXEL**n_scalers).astype(np.float32)
    layers = [(first_name, scaled, *layers[0][2:]), *layers[1:]]
    for name, kernel, bias, activation in layers:
        weights = [x, graph.constant(f"{name}_kernel", kernel)]
        if bias is None:
            x = graph.node("MatMul", weights, f"{name}_matmul")
        else:
            weights.append(graph.constant(f"{name}_bias", bias))
            x = graph.node("Gemm", weights, f"{name}_gemm")
        x = _activation(graph, activation, x, name)
    graph.nodes[-1].output[0] = PROBABILITIES  # the output layer's softmax
    classes = _onnx_classes(clf.classes_)
    index = graph.node("ArgMax", [PROBABILITIES], "class_index", axis=1, keepdims=0)
    graph.node("Gather", [graph.constant("classes", classes), index], LABEL, axis=0)
    label_type = (
        tensor.STRING
        if classes.dtype == object
        else helper.np_dtype_to_tensor_dtype(classes.dtype)
    )
    return helper.make_graph(
        graph.nodes,
        "sk_mnist",
        [helper.make_tensor_value_info(INPUT, tensor.FLOAT, ["N", clf.n_features_in_])],
        [
            helper.make_tensor_value_info(LABEL, label_type, ["N"]),
            helper.make_tensor_value_info(
                PROBABILITIES, tensor.FLOAT, ["N", len(classes)]
            ),
        ],
        initializer=graph.initializers,
    )


def export_onnx(model, path):
    """Write a fitted pipeline or DenseMLPClassifier to one ONNX file.

    The file computes what ``model.predict`` and ``model.predict_proba``
    compute, scaling included, and runs on any ONNX runtime without Python,
    Keras or sk-mnist (see :func:`load_onnx` for a predictor over
    onnxruntime).

    - Input ``X``: float32, shape ``(n, n_features)`` (``(n, 784)`` for
      MNIST): grey levels 0-255 for a pipeline with a PixelScaler, whatever
      the classifier was trained on for a bare DenseMLPClassifier. uint8
      images are cast to float32 first (exactly; :class:`OnnxClassifier`
      does it for you). The ONNX model does not check the range.
    - Output ``label``: shape ``(n,)``, the predicted values of
      ``classes_``, in its dtype (int64, strings, ...).
    - Output ``probabilities``: float32, shape ``(n, n_classes)``, columns
      in the order of ``classes_``.

    The file's metadata (``metadata_props``) records the sk-mnist version,
    ``classes_`` (JSON) and its dtype, whether the input is pixels, the
    steps, the network and the Keras backend and version that exported it.

    Parameters
    ----------
    model : Pipeline or DenseMLPClassifier
        A fitted :func:`~sk_mnist.make_mnist_pipeline` (any Pipeline of
        PixelScaler steps followed by one DenseMLPClassifier) or a fitted
        bare DenseMLPClassifier, as trained or as loaded with
        :func:`~sk_mnist.load_model`.
    path : str or os.PathLike
        The file to write (``.onnx`` by convention). Missing parent folders
        are made. The file is written beside ``path`` under a temporary
        name and renamed onto it, so a failed export leaves nothing behind
        and an earlier file at ``path`` as it was.

    Returns
    -------
    path : pathlib.Path
        The absolute path of the written file.

    Raises
    ------
    ValueError
        Naming the step or layer that cannot be exported (a step other than
        PixelScaler and DenseMLPClassifier, an unsupported activation).
    sklearn.exceptions.NotFittedError
        Naming the step that is not fitted (it is a ``ValueError`` too).
    IsADirectoryError
        If ``path`` is a directory.

    See Also
    --------
    load_onnx : Read the file back as a predictor over onnxruntime.
    to_onnx : The ONNX model in memory.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sk_mnist import make_mnist_pipeline
    >>> from sk_mnist.export import export_onnx, load_onnx
    >>> X, y = load_digits(return_X_y=True)
    >>> X = np.round(X * 255 / 16).astype(np.uint8)  # grey levels 0-255
    >>> pipe = make_mnist_pipeline(hidden_layer_sizes=(16,), epochs=2,
    ...                            random_state=0).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     onnx_pipe = load_onnx(export_onnx(pipe, f"{tmp}/digits.onnx"))
    >>> proba = onnx_pipe.predict_proba(X)
    >>> bool(np.abs(proba - pipe.predict_proba(X)).max() < 1e-5)
    True
    """
    path = Path(os.path.abspath(os.fspath(path)))
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory; give the .onnx file to write")
    data = to_onnx(model).SerializeToString()
    with temporary_beside(path, suffix=".onnx") as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    return path
