"""The HTTP server: what /predict answers for each kind of body, its errors and
limits, /health, the page's files, model files, batching, and serve() itself."""

import asyncio
import gzip
import hashlib
import http.client
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

import httpx
import keras
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from sk_mnist import __version__, make_mnist_pipeline, save_model
from sk_mnist.datasets import save_mnist_csv
from sk_mnist.export import export_onnx
from sk_mnist.images import DigitNormalizer, read_image
from sk_mnist.serve import create_app, serve
from sk_mnist.serve._model import ServedModel


@pytest.fixture(scope="module")
def model(sample):
    (X, y), _ = sample
    pipe = make_mnist_pipeline(
        hidden_layer_sizes=(32,), epochs=2, batch_size=256, random_state=0
    )
    return pipe.fit(X, y)


@pytest.fixture(scope="module")
def client(model):
    with TestClient(create_app(model)) as client:
        yield client


@pytest.fixture(scope="module")
def X_test(sample):
    return sample[1][0]


def _png(digit, size=112, dark_ink=True, fmt="PNG"):
    """A 28 x 28 sample digit drawn larger, as a person's drawing would be."""
    image = Image.fromarray(digit.reshape(28, 28)).resize((size, size), Image.BILINEAR)
    if dark_ink:
        image = Image.fromarray(255 - np.asarray(image))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def _offline(model, data):
    """What the pipeline predicts offline for an image file's bytes."""
    row = DigitNormalizer().transform([read_image(io.BytesIO(data))])
    return row[0], model.predict_proba(row)[0]


def _csv(X, y=None, gz=False, tmp_path=None):
    path = tmp_path / ("digits.csv.gz" if gz else "digits.csv")
    save_mnist_csv(path, X, y)
    return path.read_bytes()


def _check_answer(answer, model, X, atol=1e-6):
    classes = model.classes_.tolist()
    assert answer["classes"] == classes
    proba = model.predict_proba(X)
    assert len(answer["predictions"]) == len(X)
    for prediction, p in zip(answer["predictions"], proba, strict=True):
        assert prediction["label"] == classes[int(np.argmax(p))]
        np.testing.assert_allclose(prediction["probabilities"], p, atol=atol)


def _good(client, X_test):
    response = client.post("/predict", json={"instances": X_test[:1].tolist()})
    assert response.status_code == 200, response.text


def test_health_describes_the_model(client):
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert health["classes"] == list(range(10))
    assert health["backend"] == keras.backend.backend()
    assert health["sk_mnist_version"] == __version__ == health["model_version"]
    assert health["model_id"] is None and health["model_type"] == "Pipeline"
    assert health["n_features"] == 784
    assert health["limits"] == {
        "max_body_bytes": 10_000_000,
        "max_rows": 10_000,
        "max_image_pixels": 16_000_000,
        "body_timeout": 10.0,
    }
    # A model given in memory runs as it is; no quantisation.
    assert health["runtime"] == "Keras" and health["quantization"] is None


def test_json_instances_are_predicted_as_the_pipeline_does(client, model, X_test):
    X = X_test[:20]
    response = client.post("/predict", json={"instances": X.tolist()})
    assert response.status_code == 200
    answer = response.json()
    _check_answer(answer, model, X)
    assert all(type(p["label"]) is int for p in answer["predictions"])
    assert all(set(p) == {"label", "probabilities"} for p in answer["predictions"])
    # a body of over 64 KiB is read by another reader, to the same answers
    X = X_test[:80]
    body = json.dumps({"instances": X.tolist()})
    assert len(body) > 64 * 1024
    response = client.post("/predict", content=body, headers={"content-type": _JSON})
    _check_answer(response.json(), model, X)
    # grey levels as floats, fractions included, are grey levels too
    floats = (X[:3] / 2.0).tolist()
    answer = client.post("/predict", json={"instances": floats}).json()
    _check_answer(answer, model, X[:3] / 2.0)


