"""skl2onnx converters for sk-mnist's estimators.

:func:`register_converters` teaches skl2onnx the graph of
:class:`~sk_mnist.PixelScaler` and :class:`~sk_mnist.DenseMLPClassifier`, so
that ``skl2onnx.to_onnx(pipeline, X[:1])`` converts any pipeline of
skl2onnx-supported steps and ours, labels and probabilities included. It
also makes skl2onnx refuse :class:`~sk_mnist.DigitNormalizer` in one line
(it has no graph form).

The classifier's graph is written from the network's weights
(``layer.get_weights()``, NumPy arrays on every Keras backend):
``X -> [Gemm -> activation] * k -> Gemm -> Softmax -> probabilities`` and
``probabilities -> ArgMax -> Gather(classes) -> label``. Dropout is the
identity at inference and L2 acts in training only, so neither appears.
skl2onnx is an optional extra: it is imported when a function here is
called, never when this module is imported.
"""

import numpy as np

__all__ = ["OP_TYPES", "OnnxConversionError", "register_converters"]

# Keras' constants (keras.activations.selu, leaky_relu's default slope).
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_LEAKY_RELU_SLOPE = 0.2
_MAX_PIXEL = 255
# One ONNX op each; silu/swish and gelu are written as formulas.
_SIMPLE_OPS = {
    "relu": ("Relu", {}),
    "tanh": ("Tanh", {}),
    "sigmoid": ("Sigmoid", {}),
    "softplus": ("Softplus", {}),
    "elu": ("Elu", {"alpha": 1.0}),
    "selu": ("Selu", {"alpha": _SELU_ALPHA, "gamma": _SELU_SCALE}),
    "leaky_relu": ("LeakyRelu", {"alpha": _LEAKY_RELU_SLOPE}),
    "softmax": ("Softmax", {"axis": 1}),
}
_ACTIVATIONS = frozenset(_SIMPLE_OPS) | {"linear", "gelu", "silu", "swish"}

#: The ONNX op types (all in the default ``ai.onnx`` domain) that the
#: converters of this module write; skl2onnx adds its own for other steps
#: and for the ``zipmap`` option (``ZipMap``, in ``ai.onnx.ml``).
OP_TYPES = frozenset(
    {"Cast", "Div", "Gemm", "MatMul", "Softmax", "ArgMax", "Gather"}
    | {op for op, _ in _SIMPLE_OPS.values()}
    | {"Mul", "Add", "Erf"}
)

_ALIASES = {
    "PixelScaler": "SkMnistPixelScaler",
    "DenseMLPClassifier": "SkMnistDenseMLPClassifier",
    "DigitNormalizer": "SkMnistDigitNormalizer",
}
_NO_GRAPH = {
    "DigitNormalizer": "it resizes, centres and thresholds whole images, which no "
    "ONNX graph expresses; apply it before the converted model (as "
    "sk_mnist.load_images does) and convert the rest of the pipeline"
}
_registered = False


class OnnxConversionError(ValueError):
    """A fitted model, or one of its steps, that cannot be converted to ONNX.

    Attributes
    ----------
    estimator : object or None
        The step that cannot be converted, when known.
    reason : str or None
        Why, in a few words, when known.
    """

    def __init__(self, message, estimator=None, reason=None):
        super().__init__(message)
        self.estimator, self.reason = estimator, reason


def _refusal(estimator, reason, where=None):
    """The one-line OnnxConversionError for ``estimator`` (at step ``where``)."""
    name = type(estimator).__name__
    what = name if where is None else f"{where} ({name})"
    return OnnxConversionError(
        f"Cannot convert {what} to ONNX: {reason}.", estimator=estimator, reason=reason
    )


