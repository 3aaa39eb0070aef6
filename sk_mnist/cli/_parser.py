"""``build_parser``: the ``sk-mnist`` parser, one function per subcommand.

The defaults shown in ``--help`` are read from the estimator
(``DenseMLPClassifier().get_params()`` and ``HOMEWORK_PARAMS``) and from
:func:`sk_mnist.serve.serve`, so they cannot drift from what the library uses.
:func:`command_parser` builds one subcommand only: ``serve`` and ``download``
then run without Keras (an ONNX model is served on onnxruntime alone).
"""

from pathlib import Path

from .. import __version__
from .._keras_runtime import import_keras_quietly
from . import _options as opt
from ._deploy import serve_defaults

# Labelled data, as --train, --test and evaluate's --data take it.
LABELLED = (
    "a Kaggle-layout CSV file (.csv or .csv.gz), or a folder of label folders "
    "0/ to 9/ holding image files"
)

TRAIN_EXAMPLES = """\
examples:
  sk-mnist train                    # the embedded 4,000 + 1,000 sample
  sk-mnist train --train mnist_train.csv --test mnist_test.csv --out run1
  sk-mnist train --epochs 5 --batch-size 256 --hidden 512,256 --early-stopping
  sk-mnist train --homework         # the original recipe, batch 32
  sk-mnist train --dataset mnist    # all 70,000 digits, downloaded once
  sk-mnist train --train digits/ --test more_digits/   # label folders 0/-9/
"""
EVALUATE_EXAMPLES = """\
examples:
  sk-mnist evaluate --model sk-mnist-run/model --data mnist_test.csv
  sk-mnist evaluate --model run1/model --data test.csv.gz --metrics m.json \\
      --confusion-matrix cm.png
  sk-mnist evaluate --model run1/model --data digits/   # label folders 0/-9/
"""
SEARCH_EXAMPLES = """\
examples:
  sk-mnist search --grid '{"mlp__hidden_layer_sizes": [[256], [512, 256]],
                           "mlp__batch_size": [64, 256], "mlp__epochs": [5]}'
  sk-mnist search --grid grid.json --dry-run   # the candidates, nothing trained
  sk-mnist search --train mnist_train.csv --test mnist_test.csv \\
      --grid grid.json --n-iter 8 --cv 5 --n-jobs 2 --out search1
  sk-mnist search --grid grid.json --scheduler tcp://scheduler:8786   # on Dask
"""
DOWNLOAD_EXAMPLES = """\
examples:
  sk-mnist download                 # MNIST into ~/.cache/sk-mnist
  sk-mnist download --dataset fashion-mnist --data-home /data/sk-mnist
  sk-mnist train --dataset mnist    # then train on it, offline

Without a network, copy mnist.npz or the four IDX .gz files into DIR/mnist
(DIR/fashion-mnist for Fashion-MNIST) and run this again to check them, or
train on local CSV files with 'sk-mnist train --train ... --test ...'.
"""
PREDICT_EXAMPLES = """\
examples:
  sk-mnist predict --model sk-mnist-run/model --data new_digits.csv \\
      --output predictions.csv
  sk-mnist predict --model run1/model --data my_digits/ --output p.csv
  sk-mnist predict --model run1/model --data seven.png four.jpg --output p.csv
"""
EXPORT_EXAMPLES = """\
examples:
  sk-mnist export --model sk-mnist-run/model --output mnist.onnx
  sk-mnist serve --model mnist.onnx   # then serve it on onnxruntime
"""
SERVE_EXAMPLES = """\
examples:
  sk-mnist serve --model sk-mnist-run/model   # http://127.0.0.1:8000/
  sk-mnist serve --model mnist.onnx --port 8080
  sk-mnist serve --model run1/model --host 0.0.0.0 --max-rows 1000
  curl -F file=@seven.png http://127.0.0.1:8000/predict
"""


def build_parser():
    """Return the ``sk-mnist`` argument parser (used by ``main`` and the docs).

    The command-line reference in the documentation is rendered from this
    parser when the docs are built, so its help texts are the reference.

    Returns
    -------
    parser : argparse.ArgumentParser
        The parser, with one subparser per subcommand. Its ``error`` raises
        an exception (reported as one line by :func:`main`) instead of
        exiting.

    Examples
    --------
    >>> from sk_mnist.cli import build_parser
    >>> args = build_parser().parse_args(["train", "--epochs", "5", "--hidden", "256"])
    >>> args.command, args.epochs, args.hidden
    ('train', 5, (256,))
    """
    return command_parser()


