"""``build_parser``: the ``sk-mnist`` parser, wired from its subcommands.

Each subcommand's module adds its own parser, beside what it runs
(:data:`SUBCOMMANDS`). :func:`command_parser` builds one subcommand only:
``serve`` and ``download`` then run without Keras (an ONNX model is served
on onnxruntime alone).
"""

from .. import __version__
from .._keras_runtime import import_keras_quietly
from . import _deploy, _download, _evaluate, _search, _train
from . import _options as opt


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


# In the order of 'sk-mnist --help'.
SUBCOMMANDS = {
    "train": _train.add_parser,
    "evaluate": _evaluate.add_evaluate_parser,
    "predict": _evaluate.add_predict_parser,
    "export": _deploy.add_export_parser,
    "serve": _deploy.add_serve_parser,
    "search": _search.add_parser,
    "download": _download.add_parser,
}
# The subcommands that run without Keras when built alone.
WITHOUT_KERAS = {"serve", "download"}
