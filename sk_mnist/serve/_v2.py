"""The Open Inference Protocol (KServe v2, Triton's HTTP API) beside ``/predict``.

Endpoints: ``GET /v2``, ``/v2/health/live``, ``/v2/health/ready``,
``/v2/models/{name}[/versions/{version}]``, ``.../ready`` and
``POST .../infer``, with JSON tensors and the binary tensor data extension
(``Inference-Header-Content-Length``) that ``tritonclient`` uses by default.
Errors are the protocol's ``{"error": "..."}`` with 400 or 404.
"""

import json
import os
import re
from pathlib import Path

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from .. import __version__
from .._messages import one_line
from ._inputs import (
    INLINE_JSON_BYTES,
    INLINE_ROWS,
    RequestError,
    call_off_loop,
    check_grey_levels,
)

#: The input's name in the model metadata.
INPUT_NAME = "input"
#: Datatypes an input tensor may have, and the NumPy type of their binary form.
INPUT_DATATYPES = {
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP32": np.float32,
    "FP64": np.float64,
}
_HEADER_LENGTH = "Inference-Header-Content-Length"
_OUTPUTS = ("label", "probabilities")


# A model name as it appears in a URL path: KServe's names are DNS labels.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def model_stem(path):
    """The name a model file or folder is served under: its stem."""
    path = Path(os.fsdecode(path)).resolve()
    stem = path.stem if path.suffix.lower() == ".onnx" else path.name
    return check_model_name(stem) if _NAME.fullmatch(stem) else "sk-mnist"