# ----------------------------------------------------------- registration
def register_converters():
    """Register sk-mnist's converters with skl2onnx (idempotent).

    After this call ``skl2onnx.to_onnx`` converts pipelines holding
    :class:`~sk_mnist.PixelScaler` and :class:`~sk_mnist.DenseMLPClassifier`
    steps; the classifier takes skl2onnx's classifier options ``zipmap``
    (``True``, ``False``, ``"columns"``) and ``nocl``. A
    :class:`~sk_mnist.DigitNormalizer` step raises
    :class:`OnnxConversionError` saying why it has no graph.

    Raises
    ------
    ImportError
        If skl2onnx is not installed (``pip install "sk-mnist[onnx]"``).

    Examples
    --------
    >>> import skl2onnx
    >>> from sklearn.datasets import load_digits
    >>> from sk_mnist import make_mnist_pipeline
    >>> from sk_mnist.export._converters import register_converters
    >>> register_converters()
    >>> X, y = load_digits(return_X_y=True)
    >>> pipe = make_mnist_pipeline(hidden_layer_sizes=(8,), epochs=1,
    ...                            random_state=0).fit(X * 15, y)
    >>> onx = skl2onnx.to_onnx(pipe, X[:1] * 15, options={"zipmap": False})
    >>> [node.op_type for node in onx.graph.node]
    ['Cast', 'Div', 'Gemm', 'Relu', 'Gemm', 'Softmax', 'ArgMax', 'Gather']
    """
    global _registered
    if _registered:
        return
    from skl2onnx import update_registered_converter

    from ..estimator import DenseMLPClassifier
    from ..images import DigitNormalizer
    from ..preprocessing import PixelScaler

    update_registered_converter(
        PixelScaler,
        _ALIASES["PixelScaler"],
        _pixel_scaler_shape,
        _convert_pixel_scaler,
    )
    update_registered_converter(
        DenseMLPClassifier,
        _ALIASES["DenseMLPClassifier"],
        _classifier_shape,
        _convert_classifier,
        options={"zipmap": [True, False, "columns"], "nocl": [True, False]},
        parser=_parse_classifier,
    )
    update_registered_converter(
        DigitNormalizer,
        _ALIASES["DigitNormalizer"],
        _refuse_shape,
        _refuse_convert,
        parser=_refuse_parser,
    )
    _registered = True


def _refuse_parser(scope, model, inputs, custom_parsers=None):
    raise _refusal(model, _NO_GRAPH[type(model).__name__])


def _refuse_shape(operator):
    _refuse_parser(None, operator.raw_operator, operator.inputs)


def _refuse_convert(scope, operator, container):
    _refuse_shape(operator)


# ------------------------------------------------------------ PixelScaler
def _pixel_scaler_shape(operator):
    from skl2onnx.common.data_types import FloatTensorType

    _check_numeric_input(operator, n_outputs=1)
    _check_fitted(operator.raw_operator)
    n = operator.inputs[0].get_first_dimension()
    # transform returns float32 whatever the input's dtype.
    width = operator.raw_operator.n_features_in_
    operator.outputs[0].type = FloatTensorType([n, width])


def _convert_pixel_scaler(scope, operator, container):
    from onnx import TensorProto

    x = _as_dtype(scope, operator, container, TensorProto.FLOAT)
    scale = scope.get_unique_variable_name("max_pixel")
    container.add_initializer(scale, TensorProto.FLOAT, [], [float(_MAX_PIXEL)])
    # Div, not Mul by 1/255: the very float32 division transform does.
    container.add_node(
        "Div",
        [x, scale],
        operator.outputs[0].full_name,
        name=scope.get_unique_operator_name("PixelScaler"),
    )


# ------------------------------------------------------ DenseMLPClassifier
def _parse_classifier(scope, model, inputs, custom_parsers=None):
    """skl2onnx's classifier parser, with two fixes of its own behaviour."""
    from skl2onnx._parse import _parse_sklearn_classifier
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    # Its own parser reads classes_ first ("No known ways to retrieve ...").
    _check_fitted(model)
    # ZipMap takes float probabilities only, so a double input would give
    # an invalid graph (as it does for skl2onnx's MLPClassifier): compute in
    # float32 then, which is the precision Keras computes in anyway.
    zipmap = scope.get_options(model, {"zipmap": True})["zipmap"]
    if zipmap is not False and isinstance(inputs[0].type, DoubleTensorType):
        cast = scope.declare_local_operator("SklearnCast")
        cast.inputs = inputs
        as_float = scope.declare_local_variable("as_float", FloatTensorType())
        cast.outputs.append(as_float)
        inputs = [as_float]
    return _parse_sklearn_classifier(scope, model, inputs, custom_parsers)


