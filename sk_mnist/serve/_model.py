"""The served model: loaded once, described for ``/health``, called by one thread.

The inference thread answers every request waiting with one
``predict_proba`` call (dynamic batching; :doc:`/deploying`).
"""

import asyncio
import concurrent.futures
import os
import queue
import threading
from pathlib import Path

import numpy as np

from .. import __version__
from .._files import file_sha256
from .._messages import one_line

# Rows gathered into one model call at most (a single request may exceed it).
_BATCH_ROWS = 4096
_STOP = object()
#: How a saved Keras model may be run: ``"auto"`` converts it to ONNX in
#: memory when onnxruntime can run it (and keeps Keras otherwise),
#: ``"onnx"`` insists, ``"keras"`` never converts.
RUNTIMES = ("auto", "keras", "onnx")
# The ONNX form is used only if it gives the model's probabilities within
# this on a fixed random probe (export's own tolerance).
_PROBE_ROWS = 64
_MATCH_TOLERANCE = 1e-5


def _model_path(path):
    """``(path, is_folder)``, or the one-line error of a path that is no model."""
    path = Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model folder or .onnx file")
    if not path.is_dir() and path.suffix.lower() != ".onnx":
        raise ValueError(
            f"{path}: not a model: give a folder written by save_model or a .onnx file"
        )
    return path, path.is_dir()


def check_model_file(path):
    """Refuse early what :func:`load_model_file` refuses without loading.

    In one line, so that a server never starts on them; checksums, network
    and session are left to the load.
    """
    path, is_folder = _model_path(path)
    if is_folder:
        from ..persistence import read_model_description

        read_model_description(path)
    else:
        from ..export import read_onnx_file, require

        require("onnxruntime")
        read_onnx_file(path)


def load_model_file(path):
    """Load a saved sk_mnist model folder or a ``.onnx`` file, never unpickling.

    Parameters
    ----------
    path : str or os.PathLike
        A folder written by :func:`sk_mnist.save_model`, or an ONNX file
        written by :func:`sk_mnist.export.export_onnx`.

    Returns
    -------
    model : estimator
        The fitted model.
    model_id : str
        ``"sha256:<hex>"`` of ``sk_mnist.json`` (which holds the SHA-256 of
        ``model.keras``) or of the ONNX file.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ValueError
        If `path` is neither a model folder nor a ``.onnx`` file, or the model
        is malformed (:class:`sk_mnist.persistence.ModelFileError`, or the ONNX
        loader's error).
    """
    path, is_folder = _model_path(path)
    if is_folder:
        from .. import load_model

        model = load_model(path)
        return model, "sha256:" + file_sha256(path / "sk_mnist.json")
    from ..export import load_onnx

    model = load_onnx(path)
    return model, "sha256:" + file_sha256(path)


