"""Writing a model folder: the JSON description, the Keras file, atomically."""

import json
import os
import warnings
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version
from pathlib import Path

import keras
import numpy as np
import sklearn
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from .. import __version__
from .._files import file_sha256, staged_folder
from ..estimator import DenseMLPClassifier
from ._format import (
    CLASSES,
    FORMAT_NAME,
    FORMAT_VERSION,
    JSON_NAME,
    KERAS_NAME,
    REQUEST_METHODS,
    to_json,
)

__all__ = ["save_model"]


def _fsync(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # directories cannot be opened on Windows
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _describe_step(name, est, notes):
    if CLASSES.get(type(est).__name__) is not type(est):
        raise ValueError(
            f"Cannot save step {name!r}: only {' and '.join(CLASSES)} can be saved, "
            f"got {type(est).__module__}.{type(est).__qualname__}"
        )
    check_is_fitted(est, msg=f"Cannot save step {name!r}: %(name)s is not fitted.")
    params = {}
    for key, value in est.get_params(deep=False).items():
        if key == "random_state" and isinstance(value, np.random.RandomState):
            notes.append(f"{name}: random_state RandomState instance saved as None")
            warnings.warn(notes[-1] + " (only affects refitting)", stacklevel=3)
            value = None
        params[key] = to_json(value, f"{name}__{key}")
    try:
        fitted = est.get_fitted_state()
    except ValueError as err:
        raise ValueError(f"Cannot save step {name!r}: {err}") from None
    routing = est.get_metadata_routing()
    requests = {}
    for method in REQUEST_METHODS:
        explicit = {
            k: v
            for k, v in getattr(routing, method).requests.items()
            if isinstance(v, bool) or (isinstance(v, str) and not v.startswith("$"))
        }
        if explicit:
            requests[method] = explicit
    step = {"name": name, "class": type(est).__name__, "params": params}
    return {**step, "metadata_request": requests, "fitted": fitted}


def _check_target(path):
    if os.path.islink(path) or (os.path.lexists(path) and not path.is_dir()):
        raise FileExistsError(f"{path}: not a directory; refusing to overwrite it")
    entries = set(os.listdir(path)) if path.is_dir() else set()
    if entries and (JSON_NAME not in entries or entries - {JSON_NAME, KERAS_NAME}):
        raise FileExistsError(
            f"{path}: is a directory that is not an sk_mnist model (it holds "
            f"{sorted(entries)[:5]}); refusing to overwrite it"
        )


def save_model(estimator, path):
    """Save a fitted pipeline or DenseMLPClassifier to the directory ``path``.

    Parameters
    ----------
    estimator : Pipeline or DenseMLPClassifier
        A fitted :func:`~sk_mnist.make_mnist_pipeline` (any Pipeline of
        PixelScaler and DenseMLPClassifier steps ending in the classifier) or
        a fitted bare DenseMLPClassifier.
    path : str or os.PathLike
        Directory to create. An existing sk_mnist model there is replaced
        atomically; any other existing file or non-empty directory is refused.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If a step is not fitted.
    ValueError
        For unsupported steps or parameters JSON cannot hold (callbacks).
    FileExistsError
        If ``path`` is a file or a directory that is not an sk_mnist model.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sk_mnist import make_mnist_pipeline
    >>> from sk_mnist.persistence import load_model, save_model
    >>> X, y = load_digits(return_X_y=True)
    >>> X = np.round(X * 255 / 16).astype(np.uint8)
    >>> pipe = make_mnist_pipeline(hidden_layer_sizes=(16,), epochs=2,
    ...                            batch_size=64, random_state=0).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     save_model(pipe, f"{tmp}/digits")
    ...     loaded = load_model(f"{tmp}/digits")
    >>> np.array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    True
    """
    path = Path(os.path.abspath(os.fspath(path)))
    if isinstance(estimator, Pipeline):
        kind, steps = "pipeline", list(estimator.steps)
    elif type(estimator) is DenseMLPClassifier:
        kind, steps = "classifier", [("mlp", estimator)]
    else:
        raise TypeError(f"Cannot save a {type(estimator).__name__}: not a Pipeline")
    if not steps or type(steps[-1][1]) is not DenseMLPClassifier:
        raise ValueError("Cannot save: the last step must be a DenseMLPClassifier")
    notes = []
    doc = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "versions": _library_versions(),
        "keras_backend": keras.backend.backend(),
        "steps": [_describe_step(name, est, notes) for name, est in steps],
    }
    if kind == "pipeline":
        params = estimator.get_params(deep=False)
        # A cache folder is not part of the model, and joblib would unpickle
        # what it finds there on a refit of the loaded pipeline.
        params["memory"] = None
        doc["pipeline_params"] = {
            k: to_json(v, k) for k, v in params.items() if k != "steps"
        }
    doc["notes"] = notes
    _check_target(path)
    # Nothing of a failed save stays: neither the staging folder nor the
    # parent folders made for it.
    with staged_folder(path) as new:
        steps[-1][1].model_.save(new / KERAS_NAME)
        _fsync(new / KERAS_NAME)
        doc["model_file"] = KERAS_NAME
        doc["model_sha256"] = file_sha256(new / KERAS_NAME)
        with open(new / JSON_NAME, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1, allow_nan=False)
            f.flush()
            os.fsync(f.fileno())
        _fsync(new)
    _fsync(path.parent)


def _library_versions():
    """The versions a saved model records: sk_mnist, Keras, sklearn, scikeras, NumPy.

    Examples
    --------
    >>> from sk_mnist.persistence import _library_versions
    >>> sorted(_library_versions())
    ['keras', 'numpy', 'scikeras', 'sk_mnist', 'sklearn']
    """
    return {
        "sk_mnist": __version__,
        "keras": keras.__version__,
        "sklearn": sklearn.__version__,
        "scikeras": _version_of("scikeras"),
        "numpy": np.__version__,
    }


def _version_of(dist):
    try:
        return _dist_version(dist)
    except PackageNotFoundError:  # pragma: no cover
        return None
