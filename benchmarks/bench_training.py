"""Side-by-side training benchmark: the homework's Keras code against sk-mnist.

Trains, on the same data in one run, and prints a table of ratios to (a):

(a) ``keras-homework``: the homework's plain Keras code (Dense 1024-512-256
    relu, softmax, Adam 1e-3, batch 32, 20 epochs), with Keras' defaults;
(b) ``pipeline-homework``: ``make_mnist_pipeline(**HOMEWORK_PARAMS)``, the same
    recipe through sk-mnist;
(c) ``pipeline-default``: ``make_mnist_pipeline()``, sk-mnist's defaults;
(d) ``sklearn-mlp``: scikit-learn's ``MLPClassifier`` with the same layers,
    Adam 1e-3, batch 32, no L2, one ``partial_fit`` per epoch;
(e) ``torch-loop``: a plain PyTorch loop of the same network (only when torch
    is installed);
(f) ``pipeline-batch512``: the defaults at batch size 512, for a few epochs
    (``--short-epochs``), to compare an epoch with the compute floor;
(g) ``pipeline-homework-plain``: (b) for a few epochs with sk-mnist's speed
    settings switched off (one batch per compiled call, no XLA), which
    isolates the wrapper's own overhead.

Columns: seconds per epoch (median over epochs and seeds), wall time of the
whole fit, epochs run, time to a target test accuracy, final test accuracy
(median over seeds), peak resident memory of the process and predict
throughput on the test images. Every run happens in a fresh process (so peak
memory is its own) and is timed without the per-epoch test evaluation that
the accuracy curve needs. The same run measures the machine's fp32 matmul
rate, turns the network's FLOPs into a compute floor per epoch, and times the
CSV loader against a bare ``pandas.read_csv``.

Data: Fashion-MNIST from Debian's ``dataset-fashion-mnist`` (60,000 + 10,000
real images) when it is installed, else synthetic images of the same shape,
and the output says which.

    python benchmarks/bench_training.py            # everything: ~40 min on 2 cores
    python benchmarks/bench_training.py --configs a,c --seeds 1 --epochs 3
    KERAS_BACKEND=jax python benchmarks/bench_training.py  # Keras rows on JAX

Exits with status 1 when a target of the performance issue is missed.
"""

import argparse
import importlib.metadata
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HIDDEN = (1024, 512, 256)
N_FEATURES, N_CLASSES = 784, 10
CONFIGS = {
    "a": "keras-homework",
    "b": "pipeline-homework",
    "c": "pipeline-default",
    "d": "sklearn-mlp",
    "e": "torch-loop",
    "f": "pipeline-batch512",
    "g": "pipeline-homework-plain",
}
LARGE_BATCH = 512
EVAL_CHUNK = 2048


# ------------------------------------------------------------------ data
def load_data(n_train=None, synthetic=False):
    """Return ``X_train, y_train, X_test, y_test`` (uint8 pixels) and a source."""
    from sk_mnist.datasets import FetchError, fetch_fashion_mnist

    data, source = None, "Fashion-MNIST (real images)"
    if not synthetic:
        try:
            # Debian's folder or the data home, checked; never downloaded here.
            data = fetch_fashion_mnist(download_if_missing=False, verbose=False)
        except FetchError:
            pass
    if data is None:
        data = _synthetic()
        source = (
            "SYNTHETIC images of the same shape (Debian's dataset-fashion-mnist "
            "is not installed)"
        )
    (X, y), (X_test, y_test) = data
    if n_train is not None:
        X, y = X[:n_train], y[:n_train]
    return X, y, X_test, y_test, source


