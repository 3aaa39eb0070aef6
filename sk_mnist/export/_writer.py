"""Writing the ONNX file: skl2onnx's graph, sk-mnist's metadata, checked, atomic.

The graph is ``skl2onnx.to_onnx``'s with sk-mnist's converters registered
(:mod:`._converters`), so ``export_onnx`` and ``skl2onnx.to_onnx`` write the
same graph for the same pipeline; what :func:`~sk_mnist.export.load_onnx`
would refuse is refused before a file is written.
"""

import contextlib
import json
import logging
import os
from pathlib import Path

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from .. import __version__
from .._files import temporary_beside
from ._converters import _ACTIVATIONS, _dense_layers
from ._format import FORMAT_NAME, FORMAT_VERSION, INPUT, require
from ._graph_check import check_model_bytes

__all__ = ["export_onnx", "to_onnx"]

#: Opset and IR version of the written files: ONNX 1.13 / onnxruntime 1.14
#: and later read them.
OPSET = 17
IR_VERSION = 8
# The ai.onnx.ml opset of skl2onnx's ops (Scaler, ...): ONNX 1.12 and later.
_ML_OPSET = 3
#: Activations :func:`to_onnx` can write: every one of
#: :data:`sk_mnist.model.ACTIVATIONS`, plus the output layer's softmax.
SUPPORTED_ACTIVATIONS = _ACTIVATIONS
#: The values ``export_onnx``'s ``quantize`` takes besides None.
QUANTIZATIONS = ("int8",)
#: The ``metadata_props`` key of a quantised file (value ``"int8"``); a
#: float32 file has no such key.
QUANTIZATION_KEY = "quantization"
# The ops onnxruntime's dynamic quantiser quantises (their weights to int8).
_QUANTIZED_OPS = ["MatMul", "Gemm"]


def _export_steps(model):
    """``(steps, classifier)`` of an exportable fitted model (no passthrough)."""
    from ..estimator import DenseMLPClassifier

    if isinstance(model, DenseMLPClassifier):
        steps = [("(the model)", model)]
    elif isinstance(model, Pipeline):
        steps = [(n, e) for n, e in model.steps if e is not None and e != "passthrough"]
    else:
        raise ValueError(
            f"Cannot export a {type(model).__name__}: export_onnx takes a fitted "
            "Pipeline whose last step is a DenseMLPClassifier (as "
            "make_mnist_pipeline makes) or a fitted DenseMLPClassifier."
        )
    if not steps or not isinstance(steps[-1][1], DenseMLPClassifier):
        raise ValueError(
            "Cannot export the pipeline: its last step must be a DenseMLPClassifier."
        )
    for name, est in steps:
        try:
            check_is_fitted(est)
        except NotFittedError:
            raise NotFittedError(
                f"Cannot export step {name!r} ({type(est).__name__}): it is not "
                "fitted yet; fit the model first."
            ) from None
    return steps, steps[-1][1]


def _n_features(steps):
    name, first = steps[0]
    n_features = getattr(first, "n_features_in_", None)
    if not isinstance(n_features, (int, np.integer)):
        raise ValueError(
            f"Cannot export step {name!r} ({type(first).__name__}): it records no "
            "number of input features (n_features_in_)."
        )
    return int(n_features)


def _metadata(steps, clf, n_features):
    import keras

    layers = _dense_layers(clf)
    widths = [clf.n_features_in_] + [kernel.shape[1] for _, kernel, _, _ in layers]
    network = "-".join(map(str, widths)) + f" {clf.activation}"
    return {
        "sk_mnist.format": FORMAT_NAME,
        "sk_mnist.format_version": str(FORMAT_VERSION),
        "sk_mnist.version": __version__,
        "sk_mnist.classes": json.dumps(np.asarray(clf.classes_).tolist()),
        "sk_mnist.classes_dtype": np.asarray(clf.classes_).dtype.str,
        "sk_mnist.input": "pixels" if _takes_pixels(steps) else "features",
        "sk_mnist.n_features": str(n_features),
        "sk_mnist.steps": json.dumps([[n, type(e).__name__] for n, e in steps]),
        "sk_mnist.network": network,
        "keras.backend": keras.backend.backend(),
        "keras.version": keras.__version__,
    }


def _takes_pixels(steps):
    """Whether the model's input is grey levels: its first step is a PixelScaler."""
    from ..preprocessing import PixelScaler

    return isinstance(steps[0][1], PixelScaler)


def _finish(onnx, onnx_model, metadata):
    """Name, metadata and checks of the written model, in place."""
    onnx_model.producer_name = "sk-mnist"
    onnx_model.producer_version = __version__
    onnx_model.doc_string = "sk-mnist classifier: X in, label and probabilities out."
    onnx_model.graph.name = "sk_mnist"
    onnx.helper.set_model_props(onnx_model, metadata)
    onnx.checker.check_model(onnx_model, full_check=True)
    data = onnx_model.SerializeToString()
    try:  # what load_onnx would refuse is refused here, before a file is written
        check_model_bytes(data, "Cannot export the model")
    except ValueError as err:
        raise ValueError(f"{err}; load_onnx would refuse the file.") from None
    return data