def command_parser(only=None):
    """The parser, with every subcommand or ``only`` the one named.

    Keras is imported (quietly: see ``import_keras_quietly``) unless the
    subcommands built never need it.
    """
    if only not in WITHOUT_KERAS:
        import_keras_quietly()  # before the estimator, whose defaults --help shows
    parser = opt.Parser(
        prog="sk-mnist",
        description="Train, evaluate and use a Dense MLP classifier for "
        "MNIST-like 28x28 images.",
    )
    parser.add_argument(
        "--version", action="version", version=f"sk-mnist {__version__}"
    )
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=opt.Parser, required=True
    )
    for name, add in SUBCOMMANDS.items():
        if only is None or name == only:
            add(sub)
    return parser


def _subcommand(sub, name, summary, description, examples):
    return sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog=examples,
        formatter_class=opt.HelpFormatter,
    )


def _add_train(sub):
    from ..datasets import DATASET_NAMES
    from ..estimator import HOMEWORK_PARAMS, DenseMLPClassifier

    defaults, homework = DenseMLPClassifier().get_params(), HOMEWORK_PARAMS
    train = _subcommand(
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
        train_help=f"training images: {LABELLED}",
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
        "sk-mnist's faster defaults; the options below still override it",
    )
    train.add_argument(
        "--epochs",
        type=opt.positive_int,
        metavar="N",
        help=f"maximum number of epochs (default: {defaults['epochs']})",
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
        "--early-stopping",
        action="store_true",
        help="stop when the accuracy on a 10%% hold-out of the training "
        "data stops improving, and keep the best weights",
    )
    opt.add_run_options(train, "sk-mnist-run", "per-epoch progress")


def _add_evaluate(sub):
    evaluate = _subcommand(
        sub,
        "evaluate",
        "accuracy and classification report of a saved model",
        "Evaluate a saved model on a labelled CSV file or image folder.\n\n"
        + opt.images_note(),
        EVALUATE_EXAMPLES,
    )
    opt.add_model_options(evaluate, f"labelled images: {LABELLED}")
    evaluate.add_argument(
        "--metrics",
        metavar="JSON",
        type=Path,
        help="also write the metrics to this JSON file",
    )
    evaluate.add_argument(
        "--confusion-matrix",
        metavar="PNG",
        type=opt.figure_file,
        help="also draw the confusion matrix to this PNG file (or .pdf, .svg, "
        "...: the format follows the extension)",
    )


def _add_predict(sub):
    predict = _subcommand(
        sub,
        "predict",
        "predict labels and class probabilities for a CSV file or images",
        "Predict a label and class probabilities for every image of a CSV "
        "file (with or without a label column), an image folder or image "
        "files.\n\n" + opt.images_note(),
        PREDICT_EXAMPLES,
    )
    opt.add_model_options(
        predict,
        "a Kaggle-layout CSV file (labels optional), or one or more image "
        "folders (at any depth, labelled or not) and image files",
        several=True,
    )
    predict.add_argument(
        "--output",
        metavar="CSV",
        type=Path,
        required=True,
        help="where to write one row per image: prediction, then one "
        "probability column per class; for images, first the file and after "
        "the prediction its probability",
    )


def _add_export(sub):
    export = _subcommand(
        sub,
        "export",
        "write a saved model as an ONNX file",
        "Write a model folder saved by 'sk-mnist train' as one ONNX file: "
        "grey levels in, label and class probabilities out, for any ONNX "
        "runtime, without Python or Keras. Needs the onnx extra: pip install "
        '"sk-mnist[onnx]".',
        EXPORT_EXAMPLES,
    )
    opt.add_model(export)
    export.add_argument(
        "--output",
        metavar="ONNX",
        type=opt.onnx_file,
        required=True,
        help="the .onnx file to write (replaced if it exists; not inside --model)",
    )