def _synthetic(n_train=60_000, n_test=10_000):
    # Ten random "prototype" images plus heavy noise: learnable but not trivially.
    rng = np.random.default_rng(0)
    prototypes = rng.integers(0, 256, size=(N_CLASSES, N_FEATURES))
    prototypes[rng.random(prototypes.shape) < 0.6] = 0

    def draw(n):
        y = rng.integers(0, N_CLASSES, size=n)
        noise = rng.normal(0, 90, size=(n, N_FEATURES))
        X = np.clip(prototypes[y] * rng.uniform(0.3, 1.0, (n, 1)) + noise, 0, 255)
        return X.astype(np.uint8), y.astype(np.uint8)

    return draw(n_train), draw(n_test)


def _macs(layers):
    """Multiply-adds per sample of each Dense layer."""
    return [a * b for a, b in zip(layers[:-1], layers[1:], strict=True)]


def epoch_flops(n_samples, layers=(N_FEATURES, *HIDDEN, N_CLASSES)):
    """Multiply-add FLOPs of one training epoch of a Dense stack.

    Forward ``2*sum(in*out)`` per sample, backward as much again for the
    weight gradients plus the input gradients of every layer but the first.
    """
    macs = _macs(layers)
    return 2 * n_samples * (2 * sum(macs) + sum(macs[1:]))


def forward_flops(n_samples, layers=(N_FEATURES, *HIDDEN, N_CLASSES)):
    return 2 * n_samples * sum(_macs(layers))


def matmul_gflops(n=2048, repeat=7):
    """fp32 matmul rate of this machine (NumPy's BLAS), best of ``repeat``."""
    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeat))
    return 2 * n**3 / best / 1e9


def _timed(func):
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------- workers
class Clock:
    """Training time per epoch and test accuracy after each, eval excluded."""

    def __init__(self, X_test, y_test, predict):
        self.X_test, self.y_test, self.predict = X_test, y_test, predict
        self.epoch_s, self.accuracy, self.eval_s = [], [], 0.0
        self.start = self.epoch_start = None

    def begin_fit(self):
        self.start = time.perf_counter()

    def begin_epoch(self):
        self.epoch_start = time.perf_counter()

    def end_epoch(self):
        now = time.perf_counter()
        self.epoch_s.append(now - self.epoch_start)
        y_pred = np.concatenate(
            [
                self.predict(self.X_test[i : i + EVAL_CHUNK])
                for i in range(0, len(self.X_test), EVAL_CHUNK)
            ]
        )
        self.accuracy.append(float(np.mean(y_pred == self.y_test)))
        self.eval_s += time.perf_counter() - now

    def cumulative(self):
        """Training seconds from the start of fit to the end of each epoch."""
        # Time before the first epoch (building, compiling) counts too.
        return list(np.cumsum(self.epoch_s) + self.setup_s)

    def end_fit(self):
        total = time.perf_counter() - self.start - self.eval_s
        self.setup_s = max(total - sum(self.epoch_s), 0.0)
        return total