@pytest.mark.parametrize(
    "layout",
    ["default", "compact", "indented", "spaced", "other key", "exponents", "floats"],
)
def test_json_bodies_read_the_same_in_any_layout(client, model, X_test, layout):
    X = X_test[:4].astype(np.float64)
    doc = {"instances": X.tolist()}
    body = {
        "default": json.dumps(doc),
        "compact": json.dumps(doc, separators=(",", ":")),
        "indented": json.dumps(doc, indent=2),
        "spaced": '\t{ "instances" :[ ' + json.dumps(X.tolist())[1:-1] + " ] }\n",
        "other key": json.dumps({"signature_name": "serving_default", **doc}),
        "exponents": json.dumps(doc).replace("255.0", "2.55e2").replace("0.0", "0e+0"),
        "floats": json.dumps({"instances": (X / 7).tolist()}),
    }[layout]
    response = client.post("/predict", content=body, headers={"content-type": _JSON})
    assert response.status_code == 200, response.text
    _check_answer(response.json(), model, X / 7 if layout == "floats" else X)


@pytest.mark.parametrize("labels", [True, False], ids=["labelled", "pixels-only"])
@pytest.mark.parametrize("gz", [False, True], ids=["csv", "csv.gz"])
def test_kaggle_csv_upload_and_body(
    client, model, X_test, sample, tmp_path, labels, gz
):
    X, y = X_test[:7], sample[1][1][:7] if labels else None
    data = _csv(X, y, gz=gz, tmp_path=tmp_path)
    files = {"file": ("digits.csv.gz" if gz else "digits.csv", data, "text/csv")}
    answer = client.post("/predict", files=files).json()
    _check_answer(answer, model, X)
    assert {p["file"] for p in answer["predictions"]} == {files["file"][0]}
    body = client.post("/predict", content=data, headers={"content-type": "text/csv"})
    assert body.status_code == 200
    _check_answer(body.json(), model, X)


def test_image_uploads_are_normalised_as_offline(client, model, X_test):
    files = [
        ("file", ("dark-on-white.png", _png(X_test[0]), "image/png")),
        ("file", ("bright-on-black.png", _png(X_test[1], 200, False), "image/png")),
        ("file", ("photo.jpg", _png(X_test[2], 90, fmt="JPEG"), "image/jpeg")),
    ]
    response = client.post("/predict", files=files)
    assert response.status_code == 200, response.text
    answer = response.json()
    for (_, (name, data, _)), prediction in zip(
        files, answer["predictions"], strict=True
    ):
        row, proba = _offline(model, data)
        assert prediction["file"] == name
        assert prediction["image"] == row.tolist()  # what the model received
        assert prediction["label"] == int(np.argmax(proba))
        np.testing.assert_allclose(prediction["probabilities"], proba, atol=1e-6)
    # one image as the whole body
    data = files[0][1][1]
    body = client.post("/predict", content=data, headers={"content-type": "image/png"})
    prediction = body.json()["predictions"][0]
    assert prediction["file"] == "the image body"
    assert prediction["image"] == _offline(model, data)[0].tolist()


def test_mixed_uploads_answer_in_the_order_of_the_form(client, model, X_test, tmp_path):
    first, last = _png(X_test[3]), _png(X_test[4], 64)
    files = [
        ("file", ("first.png", first, "image/png")),
        ("file", ("two.csv", _csv(X_test[5:7], tmp_path=tmp_path), "text/csv")),
        ("file", ("last.png", last, "image/png")),
    ]
    answer = client.post("/predict", files=files).json()
    names = [p["file"] for p in answer["predictions"]]
    assert names == ["first.png", "two.csv", "two.csv", "last.png"]
    rows = [_offline(model, first)[0], *X_test[5:7], _offline(model, last)[0]]
    _check_answer(answer, model, np.array(rows))
    assert ["image" in p for p in answer["predictions"]] == [True, False, False, True]


def test_string_labels_come_back_as_strings(sample):
    (X, y), (X_test, _) = sample
    names = np.array(["zero", "one", "two", "three", "four"] * 2)[y]
    pipe = make_mnist_pipeline(
        hidden_layer_sizes=(8,), epochs=1, batch_size=256, random_state=0
    ).fit(X[:1000], names[:1000])
    with TestClient(create_app(pipe)) as client:
        answer = client.post("/predict", json={"instances": X_test[:5].tolist()}).json()
        assert answer["classes"] == ["four", "one", "three", "two", "zero"]
        assert [p["label"] for p in answer["predictions"]] == pipe.predict(
            X_test[:5]
        ).tolist()


def _instances(rows):
    return json.dumps({"instances": rows}).encode()


def _row(**changes):
    row = [0] * 784
    for index, value in changes.items():
        row[int(index[1:])] = value
    return row


_JSON = "application/json"


