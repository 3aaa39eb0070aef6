"""Accuracy on digits MNIST never saw, for each training-time augmentation.

For no augmentation and each preset of ``sk_mnist._augment`` (and any
``--variant``), trains the homework network (784-1024-512-256-10, Adam at
2e-3 on a half-cosine schedule, batch 128: the estimator's defaults) with
``DenseMLPClassifier(augment=...)`` on the embedded sample's 4,000 training
digits, then prints one table, side by side:

* accuracy on the sample's 1,000 clean test digits;
* accuracy on each kind of ``benchmarks/wild_digits.py`` (``make_wild_kind``:
  the same 1,000 test digits, drawn rotated, small, off-centre, thin, thick,
  noisy, as JPEG, elastically warped, or plain), read with ``load_images``
  and normalised by ``DigitNormalizer(on_empty="zeros")`` as the command
  line reads image folders;
* accuracy on real digits of other writers: scikit-learn's ``load_digits``
  (1,797 digits of 43 people, 8 x 8 in 16 levels, scaled to 0-255 and read
  by ``DigitNormalizer``), reported beside the goals, not among them (the
  issue's aim is above 0.90; nothing is tuned on it);
* time per training epoch, as a ratio to the plain (no augmentation) epoch:
  one epoch of each setting in turn, ``--rounds`` times, median kept, after
  the accuracy runs, so that all settings share the machine's load.

Each wild set is read twice, with ``DigitNormalizer``'s defaults (``denoise``
on) and with ``denoise=False``: each setting has a row for each, unless
``--denoise on`` or ``off`` keeps one.

Goals (issue 25): clean >= 0.970 with the best preset, every wild kind within
0.03 of clean, thin >= 0.90, an augmented epoch at most 1.5 x a plain one
(with the default normaliser). Exits 1 when no setting meets them all.

    python benchmarks/bench_robustness.py [--epochs 40] [--seed 0]
        [--presets none affine elastic] [--variant NAME=JSON ...]
        [--trainer estimator|keras] [--n-digits N] [--rounds N]
        [--denoise both|on|off]

``--fashion`` trains on Fashion-MNIST instead (all 60,000 training images,
or the first ``--n-train``; read from Debian's ``dataset-fashion-mnist`` or
the ``fetch_fashion_mnist`` cache, never downloaded) and prints, for each
setting, the fit time, its ratio to the plain fit, and the accuracy on the
10,000 test images. ``--epochs`` is then the estimator's default (15)
unless given. Goal: no augmentation lowers the clean accuracy by more than
0.005 at the same epochs; exits 1 otherwise. About 1 to 2 minutes per
setting on 2 cores.

    python benchmarks/bench_robustness.py --fashion [--epochs 15] [--n-train N]

``--trainer estimator`` (the default) trains
``DenseMLPClassifier(augment=...)`` (epoch times from ``partial_fit``);
``--trainer keras`` builds a plain Keras model instead, the augmenter layer
then ``build_dense_mlp``, as a reference. About 1 minute per setting at 40
epochs on 2 cores, plus 2 minutes to draw and read the wild sets. For a
quick smoke run: ``--epochs 1 --n-digits 20 --rounds 1``.
"""

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from sk_mnist._keras_runtime import import_keras_quietly
from sk_mnist.datasets import load_sample
from sk_mnist.images import DigitNormalizer, load_images
from sk_mnist.preprocessing import PixelScaler

BATCH_SIZE = 128
LEARNING_RATE = 2e-3


def _wild_digits_module():
    path = Path(__file__).with_name("wild_digits.py")
    spec = importlib.util.spec_from_file_location("wild_digits", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: The normalisers the wild sets are read with (``--denoise``).
NORMALIZERS = {
    "on": {},  # the defaults, as the command line and the server read images
    "off": {"denoise": False},
}


def wild_sets(seed, n_digits, normalizers=("on",)):
    """``{normaliser: {kind: (X in [0, 1], y)}}``, read as the CLI reads.

    Each image is read once and normalised by each of `normalizers` (keys
    of :data:`NORMALIZERS`, with ``on_empty="zeros"``).
    """
    wild = _wild_digits_module()
    steps = {
        name: DigitNormalizer(on_empty="zeros", **NORMALIZERS[name])
        for name in normalizers
    }

    def normalize(image):
        return [step.transform([image])[0] for step in steps.values()]

    sets = {name: {} for name in steps}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in wild.KINDS:
            folder = Path(tmp) / kind
            wild.make_wild_kind(folder, kind, seed=seed, n_digits=n_digits)
            found = load_images(folder, transform=normalize)
            y = np.asarray(found.target, dtype=np.int64)
            for i, name in enumerate(steps):
                rows = np.stack([rows[i] for rows in found.images])
                sets[name][kind] = PixelScaler().fit_transform(rows), y
    return sets


# Each trainer: ``train(X, y, augment, epochs, seed) -> predict`` and
# ``one_epoch(X, y, augment, seed) -> run``, ``run()`` training one more
# epoch. Swap them with --trainer.


def _keras_model(augment, seed):
    """``(training model, network)``: the augmenter in front of the network."""
    import keras

    from sk_mnist._augment import make_augmenter
    from sk_mnist.model import HOMEWORK_LAYERS, build_dense_mlp

    keras.backend.clear_session()
    network = build_dense_mlp(784, 10, HOMEWORK_LAYERS, seed=seed)
    augmenter = make_augmenter(augment, 784, seed=seed)
    inputs = keras.Input(shape=(784,))
    x = inputs if augmenter is None else augmenter(inputs)
    return keras.Model(inputs, network(x)), network


def _compiled(model, work):
    import keras

    from sk_mnist._keras_runtime import compile_speed_settings

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        **compile_speed_settings(BATCH_SIZE, work),
    )
    return model


