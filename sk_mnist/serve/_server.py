"""Run the application with uvicorn on a socket bound here (clear bind errors)."""

import asyncio
import ipaddress
import logging
import socket

from ._app import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_IMAGE_PIXELS,
    DEFAULT_MAX_ROWS,
    _check_positive,
    _check_timeout,
    create_app,
)

logger = logging.getLogger("sk_mnist.serve")
#: Seconds a connection may take to send a request's headers (then closed).
DEFAULT_HEADER_TIMEOUT = 10.0
#: Seconds an idle keep-alive connection stays open (uvicorn's default).
DEFAULT_KEEP_ALIVE_TIMEOUT = 5
#: Connections and requests at once; beyond, new requests get 503.
DEFAULT_LIMIT_CONCURRENCY = 1000
#: Connections waiting to be accepted (the listen backlog).
DEFAULT_BACKLOG = 2048
#: Largest request line and headers, in bytes (h11's default; beyond: 400 with
#: h11, 431 with httptools).
MAX_HEADER_BYTES = 16 * 1024
_TIMEOUT_BODY = b'{"detail": "request headers not received in time"}'
_TIMEOUT_ANSWER = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s"
) % (len(_TIMEOUT_BODY), _TIMEOUT_BODY)


def is_loopback(host):
    """Whether `host` (a name or an address) reaches this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_TOO_LARGE_BODY = b'{"detail": "request headers over %d bytes"}' % MAX_HEADER_BYTES
_TOO_LARGE_ANSWER = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: application/json\r\ncontent-length: %d\r\n"
    b"connection: close\r\n\r\n%s"
) % (len(_TOO_LARGE_BODY), _TOO_LARGE_BODY)
#: HTTP/1.1 parsers ``make_server`` can use; "auto" takes httptools if installed.
HTTP_PARSERS = ("auto", "httptools", "h11")


class _HeaderDeadlineMixin:
    """Close a connection whose request headers are not all in in time.

    uvicorn does not time out a connection that sends half its headers and
    stops; here it gets 408 after `header_timeout` seconds and is closed.
    """

    header_timeout = DEFAULT_HEADER_TIMEOUT
    _deadline = None

    def _arm(self):
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.header_timeout, self._expire)

    def _disarm(self):
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _close_with(self, answer):
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(answer)
            self.transport.close()

    def _expire(self):
        self._deadline = None
        if self._waiting_for_headers():
            self._close_with(_TIMEOUT_ANSWER)

    def connection_made(self, transport):
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc):
        self._disarm()
        super().connection_lost(exc)


def _h11_protocol():
    """uvicorn's h11 protocol with the header deadline (h11 bounds their size)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class H11HeaderDeadline(_HeaderDeadlineMixin, H11Protocol):
        def _waiting_for_headers(self):
            return self.conn.their_state is h11.IDLE

        def data_received(self, data):
            super().data_received(data)
            if self._waiting_for_headers() and not self.transport.is_closing():
                self._arm()
            else:
                self._disarm()

    return H11HeaderDeadline


def _httptools_protocol():
    """uvicorn's httptools protocol with the header deadline and size bound.

    Headers past ``MAX_HEADER_BYTES`` get 431 (httptools keeps any amount).
    """
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HttpToolsHeaderDeadline(_HeaderDeadlineMixin, HttpToolsProtocol):
        _in_headers = True  # from the connection's opening or a request's start
        _header_bytes = 0
        _began_in_this_read = False

        def _waiting_for_headers(self):
            return self._in_headers

        def on_message_begin(self):
            super().on_message_begin()
            self._in_headers, self._header_bytes = True, 0
            self._began_in_this_read = True
            self._arm()

        def on_headers_complete(self):
            self._in_headers = False
            self._disarm()
            super().on_headers_complete()

        def data_received(self, data):
            self._began_in_this_read = False
            super().data_received(data)
            if not self._in_headers or self._began_in_this_read:
                return
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._close_with(_TOO_LARGE_ANSWER)

    return HttpToolsHeaderDeadline


def _header_deadline_protocol(header_timeout, http="auto"):
    """uvicorn's HTTP protocol class for `http`, closing slow or huge headers."""
    if http not in HTTP_PARSERS:
        raise ValueError(f"http must be one of {', '.join(HTTP_PARSERS)}, not {http!r}")
    if http == "auto":
        try:
            import httptools  # noqa: F401
        except ImportError:
            http = "h11"
        else:
            http = "httptools"
    base = _httptools_protocol() if http == "httptools" else _h11_protocol()
    return type(base.__name__, (base,), {"header_timeout": header_timeout})