def _blank_png():
    buffer = io.BytesIO()
    Image.new("L", (60, 60), 255).save(buffer, format="PNG")
    return buffer.getvalue()


_BAD_REQUESTS = {
    "short row": (
        _instances([_row()[:783]]),
        _JSON,
        400,
        r"instances\[0\] has 783 values; the model takes 784",
    ),
    "ragged rows": (
        _instances([_row(), _row() + [0]]),
        _JSON,
        400,
        r"instances\[1\] has 785 values",
    ),
    "above 255": (
        _instances([_row(), _row(p5=256)]),
        _JSON,
        400,
        r"instances\[1\]\[5\] = 256 is outside 0-255",
    ),
    "negative": (
        _instances([_row(p0=-1)]),
        _JSON,
        400,
        r"instances\[0\]\[0\] = -1 is outside 0-255",
    ),
    "NaN": (
        _instances([_row(p9=float("nan"))]),
        _JSON,
        400,
        r"instances\[0\]\[9\] is NaN",
    ),
    "infinity": (
        _instances([_row(p9=float("inf"))]),
        _JSON,
        400,
        r"instances\[0\]\[9\] = inf is outside",
    ),
    "text value": (
        _instances([_row(p3="12")]),
        _JSON,
        400,
        r'instances\[0\]\[3\] is "12", not a number',
    ),
    "boolean": (
        _instances([_row(p3=True)]),
        _JSON,
        400,
        r"instances\[0\]\[3\] is true, not a number",
    ),
    "null": (
        _instances([_row(p3=None)]),
        _JSON,
        400,
        r"instances\[0\]\[3\] is null, not a number",
    ),
    "row not a list": (
        _instances([5]),
        _JSON,
        400,
        r"instances\[0\] is int, not a list",
    ),
    "not JSON": (b'{"instances": [[0, 1', _JSON, 400, "body is not valid JSON"),
    # the fast reader of plain rows would read these leniently (NaN, skipped)
    "empty value": (
        b'{"instances": [[0,,' + b"0," * 781 + b"0]]}",  # 784 fields
        _JSON,
        400,
        "body is not valid JSON",
    ),
    "empty value, large body": (  # over 64 KiB: read by another reader
        b'{"instances": ['
        + (b"[" + b"0," * 783 + b"0], ") * 50
        + b"[0,,"
        + b"0," * 781
        + b"0]]}",
        _JSON,
        400,
        "body is not valid JSON",
    ),
    "empty row": (
        b'{"instances": [[' + b"0," * 783 + b"0], [], [" + b"0," * 783 + b"0]]}",
        _JSON,
        400,
        r"instances\[1\] has 0 values",
    ),
    "short second row": (
        b'{"instances": [[' + b"0," * 783 + b"0], [0, 0]]}",
        _JSON,
        400,
        r"instances\[1\] has 2 values",
    ),
    "no instances": (
        b'{"inputs": [[0]]}',
        _JSON,
        400,
        r'expected a JSON object \{"instances"',
    ),
    "instances not a list": (
        b'{"instances": 3}',
        _JSON,
        400,
        '"instances" must be a list',
    ),
    "no rows": (b'{"instances": []}', _JSON, 400, '"instances" holds no rows'),
    "empty body": (b"", _JSON, 400, "empty body: send application/json"),
    "text/plain": (
        b"0,0,0",
        "text/plain",
        415,
        "cannot read content type 'text/plain'",
    ),
    "form-encoded": (
        b"a=1",
        "application/x-www-form-urlencoded",
        415,
        "cannot read content type",
    ),
    "no content type": (b"0,0,0", None, 415, "body without a content type"),
    "not an image": (
        b"GIF89a? no",
        "image/gif",
        400,
        "the image body: (not an image|damaged)",
    ),
    "truncated image": (
        _png(np.full(784, 200, np.uint8))[:60],
        "image/png",
        400,
        "the image body: damaged",
    ),
    "blank image": (
        _blank_png(),
        "image/png",
        400,
        "the image body: no digit, the image is blank",
    ),
    "CSV columns": (
        b"1,2,3\n",
        "text/csv",
        400,
        "the CSV body, line 1: expected 785 columns",
    ),
    "CSV value": (
        b"7" + b",0" * 783 + b",300\n",
        "text/csv",
        400,
        "the CSV body.*line 1.*300",
    ),
    "corrupt gzip": (
        b"\x1f\x8b\x08\x00garbage",
        "text/csv",
        400,
        "the CSV body: (corrupt|truncated) gzip",
    ),
}


