"""``sk-mnist export`` and ``sk-mnist serve``: a saved model, out of the lab.

``export`` writes the ONNX file of a saved model folder with
:func:`~sk_mnist.export.export_onnx`, under the rules every output follows
(:mod:`sk_mnist.cli._outputs`): atomic, never inside ``--model``, a regular
file or nothing yet. ``serve`` runs :func:`~sk_mnist.serve.serve` on a model
folder or an ``.onnx`` file until Ctrl-C or SIGTERM, which stop it after
the requests in flight are answered, with exit status 0: stopping is how a
server ends. Each needs its extra; without it, the line says which.
"""

import errno
import importlib
import re
import sys
from pathlib import Path

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


def cmd_serve(args):
    """Serve a model folder or an ``.onnx`` file over HTTP until stopped."""
    _require(SERVE_MODULES, "sk-mnist serve", SERVE_EXTRA)
    from ..serve import serve
    from ..serve._server import is_loopback

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
