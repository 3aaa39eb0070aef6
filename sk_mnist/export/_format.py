"""The ONNX file format sk-mnist writes and reads: its names, ops and limits.

Shared by the writing side (:mod:`._writer`) and the reading side
(:mod:`._graph_check`, :mod:`._predictor`); it imports only the standard
library, so that serving an ONNX file needs neither ``onnx`` nor Keras.
"""

import importlib

FORMAT_NAME = "sk_mnist-onnx"
FORMAT_VERSION = 1
INPUT, LABEL, PROBABILITIES = "X", "label", "probabilities"
MAX_PIXEL = 255

#: The ops a loaded ONNX file may use, by domain: those :mod:`sk_mnist.export`
#: writes, those skl2onnx writes for our pipelines, and those onnxruntime's
#: int8 quantiser (``onnxruntime.quantization``) writes for MatMul and Gemm
#: (the ``com.microsoft`` ones, and the quantise / dequantise ops). Anything
#: else (ConstantOfShape, Expand, Tile, Loop, ...) is refused on load.
ALLOWED_OPS = {
    "": frozenset(
        {
            # sk-mnist's converters and skl2onnx
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
DEFAULT_MAX_WEIGHTS = 100_000_000


def require(module):
    """Import ``onnx`` or ``onnxruntime``, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"sk_mnist.export needs the {module} package ({err}); install it "
            'with: pip install "sk-mnist[onnx]"'
        ) from None
