"""Keras pipeline vs its float32 and int8 ONNX files (onnxruntime), side by side.

Trains the default network (784-1024-512-256-10) briefly on the embedded
sample, exports it with ``export_onnx`` twice (float32, and
``quantize="int8"``) and measures, in the same process and interleaved so
that all three see the same machine load:

- throughput: ``predict_proba`` on 10,000 images (the sample's test images
  ten times), best of ``--repeats`` interleaved runs, for the Keras pipeline
  and for ``load_onnx``'s OnnxClassifier over each file (goal: int8 at least
  2x Keras);
- single-image latency: ``predict_proba`` of one image, ``--calls`` calls
  each, median and 99th percentile (goal: int8 p99 under 0.5 ms);
- test accuracy of float32 and int8 (goal: within 0.003) on the sample's
  1,000 test images, and on Fashion-MNIST: the same network trained for
  ``--epochs`` on ``--fashion-train`` training images (default 4,000; 0 for
  all 60,000) and scored on ``--fashion-test`` test images (default all
  10,000), read from ``--fashion-dir`` (skipped if it does not exist).

With ``--static`` it also writes an int8 file with onnxruntime's static
(calibrated, QDQ) quantiser, calibrated on 1,000 training images, to compare
with the dynamic quantiser that ``export_onnx`` uses. Usage::

    python benchmarks/bench_export.py [--epochs 1] [--repeats 10] [--calls 2000]
        [--fashion-train 4000] [--fashion-test 10000] [--static]
        [--backend tensorflow|jax]
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

FASHION = Path("/usr/share/datasets/fashion-mnist")


def best_seconds(predictors, X, repeats):
    """Shortest wall time of each predictor on ``X``, calls interleaved.

    Interleaving call by call lets all see the same machine load, which
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