def _keras_clock_callback(clock):
    import keras

    class ClockCallback(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            clock.begin_epoch()

        def on_epoch_end(self, epoch, logs=None):
            clock.end_epoch()

    return ClockCallback()


def _keras_argmax(clock_model):
    import keras

    def predict(X):
        return np.argmax(
            keras.ops.convert_to_numpy(clock_model[0](X, training=False)), 1
        )

    return predict


def _throughput(predict, X, repeat=3):
    predict(X)  # warm up: tracing, compilation
    return len(X) / min(_timed(lambda: predict(X)) for _ in range(repeat))


def run_keras_homework(data, seed, epochs):
    import keras

    X, y, X_test, y_test = data
    x_train = X.astype("float32") / 255
    x_test = X_test.astype("float32") / 255
    holder = [None]
    clock = Clock(x_test, y_test, _keras_argmax(holder))
    keras.utils.set_random_seed(seed)
    clock.begin_fit()
    model = keras.Sequential(
        [
            keras.Input((N_FEATURES,)),
            keras.layers.Dense(1024, activation="relu"),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    holder[0] = model
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        x_train,
        y,
        epochs=epochs,
        batch_size=32,
        verbose=0,
        callbacks=[_keras_clock_callback(clock)],
    )
    fit_s = clock.end_fit()
    # The homework predicts with Keras' default batch size.
    ips = _throughput(
        lambda A: model.predict(A.astype("float32") / 255, verbose=0), X_test
    )
    final = float(np.mean(np.argmax(model.predict(x_test, verbose=0), 1) == y_test))
    return clock, fit_s, final, ips, 32


def run_pipeline(data, seed, epochs, homework, batch_size=None, **extra):
    from sk_mnist import HOMEWORK_PARAMS, make_mnist_pipeline

    X, y, X_test, y_test = data
    params = dict(HOMEWORK_PARAMS) if homework else {}
    if homework or batch_size:
        params["epochs"] = epochs
    if batch_size:
        params["batch_size"] = batch_size
    params.update(extra)
    pipe = make_mnist_pipeline(random_state=seed, **params)
    holder = [None]
    clock = Clock(X_test.astype("float32") / 255, y_test, _keras_argmax(holder))

    callback = _keras_clock_callback(clock)
    original = callback.set_model

    def set_model(model):  # the pipeline builds its network inside fit
        holder[0] = model
        original(model)

    callback.set_model = set_model
    pipe.set_params(mlp__fit__callbacks=[callback])  # not to predict too
    clock.begin_fit()
    pipe.fit(X, y)
    fit_s = clock.end_fit()
    ips = _throughput(pipe.predict, X_test)
    final = float(pipe.score(X_test, y_test))
    return clock, fit_s, final, ips, pipe[-1].batch_size


def run_sklearn_mlp(data, seed, epochs):
    from sklearn.neural_network import MLPClassifier

    X, y, X_test, y_test = data
    x_train = X.astype(np.float32) / 255
    x_test = X_test.astype(np.float32) / 255
    mlp = MLPClassifier(
        hidden_layer_sizes=HIDDEN,
        solver="adam",
        learning_rate_init=1e-3,
        batch_size=32,
        alpha=0.0,
        random_state=seed,
    )
    clock = Clock(x_test, y_test, mlp.predict)
    classes = np.unique(y)
    clock.begin_fit()
    for _ in range(epochs):
        clock.begin_epoch()
        mlp.partial_fit(x_train, y, classes=classes)
        clock.end_epoch()
    fit_s = clock.end_fit()
    ips = _throughput(lambda A: mlp.predict(A.astype(np.float32) / 255), X_test)
    return clock, fit_s, float(mlp.score(x_test, y_test)), ips, 32


def run_torch_loop(data, seed, epochs):
    import torch
    from torch import nn

    X, y, X_test, y_test = data
    torch.manual_seed(seed)
    x_train = torch.from_numpy(X.astype(np.float32) / 255)
    y_train = torch.from_numpy(y.astype(np.int64))
    layers, width = [], N_FEATURES
    for h in HIDDEN:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    model = nn.Sequential(*layers, nn.Linear(width, N_CLASSES))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    @torch.no_grad()
    def predict(A):
        model.eval()
        out = model(torch.from_numpy(np.ascontiguousarray(A))).argmax(1).numpy()
        model.train()
        return out

    clock = Clock(X_test.astype(np.float32) / 255, y_test, predict)
    clock.begin_fit()
    for _ in range(epochs):
        clock.begin_epoch()
        order = torch.randperm(len(x_train))
        for i in range(0, len(order), 32):
            idx = order[i : i + 32]
            optimizer.zero_grad()
            loss_fn(model(x_train[idx]), y_train[idx]).backward()
            optimizer.step()
        clock.end_epoch()
    fit_s = clock.end_fit()
    ips = _throughput(lambda A: predict(A.astype(np.float32) / 255), X_test)
    final = float(np.mean(predict(clock.X_test) == y_test))
    return clock, fit_s, final, ips, 32


def worker(args):
    X, y, X_test, y_test, _ = load_data(args.n_train, args.synthetic)
    data = (X, y, X_test, y_test)
    name = CONFIGS[args.worker]
    if name == "keras-homework":
        result = run_keras_homework(data, args.seed, args.epochs)
    elif name == "pipeline-homework":
        result = run_pipeline(data, args.seed, args.epochs, homework=True)
    elif name == "pipeline-default":
        result = run_pipeline(data, args.seed, args.epochs, homework=False)
    elif name == "pipeline-batch512":
        result = run_pipeline(
            data,
            args.seed,
            args.short_epochs,
            homework=False,
            batch_size=LARGE_BATCH,
        )
    elif name == "pipeline-homework-plain":
        plain = {"compile__steps_per_execution": 1, "compile__jit_compile": "auto"}
        result = run_pipeline(data, args.seed, args.short_epochs, True, **plain)
    elif name == "sklearn-mlp":
        result = run_sklearn_mlp(data, args.seed, args.mlp_epochs or args.epochs)
    else:
        result = run_torch_loop(data, args.seed, args.epochs)
    clock, fit_s, final, ips, batch_size = result
    record = {
        "config": name,
        "seed": args.seed,
        "backend": _backend(name),
        "batch_size": batch_size,
        "n_train": len(X),
        "epoch_s": clock.epoch_s,
        "cumulative_s": clock.cumulative(),
        "accuracy": clock.accuracy,
        "fit_s": fit_s,
        "final_accuracy": final,
        "predict_per_s": ips,
        "peak_rss_mib": peak_rss_mib(),
    }
    print("RESULT " + json.dumps(record), flush=True)


def _backend(name):
    if name.startswith(("keras", "pipeline")):
        import keras

        return keras.backend.backend()
    return {"sklearn-mlp": "numpy", "torch-loop": "torch"}[name]


# ---------------------------------------------------------------- driver
def run_child(letter, seed, args):
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        letter,
        "--seed",
        str(seed),
        "--epochs",
        str(args.epochs),
        "--short-epochs",
        str(args.short_epochs),
    ]
    if args.mlp_epochs:
        cmd += ["--mlp-epochs", str(args.mlp_epochs)]
    if args.n_train:
        cmd += ["--n-train", str(args.n_train)]
    if args.synthetic:
        cmd.append("--synthetic")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    raise RuntimeError(f"{CONFIGS[letter]} seed {seed} failed: {tail[0]}")


def _torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def time_to(record, target):
    for seconds, acc in zip(record["cumulative_s"], record["accuracy"], strict=True):
        if acc >= target:
            return seconds
    return None


def summarise(records):
    """Medians over seeds of one configuration."""
    med = statistics.median
    reached = [r["time_to_target"] for r in records]
    return {
        "config": records[0]["config"],
        "backend": records[0]["backend"],
        "batch_size": records[0]["batch_size"],
        "seeds": len(records),
        "epoch_s": med([s for r in records for s in r["epoch_s"]]),
        "fit_s": med([r["fit_s"] for r in records]),
        "epochs": med([len(r["epoch_s"]) for r in records]),
        "time_to_target": (
            med(reached) if all(t is not None for t in reached) else None
        ),
        "reached": sum(t is not None for t in reached),
        "final_accuracy": med([r["final_accuracy"] for r in records]),
        "accuracies": [r["final_accuracy"] for r in records],
        "peak_rss_mib": max(r["peak_rss_mib"] for r in records),
        "predict_per_s": med([r["predict_per_s"] for r in records]),
    }


def _cell(row, ref, key, fmt):
    """``value xRATIO`` of ``row[key]`` against ``ref[key]``."""
    value, base = row[key], ref[key]
    if value is None:
        return f"not {row['reached']}/{row['seeds']}"
    ratio = f"x{value / base:.2f}" if base else "-"
    return f"{value:{fmt}} {ratio:>6}"


COLUMNS = (  # title, key, format, width
    ("s/epoch", "epoch_s", ".2f", 13),
    ("fit s", "fit_s", ".1f", 13),
    ("to target s", "time_to_target", ".1f", 13),
    ("peak RSS MiB", "peak_rss_mib", ".0f", 13),
    ("predict img/s", "predict_per_s", ",.0f", 15),
)


def print_table(rows, ref):
    header = f"{'config':<23} {'backend':<10} {'batch':>5} {'epochs':>6} " + " ".join(
        f"{title:>{width}}" for title, _, _, width in COLUMNS
    )
    print(header + "  final accuracy (seeds)")
    print("-" * (len(header) + 24))
    for row in rows:
        cells = " ".join(
            f"{_cell(row, ref, key, fmt):>{width}}" for _, key, fmt, width in COLUMNS
        )
        accs = ", ".join(f"{a:.4f}" for a in row["accuracies"])
        print(
            f"{row['config']:<23} {row['backend']:<10} {row['batch_size']:>5} "
            f"{row['epochs']:>6g} {cells}  {row['final_accuracy']:.4f} ({accs})"
        )


def csv_loader_ratio(X, y, repeat):
    """load_mnist_csv / bare pandas.read_csv on the training images as CSV."""
    # bench_load_csv's loaders, alternated and best of ``repeat`` as there.
    from bench_load_csv import LOADERS

    from sk_mnist.datasets import save_mnist_csv

    # Bare pandas first, then load_mnist_csv (the FIFO row is bench_load_csv's own).
    pandas_loader, ours = list(LOADERS)[:2]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "train.csv")
        save_mnist_csv(path, X, y)
        times = {name: [] for name in (pandas_loader, ours)}
        for _ in range(repeat):
            for name in times:
                load = LOADERS[name]
                times[name].append(_timed(lambda load=load: load(path)))
    return min(times[pandas_loader]), min(times[ours])


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--configs", default="a,b,c,d,e,f,g", help="letters, default all"
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds per config (3)")
    parser.add_argument(
        "--mlp-seeds", type=int, default=1, help="seeds for (d), the slowest (1)"
    )
    parser.add_argument("--epochs", type=int, default=20, help="homework epochs (20)")
    parser.add_argument("--mlp-epochs", type=int, default=None, help="(d) epochs")
    parser.add_argument(
        "--short-epochs", type=int, default=4, help="(f) and (g) epochs (4)"
    )
    parser.add_argument("--n-train", type=int, default=None, help="training subset")
    parser.add_argument("--synthetic", action="store_true", help="synthetic data")
    parser.add_argument(
        "--target",
        type=float,
        default=None,
        help="test accuracy for 'to target' (default: (a)'s median minus 0.003)",
    )
    parser.add_argument("--csv-repeat", type=int, default=3)
    parser.add_argument("--json", help="also write all records to this file")
    parser.add_argument("--worker", choices=sorted(CONFIGS), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)

    X, y, X_test, y_test, source = load_data(args.n_train, args.synthetic)
    letters = [c.strip() for c in args.configs.split(",") if c.strip()]
    if "e" in letters and not _torch_available():
        print("(e) torch-loop skipped: torch is not installed")
        letters.remove("e")
    # The children train; importing Keras here would only slow the driver.
    keras_version = importlib.metadata.version("keras")
    print(f"data: {source}; train {X.shape}, test {X_test.shape}")
    print(
        f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, Keras "
        f"{keras_version}, backend {os.environ.get('KERAS_BACKEND', 'tensorflow')}"
    )
    gflops = matmul_gflops()
    floor_s = epoch_flops(len(X)) / (gflops * 1e9)
    print(
        f"fp32 matmul: {gflops:.0f} GFLOP/s (NumPy, 2048^2); one epoch of the network "
        f"is {epoch_flops(len(X)) / 1e9:.0f} GFLOP, compute floor {floor_s:.2f} s; "
        f"predicting {len(X_test)} images is {forward_flops(len(X_test)) / 1e9:.1f} "
        f"GFLOP, floor {gflops * 1e9 / forward_flops(1):,.0f} img/s"
    )
    records = {}
    for letter in letters:
        n_seeds = {"d": args.mlp_seeds, "f": 1, "g": 1}.get(letter, args.seeds)
        records[letter] = []
        for seed in range(n_seeds):
            record = run_child(letter, seed, args)
            records[letter].append(record)
            print(
                f"  {record['config']} seed {seed}: {len(record['epoch_s'])} epochs, "
                f"fit {record['fit_s']:.1f} s, test accuracy "
                f"{record['final_accuracy']:.4f}",
                flush=True,
            )
    if args.target is not None:
        target = args.target
    elif "a" in records:
        target = statistics.median(r["final_accuracy"] for r in records["a"]) - 0.003
    else:
        target = 0.85
    for rs in records.values():
        for r in rs:
            r["time_to_target"] = time_to(r, target)
    rows = {letter: summarise(rs) for letter, rs in records.items()}
    ref = rows.get("a", next(iter(rows.values())))
    print(f"\ntarget test accuracy: {target:.4f}; ratios are to {ref['config']}")
    print_table(list(rows.values()), ref)

    pandas_s, ours_s = csv_loader_ratio(X, y, args.csv_repeat)
    print(
        f"\nCSV loader, {len(X)} rows: load_mnist_csv {ours_s:.2f} s, bare "
        f"pandas.read_csv {pandas_s:.2f} s, x{ours_s / pandas_s:.2f}"
    )

    checks = []
    if "a" in rows and "b" in rows:
        ratio = rows["b"]["epoch_s"] / rows["a"]["epoch_s"]
        checks.append(
            (
                "wrapper overhead: (b)/(a) per epoch <= 1.05",
                ratio <= 1.05,
                f"x{ratio:.2f}",
            )
        )
    if "a" in rows and "g" in rows:
        ratio = rows["g"]["epoch_s"] / rows["a"]["epoch_s"]
        checks.append(
            (
                "wrapper overhead without speed settings: (g)/(a) per epoch <= 1.05",
                ratio <= 1.05,
                f"x{ratio:.2f}",
            )
        )
    if "a" in rows and "c" in rows:
        acc_ok = rows["c"]["final_accuracy"] >= rows["a"]["final_accuracy"] - 0.003
        ratio = rows["c"]["fit_s"] / rows["a"]["fit_s"]
        checks.append(
            (
                "defaults: (c) median accuracy >= (a) median - 0.003",
                acc_ok,
                f"{rows['c']['final_accuracy']:.4f} vs "
                f"{rows['a']['final_accuracy']:.4f}",
            )
        )
        checks.append(
            ("defaults: (c) fit time <= 0.25 x (a)", ratio <= 0.25, f"x{ratio:.2f}")
        )
    big = [
        r for letter, r in rows.items() if letter in "bcf" and r["batch_size"] >= 256
    ]
    if big:
        best = min(r["epoch_s"] for r in big)
        checks.append(
            (
                "hardware: epoch at batch >= 256 <= 1.5 x compute floor",
                best <= 1.5 * floor_s,
                f"{best:.2f} s = x{best / floor_s:.2f} of {floor_s:.2f} s",
            )
        )
    if "c" in rows:
        ips = rows["c"]["predict_per_s"]
        checks.append(
            ("inference: (c) predict >= 50,000 img/s", ips >= 50_000, f"{ips:,.0f}")
        )
    ratio = ours_s / pandas_s
    checks.append(("CSV loader <= 1.5 x pandas", ratio <= 1.5, f"x{ratio:.2f}"))
    print()
    for what, ok, value in checks:
        print(f"{'PASS' if ok else 'MISS'}  {what}: {value}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"source": source, "gflops": gflops, "records": records}, f)
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