def _classifier_shape(operator):
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )

    _check_numeric_input(operator, n_outputs=2)
    clf = operator.raw_operator
    _check_fitted(clf)
    n = operator.inputs[0].get_first_dimension()
    classes = _label_classes(operator.scope_inst, clf)
    label_type = StringTensorType if classes.dtype == object else Int64TensorType
    operator.outputs[0].type = label_type([n])
    # As skl2onnx's own classifiers: double in, double out; float otherwise.
    double = isinstance(operator.inputs[0].type, DoubleTensorType)
    proba_type = DoubleTensorType if double else FloatTensorType
    operator.outputs[1].type = proba_type([n, len(classes)])


def _convert_classifier(scope, operator, container):
    from onnx import TensorProto
    from skl2onnx.common.data_types import DoubleTensorType

    clf = operator.raw_operator
    double = isinstance(operator.inputs[0].type, DoubleTensorType)
    proto, dtype = (
        (TensorProto.DOUBLE, np.float64) if double else (TensorProto.FLOAT, np.float32)
    )
    label, probabilities = (v.full_name for v in operator.outputs)

    def constant(stem, array, onnx_type=proto):
        name = scope.get_unique_variable_name(stem)
        container.add_initializer(name, onnx_type, list(array.shape), array.ravel())
        return name

    def node(op, inputs, stem, output=None, **attributes):
        output = output or scope.get_unique_variable_name(stem)
        container.add_node(
            op, inputs, output, name=scope.get_unique_operator_name(op), **attributes
        )
        return output

    x = _as_dtype(scope, operator, container, proto)
    layers = _dense_layers(clf)
    for i, (name, kernel, bias, activation) in enumerate(layers):
        weights = [x, constant(f"{name}_kernel", kernel.astype(dtype))]
        if bias is None:
            x = node("MatMul", weights, f"{name}_matmul")
        else:
            weights.append(constant(f"{name}_bias", bias.astype(dtype)))
            x = node("Gemm", weights, f"{name}_gemm")
        # The output layer's softmax writes the probabilities output itself.
        output = probabilities if i == len(layers) - 1 else None
        x = _activation(node, constant, dtype, activation, x, name, output)

    index = node("ArgMax", [probabilities], "class_index", axis=1, keepdims=0)
    classes = _label_classes(scope, clf)
    if classes.dtype == object:
        table = constant("classes", classes, TensorProto.STRING)
    else:
        table = constant("classes", classes, TensorProto.INT64)
    node("Gather", [table, index], "label", output=label, axis=0)


def _activation(node, constant, dtype, activation, x, prefix, output=None):
    """Write ``activation(x)`` (to ``output`` if given); return its name."""
    if activation == "linear":
        return x
    if activation in _SIMPLE_OPS:
        op, attributes = _SIMPLE_OPS[activation]
        return node(op, [x], f"{prefix}_{activation}", output, **attributes)

    def scalar(value):
        return constant(f"{prefix}_{activation}_const", np.array(value, dtype))

    if activation in ("silu", "swish"):  # x * sigmoid(x)
        sigmoid = node("Sigmoid", [x], f"{prefix}_sigmoid")
        return node("Mul", [x, sigmoid], f"{prefix}_silu", output)
    # gelu, Keras' default exact form: x * (1 + erf(x / sqrt(2))) / 2
    scaled = node("Mul", [x, scalar(2**-0.5)], f"{prefix}_gelu_scaled")
    erf = node("Erf", [scaled], f"{prefix}_gelu_erf")
    one_plus = node("Add", [erf, scalar(1.0)], f"{prefix}_gelu_add")
    times_x = node("Mul", [x, one_plus], f"{prefix}_gelu_mul")
    return node("Mul", [times_x, scalar(0.5)], f"{prefix}_gelu", output)


