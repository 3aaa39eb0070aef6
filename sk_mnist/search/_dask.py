"""Searches on a Dask cluster: the training data broadcast to every worker once.

The private helper of :mod:`sk_mnist.search` for joblib's Dask backend.
"""

import contextlib
import warnings

import joblib

__all__ = ["drops_replicas", "scattered"]


@contextlib.contextmanager
def scattered(X, y, splits):
    """Under joblib's Dask backend, broadcast the data to every worker once.

    joblib's Dask backend scatters large arguments anew for every
    ``Parallel`` call (every round here) and to one worker only, so losing
    that worker loses them. Broadcast the images, the labels and the folds'
    indices instead. ``splits`` is the search's fixed splitter (``.splits``:
    the (train, test) index pairs).
    """
    backend, n_jobs = joblib.parallel.get_active_backend()
    client = getattr(backend, "client", None)
    if type(backend).__name__ != "DaskDistributedBackend" or client is None:
        yield
        return
    if drops_replicas(client):
        warnings.warn(
            "the Dask scheduler's active memory manager runs ReduceReplicas, which "
            "drops the copies of the training data broadcast to each worker, so "
            "losing a worker can lose the search; start the scheduler with "
            "distributed.scheduler.active-memory-manager.start: false to keep them",
            UserWarning,
            stacklevel=4,
        )
    arrays = [X, y, *(a for split in splits.splits for a in split)]
    with joblib.parallel_config(
        backend="dask",
        n_jobs=n_jobs,
        client=client,
        scatter=[a for a in arrays if a is not None],
    ):
        yield


def drops_replicas(client):
    """Whether the scheduler's active memory manager drops broadcast copies.

    Dask's ``Client.scatter(broadcast=True)`` documents that its copies do
    not survive the ``ReduceReplicas`` policy (on by default): between two
    rounds it keeps one copy, and the worker holding it may be the one lost.
    """

    def reduces(dask_scheduler):
        amm = dask_scheduler.extensions.get("amm")
        if amm is None or not amm.running:
            return False
        return any(type(p).__name__ == "ReduceReplicas" for p in amm.policies)

    try:
        return bool(client.run_on_scheduler(reduces))
    except Exception:  # an older scheduler, or one that refuses run_on_scheduler
        return False
