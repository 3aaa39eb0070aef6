"""Refuse request bodies over a size limit, or too slow to arrive, before the
application reads them."""

import json

import anyio


async def _send_error(send, status, detail):
    body = json.dumps({"detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        # The rest of the body is not read, so the connection cannot be reused.
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI middleware: a body over `max_body_bytes` gets 413, never read whole;
    one not in after `body_timeout` seconds gets 408.

    A ``Content-Length`` over the limit is refused before any of the body is
    read; a body sent without one (chunked) is counted while it arrives and
    refused as soon as it passes the limit. An accepted body is read here and
    handed on, so the application sees it whole. A client that sends its
    headers and then the body slowly, or not at all, holds a connection: once
    `body_timeout` seconds have passed since the headers, it gets 408 and the
    connection is closed.

    Parameters
    ----------
    app : ASGI application
    max_body_bytes : int
        Largest body accepted.
    body_timeout : float, default=10.0
        Seconds the whole body may take to arrive.
    """

    def __init__(self, app, max_body_bytes, body_timeout=10.0):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout

    def _too_large(self, size):
        return (
            f"request body of {size} bytes is over the limit of {self.max_body_bytes}"
        )

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            if not length.isdigit():
                return await _send_error(send, 400, "invalid Content-Length header")
            if int(length) > self.max_body_bytes:
                return await _send_error(send, 413, self._too_large(int(length)))
        with anyio.move_on_after(self.body_timeout) as timer:
            chunks = await self._read_body(receive, send)
        if timer.cancelled_caught:
            detail = (
                f"request body not received in {self.body_timeout:g} s: "
                "send it whole, faster"
            )
            return await _send_error(send, 408, detail)
        if chunks is None:  # answered (413) or the client went away
            return None
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {
                "type": "http.request",
                "body": b"".join(chunks),
                "more_body": False,
            }

        return await self.app(scope, replay, send)

    async def _read_body(self, receive, send):
        """The body's chunks, or None once answered or the client went away."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                detail = (
                    f"request body is over the limit of {self.max_body_bytes} bytes"
                )
                await _send_error(send, 413, detail)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks
