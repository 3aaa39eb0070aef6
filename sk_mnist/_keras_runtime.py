"""Keras backend workarounds, each with the reason it exists.

Each works around a Keras behaviour that is wrong or slow for an estimator
fitted hundreds of times (searches) or in parallel workers; none changes the
numbers a fit produces.

* :func:`import_keras_quietly`: TensorFlow writes its C++ start-up notes
  straight to file descriptor 2, burying a command line's own messages.
* :func:`limit_backend_threads`: TensorFlow ignores ``OMP_NUM_THREADS``, the
  variable joblib and Dask set to give each worker its share of the cores.
* :func:`skip_single_replica_all_reduce` and :func:`clear_session`: Keras'
  TensorFlow optimizers keep every fit's weights alive through TensorFlow's
  gradient registry, and Keras' global state grows with every model built.
* :func:`compile_speed_settings`: several batches per compiled call, and XLA
  on large TensorFlow fits, which Keras leaves off on CPUs.
* :func:`predict_in_chunks`: ``Model.predict``'s loop is slow for a
  scikit-learn ``predict``; JAX compiles one program per shape.
* :func:`seeded`: ``keras.utils.set_random_seed`` seeds Python's and NumPy's
  global generators too, which a fit must leave as it found them.

Keras is imported inside the functions, not at the top: the command line
imports :func:`import_keras_quietly` before Keras is loaded.
"""

import contextlib
import os
import random
import sys
import types

import numpy as np

__all__ = [
    "clear_session",
    "compile_speed_settings",
    "import_keras_quietly",
    "limit_backend_threads",
    "predict_in_chunks",
    "seeded",
    "skip_single_replica_all_reduce",
    "threads_from_environment",
]

# Samples per compiled call of the training step (``steps_per_execution``):
# fewer round trips between Python and the backend at small batch sizes.
SAMPLES_PER_EXECUTION = 2048
# Samples times epochs from which XLA's ~1 s compilation pays off on TensorFlow.
XLA_MIN_WORK = 200_000
# Rows per compiled call in predict_in_chunks.
PREDICT_CHUNK = 4096

_threads_applied = False


def import_keras_quietly():
    """Import Keras with the backend's C++ start-up chatter silenced.

    TensorFlow writes oneDNN and CUDA notes straight to file descriptor 2,
    which ``TF_CPP_MIN_LOG_LEVEL`` does not fully cover. A no-op once Keras
    is imported.
    """
    if "keras" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.list_physical_devices()
            # A search builds one network per fit; TensorFlow then warns that
            # "tf.function retracing" happened, which is expected here.
            tf.get_logger().setLevel("ERROR")
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def threads_from_environment():
    """The ``OMP_NUM_THREADS`` thread budget, or None when unset or invalid.

    Examples
    --------
    >>> from sk_mnist._keras_runtime import threads_from_environment
    >>> n_threads = threads_from_environment()  # e.g. 1 in a Dask worker
    """
    try:
        n_threads = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        return None
    return n_threads if n_threads > 0 else None


def limit_backend_threads():
    """Size TensorFlow's thread pools from ``OMP_NUM_THREADS``, once per process.

    joblib and Dask set ``OMP_NUM_THREADS`` to each worker's share of the
    cores; TensorFlow ignores it (:doc:`/cluster`). A no-op on other
    backends, when the variable is unset, when ``TF_NUM_*_THREADS`` are set,
    or once TensorFlow's runtime has started.

    Returns
    -------
    n_threads : int or None
        The thread count applied, or None when nothing was changed.
    """
    global _threads_applied
    import keras

    n_threads = threads_from_environment()
    if (
        _threads_applied
        or n_threads is None
        or keras.backend.backend() != "tensorflow"
        or "TF_NUM_INTRAOP_THREADS" in os.environ
    ):
        return None
    import tensorflow as tf

    _threads_applied = True
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n_threads)
        if "TF_NUM_INTEROP_THREADS" not in os.environ:
            tf.config.threading.set_inter_op_parallelism_threads(n_threads)
    except RuntimeError:  # the runtime is already initialised
        return None
    return n_threads


def _all_reduce_sum_gradients(self, grads_and_vars):
    import tensorflow as tf

    if tf.distribute.has_strategy():
        return type(self)._all_reduce_sum_gradients(self, grads_and_vars)
    # One replica: the all-reduced sum is the gradients themselves.
    return list(grads_and_vars)