def check_model_name(name):
    """`name`, if it can be a ``/v2/models/{name}`` path segment."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            "model_name must be 1-128 letters, digits, '_', '.' or '-', starting "
            f"with a letter or digit; got {name!r}"
        )
    return name


class V2Error(RequestError):
    """A request the protocol refuses, answered ``{"error": detail}``."""


def _error(err):
    return JSONResponse({"error": one_line(err.detail)}, err.status_code)


def _label_datatype(classes):
    return "BYTES" if any(isinstance(c, str) for c in classes) else "INT64"


def model_metadata(served, name):
    """The ``GET /v2/models/{name}`` answer."""
    return {
        "name": name,
        "versions": [served.describe()["model_version"]],
        "platform": f"sk-mnist_{served.backend}",
        "inputs": [
            {"name": INPUT_NAME, "datatype": "FP32", "shape": [-1, served.n_features]}
        ],
        "outputs": [
            {
                "name": "label",
                "datatype": _label_datatype(served.classes),
                "shape": [-1],
            },
            {
                "name": "probabilities",
                "datatype": "FP32",
                "shape": [-1, len(served.classes)],
            },
        ],
    }


def _split_body(body, header_length):
    """The JSON header and the binary tensor data after it."""
    if header_length is None:
        return body, b""
    try:
        size = int(header_length)
    except ValueError:
        size = -1
    if not 0 < size <= len(body):
        raise V2Error(
            400,
            f"{_HEADER_LENGTH} = {header_length!r} is not a length within "
            f"the body of {len(body)} bytes",
        )
    return body[:size], body[size:]


def _refuse_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise V2Error(400, f"the request repeats the key {key!r}")
        seen[key] = value
    return seen


def _read_header(text):
    try:
        request = json.loads(text, object_pairs_hook=_refuse_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        if isinstance(err, json.JSONDecodeError):
            problem = str(err).split(":")[0]
        elif isinstance(err, RecursionError):
            problem = "nested too deeply"
        else:
            problem = "not UTF-8 JSON"
        raise V2Error(400, f"the request is not valid JSON: {problem}") from None
    if not isinstance(request, dict):
        raise V2Error(400, "the request must be a JSON object with 'inputs'")
    inputs = request.get("inputs")
    if (
        not isinstance(inputs, list)
        or len(inputs) != 1
        or not isinstance(inputs[0], dict)
    ):
        raise V2Error(
            400, f"'inputs' must be a list of one tensor named {INPUT_NAME!r}"
        )
    return request, inputs[0]


def _shape_of(tensor, n_features, max_rows):
    shape = tensor.get("shape")
    if (
        not isinstance(shape, list)
        or len(shape) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in shape)
    ):
        raise V2Error(400, f"input shape must be [rows, {n_features}], got {shape!r}")
    if shape[1] != n_features or shape[0] < 1:
        raise V2Error(
            400, f"input shape {shape} does not match the model's [-1, {n_features}]"
        )
    if shape[0] > max_rows:
        raise V2Error(413, f"the input holds {shape[0]} rows; the limit is {max_rows}")
    return shape


def _tensor_data(tensor, shape, binary):
    datatype = tensor.get("datatype")
    if datatype not in INPUT_DATATYPES:
        raise V2Error(
            400,
            f"input datatype {datatype!r} is not one the model takes: "
            f"{', '.join(INPUT_DATATYPES)}",
        )
    dtype = np.dtype(INPUT_DATATYPES[datatype]).newbyteorder("<")
    n_values = shape[0] * shape[1]
    size = (tensor.get("parameters") or {}).get("binary_data_size")
    if size is not None:
        if size != n_values * dtype.itemsize or len(binary) != size:
            raise V2Error(
                400,
                f"binary_data_size {size!r} does not hold {shape} {datatype} values "
                f"({n_values * dtype.itemsize} bytes; {len(binary)} were sent)",
            )
        return np.frombuffer(binary, dtype=dtype).reshape(shape)
    data = tensor.get("data")
    if not isinstance(data, list):
        raise V2Error(400, "input 'data' must be a list of numbers (row-major)")
    try:
        X = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError):
        raise V2Error(400, "input 'data' must hold numbers only") from None
    if X.size != n_values:
        raise V2Error(
            400, f"input data holds {X.size} values; shape {shape} needs {n_values}"
        )
    return X.reshape(shape)


def parse_infer(body, header_length, n_features, max_rows):
    """The rows and the request's JSON from an infer request body."""
    text, binary = _split_body(body, header_length)
    request, tensor = _read_header(text)
    if tensor.get("name") != INPUT_NAME:
        raise V2Error(
            400, f"unknown input {tensor.get('name')!r}; the model's is {INPUT_NAME!r}"
        )
    shape = _shape_of(tensor, n_features, max_rows)
    X = _tensor_data(tensor, shape, binary)
    try:
        check_grey_levels(X, "input")
    except RequestError as err:
        raise V2Error(err.status_code, err.detail) from None
    return np.asarray(X, dtype=np.float32), request


def _wanted_outputs(request):
    """``{name: binary}`` of the outputs to answer."""
    binary_all = bool((request.get("parameters") or {}).get("binary_data_output"))
    asked = request.get("outputs")
    if asked is None:
        return dict.fromkeys(_OUTPUTS, binary_all)
    if not isinstance(asked, list) or not all(isinstance(o, dict) for o in asked):
        raise V2Error(400, "'outputs' must be a list of {\"name\": ...} objects")
    wanted = {}
    for output in asked:
        if output.get("name") not in _OUTPUTS:
            raise V2Error(
                400,
                f"unknown output {output.get('name')!r}; the model's are "
                f"{', '.join(map(repr, _OUTPUTS))}",
            )
        binary = (output.get("parameters") or {}).get("binary_data", binary_all)
        wanted[output["name"]] = bool(binary)
    return wanted


def _bytes_tensor(values):
    """Triton's binary BYTES: a 4-byte little-endian length, then the bytes."""
    parts = []
    for value in values:
        raw = str(value).encode()
        parts += [len(raw).to_bytes(4, "little"), raw]
    return b"".join(parts)


