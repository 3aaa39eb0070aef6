"""Time load_mnist_csv against a bare pandas.read_csv of the same file.

Builds a Kaggle-layout MNIST CSV (60,000 rows by default) in a temporary
folder, from Fashion-MNIST (``fetch_fashion_mnist``: Debian's ``dataset-fashion-mnist``
or the data home) when it is there, else from synthetic digits of the same shape.
Each loader is timed in this process, alternating, best of ``--repeat``; its
peak memory is measured in a fresh process, as the peak resident set size
(VmHWM) reached while loading minus the size before.  The third loader reads
the same file through a FIFO, as ``--data <(cat FILE)`` does: a stream is read
once and kept in memory, so its peak includes the file's text.

    python benchmarks/bench_load_csv.py [--rows N] [--repeat R] [--skip-gz]

Exits with status 1 when load_mnist_csv takes more than ``--target`` times as
long as pandas on the plain CSV file.  Given a file's name, pandas parses it in
several threads (one per CPU, up to 6), so the ratio is worth measuring on an
idle machine: a busy one slows pandas' threads more than the serial checks.
"""

import argparse
import contextlib
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time

import numpy as np
import pandas as pd

from sk_mnist.datasets import (
    FetchError,
    fetch_fashion_mnist,
    load_mnist_csv,
    save_mnist_csv,
)


def bare_pandas(path):
    return pd.read_csv(path, dtype="uint8")


def through_fifo(path):
    """load_mnist_csv of ``path``'s content, written into a FIFO by a thread."""
    with tempfile.TemporaryDirectory() as folder:
        fifo = os.path.join(folder, "fifo")
        os.mkfifo(fifo)

        def feed():
            with open(path, "rb") as src, open(fifo, "wb") as dst:
                shutil.copyfileobj(src, dst)

        writer = threading.Thread(target=feed)
        writer.start()
        try:
            return load_mnist_csv(fifo)
        finally:
            writer.join()


LOADERS = {
    'pandas.read_csv(dtype="uint8")': bare_pandas,
    "load_mnist_csv": load_mnist_csv,
    "load_mnist_csv(FIFO)": through_fifo,
}


def make_data(rows):
    try:
        # Debian's folder or the data home, checked; never downloaded here.
        (X, y), _ = fetch_fashion_mnist(download_if_missing=False, verbose=False)
        source = "Fashion-MNIST training set"
    except FetchError as err:
        # Roughly MNIST's statistics: four pixels in five are blank.
        rng = np.random.default_rng(0)
        X = rng.integers(0, 256, size=(rows, 784), dtype=np.uint8)
        X[rng.random(X.shape) < 0.8] = 0
        y = rng.integers(0, 10, size=rows)
        source = f"SYNTHETIC data ({err})"
    reps = -(-rows // len(X))
    return np.tile(X, (reps, 1))[:rows], np.tile(y, reps)[:rows], source


def memory_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def peak_extra_child(name, path, conn):
    # ru_maxrss survives exec, so a spawned child would start with its
    # parent's peak; VmHWM belongs to this process alone, and writing 5 to
    # clear_refs resets it to the current size.
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = memory_kib("VmRSS")
    LOADERS[name](path)
    conn.send(memory_kib("VmHWM") - before)
    conn.close()


def peak_extra_mib(name, path):
    """Peak extra memory of one load, in MiB, measured in a fresh process."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=peak_extra_child, args=(name, path, sender))
    process.start()
    sender.close()
    extra = receiver.recv()
    process.join()
    return extra / 1024


def bench(path, repeat):
    best = dict.fromkeys(LOADERS, float("inf"))
    for _ in range(repeat):
        for name, loader in LOADERS.items():
            start = time.perf_counter()
            loader(path)
            best[name] = min(best[name], time.perf_counter() - start)
    print(f"\n{os.path.basename(path)}: {os.path.getsize(path) / 1e6:.1f} MB")
    for name in LOADERS:
        memory = peak_extra_mib(name, path)
        print(f"  {name:32} {best[name]:6.3f} s   peak extra RSS {memory:6.0f} MiB")
    ratio = best["load_mnist_csv"] / best['pandas.read_csv(dtype="uint8")']
    print(f"  {'ratio load_mnist_csv / pandas':32} {ratio:6.2f}")
    fifo = best["load_mnist_csv(FIFO)"] / best["load_mnist_csv"]
    print(f"  {'ratio FIFO / file':32} {fifo:6.2f}")
    return ratio


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--target", type=float, default=1.3)
    parser.add_argument("--skip-gz", action="store_true", help="skip the .csv.gz")
    args = parser.parse_args(argv)

    X, y, source = make_data(args.rows)
    print(f"data: {len(X)} rows, {source}")
    print(f"best of {args.repeat}, alternating; pandas {pd.__version__}")
    with tempfile.TemporaryDirectory() as folder:
        names = ["mnist.csv"] if args.skip_gz else ["mnist.csv", "mnist.csv.gz"]
        ratios = {}
        for name in names:
            path = os.path.join(folder, name)
            start = time.perf_counter()
            save_mnist_csv(path, X, y)
            print(f"\nsave_mnist_csv({name!r}): {time.perf_counter() - start:.2f} s")
            ratios[name] = bench(path, args.repeat)
    ok = ratios["mnist.csv"] <= args.target
    verdict = "PASS" if ok else "FAIL"
    print(
        f"\n{verdict}: plain CSV ratio {ratios['mnist.csv']:.2f}, target {args.target}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