def skip_single_replica_all_reduce(optimizer):
    """Skip the single-replica ``all_reduce`` in ``optimizer``'s update step.

    On TensorFlow that step keeps every fit's weights alive (see
    :doc:`/benchmarks`); with one replica the sum is the gradients
    themselves, so the updates are bit-identical. Patches this instance
    only; a no-op on other backends or under a ``tf.distribute`` strategy.

    Parameters
    ----------
    optimizer : keras.optimizers.Optimizer
        A built or unbuilt Keras optimizer.

    Returns
    -------
    patched : bool
        Whether the optimizer now skips the single-replica ``all_reduce``.

    Examples
    --------
    >>> import keras
    >>> from sk_mnist._keras_runtime import skip_single_replica_all_reduce
    >>> patched = skip_single_replica_all_reduce(keras.optimizers.Adam())
    >>> patched == (keras.backend.backend() == "tensorflow")
    True
    """
    import keras

    if keras.backend.backend() != "tensorflow" or not hasattr(
        type(optimizer), "_all_reduce_sum_gradients"
    ):
        return False
    if "_all_reduce_sum_gradients" not in vars(optimizer):
        optimizer._all_reduce_sum_gradients = types.MethodType(
            _all_reduce_sum_gradients, optimizer
        )
    return True


def clear_session():
    """``keras.backend.clear_session()``, except inside a ``tf.distribute`` scope.

    So that a search's hundredth fit is as fast and lean as its first; inside
    a strategy's ``scope()`` clearing would break leaving the scope.

    Returns
    -------
    cleared : bool
        Whether the session was cleared.

    Examples
    --------
    >>> from sk_mnist._keras_runtime import clear_session
    >>> clear_session()
    True
    """
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if tf.distribute.has_strategy():
            return False
    keras.backend.clear_session()
    return True


def compile_speed_settings(batch_size, work):
    """``Model.compile`` arguments that make training faster without changing it.

    Several batches per compiled call (``steps_per_execution``), and on
    TensorFlow XLA (``jit_compile``) from ``work`` of ``XLA_MIN_WORK``, where
    its compile time pays off (:doc:`/benchmarks`).

    Parameters
    ----------
    batch_size : int
        Samples per gradient step.
    work : int
        Samples times epochs of the fit.

    Returns
    -------
    settings : dict
        Keyword arguments for ``keras.Model.compile``.

    Examples
    --------
    >>> from sk_mnist._keras_runtime import compile_speed_settings
    >>> compile_speed_settings(128, 1000).get("steps_per_execution")
    16
    """
    import keras

    backend = keras.backend.backend()
    if backend == "torch":
        return {}
    settings = {"steps_per_execution": max(1, SAMPLES_PER_EXECUTION // batch_size)}
    if backend == "tensorflow" and work >= XLA_MIN_WORK:
        settings["jit_compile"] = True
    return settings


def predict_in_chunks(model, X):
    """Outputs of ``model`` on ``X``, ``PREDICT_CHUNK`` rows per compiled call.

    Skips ``Model.predict``'s loop; the last chunk is zero-padded to a power
    of two, so that few shapes are compiled (:doc:`/benchmarks`).

    Parameters
    ----------
    model : keras.Model
        A network with one 2-D input and one 2-D output.
    X : ndarray of shape (n_samples, n_features)
        The input, already of the network's dtype.

    Returns
    -------
    outputs : ndarray of shape (n_samples, n_outputs), dtype float64
    """
    import keras

    n_samples, n_features = X.shape
    out = np.empty((n_samples, model.output_shape[-1]), dtype=np.float64)
    for start in range(0, n_samples, PREDICT_CHUNK):
        chunk = X[start : start + PREDICT_CHUNK]
        rows = chunk.shape[0]
        padded = min(PREDICT_CHUNK, 1 << max(rows - 1, 0).bit_length())
        if padded > rows:
            chunk = np.concatenate(
                [chunk, np.zeros((padded - rows, n_features), dtype=chunk.dtype)]
            )
        outputs = model.predict_on_batch(chunk)
        out[start : start + rows] = keras.ops.convert_to_numpy(outputs)[:rows]
    return out


@contextlib.contextmanager
def seeded(seed):
    """Seed Python, NumPy and the Keras backend; restore Python's and NumPy's state.

    ``keras.utils.set_random_seed`` also reseeds the global generators, which
    an estimator must not change. ``None`` seeds nothing.

    Parameters
    ----------
    seed : int or None
        The seed.
    """
    if seed is None:
        yield
        return
    import keras

    py_state, np_state = random.getstate(), np.random.get_state()
    keras.utils.set_random_seed(seed)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
