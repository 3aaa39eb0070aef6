"""Hyperparameter search over the MNIST pipeline: grids from JSON, checked early.

A grid is sklearn's ``param_grid`` (``{"mlp__batch_size": [64, 256], ...}``)
written as JSON. Lists are the candidate values (JSON lists inside lists become
tuples, as ``hidden_layer_sizes`` wants); with ``n_iter`` a value can also be a
scipy distribution written as ``{"loguniform": [1e-4, 1e-2]}``,
``{"uniform": [low, high]}`` or ``{"randint": [low, high]}`` (an integer
from low to high, both included, unlike ``scipy.stats.randint(low, high)``).
Every key, every listed value and the ends of every distribution are checked
against the pipeline's parameters before any training starts, so a typo fails
in a second, not after an hour. A key given twice and ``memory`` (a joblib
cache, which unpickles files) are refused.

:class:`ProgressGridSearchCV` and :class:`ProgressRandomizedSearchCV` are
sklearn's searches that check every candidate (against the labels, too) before
the first fit, log their progress (fits done, elapsed time, best score so
far) to the ``sk_mnist.search`` logger and, under joblib's Dask backend, send
the training data to the workers once. :func:`count_fits` says how many fits
a search will run.
"""

from ._search import (
    ProgressGridSearchCV,
    ProgressRandomizedSearchCV,
    count_fits,
    make_search,
    parse_grid,
    start_workers,
)

__all__ = [
    "parse_grid",
    "make_search",
    "count_fits",
    "start_workers",
    "ProgressGridSearchCV",
    "ProgressRandomizedSearchCV",
]
