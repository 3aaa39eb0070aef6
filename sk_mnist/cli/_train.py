"""``sk-mnist train``: train, evaluate on the test set, write the run folder."""

import argparse
import json
import time
from types import MappingProxyType

from .._messages import plain
from . import _options as opt
from ._data import input_paths, load_train_test
from ._errors import UsageError, running_network
from ._options import WIDTHS
from ._report import metrics, say, versions
from ._run_folder import RUN_MARKER, check_out, staged_run

# DenseMLPClassifier parameter -> (argparse dest, option) of the recipe options.
RECIPE_OPTIONS = {
    "epochs": ("epochs", "--epochs"),
    "batch_size": ("batch_size", "--batch-size"),
    "hidden_layer_sizes": ("hidden", "--hidden"),
    "learning_rate": ("learning_rate", "--learning-rate"),
    "learning_rate_schedule": ("schedule", "--schedule"),
    "dropout": ("dropout", "--dropout"),
    "augment": ("augment", "--augment"),
}
#: Where ``sk-mnist train`` departs from ``DenseMLPClassifier``'s defaults
#: (which stay sklearn-plain, ``augment=None``) for handwritten digits:
#: elastic distortions and the epochs they need, chosen by measurement
#: (``docs/benchmarks.md``). ``--homework`` starts from ``HOMEWORK_PARAMS``
#: instead; options override both.
TRAIN_DEFAULTS = MappingProxyType({"augment": "elastic", "epochs": 20})
#: The ``--dataset`` names that are not digits: the distortions lower their
#: accuracy, so they train with the estimator's own defaults.
NOT_DIGITS = frozenset({"fashion-mnist"})
# The parameters metrics.json records.
REPORTED_PARAMS = (
    *RECIPE_OPTIONS,
    "activation",
    "alpha",
    "optimizer",
    "early_stopping",
    "random_state",
)


AUGMENT_EXPECTED = "none, affine, elastic or a JSON object of ranges"


def augment_option(text):
    """``--augment``: ``none``, a preset name or a JSON object (argparse type).

    Only the JSON is read here; the estimator checks the value, and a value
    it refuses is reported against ``--augment`` (:func:`_option_problem`).
    ``none`` stays the string ``"none"``, so that it is told apart from no
    ``--augment`` (``None``: the default); it becomes ``augment=None``.
    """
    if not text.lstrip().startswith("{"):
        return text
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        reason = getattr(err, "msg", "nested too deeply")
        raise argparse.ArgumentTypeError(
            f"expected {AUGMENT_EXPECTED}, got {text!r} (not valid JSON: {reason})"
        ) from None


def _as_typed(value):
    if isinstance(value, dict):
        return json.dumps(value)
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def recipe_pipeline(args):
    """The pipeline ``args`` ask for, its parameters checked by the estimator.

    ``--homework`` starts from ``HOMEWORK_PARAMS``, the options override it.
    The estimator's own check runs now, before any data is read, and a value
    it refuses is reported against the option that gave it.
    """
    from ..estimator import HOMEWORK_PARAMS
    from ..pipeline import make_mnist_pipeline

    if args.homework:
        params = dict(HOMEWORK_PARAMS)
    else:
        params = {} if args.dataset in NOT_DIGITS else dict(TRAIN_DEFAULTS)
    given = {}
    for name, (dest, option) in RECIPE_OPTIONS.items():
        value = vars(args)[dest]
        if value is not None:
            params[name], given[name] = value, option
    if params.get("augment") == "none":
        params["augment"] = None
    if args.early_stopping:
        params["early_stopping"] = True
    params.update(random_state=args.seed, verbose=0 if args.quiet else 2)
    # Made with routing on, so that fit routes X_val/y_val (the test set).
    with _routing():
        pipe = make_mnist_pipeline()
    pipe.set_params(**{f"mlp__{name}": value for name, value in params.items()})
    try:
        pipe.named_steps["mlp"]._validate_params()
    except ValueError as err:
        raise UsageError(_option_problem(err, given, params)) from None
    return pipe


