"""The saved model's file format: its names, its JSON encoding, its error.

Tuples and dicts are stored as ``{"__tuple__": [...]}`` and
``{"__items__": [[key, value], ...]}`` so that ``hidden_layer_sizes`` and
integer-keyed ``class_weight`` come back as they were; NaN and infinity are
refused both ways.
"""

from numbers import Integral, Real

import numpy as np

from .._messages import one_line
from ..estimator import DenseMLPClassifier
from ..preprocessing import PixelScaler

FORMAT_NAME = "sk_mnist-model"
FORMAT_VERSION = 1
JSON_NAME = "sk_mnist.json"
KERAS_NAME = "model.keras"
CLASSES = {"PixelScaler": PixelScaler, "DenseMLPClassifier": DenseMLPClassifier}
REQUEST_METHODS = ("fit", "partial_fit", "score")


class ModelFileError(ValueError):
    """A saved model is missing a file, malformed, corrupted or unsafe.

    Raised by :func:`~sk_mnist.load_model` with a one-line message naming the
    file and the problem. The SHA-256 it checks detects corruption, not
    tampering: it is stored beside the file it covers, not signed. It is a
    ``ValueError``, so ``except ValueError`` catches it.

    Examples
    --------
    >>> import tempfile
    >>> from sk_mnist.persistence import ModelFileError, load_model
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     try:
    ...         load_model(tmp)  # an empty directory is not a model
    ...     except ModelFileError as err:
    ...         print("is this an sk_mnist model directory?" in str(err))
    True
    """


def fail(where, problem):
    """A :class:`ModelFileError` naming ``where``, ``problem`` on one line."""
    return ModelFileError(f"{where}: {one_line(problem)}")


def to_json(value, name):
    if value is None or isinstance(value, (bool, np.bool_)):
        return value if value is None else bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real) and np.isfinite(value):
        return float(value)
    if isinstance(value, list):
        return [to_json(v, name) for v in value]
    if isinstance(value, tuple):
        return {"__tuple__": [to_json(v, name) for v in value]}
    if isinstance(value, dict):
        return {
            "__items__": [
                [to_json(k, name), to_json(v, name)] for k, v in value.items()
            ]
        }
    raise ValueError(
        f"Cannot save parameter {name!r}: a {type(value).__name__} value cannot be "
        "stored as JSON; use str, finite numbers, bool, None or lists, tuples "
        "and dicts of those"
    )


def from_json(value):
    if isinstance(value, list):
        return [from_json(v) for v in value]
    if isinstance(value, dict):
        if value.keys() == {"__tuple__"} and isinstance(value["__tuple__"], list):
            return tuple(from_json(value["__tuple__"]))
        if value.keys() == {"__items__"} and isinstance(value["__items__"], list):
            return {from_json(k): from_json(v) for k, v in value["__items__"]}
        raise ValueError(f"unexpected JSON object with keys {sorted(value)}")
    return value


def refuse_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def finite(text):
    value = float(text)
    if not np.isfinite(value):
        raise ValueError(f"{text} is too large for a float")
    return value
