"""ONNX export of a fitted pipeline, and inference on the file with onnxruntime.

:func:`export_onnx` writes one ONNX file for a whole fitted pipeline that
ends in a :class:`~sk_mnist.DenseMLPClassifier` (a
:func:`~sk_mnist.make_mnist_pipeline`, a bare classifier, or any pipeline
whose other steps skl2onnx converts): features in, labels and probabilities
out. :func:`load_onnx` reads it back as an :class:`OnnxClassifier`, which
runs on onnxruntime alone: neither Keras nor TensorFlow is imported, and
nothing in the file runs as Python. The graph, the metadata, the checks on
load and the int8 option are described in :doc:`/export`.

``onnx``, ``skl2onnx`` and ``onnxruntime`` come with the ``[onnx]`` extra
(``pip install "sk-mnist[onnx]"``); exporting needs ``onnx`` and
``skl2onnx`` (and onnxruntime to quantise), loading needs onnxruntime only.
"""

# The names public before the split (file format, limits, options) stay here.
from ._converters import OnnxConversionError, register_converters  # noqa: F401
from ._format import (
    ALLOWED_OPS,  # noqa: F401
    FORMAT_NAME,  # noqa: F401
    FORMAT_VERSION,  # noqa: F401
    INPUT,  # noqa: F401
    LABEL,  # noqa: F401
    MAX_METADATA_BYTES,  # noqa: F401
    MAX_ONNX_BYTES,  # noqa: F401
    MAX_ONNX_NODES,  # noqa: F401
    MAX_ONNX_ROW_ELEMENTS,  # noqa: F401
    MAX_PIXEL,  # noqa: F401
    PROBABILITIES,  # noqa: F401
    require,  # noqa: F401
)
from ._predictor import OnnxClassifier, load_onnx, read_onnx_file  # noqa: F401
from ._writer import (
    IR_VERSION,  # noqa: F401
    OPSET,  # noqa: F401
    QUANTIZATION_KEY,  # noqa: F401
    QUANTIZATIONS,  # noqa: F401
    SUPPORTED_ACTIVATIONS,  # noqa: F401
    export_onnx,
    to_onnx,
)

__all__ = ["OnnxClassifier", "export_onnx", "load_onnx", "to_onnx"]
