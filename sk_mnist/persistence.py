"""Save and load fitted sk_mnist models as JSON plus a Keras file, never pickle.

:func:`~sk_mnist.save_model` writes one directory::

    path/
        model.keras     the network, in Keras' native format (model.save)
        sk_mnist.json   everything else, as plain JSON

``sk_mnist.json`` records the format name (``"sk_mnist-model"``) and version
(an int), the versions of sk_mnist, Keras, scikit-learn, scikeras and NumPy
and the Keras backend that wrote it, the pipeline's own parameters, its steps
in order (name, class, ``get_params(deep=False)``, explicit metadata requests
and the step's ``get_fitted_state()``) and the SHA-256 of ``model.keras``.
Tuples are stored as ``{"__tuple__": [...]}`` and dicts as
``{"__items__": [[key, value], ...]}`` so that ``hidden_layer_sizes`` and
integer-keyed ``class_weight`` come back as they were. The estimators say
which fitted state they have and restore it themselves
(``get_fitted_state`` / ``set_fitted_state``); this module only does the
file format, the checksum and the safety checks.

Why no pickle: unpickling (pickle, joblib) can run any code, so a pickled model
from elsewhere is a program. :func:`~sk_mnist.load_model` only parses JSON, calls the
constructors of the two known classes (:class:`~sk_mnist.PixelScaler`,
:class:`~sk_mnist.DenseMLPClassifier`) with checked parameter names and
values (NaN and infinity are refused), checks that the steps fit together,
verifies the checksum, checks the ``.keras`` archive's entries, sizes and
declared weight shapes against limits before Keras allocates anything, and
lets Keras load the network in safe mode, which refuses ``Lambda`` layers
holding Python code. Parameters JSON cannot hold (callback objects,
callables) make :func:`~sk_mnist.save_model` raise ``ValueError``; a
``RandomState`` ``random_state`` is saved as ``None`` with a warning and a
note in the JSON (it only matters for refitting). Pickle and joblib still
work for trusted files.

Saving is atomic: the directory is written and fsynced under a temporary name
next to ``path`` and then renamed into place, so an interrupted save leaves any
earlier model at ``path`` intact.
"""

import errno
import json
import os
import warnings
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version
from numbers import Integral, Real
from pathlib import Path

import keras
import numpy as np
import sklearn
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from . import __version__
from ._files import file_sha256, staged_folder
from ._keras_archive import load_keras_network
from .estimator import DenseMLPClassifier
from .preprocessing import PixelScaler

__all__ = ["ModelFileError", "load_model", "save_model"]

FORMAT_NAME = "sk_mnist-model"
FORMAT_VERSION = 1
JSON_NAME = "sk_mnist.json"
KERAS_NAME = "model.keras"
_CLASSES = {"PixelScaler": PixelScaler, "DenseMLPClassifier": DenseMLPClassifier}
_REQUEST_METHODS = ("fit", "partial_fit", "score")

# Limits on what load_model reads, checked before anything of that size is
# allocated. Raise them (sk_mnist.persistence.MAX_MODEL_WEIGHTS = ...) to load
# a larger model you trust.
#: The most weights a loaded network may declare (the homework's has 1.5
#: million; 100 million take 0.4 GB, and three times that with Adam's state).
MAX_MODEL_WEIGHTS = 100_000_000
#: The largest ``sk_mnist.json``, and ``config.json`` / ``metadata.json``
#: inside ``model.keras``, in bytes.
MAX_JSON_BYTES = 16 * 2**20
#: The largest expansion of a compressed entry of ``model.keras`` (Keras
#: stores its entries uncompressed, at ratio 1).
MAX_COMPRESSION_RATIO = 20


