"""Searches on a Dask cluster: a LocalCluster of 2 worker processes."""

import logging
import os
import signal
import threading
import time
import warnings

import dask
import joblib
import numpy as np
import pytest
from distributed import Client, LocalCluster

from sk_mnist import make_mnist_pipeline
from sk_mnist.search import make_search

# Slow: a local Dask cluster.
pytestmark = pytest.mark.slow

# 4 candidates whose scores are far apart, so that the ranking is the same
# whatever the thread counts of the processes that fit them.
GRID = {"mlp__hidden_layer_sizes": [[2], [64]], "mlp__epochs": [1, 12]}


@pytest.fixture(scope="module")
def client():
    # Dask documents that copies broadcast by scatter do not survive the
    # active memory manager's ReduceReplicas policy: a cluster that is to
    # survive losing a worker is started without it (docs/search.rst).
    with (
        dask.config.set({"distributed.scheduler.active-memory-manager.start": False}),
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _search():
    pipe = make_mnist_pipeline(batch_size=64, random_state=0)
    return make_search(pipe, GRID, cv=2)


@pytest.fixture(scope="module")
def local_result(digits):
    return _search().fit(*digits).cv_results_


def test_search_on_the_cluster_matches_one_process(client, digits, local_result):
    with joblib.parallel_config(backend="dask"):
        search = _search().fit(*digits)
    ranks = search.cv_results_["rank_test_score"]
    assert list(ranks) == list(local_result["rank_test_score"])
    assert sorted(ranks) == [1, 2, 3, 4]  # no ties: the ranking means something
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"],
        local_result["mean_test_score"],
        atol=0.02,
    )
    # The fits ran on the workers (each has its own process and thread budget).
    assert client.run(lambda: "tensorflow" in __import__("sys").modules) == {
        address: True for address in client.scheduler_info()["workers"]
    }


def test_training_data_is_scattered_once(client, digits, monkeypatch):
    X, y = digits
    sent = []
    scatter = Client.scatter

    def counting_scatter(self, data, *args, **kwargs):
        items = data if isinstance(data, (list, tuple)) else [data]
        sent.extend(item for item in items if getattr(item, "shape", None) == X.shape)
        return scatter(self, data, *args, **kwargs)

    monkeypatch.setattr(Client, "scatter", counting_scatter)
    with joblib.parallel_config(backend="dask"):
        search = _search().fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    # 8 fits in 4 rounds; the images went out in one broadcast.
    assert len(sent) == 1 and sent[0] is X


def test_a_search_warns_when_the_scheduler_drops_broadcast_copies(client, digits):
    X, y = digits
    X, y = X[:200], y[:200]
    pipe = make_mnist_pipeline(hidden_layer_sizes=(4,), epochs=1, random_state=0)
    search = make_search(pipe, {"mlp__batch_size": [32]}, cv=2)
    client.amm.start()
    try:
        with (
            joblib.parallel_config(backend="dask"),
            pytest.warns(UserWarning, match="ReduceReplicas.*losing a worker"),
        ):
            search.fit(X, y)
    finally:
        client.amm.stop()
    # Without the policy running, the same search says nothing.
    with joblib.parallel_config(backend="dask"), warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*ReduceReplicas")
        search.fit(X, y)


def test_a_killed_worker_does_not_lose_the_search(client, digits, local_result):
    client.wait_for_workers(2, timeout=60)
    pids = client.run(os.getpid)
    address, victim = next(iter(pids.items()))
    killed = threading.Event()
    running_when_killed = []

    def kill_during_a_fit():
        # Wait until the victim is running a fit of the next round, then kill it.
        for _ in range(600):
            running = client.processing(workers=[address])[address]
            if running:
                running_when_killed.extend(running)
                os.kill(victim, signal.SIGKILL)
                killed.set()
                return
            time.sleep(0.05)

    class KillAfterFirstRound(logging.Handler):
        def emit(self, record):
            if " fits (" in record.getMessage() and not hasattr(self, "thread"):
                self.thread = threading.Thread(target=kill_during_a_fit)
                self.thread.start()

    logger = logging.getLogger("sk_mnist.search")
    handler = KillAfterFirstRound()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with joblib.parallel_config(backend="dask"):
            search = _search().fit(*digits)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    handler.thread.join()
    assert killed.is_set() and running_when_killed, "killed between fits"
    # Every candidate was scored (a lost fit would be NaN), with the same ranking.
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert list(search.cv_results_["rank_test_score"]) == list(
        local_result["rank_test_score"]
    )
    # The nanny replaced the killed process.
    client.wait_for_workers(2, timeout=60)
    assert victim not in client.run(os.getpid).values()


def test_cli_search_on_the_scheduler(client, tmp_path, capsys):
    import json

    from sk_mnist.cli import main

    client.wait_for_workers(2, timeout=60)
    out = tmp_path / "search"
    grid = json.dumps({"mlp__hidden_layer_sizes": [[8], [16]], "mlp__epochs": [1]})
    address = client.scheduler.address
    args = ["search", "--grid", grid, "--cv", "2", "--scheduler", address]
    assert main([*args, "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["scheduler"] == address and metrics["n_jobs"] == -1
    assert metrics["n_candidates"] == 2 and 0 < metrics["test_accuracy"] <= 1
    # The plan line counts the cluster's worker threads.
    assert "4 fits on 2 worker(s)" in capsys.readouterr().out
