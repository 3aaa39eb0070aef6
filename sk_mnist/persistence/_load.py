"""Reading a model folder without unpickling: JSON, checked, then the network."""

import errno
import json
import os
from pathlib import Path

import sklearn
from sklearn.pipeline import Pipeline

from .. import __version__
from .._files import file_sha256
from ..estimator import DenseMLPClassifier
from ..preprocessing import PixelScaler
from ._format import (
    CLASSES,
    FORMAT_NAME,
    FORMAT_VERSION,
    JSON_NAME,
    KERAS_NAME,
    REQUEST_METHODS,
    fail,
    finite,
    from_json,
    refuse_constant,
)
from ._keras_archive import load_keras_network

__all__ = ["load_model"]


def _limits():
    """The package's limits as they are now: a user may raise them."""
    from . import MAX_COMPRESSION_RATIO, MAX_JSON_BYTES, MAX_MODEL_WEIGHTS

    return MAX_MODEL_WEIGHTS, MAX_JSON_BYTES, MAX_COMPRESSION_RATIO


def _build_step(desc):
    name, cls_name = desc["name"], desc["class"]
    cls = CLASSES.get(cls_name) if isinstance(cls_name, str) else None
    if not isinstance(name, str) or cls is None:
        raise ValueError(f"unknown step class {cls_name!r} (known: {list(CLASSES)})")
    params = {k: from_json(v) for k, v in desc["params"].items()}
    routes = getattr(cls, "_routing_prefixes", ())
    routed = tuple(f"{route}__" for route in sorted(routes))
    allowed = cls().get_params(deep=False)
    unknown = [
        k for k in params if k not in allowed and not (routed and k.startswith(routed))
    ]
    if unknown:
        raise ValueError(f"unknown parameters {unknown} for {cls_name}")
    est = cls(**params)
    try:
        est._validate_params()  # sklearn's hook, as fit would call it
    except ValueError as err:  # sklearn's InvalidParameterError included
        raise ValueError(f"step {name!r}: {err}") from None
    est.set_fitted_state(desc["fitted"])
    for method, requests in desc.get("metadata_request", {}).items():
        if method not in REQUEST_METHODS or not all(
            isinstance(v, (bool, str)) for v in requests.values()
        ):
            raise ValueError(f"invalid metadata request for {method!r}")
        with sklearn.config_context(enable_metadata_routing=True):
            getattr(est, f"set_{method}_request")(**requests)
    return name, est


def _check_structure(steps):
    """Raise ValueError unless ``steps`` are PixelScalers then the classifier.

    Each step's ``n_features_in_`` must equal the previous one's (PixelScaler
    keeps the number of features), so that a loaded model predicts or fails
    on its input, not inside the pipeline.
    """
    *transformers, (last_name, last) = steps
    if type(last) is not DenseMLPClassifier:
        raise ValueError(
            f"the last step {last_name!r} must be a DenseMLPClassifier, "
            f"got {type(last).__name__}"
        )
    for name, est in transformers:
        if type(est) is not PixelScaler:
            raise ValueError(
                f"step {name!r} must be a PixelScaler: only the last step can be "
                f"the classifier, got {type(est).__name__}"
            )
    for (prev, before), (name, est) in zip(steps[:-1], steps[1:], strict=True):
        if est.n_features_in_ != before.n_features_in_:
            raise ValueError(
                f"step {name!r} has n_features_in_={est.n_features_in_} but step "
                f"{prev!r} before it has {before.n_features_in_}"
            )


