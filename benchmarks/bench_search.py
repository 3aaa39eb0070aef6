"""Parallel search: ``n_jobs=2`` against ``n_jobs=1`` on the same grid.

Runs the same ``make_search`` (4 candidates x 3 folds by default, on the
embedded sample) once with ``--n-jobs 1`` and once with ``--n-jobs 2``, each in
a fresh process, alternating over ``--repeats``, and prints the wall time of
each, the speed-ups, and whether the two ``cv_results_`` rankings are
identical. Target: the 4 x 3 cross-validation fits 1.5 times as fast or
better on 2 cores. The whole search (with the refit of the best candidate,
which runs in one process either way) is printed beside it. As in
``sk-mnist search``, the worker processes import Keras while the benchmark
process does. Usage::

    python benchmarks/bench_search.py [--n-jobs 1,2] [--repeats 1] [--epochs 20]
        [--n-train 4000] [--cv 3] [--backend tensorflow|jax]
"""

import argparse
import json
import os
import subprocess
import sys
import time

# The grid of the example (and of the README), at the homework's 20 epochs.
GRID = {"mlp__hidden_layer_sizes": [[256], [512, 256]], "mlp__batch_size": [64, 256]}


def run_search(n_jobs, epochs, n_train, cv):
    """One search in this process; returns the record printed as JSON."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from sk_mnist.search import make_search, start_workers

    # As sk-mnist search does: the workers import Keras alongside this process.
    workers = start_workers(n_jobs)
    import numpy as np

    from sk_mnist import make_mnist_pipeline
    from sk_mnist.datasets import load_sample

    (X, y), _ = load_sample()
    X, y = X[:n_train], y[:n_train]
    search = make_search(
        make_mnist_pipeline(epochs=epochs, random_state=0), GRID, cv=cv, n_jobs=n_jobs
    )
    if workers is not None:
        workers.join()
    start = time.perf_counter()
    search.fit(X, y)
    seconds = time.perf_counter() - start
    results = search.cv_results_
    return {
        "n_jobs": n_jobs,
        "seconds": seconds,
        "cv_seconds": seconds - search.refit_time_,
        "fit_seconds": float(np.sum(results["mean_fit_time"]) * cv),
        "ranks": [int(r) for r in results["rank_test_score"]],
        "scores": [round(float(s), 6) for s in results["mean_test_score"]],
        "params": [str(p) for p in results["params"]],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jobs", default="1,2", help="comma-separated (1,2)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--n-train", type=int, default=4000)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--backend", default=None, help="KERAS_BACKEND to use")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.backend:
        os.environ["KERAS_BACKEND"] = args.backend
    if args.child is not None:
        record = run_search(args.child, args.epochs, args.n_train, args.cv)
        print("RECORD " + json.dumps(record), flush=True)
        return 0

    n_jobs_list = [int(n) for n in args.n_jobs.split(",")]
    records = {n: [] for n in n_jobs_list}
    for repeat in range(args.repeats):
        for n_jobs in n_jobs_list:
            cmd = [sys.executable, __file__, "--child", str(n_jobs)]
            cmd += ["--epochs", str(args.epochs), "--n-train", str(args.n_train)]
            cmd += ["--cv", str(args.cv)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RECORD ")]
            if out.returncode or not lines:
                print(out.stdout[-2000:], out.stderr[-3000:], file=sys.stderr)
                return 1
            record = json.loads(lines[-1][len("RECORD ") :])
            records[n_jobs].append(record)
            print(
                f"repeat {repeat + 1}, n_jobs={n_jobs}: {record['seconds']:.1f} s, "
                f"{record['cv_seconds']:.1f} s before the refit "
                f"(sum of fit times {record['fit_seconds']:.1f} s), "
                f"ranks {record['ranks']}, scores {record['scores']}",
                flush=True,
            )

    n_candidates = len(records[n_jobs_list[0]][0]["ranks"])
    print(
        f"\n{n_candidates} candidates x {args.cv} folds, {args.epochs} epochs on "
        f"{args.n_train} images, {os.cpu_count()} cores, backend "
        f"{os.environ.get('KERAS_BACKEND', 'tensorflow')}"
    )
    print(
        f"{'n_jobs':>6}  {'best s':>7}  {'mean s':>7}  {'speed-up':>8}  "
        f"{'CV s':>6}  {'CV speed-up':>11}"
    )
    base = min(r["seconds"] for r in records[n_jobs_list[0]])
    cv_base = min(r["cv_seconds"] for r in records[n_jobs_list[0]])
    for n_jobs in n_jobs_list:
        times = [r["seconds"] for r in records[n_jobs]]
        cv_time = min(r["cv_seconds"] for r in records[n_jobs])
        print(
            f"{n_jobs:>6}  {min(times):7.1f}  {sum(times) / len(times):7.1f}  "
            f"{base / min(times):8.2f}x  {cv_time:6.1f}  {cv_base / cv_time:10.2f}x"
        )
    print(
        "(best s: the whole search as sk-mnist search runs it, the refit of the "
        "best candidate on all images included; CV s: the 4 x 3 fits alone. Worker "
        "start-up overlaps this process's own Keras import, as in sk-mnist search.)"
    )
    rankings = {tuple(r["ranks"]) for n_jobs in n_jobs_list for r in records[n_jobs]}
    same = len(rankings) == 1
    print(f"identical rankings over all runs: {'yes' if same else 'NO'}")
    if len(n_jobs_list) > 1:
        last = records[n_jobs_list[-1]]
        cv_speedup = cv_base / min(r["cv_seconds"] for r in last)
        speedup = base / min(r["seconds"] for r in last)
        verdict = "PASS" if cv_speedup >= 1.5 and same else "MISS"
        print(
            f"{verdict}: cross-validation {cv_speedup:.2f}x (target >= 1.5x), whole "
            f"search {speedup:.2f}x, identical rankings: {same}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