def infer_answer(served, name, request, proba):
    """The response body and headers of an infer request."""
    labels = np.asarray(served.classes, dtype=object)[np.argmax(proba, axis=1)]
    datatype = _label_datatype(served.classes)
    values = {
        "label": (labels.tolist(), datatype, [len(proba)]),
        "probabilities": (proba.astype(np.float32), "FP32", list(proba.shape)),
    }
    outputs, chunks = [], []
    for out_name, binary in _wanted_outputs(request).items():
        data, out_type, shape = values[out_name]
        entry = {"name": out_name, "datatype": out_type, "shape": shape}
        if binary:
            if out_type == "BYTES":
                raw = _bytes_tensor(data)
            elif out_type == "INT64":
                raw = np.asarray(data, dtype="<i8").tobytes()
            else:
                raw = np.asarray(data, dtype="<f4").tobytes()
            entry["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        else:
            entry["data"] = np.asarray(data).ravel().tolist()
        outputs.append(entry)
    answer = {"model_name": name, "model_version": served.describe()["model_version"]}
    if "id" in request:
        answer["id"] = request["id"]
    header = json.dumps(answer | {"outputs": outputs}).encode()
    if not chunks:
        return header, {}
    return header + b"".join(chunks), {_HEADER_LENGTH: str(len(header))}


def _check_model(request, model_name, version=None):
    """The app's served model and name, if the path names them."""
    state = request.app.state
    name = state.model_name
    if model_name != name:
        raise V2Error(404, f"unknown model {model_name!r}; this server has {name!r}")
    if version is not None and version != state.served.describe()["model_version"]:
        raise V2Error(404, f"model {name!r} has no version {version!r}")
    return state.served, name


router = APIRouter(prefix="/v2", tags=["Open Inference Protocol v2"])
"""The protocol's endpoints; they serve ``app.state.served`` as
``app.state.model_name`` with at most ``app.state.limits["max_rows"]`` rows."""


@router.get("", summary="Server metadata")
async def server_metadata():
    return {
        "name": "sk-mnist",
        "version": __version__,
        "extensions": ["binary_tensor_data"],
    }


@router.get("/health/live", summary="The server is live")
async def live():
    return {"live": True}


@router.get("/health/ready", summary="The server is ready")
async def ready():
    return {"ready": True}


# Each handler serves both paths; on the first, version is None.
async def metadata(request: Request, model_name: str, version: str | None = None):
    try:
        served, name = _check_model(request, model_name, version)
    except V2Error as err:
        return _error(err)
    return model_metadata(served, name)


async def model_ready(request: Request, model_name: str, version: str | None = None):
    try:
        _, name = _check_model(request, model_name, version)
    except V2Error as err:
        return _error(err)
    return {"name": name, "ready": True}


async def infer(request: Request):
    # Path parameters read from the request, not the signature: FastAPI's
    # validation of them cost 27 us of the 250 us of a one-row infer.
    model_name = request.path_params["model_name"]
    version = request.path_params.get("version")
    try:
        served, name = _check_model(request, model_name, version)
        body = await request.body()
        args = (
            body,
            request.headers.get(_HEADER_LENGTH),
            served.n_features,
            request.app.state.limits["max_rows"],
        )
        inline = len(body) <= INLINE_JSON_BYTES
        X, infer_request = await call_off_loop(inline, parse_infer, *args)
        proba = await served.predict_proba(X)
        content, headers = await call_off_loop(
            len(proba) <= INLINE_ROWS, infer_answer, served, name, infer_request, proba
        )
    except V2Error as err:
        return _error(err)
    return Response(content, media_type="application/json", headers=headers)


def _path_parameters(path):
    """The OpenAPI description of the path parameters of `path`."""
    names = [name for name in ("model_name", "version") if f"{{{name}}}" in path]
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in names
    ]


for _path in ("/models/{model_name}", "/models/{model_name}/versions/{version}"):
    router.get(_path, summary="Model metadata")(metadata)
    router.get(_path + "/ready", summary="The model is ready")(model_ready)
    router.post(
        _path + "/infer",
        summary="Infer",
        openapi_extra={"parameters": _path_parameters(_path)},
    )(infer)