def load_model(path):
    """Load a model saved by :func:`save_model` without unpickling anything.

    Parameters
    ----------
    path : str or os.PathLike
        Directory written by :func:`save_model`.

    Returns
    -------
    estimator : Pipeline or DenseMLPClassifier
        The fitted object of the kind that was saved, ready to ``predict``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ModelFileError
        (a ``ValueError``) with a one-line message naming the file and the
        problem: not a model directory, missing file, bad JSON, unknown format
        or newer format version, unknown class or parameter, invalid
        parameter value (as ``fit`` would refuse it, or NaN), steps that do
        not fit together, checksum mismatch, a ``model.keras`` that is not a
        zip file or holds other entries, layers or more weights than
        ``MAX_MODEL_WEIGHTS`` (checked before Keras reads it), a network the
        JSON does not describe, or Keras refusing the network (for example a
        ``Lambda`` layer with Python code).

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sk_mnist import DenseMLPClassifier
    >>> from sk_mnist.persistence import load_model, save_model
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DenseMLPClassifier(hidden_layer_sizes=(16,), epochs=2,
    ...                          batch_size=64, random_state=0).fit(X / 16, y)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     save_model(clf, tmp + "/clf")
    ...     loaded = load_model(tmp + "/clf")
    >>> type(loaded).__name__, loaded.n_iter_
    ('DenseMLPClassifier', 2)
    >>> bool((loaded.predict(X / 16) == clf.predict(X / 16)).all())
    True
    """
    json_path, keras_path = _model_files(Path(os.fspath(path)))
    doc = _read_description(json_path)
    try:
        result, steps = _build_estimator(doc)
    except KeyError as err:
        raise fail(
            json_path, f"invalid model description: missing entry {err}"
        ) from None
    except (TypeError, ValueError, AttributeError) as err:
        raise fail(json_path, f"invalid model description: {err}") from None
    except RecursionError:
        raise fail(json_path, "invalid model description: nested too deeply") from None
    expected, actual = doc["model_sha256"], file_sha256(keras_path)
    if actual != expected:
        msg = f"SHA-256 {actual[:12]}... is not {expected[:12]}... from {JSON_NAME}"
        raise fail(keras_path, f"{msg}: the file was modified or truncated")
    (name, clf), fitted = steps[-1], doc["steps"][-1]["fitted"]
    versions = doc.get("versions")
    max_weights, max_json_bytes, max_ratio = _limits()
    try:
        network = load_keras_network(
            keras_path,
            saved_with=versions.get("keras") if isinstance(versions, dict) else None,
            n_features=clf.n_features_in_,
            n_classes=clf.n_classes_,
            max_weights=max_weights,
            max_json_bytes=max_json_bytes,
            max_ratio=max_ratio,
        )
    except ValueError as err:
        raise fail(keras_path, err) from None
    try:
        clf.set_fitted_state(fitted, model=network)
    except ValueError as err:
        raise fail(json_path, f"step {name!r}: {err}") from None
    return result


def read_model_description(path):
    """The checked description (``sk_mnist.json``) of the model folder ``path``.

    Raises what :func:`load_model` raises for a missing folder or a bad
    description, without reading the network.
    """
    return _read_description(_model_files(path)[0])


def _model_files(path):
    """The JSON and Keras files of the model directory ``path``, both present."""
    if not os.path.lexists(path):
        raise FileNotFoundError(
            errno.ENOENT, "No such sk_mnist model directory", str(path)
        )
    if not path.is_dir():
        raise fail(path, "not a directory, so not an sk_mnist model")
    json_path, keras_path = path / JSON_NAME, path / KERAS_NAME
    for file in (json_path, keras_path):
        if not file.is_file():
            raise fail(file, "missing; is this an sk_mnist model directory?")
    return json_path, keras_path


def _read_description(json_path):
    """``sk_mnist.json`` parsed, bounded, of a known format and version."""
    size, max_json_bytes = json_path.stat().st_size, _limits()[1]
    if size > max_json_bytes:
        msg = f"{size:,} bytes, more than MAX_JSON_BYTES ({max_json_bytes:,})"
        raise fail(json_path, f"{msg}; a model description is far smaller")
    try:
        with open(json_path, encoding="utf-8") as f:
            doc = json.load(f, parse_constant=refuse_constant, parse_float=finite)
    except ValueError as err:
        raise fail(json_path, f"not valid JSON ({err})") from None
    except RecursionError:
        raise fail(json_path, "not valid JSON: nested too deeply") from None
    fmt = doc.get("format") if isinstance(doc, dict) else None
    if fmt != FORMAT_NAME:
        raise fail(json_path, f"format {fmt!r} is not {FORMAT_NAME!r}")
    version = doc.get("format_version")
    if type(version) is not int or version < 1:
        raise fail(json_path, f"invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        msg = f"format version {version} is newer than {FORMAT_VERSION}; upgrade"
        raise fail(json_path, f"{msg} sk_mnist (this is {__version__})")
    return doc


def _build_estimator(doc):
    """The unfitted-network estimator ``doc`` describes, and its steps."""
    kind, steps = doc["kind"], [_build_step(step) for step in doc["steps"]]
    if kind not in ("pipeline", "classifier") or not steps:
        raise ValueError(f"invalid kind {kind!r} or no steps")
    if kind == "classifier" and len(steps) != 1:
        raise ValueError("a saved classifier has exactly one step")
    _check_structure(steps)
    if kind == "pipeline":
        params = {k: from_json(v) for k, v in doc["pipeline_params"].items()}
        allowed = set(Pipeline([("x", "passthrough")]).get_params(deep=False))
        # The steps are stored apart; a 'steps' entry here is refused too.
        unknown = sorted(set(params) - (allowed - {"steps"}))
        if unknown:
            raise ValueError(f"unknown Pipeline parameters {unknown}")
        if params.get("memory") is not None:
            raise ValueError(
                "pipeline parameter 'memory' must be null: joblib would "
                "unpickle files from that cache folder on a refit"
            )
        result = Pipeline(steps, **params)
        result._validate_params()
    else:
        result = steps[0][1]
    if not isinstance(doc["model_sha256"], str):
        raise ValueError("model_sha256 must be a string")
    return result, steps