def _option_problem(err, given, params):
    """The estimator's ``err`` as a problem of the option behind it."""
    message = str(err).splitlines()[0]
    for name, option in given.items():
        if f"'{name}'" in message:
            typed = _as_typed(params[name])
            expected = f"expected {WIDTHS}, " if option == "--hidden" else ""
            return f"argument {option}: {expected}got {typed!r} ({message})"
    return message


def _routing():
    import sklearn

    return sklearn.config_context(enable_metadata_routing=True)


def network_sizes(args):
    """The options that set the network's size, as typed, for an OOM line."""
    sizes = []
    if args.hidden is not None:
        sizes.append(f"--hidden {_as_typed(args.hidden)}")
    if args.batch_size is not None:
        sizes.append(f"--batch-size {args.batch_size}")
    return sizes


def cmd_train(args):
    """Train, evaluate on the test set, and write the run directory."""
    from sklearn.model_selection import train_test_split

    inputs = input_paths(args)
    check_out(args.out, inputs)
    pipe = recipe_pipeline(args)
    X_train, y_train, X_test, y_test, data = load_train_test(args)
    if X_test is None:
        X_train, X_test, y_train, y_test = train_test_split(
            X_train,
            y_train,
            test_size=0.2,
            stratify=y_train,
            random_state=args.seed,
        )
        data["test"] = f"stratified 20% hold-out of {args.train}"
    with staged_run(args.out, inputs) as staging:
        say(
            args,
            f"training on {len(y_train)} images, testing on {len(y_test)} "
            f"({data['train']})",
        )
        # As in the homework, the test set is scored after every epoch, unless
        # early stopping is on: then it must not choose the weights.
        fit_kwargs = {} if args.early_stopping else {"X_val": X_test, "y_val": y_test}
        hint = "; try smaller --hidden widths or --batch-size"
        with running_network(network_sizes(args), hint):
            with _routing():
                start = time.perf_counter()
                pipe.fit(X_train, y_train, **fit_kwargs)
                fit_seconds = time.perf_counter() - start
            found, proba, pred = metrics(pipe, X_test, y_test)
        mlp = pipe.named_steps["mlp"]
        found.update(
            n_train=int(len(y_train)),
            epochs_run=int(mlp.n_iter_),
            fit_seconds=round(fit_seconds, 3),
            params={
                name: plain(value)
                for name, value in mlp.get_params(deep=False).items()
                if name in REPORTED_PARAMS
            },
            data=data,
            versions=versions(),
        )
        write_run(staging, pipe, (X_train, y_train, X_test, y_test), proba, pred, args)
        (staging / RUN_MARKER).write_text(json.dumps(found, indent=2) + "\n")
    print(
        f"test accuracy {found['test_accuracy']:.4f} on {found['n_test']} images "
        f"(loss {found['test_loss']:.4f}, {mlp.n_iter_} epochs, "
        f"{fit_seconds:.1f} s); results in {args.out}/: model/, metrics.json, "
        "history.csv and 5 PNG plots"
    )
    return 0


def write_run(staging, pipe, data, proba, pred, args):
    """The model, the history and the five figures of a training run."""
    from ..persistence import save_model
    from ..plotting import (
        ClassDistributionDisplay,
        DigitConfusionMatrixDisplay,
        DigitGridDisplay,
        MisclassifiedDisplay,
        TrainingHistoryDisplay,
        save_figure,
    )

    X_train, y_train, X_test, y_test = data
    save_model(pipe, staging / "model")
    write_history(pipe.named_steps["mlp"].history_, staging / "history.csv")
    # One figure at a time: each is drawn, written and closed.
    figures = {
        "class_distribution.png": lambda: ClassDistributionDisplay.from_labels(
            y_train, y_test
        ),
        "samples.png": lambda: DigitGridDisplay.from_arrays(
            X_train, y_train, n_images=25, random_state=args.seed
        ),
        "learning_curves.png": lambda: TrainingHistoryDisplay.from_estimator(pipe),
        "confusion_matrix.png": lambda: DigitConfusionMatrixDisplay.from_estimator(
            pipe, X_test, y_test, y_pred=pred
        ),
        "misclassified.png": lambda: MisclassifiedDisplay.from_predictions(
            X_test, y_test, proba, classes=pipe.classes_
        ),
    }
    for name, draw in figures.items():
        save_figure(draw(), staging / name)


