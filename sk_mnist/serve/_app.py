"""The FastAPI application: ``/predict``, ``/health``, the drawing page."""

import contextlib
import json
import logging
import math
from importlib import resources
from numbers import Integral

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from .. import __version__
from ._inputs import (
    ACCEPTED,
    CSV_TYPES,
    JSON_TYPES,
    MULTIPART_TYPE,
    RequestError,
    is_csv_upload,
    rows_from_csv,
    rows_from_images,
    rows_from_json,
)
from ._limits import BodyLimit
from ._model import ServedModel, load_model_file
from ._schema import OPENAPI_PREDICT, ErrorAnswer, HealthAnswer, PredictAnswer

#: Largest request body accepted, in bytes, unless told otherwise.
DEFAULT_MAX_BODY_BYTES = 10_000_000
#: Most rows (JSON instances, CSV rows or images) in one request.
DEFAULT_MAX_ROWS = 10_000
# Bodies smaller than this are parsed on the event loop; larger ones in a thread.
_INLINE_BYTES = 64 * 1024
# Answers of more rows than this are written in a thread too.
_INLINE_ROWS = 64
_PAGE_FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
# The page loads nothing from elsewhere; draws previews into canvases only.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}
_ERRORS = {code: {"model": ErrorAnswer} for code in (400, 413, 415)}
logger = logging.getLogger("sk_mnist.serve")


def _check_positive(value, name):
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _error(status_code, detail):
    return JSONResponse({"detail": " ".join(str(detail).split())}, status_code)


def _read_page():
    folder = resources.files(__package__) / "static"
    return {name: (folder / name).read_bytes() for name in _PAGE_FILES}


def _answer(served, proba, extras):
    classes = served.classes
    best = np.argmax(proba, axis=1).tolist()
    rows = proba.tolist()
    predictions = [
        {"label": classes[k], "probabilities": p, **(extras[i] if extras else {})}
        for i, (k, p) in enumerate(zip(best, rows, strict=True))
    ]
    body = json.dumps({"classes": classes, "predictions": predictions})
    return Response(body.encode(), media_type="application/json")


async def _parse_form(request, served, max_rows, normalizer):
    # The body limit bounds the parts; too many images get 413 below.
    files = []
    async with request.form(max_files=math.inf, max_fields=max_rows) as form:
        for field, value in form.multi_items():
            if isinstance(value, str):
                raise RequestError(
                    400,
                    f"form field {field!r} is not a file: send digits as files "
                    "(curl -F file=@digit.png)",
                )
            is_csv = is_csv_upload(value.filename, value.content_type)
            files.append((is_csv, value.filename or field, await value.read()))
    if not files:
        raise RequestError(400, "the form holds no files")
    return await run_in_threadpool(
        _rows_from_files, files, served, max_rows, normalizer
    )


def _rows_from_files(files, served, max_rows, normalizer):
    """Rows of uploaded CSV and image files, in the order of the form."""
    n_images = sum(not is_csv for is_csv, _, _ in files)
    if n_images > max_rows:
        raise RequestError(
            413, f"the form holds {n_images} images; the limit is {max_rows}"
        )
    parts = [
        rows_from_csv(data, name, served.n_features, max_rows)
        if is_csv
        else rows_from_images([(name, data)], normalizer, served.n_features)
        for is_csv, name, data in files
    ]
    n_rows = sum(len(X) for X, _ in parts)
    if n_rows > max_rows:
        raise RequestError(
            413, f"the files hold {n_rows} rows; the limit is {max_rows} per request"
        )
    if len(parts) == 1:
        return parts[0]
    X = np.concatenate([X for X, _ in parts])
    return X, [extra for _, extras in parts for extra in extras]


