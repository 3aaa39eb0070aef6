"""Many fits in one process (a grid search's life) must not leak.

Runs N consecutive small fits of ``make_mnist_pipeline`` on the embedded sample
and prints the resident memory and the fit time of the first and the last, and
their ratios. Usage::

    python benchmarks/bench_repeated_fits.py [--fits 20] [--backend tensorflow|jax]
"""

import argparse
import os
import resource
import time


def rss_mib():
    """Current resident set size in MiB (Linux)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=20)
    parser.add_argument("--backend", default=None, help="KERAS_BACKEND to use")
    args = parser.parse_args()
    if args.backend:
        os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    import keras

    from sk_mnist import make_mnist_pipeline
    from sk_mnist.datasets import load_sample

    (X, y), (X_test, y_test) = load_sample()
    rows = []
    for i in range(args.fits):
        pipe = make_mnist_pipeline(
            hidden_layer_sizes=(256, 128), epochs=2, batch_size=128, random_state=i
        )
        start = time.perf_counter()
        pipe.fit(X, y)
        seconds = time.perf_counter() - start
        score = pipe.score(X_test, y_test)
        rows.append((i + 1, seconds, rss_mib(), score))
        print(
            f"fit {i + 1:3d}: {seconds:6.2f} s  RSS {rows[-1][2]:7.1f} MiB  "
            f"accuracy {score:.3f}",
            flush=True,
        )

    first, last = rows[0], rows[-1]
    # The first fit pays one-off costs (graph tracing, thread pools); the
    # second is the fair baseline for "later fits are not slower".
    second = rows[1] if len(rows) > 1 else first
    print(
        f"\nbackend {keras.backend.backend()}, {args.fits} fits of a 256-128 MLP, "
        "2 epochs on 4,000 images"
    )
    print(
        f"fit time : first {first[1]:.2f} s, second {second[1]:.2f} s, "
        f"last {last[1]:.2f} s, last/second {last[1] / second[1]:.2f}"
    )
    print(
        f"RSS      : after first {first[2]:.1f} MiB, after second {second[2]:.1f} MiB,"
        f" after last {last[2]:.1f} MiB, growth per fit after the second "
        f"{(last[2] - second[2]) / max(len(rows) - 2, 1):.2f} MiB"
    )


if __name__ == "__main__":
    main()
