"""OnnxClassifier and load_onnx: predictions of an exported model on onnxruntime.

The reading side of :mod:`sk_mnist.export`, apart from the writing side so
that serving an ONNX file imports only NumPy and onnxruntime.
"""

import json
import os
from pathlib import Path

import numpy as np

from .._messages import one_line
from ._format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    INPUT,
    LABEL,
    MAX_ONNX_BYTES,
    MAX_PIXEL,
    PROBABILITIES,
    require,
)
from ._graph_check import check_model_bytes

__all__ = ["OnnxClassifier", "load_onnx", "read_onnx_file"]

# Rows per onnxruntime call: bounds the memory of the hidden activations
# (2048 x 1024 floats stay in cache; measured a little faster than one call).
_CHUNK = 2048

# Python types of the JSON labels each classes dtype kind takes.
_LABEL_TYPES = {"b": (bool,), "i": (int,), "u": (int,), "f": (int, float)}
_MAX_CLASSES_BYTES = 64 * 2**20


def _metadata_classes(text, dtype):
    """``sk_mnist.classes`` (JSON: a flat list of unique labels of ``dtype``'s
    kind) as an array of ``dtype``, or a ValueError."""
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

    Made by :func:`load_onnx`. It predicts and checks its input as the
    exported pipeline does, without Keras or TensorFlow.

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


def read_onnx_file(path):
    """The bytes of the ONNX file ``path``, once :func:`load_onnx`'s checks pass.

    Raises what :func:`load_onnx` raises for the file, without onnxruntime.
    """
    path = Path(os.fspath(path))
    if path.is_dir():
        raise IsADirectoryError(
            f"{path}: is a directory, not an ONNX file (a model saved by "
            "save_model is read with sk_mnist.load_model)"
        )
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with open(path, "rb") as f:
        data = f.read(MAX_ONNX_BYTES + 1)
    if len(data) > MAX_ONNX_BYTES:
        raise ValueError(
            f"{path}: refused ONNX model: the file is over {MAX_ONNX_BYTES:,} bytes"
        )
    check_model_bytes(data, path)
    return data


def load_onnx(path, *, providers=None, session_options=None):
    """Read an ONNX file written by :func:`export_onnx`, for predictions.

    Only onnxruntime runs the model; nothing in the file runs as Python. The
    file is untrusted: its bytes are read once, checked (see Raises) and
    given to onnxruntime.

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
        One line naming the file, if it is not an ONNX model written by
        :func:`export_onnx`: external data, ops outside :data:`ALLOWED_OPS`,
        subgraphs, more than :data:`MAX_ONNX_NODES` nodes, too many weights,
        a file over :data:`MAX_ONNX_BYTES` or bad metadata.

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
    # Read once and check; onnxruntime gets the same bytes, never the path,
    # so the file cannot change between the check and the load.
    data = read_onnx_file(path)
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
            f"{path}: not a readable ONNX model ({one_line(err, 300)})"
        ) from None
    return OnnxClassifier(session, source=path)