@pytest.mark.parametrize(
    ("body", "content_type", "status", "match"),
    list(_BAD_REQUESTS.values()),
    ids=list(_BAD_REQUESTS),
)
def test_bad_request_gets_one_line_and_the_server_keeps_serving(
    client, X_test, body, content_type, status, match
):
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/predict", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    detail = response.json()["detail"]
    assert "\n" not in detail and "Traceback" not in detail
    assert re.search(match, detail), detail
    _good(client, X_test)


@pytest.mark.parametrize(
    ("files", "match"),
    [
        ({"note": (None, "hello")}, "form field 'note' is not a file"),
        ({"file": ("empty.png", b"", "image/png")}, "empty.png: empty file"),
        ({"file": ("x.png", b"not a png", "image/png")}, "x.png: not an image"),
        ({"file": ("bad.csv", b"1,2\n", "text/csv")}, "bad.csv, line 1: expected 785"),
        ({"file": ("empty.csv", b"", "text/csv")}, "empty.csv: empty file"),
    ],
    ids=["text field", "empty image", "not an image", "bad csv", "empty csv"],
)
def test_bad_upload_names_the_file(client, X_test, files, match):
    response = client.post("/predict", files=files)
    assert response.status_code == 400, response.text
    assert match in response.json()["detail"]
    _good(client, X_test)


def test_multipart_without_files_or_boundary(client, X_test):
    headers = {"content-type": "multipart/form-data; boundary=xyz"}
    empty = client.post("/predict", content=b"--xyz--\r\n", headers=headers)
    assert empty.status_code == 400
    assert empty.json()["detail"] == "the form holds no files"
    headers = {"content-type": "multipart/form-data"}
    broken = client.post("/predict", content=b"abc", headers=headers)
    assert broken.status_code == 400 and "boundary" in broken.json()["detail"].lower()
    _good(client, X_test)


def test_limits_on_body_size_and_rows(model, X_test, tmp_path):
    app = create_app(model, max_body_bytes=20_000, max_rows=3)
    with TestClient(app) as client:
        limits = client.get("/health").json()["limits"]
        assert limits["max_body_bytes"] == 20_000 and limits["max_rows"] == 3
        big = _instances(X_test[:3].tolist() + [[0] * 784] * 10)
        response = client.post("/predict", content=big, headers={"content-type": _JSON})
        assert response.status_code == 413
        assert response.json()["detail"] == (
            f"request body of {len(big)} bytes is over the limit of 20000"
        )

        def chunks():  # no Content-Length: counted while read
            for _ in range(30):
                yield b" " * 1000

        chunked = client.post(
            "/predict", content=chunks(), headers={"content-type": _JSON}
        )
        assert chunked.status_code == 413
        assert (
            chunked.json()["detail"] == "request body is over the limit of 20000 bytes"
        )
        four = {"instances": X_test[:4].tolist()}
        response = client.post("/predict", json=four)
        assert response.status_code == 413
        assert response.json()["detail"] == (
            '"instances" holds 4 rows; the limit is 3 per request'
        )
        csv = client.post(
            "/predict",
            files={"file": ("four.csv", _csv(X_test[:4], tmp_path=tmp_path))},
        )
        assert (
            csv.status_code == 413 and "four.csv holds 4 rows" in csv.json()["detail"]
        )
        images = [
            ("file", (f"{k}.png", _png(X_test[k], 28), "image/png")) for k in range(4)
        ]
        many = client.post("/predict", files=images)
        assert many.status_code == 413
        assert many.json()["detail"] == "the form holds 4 images; the limit is 3"
        # a gzip CSV that decompresses past what 3 rows can take
        bomb = gzip.compress(b"0," * 2_000_000)
        assert len(bomb) < 20_000
        response = client.post(
            "/predict", content=bomb, headers={"content-type": "text/csv"}
        )
        assert (
            response.status_code == 413
            and "decompresses to over" in response.json()["detail"]
        )
        ok = client.post("/predict", json={"instances": X_test[:3].tolist()})
        assert ok.status_code == 200


def test_unknown_paths_and_methods_get_json(client):
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
    wrong = client.get("/predict")
    assert wrong.status_code == 405 and wrong.json() == {"detail": "Method Not Allowed"}


