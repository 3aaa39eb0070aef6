"""Refuse request bodies over a size limit before the application reads them."""

import json


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
    """ASGI middleware: a body over `max_body_bytes` gets 413, never read whole.

    A ``Content-Length`` over the limit is refused before any of the body is
    read; a body sent without one (chunked) is counted while it arrives and
    refused as soon as it passes the limit. An accepted body is read here and
    handed on, so the application sees it whole.

    Parameters
    ----------
    app : ASGI application
    max_body_bytes : int
        Largest body accepted.
    """

    def __init__(self, app, max_body_bytes):
        self.app = app
        self.max_body_bytes = max_body_bytes

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
                return await _send_error(send, 413, detail)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
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