def keras_train(X, y, augment, epochs, seed):
    from sk_mnist._keras_runtime import predict_in_chunks, seeded
    from sk_mnist._training import cosine_schedule

    with seeded(seed):
        model, network = _keras_model(augment, seed)
        _compiled(model, len(X) * epochs).fit(
            X,
            y,
            batch_size=BATCH_SIZE,
            epochs=epochs,
            verbose=0,
            callbacks=[cosine_schedule(LEARNING_RATE, epochs)],
        )
    # The network alone: what is saved, exported and served.
    return lambda X_new: predict_in_chunks(network, X_new).argmax(axis=1)


def keras_one_epoch(X, y, augment, seed):
    model, _ = _keras_model(augment, seed)
    model = _compiled(model, len(X))

    def run():
        model.fit(X, y, batch_size=BATCH_SIZE, epochs=1, verbose=0)

    return run


def _estimator(augment, epochs, seed):
    from sk_mnist import DenseMLPClassifier

    return DenseMLPClassifier(
        batch_size=BATCH_SIZE,
        learning_rate=LEARNING_RATE,
        epochs=epochs,
        random_state=seed,
        augment=augment,
    )


def estimator_train(X, y, augment, epochs, seed):
    clf = _estimator(augment, epochs, seed).fit(X, y)
    return clf.predict


def estimator_one_epoch(X, y, augment, seed):
    clf = _estimator(augment, 1, seed)
    classes = np.unique(y)
    return lambda: clf.partial_fit(X, y, classes=classes)


TRAINERS = {
    "keras": (keras_train, keras_one_epoch),
    "estimator": (estimator_train, estimator_one_epoch),
}


def epoch_seconds(runners, rounds):
    """Median seconds of one epoch per setting, the settings taking turns."""
    for run in runners.values():
        run()  # compiles
    times = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def _settings(args):
    settings = {}
    for name in args.presets:
        settings[name] = None if name == "none" else name
    for variant in args.variant:
        name, _, spec = variant.partition("=")
        settings[name] = json.loads(spec)
    return settings


def other_writers():
    """scikit-learn's real 8 x 8 digits, normalised as images are: (X in [0, 1], y)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    rows = DigitNormalizer(on_empty="zeros").transform(digits.data * (255 / 16))
    return PixelScaler().fit_transform(rows), digits.target


def _table(results, kinds, seconds):
    head = ["setting", "denoise", "epoch s", "ratio", "clean", *kinds, "worst gap"]
    head.append("other writers")
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    plain = seconds.get("none")
    for (name, denoise), acc in results.items():
        gap = acc["clean"] - min(acc[k] for k in kinds)
        ratio = f"{seconds[name] / plain:.2f}" if plain else "-"
        cells = [name, denoise, f"{seconds[name]:.2f}", ratio, f"{acc['clean']:.3f}"]
        cells += [f"{acc[k]:.3f}" for k in kinds] + [f"{gap:.3f}"]
        cells.append(f"{acc['other writers']:.3f}")
        print(" | ".join(cells))


def _meets_goals(name, acc, kinds, ratio):
    """Whether an augmented setting meets every goal of the module docstring."""
    return name != "none" and all(
        (
            acc["clean"] >= 0.970,
            all(acc["clean"] - acc[k] <= 0.03 for k in kinds),
            acc["thin"] >= 0.90,
            ratio <= 1.5,
        )
    )


def run_wild(args, settings, train, one_epoch):
    """The sample's run: accuracy on the clean and wild digits, epoch times."""
    (X_train, y_train), (X_test, y_test) = load_sample()
    scaler = PixelScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    start = time.perf_counter()
    normalizers = ("on", "off") if args.denoise == "both" else (args.denoise,)
    sets = wild_sets(args.seed, args.n_digits, normalizers)
    took = time.perf_counter() - start
    kinds = list(next(iter(sets.values())))
    print(f"wild sets: {len(kinds)} kinds drawn and read in {took:.0f} s")

    X_other, y_other = other_writers()
    results = {}
    for name, augment in settings.items():
        start = time.perf_counter()
        predict = train(X_train, y_train, augment, args.epochs, args.seed)
        clean = float(np.mean(predict(X_test) == y_test))
        other = float(np.mean(predict(X_other) == y_other))
        for denoise, by_kind in sets.items():
            acc = {"clean": clean, "other writers": other}
            for kind, (X, y) in by_kind.items():
                acc[kind] = float(np.mean(predict(X) == y))
            results[name, denoise] = acc
        print(
            f"{name}: {args.epochs} epochs in {time.perf_counter() - start:.0f} s, "
            f"clean {clean:.3f}",
            flush=True,
        )
    runners = {
        name: one_epoch(X_train, y_train, augment, args.seed)
        for name, augment in settings.items()
    }
    seconds = epoch_seconds(runners, args.rounds)

    print(f"\n{args.trainer} trainer, {args.epochs} epochs, batch {BATCH_SIZE}:\n")
    _table(results, kinds, seconds)
    plain = seconds.get("none")
    met = [
        name
        for (name, denoise), acc in results.items()
        if denoise == normalizers[0]
        and _meets_goals(
            name, acc, kinds, seconds[name] / plain if plain else float("nan")
        )
    ]
    print(f"\nsettings meeting every goal: {', '.join(met) or 'none'}")
    return 0 if met else 1


