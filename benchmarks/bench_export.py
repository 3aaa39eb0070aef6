"""Keras pipeline vs the same pipeline exported to ONNX (onnxruntime), side by side.

Trains the default network (784-1024-512-256-10) briefly on the embedded
sample, exports it with ``export_onnx`` and measures, in the same process
and interleaved so that both see the same machine load:

- throughput: ``predict_proba`` on 10,000 images (the sample's test images
  ten times), best of ``--repeats`` interleaved runs, for the Keras pipeline and
  for ``load_onnx``'s OnnxClassifier;
- single-image latency: ``predict_proba`` of one image, ``--calls`` calls
  each, median and 99th percentile.

It prints the numbers and the ratios (goal: onnxruntime at least 2x the
Keras throughput, single-image p99 under 1 ms). Usage::

    python benchmarks/bench_export.py [--epochs 1] [--repeats 10] [--calls 2000]
        [--backend tensorflow|jax]
"""

import argparse
import os
import statistics
import tempfile
import time


def best_seconds(predictors, X, repeats):
    """Shortest wall time of each predictor on ``X``, calls interleaved.

    Interleaving call by call lets both see the same machine load, which
    matters on a shared machine; the minimum is the least disturbed run.
    """
    times = {name: [] for name in predictors}
    for _ in range(repeats):
        for name, predict in predictors.items():
            start = time.perf_counter()
            predict(X)
            times[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in times.items()}


def latencies_ms(predictors, images, calls):
    """Per-call milliseconds of each predictor, calls interleaved."""
    out = {name: [] for name in predictors}
    for i in range(calls):
        image = images[i % len(images)][None, :]
        for name, predict in predictors.items():
            start = time.perf_counter()
            predict(image)
            out[name].append((time.perf_counter() - start) * 1e3)
    return out


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--backend", default=None, help="KERAS_BACKEND to use")
    args = parser.parse_args()
    if args.backend:
        os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    import keras
    import numpy as np
    import onnxruntime

    from sk_mnist import make_mnist_pipeline
    from sk_mnist.datasets import load_sample
    from sk_mnist.export import export_onnx, load_onnx

    (X, y), (X_test, y_test) = load_sample()
    pipe = make_mnist_pipeline(epochs=args.epochs, random_state=0).fit(X, y)
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(pipe, os.path.join(tmp, "mnist.onnx"))
        size_mb = path.stat().st_size / 1e6
        onnx_pipe = load_onnx(path)
    X_big = np.tile(X_test, (10, 1))
    predictors = {"keras": pipe.predict_proba, "onnx": onnx_pipe.predict_proba}
    agree = np.array_equal(pipe.predict(X_test), onnx_pipe.predict(X_test))
    max_diff = np.abs(predictors["keras"](X_test) - predictors["onnx"](X_test)).max()

    for predict in predictors.values():  # warm up: tracing, thread pools
        predict(X_big)
        predict(X_test[:1])
    load_before = os.getloadavg()[0]  # other jobs on the machine
    seconds = best_seconds(predictors, X_big, args.repeats)
    lat = latencies_ms(predictors, X_test, args.calls)
    load_after = os.getloadavg()[0]

    print(
        f"Keras {keras.__version__} ({keras.backend.backend()}), onnxruntime "
        f"{onnxruntime.__version__}, {os.cpu_count()} CPUs; default network "
        f"784-1024-512-256-10, {args.epochs} epoch(s) on 4,000 images; ONNX file "
        f"{size_mb:.1f} MB; same labels on the 1,000 test images: {agree}; "
        f"max |p_onnx - p_keras| {max_diff:.1e}; load average "
        f"{load_before:.1f} before, {load_after:.1f} after"
    )
    print(
        f"\nthroughput, predict_proba on {len(X_big):,} images (best of "
        f"{args.repeats}, interleaved):"
    )
    for name in predictors:
        rate = len(X_big) / seconds[name]
        print(f"  {name:5s}: {seconds[name] * 1e3:8.1f} ms  {rate:10,.0f} images/s")
    print(f"  onnx/keras throughput: x{seconds['keras'] / seconds['onnx']:.2f}")
    print(f"\nsingle-image latency, predict_proba, {args.calls} calls each:")
    for name, values in lat.items():
        print(
            f"  {name:5s}: median {statistics.median(values):7.3f} ms, "
            f"p99 {percentile(values, 99):7.3f} ms"
        )
    print(
        "  keras/onnx: median "
        f"x{statistics.median(lat['keras']) / statistics.median(lat['onnx']):.1f}, "
        f"p99 x{percentile(lat['keras'], 99) / percentile(lat['onnx'], 99):.1f}"
    )


if __name__ == "__main__":
    main()