def write_history(history, path):
    import pandas as pd

    frame = pd.DataFrame(history)
    frame.insert(0, "epoch", range(1, len(frame) + 1))
    frame.to_csv(path, index=False)


# The parser of 'sk-mnist train'.
TRAIN_EXAMPLES = """\
examples:
  sk-mnist train                    # the embedded 4,000 + 1,000 sample
  sk-mnist train --train mnist_train.csv --test mnist_test.csv --out run1
  sk-mnist train --epochs 5 --batch-size 256 --hidden 512,256 --early-stopping
  sk-mnist train --homework         # the original recipe, batch 32
  sk-mnist train --dataset mnist    # all 70,000 digits, downloaded once
  sk-mnist train --train digits/ --test more_digits/   # label folders 0/-9/
"""


def add_parser(sub):
    """Add the ``train`` subcommand to `sub`."""
    from ..datasets import DATASET_NAMES
    from ..estimator import HOMEWORK_PARAMS, DenseMLPClassifier

    plain = DenseMLPClassifier().get_params()
    defaults = {**plain, **TRAIN_DEFAULTS}
    not_digits = " or ".join(sorted(NOT_DIGITS))
    homework = HOMEWORK_PARAMS
    train = opt.subcommand(
        sub,
        "train",
        "train on CSV files or image folders (default: the embedded sample)",
        "Train the Dense MLP pipeline and write the model, metrics, history "
        "and plots. With no data it uses the embedded sample of 4,000 "
        "training and 1,000 test digits.\n\n" + opt.images_note(),
        TRAIN_EXAMPLES,
    )
    opt.add_data_options(
        train,
        DATASET_NAMES,
        train_help=f"training images: {opt.LABELLED}",
        test_help="test images, the same way; without it, a stratified 20%% "
        "hold-out of --train is used",
    )
    recipe = (
        f"batch {homework['batch_size']}, learning rate "
        f"{homework['learning_rate']:g} held {homework['learning_rate_schedule']}, "
        f"{homework['epochs']} epochs"
    )
    train.add_argument(
        "--homework",
        action="store_true",
        help=f"train with the classic homework's recipe ({recipe}) instead of "
        "sk-mnist's faster defaults (and without augmentation); the options "
        "below still override it",
    )
    train.add_argument(
        "--epochs",
        type=opt.positive_int,
        metavar="N",
        help=f"maximum number of epochs (default: {defaults['epochs']}; "
        f"{plain['epochs']} with --dataset {not_digits})",
    )
    train.add_argument(
        "--batch-size",
        type=opt.positive_int,
        metavar="N",
        help=f"samples per gradient step (default: {defaults['batch_size']})",
    )
    train.add_argument(
        "--hidden",
        type=opt.widths,
        metavar="W1,W2,...",
        help="hidden layer widths (default: "
        f"{','.join(map(str, defaults['hidden_layer_sizes']))})",
    )
    train.add_argument(
        "--learning-rate",
        type=opt.positive_float,
        metavar="F",
        help=f"Adam learning rate (default: {defaults['learning_rate']:g})",
    )
    train.add_argument(
        "--schedule",
        choices=("constant", "cosine"),
        help="learning-rate schedule over the epochs (default: "
        f"{defaults['learning_rate_schedule']})",
    )
    train.add_argument(
        "--dropout",
        type=opt.dropout,
        metavar="F",
        help=f"dropout after each hidden layer (default: {defaults['dropout']:g})",
    )
    train.add_argument(
        "--augment",
        type=augment_option,
        metavar="{none,affine,elastic,JSON}",
        help="random distortions of the training images, fresh in every "
        "epoch: affine (rotation, zoom, shear, shift, stroke width), elastic "
        '(the same plus an elastic warp), or ranges as JSON, e.g. \'{"rotation": '
        "10}'; none trains on the images as they are, as the estimator's "
        "own default and --homework do (default: "
        f"{defaults['augment']}; none with --dataset {not_digits})",
    )
    train.add_argument(
        "--early-stopping",
        action="store_true",
        help="stop when the accuracy on a 10%% hold-out of the training "
        "data stops improving, and keep the best weights",
    )
    opt.add_run_options(train, "sk-mnist-run", "per-epoch progress")
