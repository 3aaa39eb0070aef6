"""``build_parser``: the ``sk-mnist`` parser, one function per subcommand.

The defaults shown in ``--help`` are read from the estimator
(``DenseMLPClassifier().get_params()`` and ``HOMEWORK_PARAMS``) and from
:func:`sk_mnist.serve.serve`, so they cannot drift from what the library uses.
:func:`command_parser` builds one subcommand only: ``serve`` and ``download``
then run without Keras (an ONNX model is served on onnxruntime alone).
"""

from .. import __version__
from .._keras_runtime import import_keras_quietly
from . import _download, _evaluate, _search, _train
from . import _options as opt
from ._deploy import serve_defaults

EXPORT_EXAMPLES = """\
examples:
  sk-mnist export --model sk-mnist-run/model --output mnist.onnx
  sk-mnist export --model run/model --output mnist.int8.onnx --quantize int8
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


def _add_export(sub):
    export = opt.subcommand(
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
    export.add_argument(
        "--quantize",
        choices=("int8",),
        default=None,
        help="quantise the weights of the Dense layers to int8 with "
        "onnxruntime (a file a quarter of the size, faster on most CPUs, "
        "nearly always the same labels; default: float32 weights)",
    )


def _add_serve(sub):
    found = serve_defaults()
    defaults, levels = found if found else ({}, None)

    def default(name):
        return f" (default: {defaults[name]})" if name in defaults else ""

    serve = opt.subcommand(
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
        "--max-image-pixels",
        type=opt.positive_int,
        metavar="N",
        help="most pixels (width x height) of one uploaded image, read from "
        f"its header before decoding{default('max_image_pixels')}",
    )
    serve.add_argument(
        "--body-timeout",
        type=opt.positive_float,
        metavar="SEC",
        help="time a client has to send a request's body once its headers "
        f"are in (408 beyond){default('body_timeout')}",
    )
    serve.add_argument(
        "--header-timeout",
        type=opt.positive_float,
        metavar="SEC",
        help="time a connection has to send a request's headers"
        f"{default('header_timeout')}",
    )
    serve.add_argument(
        "--limit-concurrency",
        type=opt.positive_int,
        metavar="N",
        help="most connections and requests at once (503 beyond)"
        f"{default('limit_concurrency')}",
    )
    serve.add_argument(
        "--name",
        metavar="NAME",
        help="the model's name in the Open Inference Protocol's "
        "/v2/models/NAME (default: the model folder's name, or the .onnx "
        "file's stem)",
    )
    serve.add_argument(
        "--runtime",
        choices=("auto", "keras", "onnx"),
        help="how a model folder runs: auto converts it to ONNX in memory "
        f"when it can, keeping Keras otherwise{default('runtime')}",
    )
    serve.add_argument(
        "--log-level",
        choices=levels,
        metavar="LEVEL",
        help=f"uvicorn's log level{': ' + ', '.join(levels) if levels else ''}"
        f"{default('log_level')}",
    )


# In the order of 'sk-mnist --help'.
SUBCOMMANDS = {
    "train": _train.add_parser,
    "evaluate": _evaluate.add_evaluate_parser,
    "predict": _evaluate.add_predict_parser,
    "export": _add_export,
    "serve": _add_serve,
    "search": _search.add_parser,
    "download": _download.add_parser,
}
# The subcommands that run without Keras when built alone.
WITHOUT_KERAS = {"serve", "download"}
