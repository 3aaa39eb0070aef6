"""Read and write MNIST-style digit images as plain numpy arrays.

Every loader returns ``X`` as a C-contiguous ``uint8`` array of shape
``(n, 784)``, one image per row flattened row-major (``X[i].reshape(28, 28)``
is the digit upright), and ``y`` as ``int64`` labels 0-9 (or ``None`` for
unlabelled data).

* :func:`~sk_mnist.load_mnist_csv` reads the Kaggle "mnist-in-csv" layout and the
  variants that common tools write (no header, pixels only, pandas index
  column, CRLF line ends, UTF-8 byte-order mark, gzip), reading a header's
  columns by name, from a file or a stream.
* :func:`~sk_mnist.save_mnist_csv` writes that layout, atomically.
* :func:`~sk_mnist.load_idx` reads LeCun's original IDX files.
* :func:`~sk_mnist.load_sample` returns the 4,000 + 1,000 real digits
  shipped with the package.
* :func:`~sk_mnist.datasets.fetch_dataset` (by name, one of
  :data:`DATASET_NAMES`), :func:`~sk_mnist.fetch_mnist` and
  :func:`~sk_mnist.fetch_fashion_mnist` download the full data sets once,
  checked against published checksums, and read them from a cache
  afterwards.

Malformed input raises ``ValueError`` with a one-line message naming the file
and, where possible, the line and column at fault; no input, however large or
long-lined, makes a loader hold much more than the data it returns (see
``docs/data.rst`` for the limits).  Only numpy, pandas and the standard
library are used: no Keras or TensorFlow.

This package is the public face of private modules: ``_readers`` (the
loaders and the writer, over ``_csv``, ``_layout`` and ``_input``),
``_sources`` (the data sets' sources and checksums) and ``_fetch`` (the
cache, over ``_download``).  The readers never import the fetchers.
"""

from . import _sources
from ._readers import load_idx, load_mnist_csv, load_sample, save_mnist_csv

__all__ = [
    "DATASET_NAMES",
    "FetchError",  # noqa: F822 (module __getattr__)
    "fetch_dataset",  # noqa: F822 (module __getattr__)
    "fetch_fashion_mnist",  # noqa: F822 (module __getattr__)
    "fetch_mnist",  # noqa: F822 (module __getattr__)
    "load_idx",
    "load_mnist_csv",
    "load_sample",
    "save_mnist_csv",
]

#: The names :func:`~sk_mnist.datasets.fetch_dataset` accepts:
#: ``("mnist", "fashion-mnist")``.
DATASET_NAMES = _sources.DATASET_NAMES

_FETCH_NAMES = ("FetchError", "fetch_dataset", "fetch_fashion_mnist", "fetch_mnist")


def __getattr__(name):
    # The downloaders (urllib, ssl, subprocess, ...) load on first use, so that
    # reading the sample or a CSV file does not pay for them.
    if name in _FETCH_NAMES:
        from . import _fetch

        return getattr(_fetch, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
