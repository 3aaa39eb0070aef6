"""Parallel fits in worker processes stay within their share of the cores."""

import keras
import numpy as np
import pytest
from joblib import cpu_count
from sklearn.datasets import load_digits
from sklearn.model_selection import cross_val_score

from sk_mnist import make_mnist_pipeline

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="TensorFlow's thread pools are what is limited here",
)


def _intra_op_threads(estimator, X, y):
    """A 'score' that reports the fitting worker's TensorFlow thread pool size."""
    import tensorflow as tf

    return tf.config.threading.get_intra_op_parallelism_threads()


@pytest.mark.slow
def test_each_worker_gets_cores_over_n_jobs_threads():
    X, y = load_digits(return_X_y=True)
    X = np.round(X * 255 / 16).astype(np.uint8)
    pipe = make_mnist_pipeline(hidden_layer_sizes=(8,), epochs=1, random_state=0)
    threads = cross_val_score(pipe, X, y, cv=2, n_jobs=2, scoring=_intra_op_threads)
    # joblib gives each of the 2 workers cores // 2 threads (OMP_NUM_THREADS);
    # TensorFlow would otherwise size its pools to every core in each worker.
    assert list(threads) == [max(cpu_count() // 2, 1)] * 2
