"""Early stopping against training to the end, side by side.

For each seed, fits ``make_mnist_pipeline(**recipe, random_state=seed)`` three
ways on the same data: to the end, with ``early_stopping=True``, and to the
end on a stratified 90% of the training set (as much as early stopping
trains on, though not its very split). The third row tells the cost of the hold-out
apart from the effect of the stop. Prints test accuracy and epochs run per
seed, the means, and a verdict on issue 3's line: with early stopping the
pipeline "is at least as good and stops early" (mean accuracy at least the
full run's, and fewer epochs on average). Exits 1 on a miss.

    # the sample, the defaults, seeds 0-4: ~2 min on 2 cores
    python benchmarks/bench_early_stopping.py
    # the homework's recipe (constant rate, batch 32, 20 epochs): ~6 min
    python benchmarks/bench_early_stopping.py --recipe homework
    # 60,000 images, one seed: ~15 min
    python benchmarks/bench_early_stopping.py --data fashion-mnist \\
        --recipe homework --seeds 0

Measured results are in docs/benchmarks.md ("How the defaults were chosen").
"""

import argparse
import os
import sys
import time

import numpy as np


def load(name, n_train):
    """``(X, y), (X_test, y_test)`` of the named data set, training set cut."""
    from sk_mnist.datasets import (
        FetchError,
        fetch_fashion_mnist,
        fetch_mnist,
        load_sample,
    )

    if name == "sample":
        (X, y), test = load_sample()
    else:
        fetch = fetch_mnist if name == "mnist" else fetch_fashion_mnist
        try:
            (X, y), test = fetch(download_if_missing=False, verbose=False)
        except FetchError as err:
            sys.exit(f"error: {err}")
    if n_train is not None:
        X, y = X[:n_train], y[:n_train]
    return (X, y), test


def fit_score(params, X, y, X_test, y_test):
    """Fit the pipeline; return (test accuracy, epochs run, seconds)."""
    from sk_mnist import make_mnist_pipeline

    start = time.perf_counter()
    pipe = make_mnist_pipeline(**params).fit(X, y)
    seconds = time.perf_counter() - start
    return pipe.score(X_test, y_test), pipe[-1].n_iter_, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", choices=["sample", "mnist", "fashion-mnist"], default="sample"
    )
    parser.add_argument(
        "--recipe", choices=["defaults", "homework"], default="defaults"
    )
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated")
    parser.add_argument("--n-train", type=int, default=None, help="cut the data")
    parser.add_argument("--epochs", type=int, default=None, help="override")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    from sklearn.model_selection import train_test_split

    from sk_mnist import HOMEWORK_PARAMS

    (X, y), (X_test, y_test) = load(args.data, args.n_train)
    recipe = dict(HOMEWORK_PARAMS) if args.recipe == "homework" else {}
    if args.epochs is not None:
        recipe["epochs"] = args.epochs
    seeds = [int(s) for s in args.seeds.split(",")]
    print(
        f"{args.data}: {len(y)} training and {len(y_test)} test images, "
        f"recipe {args.recipe}, seeds {seeds}\n"
    )
    rows = {"to the end": [], "early_stopping=True": [], "to the end on 90%": []}
    for seed in seeds:
        params = {**recipe, "random_state": seed}
        keep, _ = train_test_split(
            np.arange(len(y)), test_size=0.1, stratify=y, random_state=seed
        )
        runs = {
            "to the end": fit_score(params, X, y, X_test, y_test),
            "early_stopping=True": fit_score(
                {**params, "early_stopping": True}, X, y, X_test, y_test
            ),
            "to the end on 90%": fit_score(params, X[keep], y[keep], X_test, y_test),
        }
        for name, run in runs.items():
            rows[name].append(run)
            print(
                f"seed {seed}  {name:<20} accuracy {run[0]:.4f}  "
                f"{run[1]:3d} epochs  {run[2]:6.1f} s",
                flush=True,
            )

    print(f"\n{'':<20} {'mean accuracy':>13} {'mean epochs':>11} {'mean s':>7}")
    means = {}
    for name, runs in rows.items():
        accuracy, epochs, seconds = np.mean(runs, axis=0)
        means[name] = accuracy, epochs
        print(f"{name:<20} {accuracy:13.4f} {epochs:11.1f} {seconds:7.1f}")

    full, stopped = means["to the end"], means["early_stopping=True"]
    good = stopped[0] >= full[0]
    early = stopped[1] < full[1]
    print(
        f"\nearly stopping / to the end: accuracy {stopped[0] - full[0]:+.4f}, "
        f"epochs x{stopped[1] / full[1]:.2f}; hold-out alone: accuracy "
        f"{means['to the end on 90%'][0] - full[0]:+.4f}"
    )
    verdict = "PASS" if good and early else "MISS"
    print(
        f"{verdict}: at least as good {'yes' if good else 'no'}, "
        f"stops early {'yes' if early else 'no'}"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
