"""``sk-mnist export`` and ``sk-mnist serve``: a saved model, out of the lab.

``export`` writes the ONNX file of a saved model folder with
:func:`~sk_mnist.export.export_onnx`, under the rules every output follows
(:mod:`sk_mnist.cli._outputs`): atomic, never inside ``--model``, a regular
file or nothing yet. ``serve`` runs :func:`~sk_mnist.serve.serve` on a model
folder or an ``.onnx`` file until Ctrl-C or SIGTERM, which stop it after
the requests in flight are answered, with exit status 0: stopping is how a
server ends. Each needs its extra; without it, the line says which. The
defaults ``serve --help`` shows are read from :func:`~sk_mnist.serve.serve`,
so they cannot drift from what the server uses.
"""

import errno
import importlib
import re
import sys
from pathlib import Path

from . import _options as opt
from ._errors import Terminated, UsageError, running_network
from ._outputs import atomic_file, check_output_file

ONNX_EXTRA = 'pip install "sk-mnist[onnx]"'
SERVE_EXTRA = 'pip install "sk-mnist[serve]"'
# What serve needs: FastAPI, uvicorn, and python-multipart for uploads.
SERVE_MODULES = ("fastapi", "uvicorn", "python_multipart")


def _require(modules, command, extra):
    """Import ``modules``, or a one-line error naming the extra that has them."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise UsageError(
                f"{command} needs the {name} package ({err}): {extra}"
            ) from None


def _size(n_bytes):
    if n_bytes < 1000:
        return f"{n_bytes} bytes"
    if n_bytes < 1_000_000:
        return f"{n_bytes / 1000:.1f} kB"
    return f"{n_bytes / 1_000_000:.1f} MB"


EXPORT_EXAMPLES = """\
examples:
  sk-mnist export --model sk-mnist-run/model --output mnist.onnx
  sk-mnist export --model run/model --output mnist.int8.onnx --quantize int8
  sk-mnist serve --model mnist.onnx   # then serve it on onnxruntime
"""


def add_export_parser(sub):
    """Add ``export`` to the subparsers ``sub``."""
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


def cmd_export(args):
    """Write a saved model folder as one ONNX file."""
    from ._evaluate import load_saved_model

    check_output_file("--output", args.output, {"--model": args.model})
    quantize = getattr(args, "quantize", None)
    modules = ("onnx", "skl2onnx") + (("onnxruntime",) if quantize else ())
    _require(modules, "sk-mnist export", ONNX_EXTRA)
    from ..export import export_onnx

    model = load_saved_model(args.model)
    with atomic_file("--output", args.output) as tmp:
        export_onnx(model, tmp, quantize=quantize)
        size = tmp.stat().st_size
    classes = ", ".join(map(str, model.classes_))
    weights = " (int8 weights)" if quantize else ""
    print(
        f"wrote {args.output}: {_size(size)}{weights}, {len(model.classes_)} "
        f"classes ({classes}), {model.n_features_in_} inputs per image"
    )
    return 0


# ------------------------------------------------------------------- serve
SERVE_EXAMPLES = """\
examples:
  sk-mnist serve --model sk-mnist-run/model   # http://127.0.0.1:8000/
  sk-mnist serve --model mnist.onnx --port 8080
  sk-mnist serve --model run1/model --host 0.0.0.0 --max-rows 1000
  curl -F file=@seven.png http://127.0.0.1:8000/predict
"""


def serve_defaults():
    """``serve``'s keyword defaults and uvicorn's log levels, or None without
    the ``serve`` extra (then ``sk-mnist serve`` says what to install)."""
    import inspect

    try:
        from uvicorn.config import LOG_LEVELS

        from ..serve import serve
    except ImportError:
        return None
    parameters = inspect.signature(serve).parameters.values()
    defaults = {p.name: p.default for p in parameters if p.default is not p.empty}
    return defaults, tuple(LOG_LEVELS)


def _listen_problem(err):
    """The one line for an ``OSError`` binding ``--host``:``--port``, or None."""
    message = err.strerror if isinstance(err.strerror, str) else str(err)
    if err.filename is not None or not message.startswith("cannot listen on "):
        return None
    message = re.sub(r"\[Errno -?\d+\] ", "", message)
    if err.errno == errno.EADDRINUSE:
        return f"{message}; another program listens there: choose another --port"
    return f"{message}; check --host (an address of this machine) and --port"


def add_serve_parser(sub):
    """Add ``serve`` to the subparsers ``sub``; its defaults are ``serve``'s."""
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


def cmd_serve(args):
    """Serve a model folder or an ``.onnx`` file over HTTP until stopped."""
    _require(SERVE_MODULES, "sk-mnist serve", SERVE_EXTRA)
    from ..serve import is_loopback, serve

    options = {
        "host": args.host,
        "port": args.port,
        "max_body_bytes": args.max_body_bytes,
        "max_rows": args.max_rows,
        "max_image_pixels": args.max_image_pixels,
        "body_timeout": args.body_timeout,
        "header_timeout": args.header_timeout,
        "limit_concurrency": args.limit_concurrency,
        "model_name": args.name,
        "runtime": args.runtime,
        "log_level": args.log_level,
    }
    options = {name: value for name, value in options.items() if value is not None}
    host = options.get("host", serve_defaults()[0]["host"])
    if not is_loopback(host):
        print(
            f"warning: --host {host} is not a loopback address: anyone who can "
            "reach it can use the model, and there is no authentication",
            file=sys.stderr,
            flush=True,
        )
    if Path(args.model).is_dir():  # a saved folder: Keras, without its chatter
        from .._keras_runtime import import_keras_quietly

        import_keras_quietly()
    try:
        with running_network(hint="; the model may be too large for this machine"):
            serve(args.model, **options)
    except ImportError as err:  # onnxruntime, for an .onnx file
        raise UsageError(str(err).splitlines()[0]) from None
    except OSError as err:
        problem = _listen_problem(err)
        if problem is None:
            raise
        raise UsageError(problem) from None
    except KeyboardInterrupt as err:
        how = "SIGTERM" if isinstance(err, Terminated) else "Ctrl-C"
        print(f"stopped: the server shut down on {how}", file=sys.stderr)
    return 0