def _dense_layers(clf):
    """``[(name, kernel, bias or None, activation)]`` of ``clf.model_``.

    Raises OnnxConversionError for any layer other than Dense, Dropout and
    the input, for a network that is not a single chain of them, and for a
    last layer that is not a softmax.
    """
    import keras

    network, n_features = clf.model_, clf.n_features_in_

    def refuse(problem):
        raise _refusal(clf, problem)

    if len(network.inputs) != 1 or len(network.outputs) != 1:
        refuse("its network must have one input and one output")
    # By identity, not by name: a custom function may share a built-in's name.
    known = {keras.activations.get(name): name for name in _ACTIVATIONS}
    layers, previous, width = [], network.inputs[0], n_features
    for layer in network.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        where = f"layer {layer.name!r} ({type(layer).__name__})"
        if not isinstance(layer, (keras.layers.Dense, keras.layers.Dropout)):
            refuse(f"{where} has no ONNX mapping")
        if layer.input is not previous:
            refuse(f"its network is not a chain at {where}")
        previous = layer.output
        if isinstance(layer, keras.layers.Dropout):
            continue  # the identity at inference
        weights = [np.asarray(w, dtype=np.float32) for w in layer.get_weights()]
        expected = [(width, layer.units)] + [(layer.units,)] * bool(layer.use_bias)
        if [w.shape for w in weights] != expected:
            refuse(f"{where} has unexpected weight shapes")
        activation = known.get(layer.activation)
        if activation is None:
            name = getattr(layer.activation, "__name__", layer.activation)
            refuse(
                f"{where} has activation {name!r}, which has no ONNX mapping "
                f"(supported: {', '.join(sorted(_ACTIVATIONS))})"
            )
        bias = weights[1] if len(weights) == 2 else None
        layers.append((layer.name, weights[0], bias, activation))
        width = weights[0].shape[1]
    if previous is not network.outputs[0]:
        refuse("its network's output is not its last layer")
    if not layers or layers[-1][3] != "softmax":
        refuse("the last layer of its network must be a softmax Dense layer")
    return layers


def _label_classes(scope, clf):
    """``classes_`` as skl2onnx writes labels: int64, or strings (object).

    skl2onnx's ``nocl`` option gives the class indices instead. Float labels
    become int64, as skl2onnx does, when they are whole numbers.
    """
    from skl2onnx.common.utils_classifier import get_label_classes

    classes = np.asarray(get_label_classes(scope, clf))
    if classes.dtype.kind in "biu":
        return classes.astype(np.int64)
    if classes.dtype.kind == "f" and np.all(np.isfinite(classes)):
        if np.array_equal(classes, np.round(classes)):
            return classes.astype(np.int64)
    elif classes.dtype.kind in "UO" and all(isinstance(c, str) for c in classes):
        return np.array([str(c) for c in classes], dtype=object)
    raise _refusal(
        clf,
        f"its class labels {classes.tolist()!r} are neither integers nor strings, "
        "the only labels skl2onnx writes",
    )


# ------------------------------------------------------------------ shared
def _as_dtype(scope, operator, container, proto):
    """Name of the operator's input, cast to ``proto`` when it is another type."""
    from skl2onnx.common.data_types import guess_proto_type

    x = operator.inputs[0].full_name
    if guess_proto_type(operator.inputs[0].type) == proto:
        return x
    cast = scope.get_unique_variable_name(f"{x}_cast")
    container.add_node(
        "Cast", [x], cast, name=scope.get_unique_operator_name("Cast"), to=proto
    )
    return cast


def _check_numeric_input(operator, n_outputs):
    from skl2onnx.common import data_types
    from skl2onnx.common.utils import (
        check_input_and_output_numbers,
        check_input_and_output_types,
    )

    check_input_and_output_numbers(
        operator, input_count_range=1, output_count_range=n_outputs
    )
    numeric = ["Float", "Double", "Int64", "Int32", "UInt8", "Int8", "Boolean"]
    check_input_and_output_types(
        operator,
        good_input_types=[getattr(data_types, f"{t}TensorType") for t in numeric],
    )


def _check_fitted(estimator):
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(estimator)
    except NotFittedError:
        raise NotFittedError(
            f"Cannot convert {type(estimator).__name__} to ONNX: it is not fitted "
            "yet; fit the model first."
        ) from None
