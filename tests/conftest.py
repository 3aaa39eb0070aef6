"""Fixtures shared by the test files, and the ``slow`` marker.

``python -m pytest -m "not slow"`` is the day-to-day loop; the README's test
command (and ``.ci/run``) runs everything. A test is marked slow when it needs
Chromium, full-size data, a subprocess rerun of other tests, the docs build,
Dask, or more than a few seconds of training.
"""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from sk_mnist import load_sample


def _read_only(*arrays):
    for array in arrays:
        array.setflags(write=False)


@pytest.fixture(scope="session")
def sample():
    """The embedded MNIST sample: ``(X_train, y_train), (X_test, y_test)``.

    Read-only, so a test (or the library) writing into its input fails
    instead of changing what later tests see.
    """
    (X_train, y_train), (X_test, y_test) = load_sample()
    _read_only(X_train, y_train, X_test, y_test)
    return (X_train, y_train), (X_test, y_test)


@pytest.fixture(scope="session")
def digits():
    """sklearn's 8 x 8 digits as grey levels 0-255 (uint8) and labels, read-only."""
    X, y = load_digits(return_X_y=True)
    X = np.round(X * 255 / 16).astype(np.uint8)
    _read_only(X, y)
    return X, y