def make_server(
    app,
    *,
    log_level="info",
    access_log=True,
    header_timeout=DEFAULT_HEADER_TIMEOUT,
    keep_alive_timeout=DEFAULT_KEEP_ALIVE_TIMEOUT,
    limit_concurrency=DEFAULT_LIMIT_CONCURRENCY,
    backlog=DEFAULT_BACKLOG,
    http="auto",
    lifespan="on",
):
    """The uvicorn server of `app`, with the limits on slow or many clients.

    `http` picks the parser (httptools if installed, else h11). Run it with
    ``server.run(sockets=[bind(host, port)])``; stop it with
    ``server.should_exit = True``.
    """
    import uvicorn

    header_timeout = _check_timeout(header_timeout, "header_timeout")
    keep_alive_timeout = _check_timeout(keep_alive_timeout, "keep_alive_timeout")
    limit_concurrency = _check_positive(limit_concurrency, "limit_concurrency")
    backlog = _check_positive(backlog, "backlog")
    config = uvicorn.Config(
        app,
        http=_header_deadline_protocol(header_timeout, http),
        log_level=log_level,
        access_log=access_log,
        server_header=False,
        timeout_keep_alive=keep_alive_timeout,
        limit_concurrency=limit_concurrency,
        backlog=backlog,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        lifespan=lifespan,
    )
    return uvicorn.Server(config)  # Config set up uvicorn's logging


def bind(host, port, backlog=DEFAULT_BACKLOG):
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
        sock.listen(backlog)
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
    max_image_pixels=DEFAULT_MAX_IMAGE_PIXELS,
    body_timeout=DEFAULT_BODY_TIMEOUT,
    header_timeout=DEFAULT_HEADER_TIMEOUT,
    keep_alive_timeout=DEFAULT_KEEP_ALIVE_TIMEOUT,
    limit_concurrency=DEFAULT_LIMIT_CONCURRENCY,
    backlog=DEFAULT_BACKLOG,
    model_name=None,
    runtime="auto",
):
    """Load a model file and serve it over HTTP until interrupted.

    The model is loaded once, safely (no pickle), and served by one uvicorn
    process (:doc:`/deploying`). Open ``http://HOST:PORT/`` to draw a digit,
    ``/docs`` for the API.

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
    max_image_pixels : int, default=16_000_000
        Most pixels of one uploaded image, checked from its header before it
        is decoded (413 beyond); a request's images, 4 times that in all.
    body_timeout : float, default=10.0
        Seconds a client has to send the whole body once its headers are in
        (408 beyond, and the connection is closed).
    header_timeout : float, default=10.0
        Seconds a connection has to send a request's headers (408 and closed
        beyond).
    keep_alive_timeout : float, default=5
        Seconds an idle keep-alive connection stays open.
    limit_concurrency : int, default=1000
        Most connections and requests at once; beyond, requests get 503.
    backlog : int, default=2048
        Connections waiting to be accepted.
    model_name : str, default=None
        The name in the Open Inference Protocol's ``/v2/models/{name}``;
        None means the model folder's name (the ``.onnx`` file's stem).
    runtime : {"auto", "keras", "onnx"}, default="auto"
        How a saved Keras model runs (see :func:`create_app`): ``"auto"``
        converts it to ONNX in memory when it can.

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
    app = create_app(
        model_path,
        max_body_bytes=max_body_bytes,
        max_rows=max_rows,
        max_image_pixels=max_image_pixels,
        body_timeout=body_timeout,
        model_name=model_name,
        runtime=runtime,
    )
    # A bad address fails before uvicorn.Config sets up logging.
    sock = bind(host, port, backlog)
    try:
        server = make_server(
            app,
            log_level=log_level,
            access_log=access_log,
            header_timeout=header_timeout,
            keep_alive_timeout=keep_alive_timeout,
            limit_concurrency=limit_concurrency,
            backlog=backlog,
            lifespan="off",
        )
        _run(_serve_loaded(app, server, sock, model_path, host), server.config)
    finally:
        sock.close()


def _run(coroutine, config):
    """Run ``coroutine`` on the event loop uvicorn's ``config`` asks for."""
    loop_factory = getattr(config, "get_loop_factory", None)
    if loop_factory is None:  # uvicorn before 0.36
        config.setup_event_loop()
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(coroutine)


async def _serve_loaded(app, server, sock, model_path, host):
    """Run the app's lifespan, then uvicorn inside it, so that a model that
    cannot load raises to :func:`serve`'s caller."""
    async with app.router.lifespan_context(app):
        log = logging.getLogger("uvicorn.error")
        bound_host, bound_port = sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        served = app.state.served
        log.info(
            "sk-mnist serving %s as %r on http://%s:%d/ (backend %s: %s)",
            model_path,
            app.state.model_name,
            shown,
            bound_port,
            served.backend,
            served.runtime_note,
        )
        if not is_loopback(host):
            log.warning(
                "listening on %s: anyone who can reach this address can use the "
                "model; there is no authentication",
                host,
            )
        await server.serve(sockets=[sock])