class ModelFileError(ValueError):
    """A saved model is missing a file, malformed, tampered with or unsafe.

    Raised by :func:`~sk_mnist.load_model` with a one-line message naming the
    file and the problem. It is a ``ValueError``, so ``except ValueError`` catches it.

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


def _fail(where, problem):
    return ModelFileError(f"{where}: " + " ".join(str(problem).split()))


def _to_json(value, name):
    if value is None or isinstance(value, (bool, np.bool_)):
        return value if value is None else bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real) and np.isfinite(value):
        return float(value)
    if isinstance(value, list):
        return [_to_json(v, name) for v in value]
    if isinstance(value, tuple):
        return {"__tuple__": [_to_json(v, name) for v in value]}
    if isinstance(value, dict):
        return {
            "__items__": [
                [_to_json(k, name), _to_json(v, name)] for k, v in value.items()
            ]
        }
    raise ValueError(
        f"Cannot save parameter {name!r}: a {type(value).__name__} value cannot be "
        "stored as JSON; use str, finite numbers, bool, None or lists, tuples "
        "and dicts of those"
    )


def _from_json(value):
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    if isinstance(value, dict):
        if value.keys() == {"__tuple__"} and isinstance(value["__tuple__"], list):
            return tuple(_from_json(value["__tuple__"]))
        if value.keys() == {"__items__"} and isinstance(value["__items__"], list):
            return {_from_json(k): _from_json(v) for k, v in value["__items__"]}
        raise ValueError(f"unexpected JSON object with keys {sorted(value)}")
    return value


def _refuse_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _finite(text):
    value = float(text)
    if not np.isfinite(value):
        raise ValueError(f"{text} is too large for a float")
    return value


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
    if _CLASSES.get(type(est).__name__) is not type(est):
        raise ValueError(
            f"Cannot save step {name!r}: only {' and '.join(_CLASSES)} can be saved, "
            f"got {type(est).__module__}.{type(est).__qualname__}"
        )
    check_is_fitted(est, msg=f"Cannot save step {name!r}: %(name)s is not fitted.")
    params = {}
    for key, value in est.get_params(deep=False).items():
        if key == "random_state" and isinstance(value, np.random.RandomState):
            notes.append(f"{name}: random_state RandomState instance saved as None")
            warnings.warn(notes[-1] + " (only affects refitting)", stacklevel=3)
            value = None
        params[key] = _to_json(value, f"{name}__{key}")
    try:
        fitted = est.get_fitted_state()
    except ValueError as err:
        raise ValueError(f"Cannot save step {name!r}: {err}") from None
    routing = est.get_metadata_routing()
    requests = {}
    for method in _REQUEST_METHODS:
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
            k: _to_json(v, k) for k, v in params.items() if k != "steps"
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


def _build_step(desc):
    name, cls_name = desc["name"], desc["class"]
    cls = _CLASSES.get(cls_name) if isinstance(cls_name, str) else None
    if not isinstance(name, str) or cls is None:
        raise ValueError(f"unknown step class {cls_name!r} (known: {list(_CLASSES)})")
    params = {k: _from_json(v) for k, v in desc["params"].items()}
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
        if method not in _REQUEST_METHODS or not all(
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
        raise _fail(
            json_path, f"invalid model description: missing entry {err}"
        ) from None
    except (TypeError, ValueError, AttributeError) as err:
        raise _fail(json_path, f"invalid model description: {err}") from None
    except RecursionError:
        raise _fail(json_path, "invalid model description: nested too deeply") from None
    expected, actual = doc["model_sha256"], file_sha256(keras_path)
    if actual != expected:
        msg = f"SHA-256 {actual[:12]}... is not {expected[:12]}... from {JSON_NAME}"
        raise _fail(keras_path, f"{msg}: the file was modified or truncated")
    (name, clf), fitted = steps[-1], doc["steps"][-1]["fitted"]
    versions = doc.get("versions")
    try:
        network = load_keras_network(
            keras_path,
            saved_with=versions.get("keras") if isinstance(versions, dict) else None,
            n_features=clf.n_features_in_,
            n_classes=clf.n_classes_,
            max_weights=MAX_MODEL_WEIGHTS,
            max_json_bytes=MAX_JSON_BYTES,
            max_ratio=MAX_COMPRESSION_RATIO,
        )
    except ValueError as err:
        raise _fail(keras_path, err) from None
    try:
        clf.set_fitted_state(fitted, model=network)
    except ValueError as err:
        raise _fail(json_path, f"step {name!r}: {err}") from None
    return result


def _model_files(path):
    """The JSON and Keras files of the model directory ``path``, both present."""
    if not os.path.lexists(path):
        raise FileNotFoundError(
            errno.ENOENT, "No such sk_mnist model directory", str(path)
        )
    if not path.is_dir():
        raise _fail(path, "not a directory, so not an sk_mnist model")
    json_path, keras_path = path / JSON_NAME, path / KERAS_NAME
    for file in (json_path, keras_path):
        if not file.is_file():
            raise _fail(file, "missing; is this an sk_mnist model directory?")
    return json_path, keras_path


def _read_description(json_path):
    """``sk_mnist.json`` parsed, bounded, of a known format and version."""
    size = json_path.stat().st_size
    if size > MAX_JSON_BYTES:
        msg = f"{size:,} bytes, more than MAX_JSON_BYTES ({MAX_JSON_BYTES:,})"
        raise _fail(json_path, f"{msg}; a model description is far smaller")
    try:
        with open(json_path, encoding="utf-8") as f:
            doc = json.load(f, parse_constant=_refuse_constant, parse_float=_finite)
    except ValueError as err:
        raise _fail(json_path, f"not valid JSON ({err})") from None
    except RecursionError:
        raise _fail(json_path, "not valid JSON: nested too deeply") from None
    fmt = doc.get("format") if isinstance(doc, dict) else None
    if fmt != FORMAT_NAME:
        raise _fail(json_path, f"format {fmt!r} is not {FORMAT_NAME!r}")
    version = doc.get("format_version")
    if type(version) is not int or version < 1:
        raise _fail(json_path, f"invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        msg = f"format version {version} is newer than {FORMAT_VERSION}; upgrade"
        raise _fail(json_path, f"{msg} sk_mnist (this is {__version__})")
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
        params = {k: _from_json(v) for k, v in doc["pipeline_params"].items()}
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