async def _parse_body(request, served, max_rows, normalizer):
    """Rows and per-row extras from any body ``/predict`` accepts."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == MULTIPART_TYPE:
        return await _parse_form(request, served, max_rows, normalizer)
    body = await request.body()
    if not body:
        raise RequestError(400, f"empty body: send {ACCEPTED}")
    if media in JSON_TYPES or media.endswith("+json"):
        parse, args = rows_from_json, (body, served.n_features, max_rows)
    elif media in CSV_TYPES:
        parse, args = rows_from_csv, (body, "the CSV body", served.n_features, max_rows)
    elif media.startswith("image/"):
        files = [("the image body", body)]
        parse, args = rows_from_images, (files, normalizer, served.n_features)
    else:
        what = f"content type {media!r}" if media else "a body without a content type"
        if media == "application/x-www-form-urlencoded":
            what += " (curl --data's default; add -H 'Content-Type: ...')"
        raise RequestError(415, f"cannot read {what}: send {ACCEPTED}")
    if len(body) <= _INLINE_BYTES:
        return parse(*args)
    return await run_in_threadpool(parse, *args)


def _add_routes(app, served, page, max_rows, normalizer):
    @app.post(
        "/predict",
        summary="Predict the digits of JSON rows, a CSV file or images",
        response_model=PredictAnswer,
        responses=_ERRORS,
        openapi_extra=OPENAPI_PREDICT,
    )
    async def predict(request: Request):
        try:
            X, extras = await _parse_body(request, served, max_rows, normalizer)
        except RequestError as err:
            return _error(err.status_code, err.detail)
        proba = await served.predict_proba(X)
        if len(proba) <= _INLINE_ROWS:
            return _answer(served, proba, extras)
        return await run_in_threadpool(_answer, served, proba, extras)

    @app.get("/health", summary="The model served", response_model=HealthAnswer)
    async def health():
        return served.describe() | {"limits": app.state.limits}

    def page_file(name):
        async def endpoint():
            return Response(
                page[name], media_type=_PAGE_FILES[name], headers=_PAGE_HEADERS
            )

        return endpoint

    app.get("/", include_in_schema=False)(page_file("index.html"))
    for name in ("app.js", "style.css"):
        app.get(f"/static/{name}", include_in_schema=False)(page_file(name))


def _add_error_handlers(app):
    @app.exception_handler(HTTPException)
    async def http_error(request, err):
        return _error(err.status_code, err.detail)

    @app.exception_handler(Exception)
    async def server_error(request, err):
        # Logged with its traceback; the client gets one line, no traceback.
        logger.exception("error answering %s %s", request.method, request.url.path)
        return _error(500, f"internal server error ({type(err).__name__})")


def create_app(
    model,
    *,
    max_body_bytes=DEFAULT_MAX_BODY_BYTES,
    max_rows=DEFAULT_MAX_ROWS,
    model_id=None,
):
    """Build the HTTP application that serves a fitted sk_mnist model.

    Endpoints: ``POST /predict`` (JSON ``{"instances": [[784 grey levels],
    ...]}``, a Kaggle-layout CSV file, or PNG/JPEG images normalised
    MNIST-style by :class:`~sk_mnist.images.DigitNormalizer`), ``GET /health``,
    ``GET /`` (a page to draw a digit on), and FastAPI's ``/docs`` and
    ``/openapi.json``. Bad requests get a 4xx answer ``{"detail": "..."}``
    with a one-line message; the server keeps serving.

    Parameters
    ----------
    model : estimator, str or os.PathLike
        A fitted classifier with ``predict_proba``, ``classes_`` and
        ``n_features_in_`` (an sk_mnist pipeline, an ONNX model from
        :func:`sk_mnist.export.load_onnx`), or the path of a saved model folder
        or ``.onnx`` file, loaded safely (no pickle).
    max_body_bytes : int, default=10_000_000
        Largest request body accepted; larger ones get 413, checked against
        ``Content-Length`` before reading and counted while reading.
    max_rows : int, default=10_000
        Most rows (instances, CSV rows or images) in one request; more get 413.
    model_id : str, default=None
        Identifies the model in ``/health``. A path's is ``"sha256:..."`` of
        its file.

    Returns
    -------
    app : fastapi.FastAPI
        Run it with uvicorn, or use :func:`serve`.

    See Also
    --------
    serve : Load a model file and serve it with uvicorn.

    Examples
    --------
    >>> from fastapi.testclient import TestClient
    >>> from sk_mnist import make_mnist_pipeline
    >>> from sk_mnist.datasets import load_sample
    >>> from sk_mnist.serve import create_app
    >>> (X, y), _ = load_sample()
    >>> model = make_mnist_pipeline(hidden_layer_sizes=(16,), epochs=1,
    ...                             random_state=0).fit(X[:500], y[:500])
    >>> client = TestClient(create_app(model))
    >>> answer = client.post("/predict", json={"instances": X[:2].tolist()}).json()
    >>> answer["classes"]
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    >>> [p["label"] for p in answer["predictions"]] == model.predict(X[:2]).tolist()
    True
    >>> client.post("/predict", json={"instances": [[0] * 783]}).json()["detail"]
    'instances[0] has 783 values; the model takes 784 (one grey level 0-255 per pixel)'
    """
    from ..images import DigitNormalizer

    max_body_bytes = _check_positive(max_body_bytes, "max_body_bytes")
    max_rows = _check_positive(max_rows, "max_rows")
    if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
        model, path_id = load_model_file(model)
        model_id = model_id or path_id
    served = ServedModel(model, model_id=model_id)
    served.warm_up()

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        await run_in_threadpool(served.close)

    app = FastAPI(
        title="sk-mnist",
        version=__version__,
        summary="Predict handwritten digits with an sk-mnist model.",
        lifespan=lifespan,
    )
    app.state.served = served
    app.state.limits = {"max_body_bytes": max_body_bytes, "max_rows": max_rows}
    normalizer = DigitNormalizer(on_empty="zeros")
    _add_routes(app, served, _read_page(), max_rows, normalizer)
    _add_error_handlers(app)
    app.add_middleware(BodyLimit, max_body_bytes=max_body_bytes)
    return app