def to_onnx(model):
    """Return the ONNX model of a fitted pipeline or DenseMLPClassifier.

    What :func:`export_onnx` writes, in memory and checked.

    Parameters
    ----------
    model : Pipeline or DenseMLPClassifier
        As for :func:`export_onnx`.

    Returns
    -------
    onnx_model : onnx.ModelProto
        Input ``X`` (float32, ``(n, n_features)``); outputs ``label``
        (``(n,)``, int64 or strings: :class:`OnnxClassifier` gives them the
        dtype of ``classes_``) and ``probabilities`` (float32,
        ``(n, n_classes)``).

    Raises
    ------
    ValueError
        Naming the step (and its class) or layer that cannot be exported
        (``sk_mnist.export.OnnxConversionError`` for what skl2onnx
        cannot convert).
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
    require("skl2onnx")
    from skl2onnx.common.data_types import FloatTensorType

    from ._conversion import to_onnx_model

    steps, clf = _export_steps(model)
    n_features = _n_features(steps)
    onnx_model = to_onnx_model(
        model,
        None,
        initial_types=[(INPUT, FloatTensorType([None, n_features]))],
        options={"zipmap": False},
        target_opset={"": OPSET, "ai.onnx.ml": _ML_OPSET},
    )
    onnx_model.ir_version = IR_VERSION
    for value in [*onnx_model.graph.input, *onnx_model.graph.output]:
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    _finish(onnx, onnx_model, _metadata(steps, clf, n_features))
    return onnx_model


def _check_quantize(quantize):
    if quantize is not None and quantize not in QUANTIZATIONS:
        allowed = ", ".join(repr(q) for q in (None, *QUANTIZATIONS))
        raise ValueError(f"quantize must be one of {allowed}; got {quantize!r}.")


@contextlib.contextmanager
def _without_preprocessing_advice():
    """Drop the quantiser's ``logging.warning`` that advises pre-processing;
    other warnings still show."""
    root = logging.getLogger()

    def keep(record):
        return "consider to run pre-processing" not in str(record.msg)

    handler = None if root.handlers else logging.StreamHandler()
    if handler is not None:
        root.addHandler(handler)
    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)
        if handler is not None:
            root.removeHandler(handler)


def _quantize_int8(onnx, onnx_model, tmp):
    """The serialized int8 model of ``onnx_model`` (MatMul and Gemm weights),
    with its metadata and ``quantization: int8``."""
    require("onnxruntime")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _without_preprocessing_advice():
        # A ModelProto, not a path: the quantiser then works in a temporary
        # folder of its own, which it removes, not beside the file.
        quantize_dynamic(
            onnx_model,
            tmp,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=_QUANTIZED_OPS,
            # skl2onnx leaves some intermediate types to infer.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    quantized = onnx.load(os.fspath(tmp))
    metadata = {p.key: p.value for p in onnx_model.metadata_props}
    metadata[QUANTIZATION_KEY] = "int8"
    return _finish(onnx, quantized, metadata)


def export_onnx(model, path, *, quantize=None):
    """Write a fitted pipeline or DenseMLPClassifier to one ONNX file.

    The file computes what ``model.predict`` and ``model.predict_proba``
    compute, every step included, and runs on any ONNX runtime without
    Python, Keras or sk-mnist (see :func:`load_onnx` for a predictor over
    onnxruntime).

    Input ``X`` is float32 ``(n, n_features)`` (grey levels 0-255 after a
    PixelScaler; the model does not check the range); outputs are ``label``
    ``(n,)`` and float32 ``probabilities`` ``(n, n_classes)``. The metadata
    records the version, ``classes_``, the steps and the backend;
    :doc:`/export` has the details.

    Parameters
    ----------
    model : Pipeline or DenseMLPClassifier
        A fitted Pipeline whose last step is a DenseMLPClassifier and whose
        other steps skl2onnx converts (a :func:`~sk_mnist.make_mnist_pipeline`,
        ``StandardScaler``, ``PCA``, ...), or a fitted bare
        DenseMLPClassifier.
    path : str or os.PathLike
        The file to write (``.onnx`` by convention), atomically: a failed
        export leaves an earlier file as it was. Missing folders are made.
    quantize : {None, "int8"}, default=None
        None writes float32 weights. ``"int8"`` quantises the ``MatMul`` and
        ``Gemm`` weights with onnxruntime's dynamic quantiser: a quarter of
        the size, nearly always the same labels (:doc:`/deploying`). Needs
        onnxruntime.

    Returns
    -------
    path : pathlib.Path
        The absolute path of the written file.

    Raises
    ------
    ValueError
        Naming the step (and its class) or layer that cannot be exported
        (a step skl2onnx has no converter for, an unsupported activation),
        or a bad ``quantize``.
    sklearn.exceptions.NotFittedError
        Naming the step that is not fitted (it is a ``ValueError`` too).
    IsADirectoryError
        If ``path`` is a directory.

    See Also
    --------
    load_onnx : Read the file back as a predictor over onnxruntime.
    to_onnx : The float32 ONNX model in memory.

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
    ...     int8_pipe = load_onnx(export_onnx(pipe, f"{tmp}/digits.int8.onnx",
    ...                                       quantize="int8"))
    >>> proba = onnx_pipe.predict_proba(X)
    >>> bool(np.abs(proba - pipe.predict_proba(X)).max() < 1e-5)
    True
    >>> int8_pipe.metadata_["quantization"]
    'int8'
    """
    _check_quantize(quantize)
    path = Path(os.path.abspath(os.fspath(path)))
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory; give the .onnx file to write")
    onnx_model = to_onnx(model)
    with temporary_beside(path, suffix=".onnx") as tmp:
        if quantize == "int8":
            data = _quantize_int8(require("onnx"), onnx_model, tmp)
        else:
            data = onnx_model.SerializeToString()
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    return path