def _add_serve(sub):
    found = serve_defaults()
    defaults, levels = found if found else ({}, None)

    def default(name):
        return f" (default: {defaults[name]})" if name in defaults else ""

    serve = _subcommand(
        sub,
        "serve",
        "serve a model over HTTP: a JSON, CSV and image API and a drawing page",
        "Serve a saved model folder or an .onnx file over HTTP until Ctrl-C "
        "or SIGTERM: POST /predict (JSON rows, CSV, image files), GET /health, "
        "and at / a page to draw a digit on. Needs the serve extra: pip "
        'install "sk-mnist[serve]" (an .onnx file: "sk-mnist[serve,onnx]").',
        SERVE_EXAMPLES,
    )
    opt.add_model(
        serve,
        "model folder written by 'sk-mnist train', or an .onnx file",
        metavar="PATH",
    )
    serve.add_argument(
        "--host",
        metavar="ADDRESS",
        help="address to listen on; one that is not a loopback address "
        f"exposes the model, without authentication{default('host')}",
    )
    serve.add_argument(
        "--port",
        type=opt.port,
        metavar="N",
        help=f"TCP port; 0 picks a free one{default('port')}",
    )
    serve.add_argument(
        "--max-body-bytes",
        type=opt.positive_int,
        metavar="N",
        help=f"largest request body accepted{default('max_body_bytes')}",
    )
    serve.add_argument(
        "--max-rows",
        type=opt.positive_int,
        metavar="N",
        help=f"most rows or images in one request{default('max_rows')}",
    )
    serve.add_argument(
        "--log-level",
        choices=levels,
        metavar="LEVEL",
        help=f"uvicorn's log level{': ' + ', '.join(levels) if levels else ''}"
        f"{default('log_level')}",
    )


def _add_search(sub):
    from ..datasets import DATASET_NAMES

    search = _subcommand(
        sub,
        "search",
        "grid or randomized search over the pipeline's parameters",
        "Cross-validated hyperparameter search. Writes cv_results.csv, "
        "best_params.json, the refit best model under model/, a plot of the "
        "mean score per candidate and, with --test, its test metrics. Before "
        "it starts it says how many fits it will run.",
        SEARCH_EXAMPLES,
    )
    opt.add_data_options(
        search,
        DATASET_NAMES,
        train_help=f"training images: {LABELLED} (default: the embedded sample)",
        test_help="test images for the best model, the same way",
    )
    search.add_argument(
        "--grid",
        required=True,
        metavar="JSON",
        help="sklearn param_grid as JSON text or a JSON file; with --n-iter, "
        'values may be distributions such as {"loguniform": [1e-4, 1e-2]}',
    )
    search.add_argument(
        "--n-iter",
        type=opt.positive_int,
        metavar="N",
        help="sample N candidates (randomized search) instead of the whole grid",
    )
    search.add_argument(
        "--cv", type=opt.folds, default=3, metavar="K", help="folds (default: 3)"
    )
    search.add_argument(
        "--scoring",
        default="accuracy",
        metavar="NAME",
        help="sklearn scorer name (default: accuracy)",
    )
    search.add_argument(
        "--n-jobs",
        type=opt.positive_int,
        metavar="N",
        help="fits run at once: in N worker processes here (default: 1; at "
        "most one per CPU core, with a warning when N is more), or on the "
        "--scheduler's workers (default: as many as they have threads)",
    )
    search.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the fits on a Dask cluster, e.g. tcp://10.0.0.5:8786 (needs "
        "pip install 'sk-mnist[distributed]'); the refit of the best candidate "
        "runs here",
    )
    search.add_argument(
        "--dry-run",
        action="store_true",
        help="print how many fits the search would run and its candidates, "
        "then stop: no data is read, nothing is trained or written",
    )
    opt.add_run_options(search, "sk-mnist-search", "progress lines")


def _add_download(sub):
    from ..datasets import DATASET_NAMES as datasets

    download = _subcommand(
        sub,
        "download",
        "download the full MNIST or Fashion-MNIST data once, for offline use",
        "Download a full data set (60,000 training and 10,000 test images) "
        "into the data home, checked against its published checksums, so "
        "that 'sk-mnist train --dataset ...' and fetch_mnist() work offline. "
        "Data already there is checked, not downloaded again.",
        DOWNLOAD_EXAMPLES,
    )
    download.add_argument(
        "--dataset",
        choices=datasets,
        default=datasets[0],
        help=f"which data set (default: {datasets[0]})",
    )
    opt.add_data_home(download)
    download.add_argument(
        "--timeout",
        type=opt.positive_float,
        metavar="SECONDS",
        help="give up on a server that sends nothing for this long (default: 30)",
    )
    download.add_argument("--quiet", action="store_true", help="no progress")


# In the order of 'sk-mnist --help'.
SUBCOMMANDS = {
    "train": _add_train,
    "evaluate": _add_evaluate,
    "predict": _add_predict,
    "export": _add_export,
    "serve": _add_serve,
    "search": _add_search,
    "download": _add_download,
}
# The subcommands that run without Keras when built alone.
WITHOUT_KERAS = {"serve", "download"}