def test_page_is_served_by_the_package_and_needs_no_network(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    html = page.text
    for needed in ('id="pad"', 'id="seen"', 'id="bars"', 'id="clear"', "viewport"):
        assert needed in html
    script = client.get("/static/app.js")
    style = client.get("/static/style.css")
    assert script.headers["content-type"].startswith("text/javascript")
    assert style.headers["content-type"].startswith("text/css")
    assert "touch-action: none" in style.text
    assert 'fetch("predict"' in script.text and "toBlob" in script.text
    for text in (html, script.text, style.text):  # nothing from elsewhere
        assert "http://" not in text and "https://" not in text and "//cdn" not in text
    assert client.get("/static/other.js").status_code == 404


def test_openapi_describes_the_api(client):
    spec = client.get("/openapi.json").json()
    ours = {path for path in spec["paths"] if not path.startswith("/v2")}
    assert ours == {"/predict", "/health"}
    assert {"/v2", "/v2/models/{model_name}/infer"} <= set(spec["paths"])
    for path, names in [
        ("/v2/models/{model_name}/infer", ["model_name"]),
        ("/v2/models/{model_name}/versions/{version}/infer", ["model_name", "version"]),
        ("/v2/models/{model_name}/versions/{version}", ["model_name", "version"]),
    ]:
        method = "post" if path.endswith("/infer") else "get"
        parameters = spec["paths"][path][method]["parameters"]
        assert [(p["name"], p["in"]) for p in parameters] == [
            (n, "path") for n in names
        ]
    body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert {"application/json", "text/csv", "multipart/form-data", "image/png"} <= set(
        body
    )
    answers = spec["paths"]["/predict"]["post"]["responses"]
    assert {"200", "400", "413", "415"} <= set(answers)
    assert client.get("/docs").status_code == 200


class _Recording:
    """A model that records the rows of each call, and can be held in one."""

    def __init__(self, model):
        self.model, self.calls = model, []
        self.classes_, self.n_features_in_ = model.classes_, model.n_features_in_
        self.entered, self.release = threading.Event(), threading.Event()
        self.release.set()

    def predict_proba(self, X):
        self.calls.append(len(X))
        self.entered.set()
        self.release.wait(60)
        if (X[:, 0] == 7).any():
            raise ValueError("a row the model refuses")
        return self.model.predict_proba(X)


def test_waiting_requests_share_one_model_call_and_fail_alone(model, X_test):
    recording = _Recording(model)
    served = ServedModel(recording)
    bad = X_test[:2].astype(np.float64)
    bad[1, 0] = 7

    async def run():
        recording.release.clear()
        first = asyncio.ensure_future(served.predict_proba(X_test[:1]))
        await asyncio.to_thread(recording.entered.wait, 60)
        batches = [X_test[k : k + 1 + k % 3] for k in range(1, 11)]
        rest = [asyncio.ensure_future(served.predict_proba(X)) for X in batches]
        failing = asyncio.ensure_future(served.predict_proba(bad))
        await asyncio.sleep(0)  # let every request reach the queue
        while served._queue.qsize() < len(batches) + 1:
            await asyncio.sleep(0.01)
        recording.release.set()
        results = await asyncio.gather(first, *rest)
        with pytest.raises(ValueError, match="a row the model refuses"):
            await failing
        return batches, results

    batches, results = asyncio.run(run())
    served.close()
    for X, proba in zip([X_test[:1], *batches], results, strict=True):
        np.testing.assert_allclose(proba, model.predict_proba(X), atol=1e-6)
    together = sum(len(X) for X in batches) + len(bad)
    # the held call, all the waiting requests in one call, then each alone
    assert recording.calls == [1, together] + [len(X) for X in batches] + [2]


def test_concurrent_requests_all_get_their_own_answer(model, X_test):
    app = create_app(model)

    async def run():
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),  # httpx does not run it
            httpx.AsyncClient(transport=transport, base_url="http://t") as http,
        ):
            requests = [
                http.post(
                    "/predict", json={"instances": X_test[k : k + 1 + k % 4].tolist()}
                )
                for k in range(60)
            ]
            return await asyncio.gather(*requests)

    answers = asyncio.run(run())
    assert app.state.served is None  # the lifespan stopped its thread
    for k, response in enumerate(answers):
        assert response.status_code == 200
        _check_answer(response.json(), model, X_test[k : k + 1 + k % 4], atol=1e-5)