def onnx_in_memory(model):
    """`model`, a fitted Keras pipeline, converted to ONNX run by onnxruntime.

    Nothing is written to disk; the result is checked against `model`.

    Raises
    ------
    ImportError
        Without the ``onnx`` extra (onnx, skl2onnx, onnxruntime).
    ValueError
        If a step cannot be converted, or the converted probabilities
        differ from the model's by more than 1e-5.
    """
    import onnxruntime as ort

    from ..export import OnnxClassifier, to_onnx

    session = ort.InferenceSession(
        to_onnx(model).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    converted = OnnxClassifier(session, source="the model's in-memory ONNX form")
    rng = np.random.default_rng(0)
    shape = (_PROBE_ROWS, converted.n_features_in_)
    if converted.metadata_.get("sk_mnist.input") == "pixels":
        probe = rng.integers(0, 256, size=shape).astype(np.float64)
    else:
        probe = rng.random(shape)
    gap = float(
        np.abs(converted.predict_proba(probe) - model.predict_proba(probe)).max()
    )
    if not gap <= _MATCH_TOLERANCE:
        raise ValueError(
            f"its ONNX form differs from it by {gap:.2g} in probability "
            f"(more than {_MATCH_TOLERANCE:g})"
        )
    return converted


def check_runtime(runtime):
    """``runtime``, if it is one of :data:`RUNTIMES`, else a one-line ValueError."""
    if runtime not in RUNTIMES:
        raise ValueError(
            f"runtime must be one of {', '.join(map(repr, RUNTIMES))}; got {runtime!r}"
        )
    return runtime


def choose_runtime(model, runtime, from_folder):
    """The model to serve, and the note ``/health`` gives on its runtime.

    ``"auto"`` converts a model loaded from a saved folder
    (:func:`onnx_in_memory`) and keeps Keras when that fails; ``"onnx"``
    converts any Keras model and raises when it cannot.
    """
    check_runtime(runtime)
    if _backend_of(model) == "onnxruntime":
        return model, "an ONNX file, run by onnxruntime"
    if runtime == "keras" or (runtime == "auto" and not from_folder):
        return model, "Keras, as asked" if runtime == "keras" else "Keras"
    try:
        converted = onnx_in_memory(model)
    except (ImportError, ValueError) as err:
        if runtime == "onnx":
            raise ValueError(
                f"runtime 'onnx': cannot run the model on ONNX: {err}"
            ) from None
        return model, f"Keras: no ONNX form ({one_line(err)})"
    return converted, (
        "converted to ONNX in memory at start-up (probabilities within "
        f"{_MATCH_TOLERANCE:g} of Keras'); runtime 'keras' keeps Keras"
    )


def _backend_of(model):
    from ..export import OnnxClassifier

    final = model[-1] if hasattr(model, "steps") else model
    if isinstance(final, OnnxClassifier):
        return "onnxruntime"
    if hasattr(final, "model_"):
        import keras

        return keras.backend.backend()
    return type(final).__module__.split(".")[0]


def check_classifier(model):
    """``model``, if it is a fitted classifier a server can call, else a TypeError."""
    missing = [
        name
        for name in ("predict_proba", "classes_", "n_features_in_")
        if not hasattr(model, name)
    ]
    if missing:
        raise TypeError(
            f"model must be a fitted classifier with {', '.join(missing)}; "
            f"got {type(model).__name__}"
        )
    return model


def start_serving(source, *, runtime="auto", model_id=None):
    """The :class:`ServedModel` of ``source``, loaded, on its runtime, warmed up.

    ``source`` is a fitted classifier or a model path (then its SHA-256 is
    the default ``model_id``).
    """
    from_path = is_model_path(source)
    if from_path:
        model, path_id = load_model_file(source)
        model_id = model_id or path_id
    else:
        model = source
    model, note = choose_runtime(model, runtime, from_folder=from_path)
    served = ServedModel(model, model_id=model_id, runtime_note=note)
    served.warm_up()
    return served


def is_model_path(source):
    """Whether ``source`` names a model file rather than being a model."""
    return isinstance(source, (str, bytes)) or hasattr(source, "__fspath__")


class ServedModel:
    """A fitted classifier behind one inference thread.

    Parameters
    ----------
    model : estimator
        Fitted, with ``predict_proba``, ``classes_`` and ``n_features_in_``.
    model_id : str or None
        Identifies the model in ``/health`` (the SHA-256 of its file).
    """

    def __init__(self, model, model_id=None, runtime_note=None):
        check_classifier(model)
        self.model = model
        self.model_id = model_id
        self.runtime_note = runtime_note
        self.quantization = getattr(model, "metadata_", {}).get("quantization")
        self.classes = np.asarray(model.classes_).tolist()
        self.n_features = int(model.n_features_in_)
        self.backend = _backend_of(model)
        self._queue = queue.SimpleQueue()
        self._thread = None
        self._start_lock = threading.Lock()

    def describe(self):
        """What ``GET /health`` reports."""
        version = __version__
        if self.model_id is not None:
            version += "+" + self.model_id.split(":")[-1][:12]
        return {
            "status": "ok",
            "sk_mnist_version": __version__,
            "model_id": self.model_id,
            "model_version": version,
            "model_type": type(self.model).__name__,
            "backend": self.backend,
            "classes": self.classes,
            "n_features": self.n_features,
            "runtime": self.runtime_note,
            "quantization": self.quantization,
        }

    def warm_up(self):
        """Predict one row of zeros so the first request pays no compilation."""
        self.model.predict_proba(np.zeros((1, self.n_features), dtype=np.float64))

    async def predict_proba(self, X):
        """Class probabilities of the rows of `X`, from the inference thread."""
        future = concurrent.futures.Future()
        self._queue.put((X, future))
        self._ensure_thread()
        return await asyncio.wrap_future(future)

    def close(self):
        """Stop the inference thread once the requests queued are answered."""
        with self._start_lock:
            if self._thread is not None:
                self._queue.put(_STOP)
                self._thread.join()
                self._thread = None

    def _ensure_thread(self):
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="sk-mnist-inference", daemon=True
                    )
                    self._thread.start()

    def _take_batch(self):
        """Block for one request, then add those already waiting."""
        first = self._queue.get()
        if first is _STOP:
            return None
        batch, n_rows = [first], len(first[0])
        while n_rows < _BATCH_ROWS:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                self._queue.put(_STOP)
                break
            batch.append(item)
            n_rows += len(item[0])
        return batch

    def _run(self):
        while (batch := self._take_batch()) is not None:
            self._answer(batch)

    def _answer(self, batch):
        live = [item for item in batch if item[1].set_running_or_notify_cancel()]
        if len(live) == 1:
            self._answer_one(*live[0])
        if len(live) <= 1:
            return
        try:
            proba = self.model.predict_proba(np.concatenate([X for X, _ in live]))
        except Exception:  # retried one by one, so a bad request fails alone
            for X, future in live:
                self._answer_one(X, future)
            return
        start = 0
        for X, future in live:
            future.set_result(proba[start : start + len(X)])
            start += len(X)

    def _answer_one(self, X, future):
        try:
            future.set_result(self.model.predict_proba(X))
        except Exception as err:  # re-raised in the request's handler
            future.set_exception(err)
