"""The FastAPI application: ``/predict``, ``/health``, the drawing page."""

import contextlib
import json
import logging
import math
from importlib import resources
from numbers import Integral, Real

import numpy as np
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from .. import __version__
from .._messages import one_line
from ._inputs import (
    ACCEPTED,
    CSV_TYPES,
    INLINE_JSON_BYTES,
    INLINE_ROWS,
    JSON_TYPES,
    MULTIPART_TYPE,
    RequestError,
    call_off_loop,
    is_csv_upload,
    read_form,
    rows_from_csv,
    rows_from_images,
)
from ._json_rows import rows_from_json
from ._limits import BodyLimit
from ._model import (
    check_classifier,
    check_model_file,
    check_runtime,
    is_model_path,
    start_serving,
)
from ._schema import OPENAPI_PREDICT, ErrorAnswer, HealthAnswer, PredictAnswer
from ._v2 import check_model_name, model_stem
from ._v2 import router as v2_router

#: Largest request body accepted, in bytes, unless told otherwise.
DEFAULT_MAX_BODY_BYTES = 10_000_000
#: Most rows (JSON instances, CSV rows or images) in one request.
DEFAULT_MAX_ROWS = 10_000
#: Most pixels (width x height) of one uploaded image, read from its header
#: before it is decoded; a request's images may hold 4 times that in all.
DEFAULT_MAX_IMAGE_PIXELS = 16_000_000
#: Seconds a client has to send the whole body once its headers are in (408).
DEFAULT_BODY_TIMEOUT = 10.0
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


def _check_timeout(value, name):
    if isinstance(value, bool) or not isinstance(value, Real) or not value > 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def _error(status_code, detail):
    return JSONResponse({"detail": one_line(detail)}, status_code)


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


def _rows_from_form(body, content_type, served, limits, normalizer):
    """Rows of the files of a ``multipart/form-data`` body (run in a thread)."""
    files = [
        (is_csv_upload(filename, kind), filename or field, data)
        for field, filename, kind, data in read_form(
            body, content_type, limits["max_rows"]
        )
    ]
    if not files:
        raise RequestError(400, "the form holds no files")
    return _rows_from_files(files, served, limits, normalizer)


def _rows_from_files(files, served, limits, normalizer):
    """Rows of uploaded CSV and image files, in the order of the form."""
    max_rows = limits["max_rows"]
    n_images = sum(not is_csv for is_csv, _, _ in files)
    if n_images > max_rows:
        raise RequestError(
            413, f"the form holds {n_images} images; the limit is {max_rows}"
        )
    images = [(name, data) for is_csv, name, data in files if not is_csv]
    X_images, image_extras = rows_from_images(
        images, normalizer, served.n_features, limits["max_image_pixels"]
    )
    # Each CSV file may hold the rows the images and earlier files left: the
    # row limit bounds the whole form before any file is decompressed or read.
    parts, n_rows, k = [], n_images, 0
    for is_csv, name, data in files:
        if is_csv:
            budget = max_rows - n_rows
            if budget < 1:
                raise RequestError(
                    413,
                    f"the files hold over {max_rows} rows; the limit is "
                    f"{max_rows} per request",
                )
            try:
                X, extras = rows_from_csv(data, name, served.n_features, budget)
            except RequestError as err:
                if err.status_code != 413 or budget == max_rows:
                    raise
                raise RequestError(
                    413,
                    f"{name}: the form's files hold over {max_rows} rows; "
                    f"the limit is {max_rows} per request",
                ) from None
            n_rows += len(X)
        else:
            X, extras = X_images[k : k + 1], image_extras[k : k + 1]
            k += 1
        parts.append((X, extras))
    if len(parts) == 1:
        return parts[0]
    X = np.concatenate([X for X, _ in parts])
    return X, [extra for _, extras in parts for extra in extras]


def _media_type(request):
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _body_parser(request, body, served, limits, normalizer):
    """The function and arguments that read ``body``, by its content type."""
    media, max_rows = _media_type(request), limits["max_rows"]
    if media == MULTIPART_TYPE:
        content_type = request.headers["content-type"]
        return _rows_from_form, (body, content_type, served, limits, normalizer)
    if not body:
        raise RequestError(400, f"empty body: send {ACCEPTED}")
    if media in JSON_TYPES or media.endswith("+json"):
        return rows_from_json, (body, served.n_features, max_rows)
    if media in CSV_TYPES:
        return rows_from_csv, (body, "the CSV body", served.n_features, max_rows)
    if media.startswith("image/"):
        files = [("the image body", body)]
        pixels = limits["max_image_pixels"]
        return rows_from_images, (files, normalizer, served.n_features, pixels)
    what = f"content type {media!r}" if media else "a body without a content type"
    if media == "application/x-www-form-urlencoded":
        what += " (curl --data's default; add -H 'Content-Type: ...')"
    raise RequestError(415, f"cannot read {what}: send {ACCEPTED}")


async def _parse_body(request, served, limits, normalizer):
    """Rows and per-row extras from any body ``/predict`` accepts.

    Decoded in a thread (a small image or gzip file can take seconds to
    decode), but for small JSON bodies, read inline in well under a millisecond.
    """
    body = await request.body()
    parse, args = _body_parser(request, body, served, limits, normalizer)
    inline = parse is rows_from_json and len(body) <= INLINE_JSON_BYTES
    return await call_off_loop(inline, parse, *args)


router = APIRouter()


@router.post(
    "/predict",
    summary="Predict the digits of JSON rows, a CSV file or images",
    response_model=PredictAnswer,
    responses=_ERRORS,
    openapi_extra=OPENAPI_PREDICT,
)
async def predict(request: Request):
    state = request.app.state
    served = state.served
    X, extras = await _parse_body(request, served, state.limits, state.normalizer)
    proba = await served.predict_proba(X)
    inline = len(proba) <= INLINE_ROWS
    return await call_off_loop(inline, _answer, served, proba, extras)