def static_int8(pipe, X_calibration, path):
    """An int8 file by onnxruntime's static quantiser (QDQ), for comparison."""
    import numpy as np
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    from sk_mnist.export import to_onnx

    class Batches(CalibrationDataReader):
        def __init__(self):
            batches = range(0, len(X_calibration), 250)
            X = X_calibration.astype(np.float32)
            self.batches = iter([{"X": X[i : i + 250]} for i in batches])

        def get_next(self):
            return next(self.batches, None)

    onnx_model = to_onnx(pipe)
    quantize_static(
        onnx_model,
        path,
        Batches(),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul", "Gemm"],
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    model = onnx.load(path)  # the metadata load_onnx reads, as export writes it
    onnx.helper.set_model_props(
        model, {p.key: p.value for p in onnx_model.metadata_props}
    )
    onnx.save(model, path)
    return path


def exported(pipe, folder, static_calibration=None):
    """``{name: OnnxClassifier}`` of ``pipe`` as float32 and int8 files."""
    from sk_mnist.export import export_onnx, load_onnx

    paths = {
        "fp32": export_onnx(pipe, folder / "fp32.onnx"),
        "int8": export_onnx(pipe, folder / "int8.onnx", quantize="int8"),
    }
    if static_calibration is not None:
        paths["int8s"] = static_int8(pipe, static_calibration, folder / "int8s.onnx")
    sizes = {name: path.stat().st_size / 1e6 for name, path in paths.items()}
    models = {name: load_onnx(paths[name]) for name in ("fp32", "int8")}
    if "int8s" in paths:
        # load_onnx refuses QDQ files (DequantizeLinear of constant weights,
        # which onnxruntime folds on load): a plain session, for comparison.
        import onnxruntime

        from sk_mnist.export import OnnxClassifier

        session = onnxruntime.InferenceSession(
            paths["int8s"], providers=["CPUExecutionProvider"]
        )
        models["int8s"] = OnnxClassifier(session, paths["int8s"])
    return models, sizes


def fashion_accuracy(args, folder):
    """``{name: accuracy}`` of Keras, fp32 and int8 on Fashion-MNIST, or None."""
    from sk_mnist import make_mnist_pipeline
    from sk_mnist.datasets import load_idx

    if not (args.fashion_dir / "t10k-images-idx3-ubyte.gz").exists():
        return None
    X, y = load_idx(
        args.fashion_dir / "train-images-idx3-ubyte.gz",
        args.fashion_dir / "train-labels-idx1-ubyte.gz",
    )
    X_test, y_test = load_idx(
        args.fashion_dir / "t10k-images-idx3-ubyte.gz",
        args.fashion_dir / "t10k-labels-idx1-ubyte.gz",
    )
    if args.fashion_train:
        X, y = X[: args.fashion_train], y[: args.fashion_train]
    X_test, y_test = X_test[: args.fashion_test], y_test[: args.fashion_test]
    pipe = make_mnist_pipeline(epochs=args.epochs, random_state=0).fit(X, y)
    calibration = X[:1000] if args.static else None
    onnx_models, _ = exported(pipe, folder, calibration)
    found = {"keras": pipe.score(X_test, y_test)}
    found.update({k: m.score(X_test, y_test) for k, m in onnx_models.items()})
    agree = {
        k: float((m.predict(X_test) == onnx_models["fp32"].predict(X_test)).mean())
        for k, m in onnx_models.items()
        if k != "fp32"
    }
    return found, agree, len(X), len(X_test)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--fashion-dir", type=Path, default=FASHION)
    parser.add_argument("--fashion-train", type=int, default=4000)
    parser.add_argument("--fashion-test", type=int, default=10000)
    parser.add_argument("--static", action="store_true")
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

    (X, y), (X_test, y_test) = load_sample()
    pipe = make_mnist_pipeline(epochs=args.epochs, random_state=0).fit(X, y)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_models, sizes = exported(
            pipe, Path(tmp), X[:1000] if args.static else None
        )
        fashion = fashion_accuracy(args, Path(tmp))
    X_big = np.tile(X_test, (10, 1))
    predictors = {"keras": pipe.predict_proba}
    predictors.update({name: m.predict_proba for name, m in onnx_models.items()})
    keras_labels = pipe.predict(X_test)
    fp32_labels = onnx_models["fp32"].predict(X_test)
    max_diff = np.abs(pipe.predict_proba(X_test) - predictors["fp32"](X_test)).max()

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
        f"784-1024-512-256-10, {args.epochs} epoch(s) on 4,000 images; ONNX files "
        + ", ".join(f"{name} {size:.1f} MB" for name, size in sizes.items())
        + f"; fp32 labels = Keras on the 1,000 test images: "
        f"{np.array_equal(keras_labels, fp32_labels)}; max |p_fp32 - p_keras| "
        f"{max_diff:.1e}; load average {load_before:.1f} before, "
        f"{load_after:.1f} after"
    )
    print(
        f"\nthroughput, predict_proba on {len(X_big):,} images (best of "
        f"{args.repeats}, interleaved):"
    )
    for name in predictors:
        rate = len(X_big) / seconds[name]
        ratio = seconds["keras"] / seconds[name]
        print(
            f"  {name:5s}: {seconds[name] * 1e3:8.1f} ms  {rate:10,.0f} images/s"
            f"  x{ratio:.2f} Keras"
        )
    print(f"\nsingle-image latency, predict_proba, {args.calls} calls each:")
    for name, values in lat.items():
        print(
            f"  {name:5s}: median {statistics.median(values):7.3f} ms, "
            f"p99 {percentile(values, 99):7.3f} ms"
        )
    print("\ntest accuracy (sample: 1,000 test images):")
    scores = {"keras": pipe.score(X_test, y_test)}
    scores.update({k: m.score(X_test, y_test) for k, m in onnx_models.items()})
    labels = {"keras": keras_labels}
    labels.update({k: m.predict(X_test) for k, m in onnx_models.items()})
    for name, score in scores.items():
        same = np.mean(labels[name] == fp32_labels)
        print(f"  {name:5s}: {score:.4f}  (same label as fp32: {same:.1%})")
    print(f"  int8 - fp32: {scores['int8'] - scores['fp32']:+.4f} (goal: within 0.003)")
    if fashion is None:
        print(f"\nFashion-MNIST: skipped ({args.fashion_dir} not found)")
        return
    found, agree, n_train, n_test = fashion
    print(
        f"\nFashion-MNIST, trained on {n_train:,} images ({args.epochs} epoch(s)), "
        f"scored on {n_test:,}:"
    )
    for name, score in found.items():
        note = f"  (same label as fp32: {agree[name]:.1%})" if name in agree else ""
        print(f"  {name:5s}: {score:.4f}{note}")
    print(f"  int8 - fp32: {found['int8'] - found['fp32']:+.4f} (goal: within 0.003)")


if __name__ == "__main__":
    main()
