"""Run the application with uvicorn on a socket bound here (clear bind errors)."""

import ipaddress
import logging
import socket

from ._app import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_ROWS, create_app

logger = logging.getLogger("sk_mnist.serve")


def is_loopback(host):
    """Whether `host` (a name or an address) reaches this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host, port):
    """A listening TCP socket on `host`:`port` (port 0: any free port).

    Raises
    ------
    OSError
        One line naming the address, e.g. when the port is in use.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as err:
        raise OSError(err.errno, f"cannot listen on {host}:{port}: {err}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as err:
        sock.close()
        reason = err.strerror or str(err)
        raise OSError(err.errno, f"cannot listen on {host}:{port}: {reason}") from None
    return sock


def serve(
    model_path,
    *,
    host="127.0.0.1",
    port=8000,
    max_body_bytes=DEFAULT_MAX_BODY_BYTES,
    max_rows=DEFAULT_MAX_ROWS,
    log_level="info",
    access_log=True,
):
    """Load a model file and serve it over HTTP until interrupted.

    The model is loaded once, safely (no pickle): a folder written by
    :func:`sk_mnist.save_model`, or a ``.onnx`` file run by onnxruntime. One
    uvicorn process serves it; model calls go through one inference thread
    that batches the requests waiting. Open ``http://HOST:PORT/`` to draw a
    digit, ``/docs`` for the API.

    Parameters
    ----------
    model_path : str or os.PathLike
        The saved model folder or ``.onnx`` file.
    host : str, default="127.0.0.1"
        Address to listen on. The default, the loopback interface, is reachable
        from this machine only; ``"0.0.0.0"`` exposes the model to the network
        (there is no authentication: put a reverse proxy in front).
    port : int, default=8000
        TCP port; 0 picks a free one (logged).
    max_body_bytes : int, default=10_000_000
        Largest request body accepted (413 beyond).
    max_rows : int, default=10_000
        Most rows or images per request (413 beyond).
    log_level : str, default="info"
        uvicorn's log level ("critical", "error", "warning", "info", "debug").
    access_log : bool, default=True
        Log one line per request.

    Raises
    ------
    FileNotFoundError
        If `model_path` does not exist.
    ValueError
        If it is not a valid model (one line naming the file and problem), or
        a limit is not a positive integer.
    OSError
        If the address cannot be listened on (one line, e.g. port in use).

    See Also
    --------
    create_app : The application, to run under another ASGI server.

    Examples
    --------
    >>> from sk_mnist.serve import serve
    >>> serve("my_model", port=8000)  # doctest: +SKIP
    INFO:     sk-mnist serving my_model on http://127.0.0.1:8000/ (backend tensorflow)
    """
    import uvicorn

    app = create_app(model_path, max_body_bytes=max_body_bytes, max_rows=max_rows)
    sock = bind(host, port)
    config = uvicorn.Config(
        app, log_level=log_level, access_log=access_log, server_header=False
    )
    server = uvicorn.Server(config)  # Config set up uvicorn's logging
    log = logging.getLogger("uvicorn.error")
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    backend = app.state.served.backend
    log.info(
        "sk-mnist serving %s on http://%s:%d/ (backend %s)",
        model_path,
        shown,
        bound_port,
        backend,
    )
    if not is_loopback(host):
        log.warning(
            "listening on %s: anyone who can reach this address can use the model; "
            "there is no authentication",
            host,
        )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