@router.get("/health", summary="The model served", response_model=HealthAnswer)
async def health(request: Request):
    state = request.app.state
    return state.served.describe() | {"limits": state.limits}


def _page_file(name):
    async def endpoint(request: Request):
        page = request.app.state.page
        return Response(page[name], media_type=_PAGE_FILES[name], headers=_PAGE_HEADERS)

    return endpoint


router.get("/", include_in_schema=False)(_page_file("index.html"))
for _name in ("app.js", "style.css"):
    router.get(f"/static/{_name}", include_in_schema=False)(_page_file(_name))


async def _request_error(request, err):
    return _error(err.status_code, err.detail)


async def _server_error(request, err):
    # Logged with its traceback; the client gets one line, no traceback.
    logger.exception("error answering %s %s", request.method, request.url.path)
    return _error(500, f"internal server error ({type(err).__name__})")


_ERROR_HANDLERS = {
    RequestError: _request_error,
    HTTPException: _request_error,
    Exception: _server_error,
}


@contextlib.asynccontextmanager
async def lifespan(app):
    """Load the model of ``app.state.model_source`` for the app's lifetime.

    Startup stores the :class:`ServedModel` as ``app.state.served``;
    shutdown stops it once the queued requests are answered.
    """
    state = app.state
    state.served = await run_in_threadpool(
        start_serving,
        state.model_source,
        runtime=state.runtime,
        model_id=state.model_id,
    )
    try:
        yield
    finally:
        served, state.served = state.served, None
        await run_in_threadpool(served.close)


def create_app(
    model,
    *,
    max_body_bytes=DEFAULT_MAX_BODY_BYTES,
    max_rows=DEFAULT_MAX_ROWS,
    model_id=None,
    max_image_pixels=DEFAULT_MAX_IMAGE_PIXELS,
    body_timeout=DEFAULT_BODY_TIMEOUT,
    model_name=None,
    runtime="auto",
):
    """Build the HTTP application that serves a fitted sk_mnist model.

    Endpoints: ``POST /predict`` (JSON ``{"instances": [[784 grey levels],
    ...]}``, a Kaggle-layout CSV file, or PNG/JPEG images normalised
    MNIST-style by :class:`~sk_mnist.images.DigitNormalizer`), ``GET /health``,
    ``GET /`` (a page to draw a digit on), FastAPI's ``/docs`` and
    ``/openapi.json``, and the Open Inference Protocol (KServe v2, Triton's
    HTTP API) under ``/v2``. Bad requests get a 4xx answer with a one-line
    ``{"detail": "..."}`` (``{"error": "..."}`` under ``/v2``).

    The arguments are checked here; the model is loaded when the application
    starts, so run it under an ASGI server or ``with TestClient(app)``.

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
    max_image_pixels : int, default=16_000_000
        Most pixels of one uploaded image, read from its header before it
        is decoded (413 beyond); a request's images, 4 times that in all.
    body_timeout : float, default=10.0
        Seconds a client has, once its headers are in, to send the whole
        body; a slower one gets 408 and the connection is closed.
    model_name : str, default=None
        The model's name in ``/v2/models/{name}``; None means a path's stem
        (the model folder's name), else ``"sk-mnist"``.
    runtime : {"auto", "keras", "onnx"}, default="auto"
        How a saved Keras model runs. ``"auto"`` converts a model loaded from
        a folder to ONNX in memory when it can (the ``onnx`` extra, and
        probabilities within 1e-5 of Keras'); ``"onnx"`` converts any Keras
        model or raises; ``"keras"`` never converts. ``/health`` says which.

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
    >>> with TestClient(create_app(model)) as client:
    ...     answer = client.post("/predict", json={"instances": X[:2].tolist()}).json()
    ...     short = client.post("/predict", json={"instances": [[0] * 783]}).json()
    >>> answer["classes"]
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    >>> [p["label"] for p in answer["predictions"]] == model.predict(X[:2]).tolist()
    True
    >>> short["detail"]
    'instances[0] has 783 values; the model takes 784 (one grey level 0-255 per pixel)'
    """
    from ..images import DigitNormalizer

    max_body_bytes = _check_positive(max_body_bytes, "max_body_bytes")
    max_rows = _check_positive(max_rows, "max_rows")
    max_image_pixels = _check_positive(max_image_pixels, "max_image_pixels")
    body_timeout = _check_timeout(body_timeout, "body_timeout")
    check_runtime(runtime)
    from_path = is_model_path(model)
    if model_name is None:
        model_name = model_stem(model) if from_path else "sk-mnist"
    model_name = check_model_name(model_name)
    # What can be refused is refused now, in one line, before any server runs.
    if from_path:
        check_model_file(model)
    else:
        check_classifier(model)
    app = FastAPI(
        title="sk-mnist",
        version=__version__,
        summary="Predict handwritten digits with an sk-mnist model.",
        lifespan=lifespan,
        exception_handlers=_ERROR_HANDLERS,
    )
    app.state.model_source = model
    app.state.runtime = runtime
    app.state.model_id = model_id
    app.state.served = None  # the lifespan's
    app.state.model_name = model_name
    app.state.limits = {
        "max_body_bytes": max_body_bytes,
        "max_rows": max_rows,
        "max_image_pixels": max_image_pixels,
        "body_timeout": body_timeout,
    }
    app.state.normalizer = DigitNormalizer(on_empty="zeros")
    app.state.page = _read_page()
    app.include_router(router)
    app.include_router(v2_router)
    app.add_middleware(
        BodyLimit, max_body_bytes=max_body_bytes, body_timeout=body_timeout
    )
    return app