def load_fashion(n_train):
    """Fashion-MNIST's training (all, or the first `n_train`) and test images."""
    from sk_mnist.datasets import fetch_fashion_mnist

    (X, y), (X_test, y_test) = fetch_fashion_mnist(
        download_if_missing=False, verbose=False
    )
    if n_train is not None:
        X, y = X[:n_train], y[:n_train]
    return (X, y), (X_test, y_test)


def run_fashion(args, settings, train):
    """Fashion-MNIST: fit time and clean test accuracy of each setting."""
    (X_train, y_train), (X_test, y_test) = load_fashion(args.n_train)
    scaler = PixelScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    found = {}
    for name, augment in settings.items():
        start = time.perf_counter()
        predict = train(X_train, y_train, augment, args.epochs, args.seed)
        seconds = time.perf_counter() - start
        found[name] = seconds, float(np.mean(predict(X_test) == y_test))
        print(f"{name}: {seconds:.0f} s, test {found[name][1]:.4f}", flush=True)
    print(
        f"\nFashion-MNIST, {len(y_train)} training and {len(y_test)} test images, "
        f"{args.trainer} trainer, {args.epochs} epochs, batch {BATCH_SIZE}:\n"
    )
    plain = found.get("none")
    print("setting | fit s | ratio | test accuracy | change")
    print("--- | --- | --- | --- | ---")
    worse = []
    for name, (seconds, acc) in found.items():
        ratio = f"{seconds / plain[0]:.2f}" if plain else "-"
        change = f"{acc - plain[1]:+.4f}" if plain else "-"
        print(f"{name} | {seconds:.0f} | {ratio} | {acc:.4f} | {change}")
        if plain and acc < plain[1] - 0.005:
            worse.append(name)
    print(f"\nlower than none by more than 0.005: {', '.join(worse) or 'none'}")
    return 1 if worse else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="epochs per fit (40; with --fashion, the estimator's default, 15)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of all (0)")
    parser.add_argument(
        "--presets",
        nargs="+",
        default=["none", "affine", "elastic"],
        help="settings: 'none' and preset names (none affine elastic)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="an extra setting, e.g. stroke_only='{\"stroke\": 0.8}'",
    )
    parser.add_argument("--trainer", choices=TRAINERS, default="estimator")
    parser.add_argument("--n-digits", type=int, default=None, help="wild digits")
    parser.add_argument("--rounds", type=int, default=5, help="timed epochs (5)")
    parser.add_argument(
        "--denoise",
        choices=("both", "on", "off"),
        default="both",
        help="read the wild sets with DigitNormalizer's denoise on, off or both",
    )
    parser.add_argument(
        "--fashion", action="store_true", help="Fashion-MNIST's clean accuracy"
    )
    parser.add_argument(
        "--n-train", type=int, default=None, help="with --fashion: first N images"
    )
    args = parser.parse_args(argv)
    if args.epochs is None:
        from sk_mnist import DenseMLPClassifier

        args.epochs = DenseMLPClassifier().epochs if args.fashion else 40
    settings = _settings(args)
    # TensorFlow's start-up notes and retracing warnings would bury the table.
    import_keras_quietly()
    train, one_epoch = TRAINERS[args.trainer]
    if args.fashion:
        return run_fashion(args, settings, train)
    return run_wild(args, settings, train, one_epoch)


if __name__ == "__main__":
    sys.exit(main())
