"""Serve a fitted model over HTTP: a JSON/CSV/image API and a draw-a-digit page.

:func:`create_app` builds the FastAPI application and :func:`serve` runs it
with uvicorn (``sk-mnist serve``). Needs the ``[serve]`` extra (FastAPI,
uvicorn, python-multipart).

The endpoints:

``POST /predict``
    ``application/json`` ``{"instances": [[784 grey levels], ...]}``, a
    Kaggle-layout CSV (``text/csv`` body or uploaded file), or image files
    (``multipart/form-data``, or one ``image/*`` body) normalised MNIST-style.
    Answers ``{"classes": [...], "predictions": [{"label": ..., "probabilities":
    [...]}, ...]}``; uploads add ``"file"``, images add ``"image"`` (the 784
    grey levels the model received).
``GET /health``
    Versions, model id, classes, backend and limits.
``GET /``
    A page to draw a digit on and watch the model's guess.
``GET /docs``, ``GET /openapi.json``
    FastAPI's API description.
"""

from ._app import create_app
from ._server import is_loopback, serve  # noqa: F401

__all__ = ["create_app", "serve"]