def _sha256(path):
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_model_files_are_loaded_safely_and_identified(model, X_test, tmp_path):
    folder = tmp_path / "model"
    save_model(model, folder)
    with TestClient(create_app(folder)) as client:
        health = client.get("/health").json()
        assert health["model_id"] == _sha256(folder / "sk_mnist.json")
        assert health["model_version"] == f"{__version__}+{health['model_id'][7:19]}"
        answer = client.post(
            "/predict", json={"instances": X_test[:10].tolist()}
        ).json()
        _check_answer(answer, model, X_test[:10])

        onnx_path = tmp_path / "model.onnx"
        export_onnx(model, onnx_path)
        with TestClient(create_app(str(onnx_path))) as client:
            health = client.get("/health").json()
            assert (
                health["backend"] == "onnxruntime"
                and health["model_type"] == "OnnxClassifier"
            )
            assert health["model_id"] == _sha256(onnx_path)
            answer = client.post(
                "/predict", json={"instances": X_test[:10].tolist()}
            ).json()
            _check_answer(answer, model, X_test[:10], atol=1e-5)
            image = client.post(
                "/predict", files={"file": ("d.png", _png(X_test[0]))}
            ).json()
            assert image["predictions"][0]["label"] == int(
                np.argmax(_offline(model, _png(X_test[0]))[1])
            )


def test_bad_model_paths_and_options(model, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such model folder or .onnx file"):
        create_app(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="notes.txt: not a model"):
        create_app(tmp_path / "notes.txt")
    (tmp_path / "broken.onnx").write_bytes(b"not onnx")
    with pytest.raises(ValueError, match="broken.onnx"):
        create_app(tmp_path / "broken.onnx")
    with pytest.raises(ValueError, match="sk_mnist.json"):
        create_app(tmp_path)  # a folder, but not a saved model
    for bad in (0, -1, 2.5, "10", True):
        with pytest.raises(ValueError, match="max_rows must be a positive integer"):
            create_app(model, max_rows=bad)
        with pytest.raises(
            ValueError, match="max_body_bytes must be a positive integer"
        ):
            create_app(model, max_body_bytes=bad)
    unfitted = make_mnist_pipeline(hidden_layer_sizes=(8,))
    with pytest.raises(TypeError, match="fitted classifier with classes_"):
        create_app(unfitted)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(port, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def _check_live_server(server, port, folder, model, X_test, tmp_path):
    deadline = time.monotonic() + 300
    while True:
        assert server.poll() is None, (tmp_path / "log.txt").read_text()
        try:
            status, health = _request(port, "GET", "/health")
            break
        except OSError:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.5)
    assert status == 200 and health["model_id"] == _sha256(folder / "sk_mnist.json")
    headers = {"Content-Type": _JSON}
    big = _instances([[0] * 784] * 40)
    assert _request(port, "POST", "/predict", big, headers)[0] == 413
    status, answer = _request(port, "POST", "/predict", b"[1, 2", headers)
    assert status == 400 and "not valid JSON" in answer["detail"]
    good = _instances(X_test[:2].tolist())
    status, answer = _request(port, "POST", "/predict", good, headers)
    assert status == 200
    _check_answer(answer, model, X_test[:2])
    assert server.poll() is None


@pytest.mark.slow
def test_serve_runs_uvicorn_on_loopback_and_keeps_serving(model, X_test, tmp_path):
    folder = tmp_path / "model"
    save_model(model, folder)
    port = _free_port()
    code = (
        "import sys; from sk_mnist.serve import serve; "
        "serve(sys.argv[1], port=int(sys.argv[2]), max_body_bytes=50_000)"
    )
    with open(tmp_path / "log.txt", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-c", code, str(folder), str(port)], stdout=log, stderr=log
        )
    try:
        _check_live_server(server, port, folder, model, X_test, tmp_path)
    finally:
        server.terminate()
        server.wait(60)
    text = (tmp_path / "log.txt").read_text()
    assert f"on http://127.0.0.1:{port}/" in text
    assert "Traceback" not in text


def test_serve_names_an_address_in_use(model, tmp_path):
    folder = tmp_path / "model"
    save_model(model, folder)
    with pytest.raises(FileNotFoundError):
        serve(tmp_path / "missing", port=0)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}: "):
            serve(folder, port=port)
    assert os.path.isdir(folder)
