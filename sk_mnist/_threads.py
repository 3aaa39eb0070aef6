"""Keep the Keras backend's CPU threads within a parallel worker's share.

joblib's process workers (``GridSearchCV(n_jobs=N)``, ``cross_val_score``)
start with ``OMP_NUM_THREADS`` set to ``cores // N``, and Dask's nanny starts
its workers with ``OMP_NUM_THREADS=1``: the usual contract that tells each
library in a worker how many threads it may use. TensorFlow ignores that
variable and sizes its thread pools to the whole machine, so N workers would
each run ``cores`` threads. :func:`limit_backend_threads` applies the
variable to TensorFlow's intra- and inter-op pools before TensorFlow starts
its runtime. ``TF_NUM_INTRAOP_THREADS`` / ``TF_NUM_INTEROP_THREADS``, when
set, take precedence (TensorFlow reads them itself). PyTorch already honours
``OMP_NUM_THREADS``; JAX's XLA CPU client has no public thread setting.
"""

import os

import keras

__all__ = ["limit_backend_threads", "threads_from_environment"]

_applied = False


def threads_from_environment():
    """The ``OMP_NUM_THREADS`` thread budget, or None when unset or invalid.

    Examples
    --------
    >>> from sk_mnist._threads import threads_from_environment
    >>> n_threads = threads_from_environment()  # e.g. 1 in a Dask worker
    """
    try:
        n_threads = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        return None
    return n_threads if n_threads > 0 else None


def limit_backend_threads():
    """Size TensorFlow's thread pools from ``OMP_NUM_THREADS``, once per process.

    A no-op on other backends, when the variable is unset, when the
    ``TF_NUM_*_THREADS`` variables are set, or when TensorFlow's runtime has
    already started (its pools cannot be resized then).

    Returns
    -------
    n_threads : int or None
        The thread count applied, or None when nothing was changed.
    """
    global _applied
    n_threads = threads_from_environment()
    if (
        _applied
        or n_threads is None
        or keras.backend.backend() != "tensorflow"
        or "TF_NUM_INTRAOP_THREADS" in os.environ
    ):
        return None
    import tensorflow as tf

    _applied = True
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n_threads)
        if "TF_NUM_INTEROP_THREADS" not in os.environ:
            tf.config.threading.set_inter_op_parallelism_threads(n_threads)
    except RuntimeError:  # the runtime is already initialised
        return None
    return n_threads
