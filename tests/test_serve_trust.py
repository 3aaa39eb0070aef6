"""The server against hostile clients: compression bombs, slow clients, work on
the event loop, image bombs, duplicate JSON keys and non-JSON numbers. After
every bad request a good one must still be answered correctly."""

import asyncio
import gzip
import http.client
import io
import json
import socket
import struct
import threading
import time
import zlib

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from sk_mnist import make_mnist_pipeline
from sk_mnist.datasets import save_mnist_csv
from sk_mnist.serve import _app, _inputs, _json_rows, _v2, create_app
from sk_mnist.serve._server import MAX_HEADER_BYTES, bind, make_server

_JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def model(sample):
    (X, y), _ = sample
    pipe = make_mnist_pipeline(
        hidden_layer_sizes=(8,), epochs=1, batch_size=256, random_state=0
    )
    return pipe.fit(X[:1000], y[:1000])


@pytest.fixture(scope="module")
def X_test(sample):
    return sample[1][0]


@pytest.fixture(scope="module")
def client(model):
    with TestClient(create_app(model, max_rows=100)) as client:
        yield client


def _good(client, model, X_test):
    """A good request after a bad one is answered as the pipeline predicts."""
    X = X_test[:2]
    response = client.post("/predict", json={"instances": X.tolist()})
    assert response.status_code == 200, response.text
    proba = model.predict_proba(X)
    got = [p["probabilities"] for p in response.json()["predictions"]]
    np.testing.assert_allclose(got, proba, atol=1e-6)


def _csv_bytes(X, tmp_path, name="d.csv"):
    path = tmp_path / name
    save_mnist_csv(path, X)
    return path.read_bytes()


def _png(digit, size=28):
    image = Image.fromarray(255 - digit.reshape(28, 28)).resize((size, size))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _detail(response):
    detail = response.json()["detail"]
    assert "\n" not in detail and "Traceback" not in detail
    return detail


# ---------------------------------------------------- 1. compressed CSV bodies
def test_csv_gzipped_twice_is_refused_before_parsing(client, model, X_test):
    rows = b"label," + b",".join(b"p%d" % i for i in range(784)) + b"\n"
    rows += (b"0," * 784 + b"0\n") * 5000  # 50 x the row limit
    twice = gzip.compress(gzip.compress(rows, 9), 9)
    assert len(twice) < 12_000
    response = client.post(
        "/predict", content=twice, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 415, response.text
    assert "gzip data inside gzip data" in _detail(response)
    upload = client.post(
        "/predict", files={"file": ("twice.csv.gz", twice, "application/gzip")}
    )
    assert upload.status_code == 415
    assert _detail(upload).startswith("twice.csv.gz: gzip data inside gzip")
    _good(client, model, X_test)


def test_every_gzip_member_is_read_within_the_bound(client, model, X_test, tmp_path):
    a = _csv_bytes(X_test[:2], tmp_path, "a.csv")
    b = _csv_bytes(X_test[2:5], tmp_path, "b.csv").split(b"\n", 1)[1]  # no header
    two_members = gzip.compress(a) + gzip.compress(b)
    response = client.post(
        "/predict", content=two_members, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    got = [p["probabilities"] for p in response.json()["predictions"]]
    np.testing.assert_allclose(got, model.predict_proba(X_test[:5]), atol=1e-6)
    # members that together decompress past what 100 rows can take
    member = gzip.compress(b"0," * 200_000)
    response = client.post(
        "/predict", content=member * 2, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 413
    assert "decompresses to over" in _detail(response)
    _good(client, model, X_test)


def test_csv_lines_ended_by_cr_are_counted_before_parsing(client, model, X_test):
    row = b"0," * 783 + b"0"
    body = b"\r".join([row] * 150)  # 150 rows, no \n at all; the limit is 100
    response = client.post(
        "/predict", content=body, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 413
    assert _detail(response) == (
        "the CSV body holds 149 lines; the limit is 100 rows per request"
    )
    _good(client, model, X_test)


def test_csv_files_of_a_form_share_the_row_limit(client, model, X_test, tmp_path):
    first = _csv_bytes(X_test[:60], tmp_path, "first.csv")
    second = _csv_bytes(X_test[:60], tmp_path, "second.csv")
    files = [
        ("file", ("first.csv", first, "text/csv")),
        ("file", ("second.csv", second, "text/csv")),
    ]
    response = client.post("/predict", files=files)
    assert response.status_code == 413
    assert _detail(response) == (
        "second.csv: the form's files hold over 100 rows; the limit is 100 per request"
    )
    _good(client, model, X_test)


# ------------------------------------------------------- 3. off the event loop
def _spy(monkeypatch, target, name, calls):
    original = getattr(target, name)

    def spy(*args, **kwargs):
        try:
            asyncio.get_running_loop()
            calls.append(("event loop", name))
        except RuntimeError:
            calls.append(("thread", name))
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, spy)


def test_every_body_is_decoded_off_the_event_loop(model, X_test, tmp_path, monkeypatch):
    from python_multipart.multipart import MultipartParser

    calls = []
    for name in ("rows_from_json", "rows_from_csv", "rows_from_images"):
        _spy(monkeypatch, _app, name, calls)
    _spy(monkeypatch, MultipartParser, "write", calls)
    with TestClient(create_app(model)) as client:
        png, csv = _png(X_test[0]), _csv_bytes(X_test[:2], tmp_path)
        requests = [
            {"json": {"instances": X_test[:16].tolist()}},  # over INLINE_JSON_BYTES
            {"content": csv, "headers": {"content-type": "text/csv"}},
            {"content": gzip.compress(csv), "headers": {"content-type": "text/csv"}},
            {"content": png, "headers": {"content-type": "image/png"}},
            {"files": {"file": ("d.png", png, "image/png")}},
        ]
        for request in requests:
            response = client.post("/predict", **request)
            assert response.status_code == 200, response.text
        assert {name for _, name in calls} == {
            "rows_from_json",
            "rows_from_csv",
            "rows_from_images",
            "write",
        }
        assert [call for call in calls if call[0] == "event loop"] == []
        _good(client, model, X_test)


def test_small_json_bodies_are_read_inline(model, X_test, monkeypatch):
    # Up to INLINE_JSON_BYTES, the slowest body measured reads in 1.2 ms
    # (16 kB of one-value rows): a thread hop would cost more than it saves.
    calls = []
    _spy(monkeypatch, _app, "rows_from_json", calls)
    _spy(monkeypatch, _v2, "parse_infer", calls)
    small = {"instances": X_test[:1].tolist()}
    tensor = {"name": "input", "shape": [1, 784], "datatype": "UINT8"}
    with TestClient(create_app(model, model_name="m")) as client:
        assert len(json.dumps(small)) <= _inputs.INLINE_JSON_BYTES
        assert client.post("/predict", json=small).status_code == 200
        body = {"inputs": [tensor | {"data": X_test[0].tolist()}]}
        assert client.post("/v2/models/m/infer", json=body).status_code == 200
        nested = "[" * _inputs.INLINE_JSON_BYTES
        answer = client.post("/v2/models/m/infer", content=nested)
        assert answer.status_code == 400
        assert answer.json() == {
            "error": "the request is not valid JSON: nested too deeply"
        }
        tensor["shape"] = [16, 784]
        body = {"inputs": [tensor | {"data": X_test[:16].ravel().tolist()}]}
        assert client.post("/v2/models/m/infer", json=body).status_code == 200
    assert calls == [
        ("event loop", "rows_from_json"),
        ("event loop", "parse_infer"),
        ("event loop", "parse_infer"),
        ("thread", "parse_infer"),
    ]


def test_a_form_of_too_many_files_is_refused_without_parsing_it_all(
    client, model, X_test, monkeypatch
):
    seen = []
    _spy(monkeypatch, _inputs._FormReader, "on_headers_finished", seen)
    files = [("file", (f"{k}.png", b"", "image/png")) for k in range(5000)]
    response = client.post("/predict", files=files)
    assert response.status_code == 413
    assert _detail(response) == "the form holds 5000 files; the limit is 100"
    assert len(seen) == 101  # stopped at the file past the limit
    fields = [("note", (None, "x"))] * 3
    response = client.post("/predict", files=fields)
    assert response.status_code == 400
    assert _detail(response).startswith("form field 'note' is not a file")
    _good(client, model, X_test)


def _png_header(width, height):
    """A PNG whose header claims width x height (and no real pixel data)."""

    def chunk(kind, data):
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1000)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", idat)
        + (chunk(b"IEND", b""))
    )


def test_image_bombs_are_refused_from_their_header(client, model, X_test):
    bomb = _png_header(7000, 7000)  # 49 megapixels in 1 kB
    for request in (
        {"content": bomb, "headers": {"content-type": "image/png"}},
        {"files": {"file": ("bomb.png", bomb, "image/png")}},
    ):
        response = client.post("/predict", **request)
        assert response.status_code == 413, response.text
        detail = _detail(response)
        assert "7000 x 7000 = 49,000,000 pixels" in detail
        assert "max_pixels=16,000,000" in detail
    _good(client, model, X_test)


def test_image_pixels_are_bounded_per_image_and_per_request(model, X_test):
    with TestClient(create_app(model, max_image_pixels=1000)) as client:
        big = client.post(
            "/predict", files={"file": ("big.png", _png(X_test[0], 40), "image/png")}
        )
        assert big.status_code == 413 and "big.png: refused" in _detail(big)
        # 30 x 30 = 900 pixels each: four fit in 4 x 1000, the fifth does not
        images = [
            ("file", (f"{k}.png", _png(X_test[k], 30), "image/png")) for k in range(5)
        ]
        four = client.post("/predict", files=images[:4])
        assert four.status_code == 200, four.text
        five = client.post("/predict", files=images)
        assert five.status_code == 413
        assert _detail(five) == (
            "4.png: the images hold over 4,000 pixels in all; that is the limit "
            "per request"
        )
        with pytest.raises(ValueError, match="max_image_pixels must be a positive"):
            create_app(model, max_image_pixels=0)
        _good(client, model, X_test)


# ------------------------------------------------ 4. and 5. strict JSON bodies
def test_duplicate_json_keys_are_refused(client, model, X_test):
    a, b = json.dumps(X_test[:1].tolist()), json.dumps(X_test[1:3].tolist())
    for body in (
        f'{{"instances": {a}, "instances": {b}}}',
        f'{{"instances": {a}, "x": {{"k": 1, "k": 2}}}}',
    ):
        response = client.post("/predict", content=body, headers=_JSON)
        assert response.status_code == 400, response.text
        assert "twice" in _detail(response)
    assert '"instances" twice' in _detail(
        client.post(
            "/predict", content=f'{{"instances": {a}, "instances": {b}}}', headers=_JSON
        )
    )
    assert (
        _json_rows._plain_rows(
            f'{{"instances": {a}, "instances": {b}}}'.encode(), 784, 100
        )
        is None
    )
    _good(client, model, X_test)


@pytest.mark.parametrize(
    "number", ["00012", "012", "-012", ".5", "5.", "-.5", "1.e2", "-", "1e", "1-2"]
)
def test_numbers_json_refuses_are_refused(client, model, X_test, number):
    row = ["0"] * 784
    row[5] = number
    body = '{"instances": [[' + ", ".join(row) + "]]}"
    with pytest.raises(ValueError):
        json.loads(body)
    response = client.post("/predict", content=body, headers=_JSON)
    assert response.status_code == 400, response.text
    assert "body is not valid JSON" in _detail(response)
    _good(client, model, X_test)


def test_whitespace_json_refuses_is_refused(client, model, X_test):
    row = ", ".join(["0"] * 784)
    body = '{\f"instances": [[' + row + "]]}"
    response = client.post("/predict", content=body, headers=_JSON)
    assert response.status_code == 400
    assert "body is not valid JSON" in _detail(response)
    _good(client, model, X_test)


def test_fast_json_path_accepts_only_what_json_accepts():
    rng = np.random.default_rng(0)
    tokens = ["0", "00", "1", "7", "10", "255", ".", "-", "e", "E", "5", " ", "01"]
    mismatches = []
    for _ in range(3000):
        values = [
            "".join(rng.choice(tokens, size=rng.integers(1, 4))) for _ in range(3)
        ]
        body = ('{"instances": [[' + ", ".join(values) + "]]}").encode()
        fast = _json_rows._plain_rows(body, 3, 10)
        if fast is None:
            continue
        try:
            expected = np.array(json.loads(body)["instances"], dtype=np.float64)
        except ValueError:
            mismatches.append(body)
            continue
        if not np.array_equal(fast, expected):
            mismatches.append(body)
    assert mismatches == []


def test_strict_json_numbers_still_take_the_fast_path():
    body = b'{"instances": [[0, 10, 255, 1.5, 0.25, -0, 1e2, 1E-05, 2.5e+1]]}'
    assert _json_rows._plain_rows(body, 9, 10) is None  # "+" goes to json.loads
    body = b'{"instances": [[0, 10, 255, 1.5, 0.25, -0, 1e2, 1E-05, 2.5e1]]}'
    np.testing.assert_array_equal(
        _json_rows._plain_rows(body, 9, 10), [[0, 10, 255, 1.5, 0.25, 0, 100, 1e-5, 25]]
    )


# ------------------------------------------------------------ 2. slow clients
@pytest.fixture(params=["h11", "httptools"])
def live_server(model, request):
    """A real uvicorn server on a free loopback port, in a thread, per parser."""
    app = create_app(model, body_timeout=1.0)
    server = make_server(
        app,
        log_level="warning",
        access_log=False,
        header_timeout=1.0,
        http=request.param,
    )
    sock = bind("127.0.0.1", 0)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline
            time.sleep(0.05)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def _health(port):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/health")
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def _answer_and_close(sock, within):
    """Everything the server sends until it closes, and the seconds it took."""
    start, data = time.monotonic(), b""
    sock.settimeout(within)
    while chunk := sock.recv(4096):
        data += chunk
    return data, time.monotonic() - start


@pytest.mark.parametrize(
    ("sent", "status", "detail"),
    [
        (
            b"POST /predict HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
            b'content-length: 5000\r\n\r\n{"instances": [[0, 0',
            b"408 ",
            b"request body not received in 1 s",
        ),
        (b"POST /predict HTTP/1.1\r\nHost: x\r\ncontent-", b"408 ", b"headers"),
        (b"", b"408 ", b"headers"),
    ],
    ids=["half a body", "half the headers", "nothing"],
)
def test_slow_clients_are_timed_out_and_others_served(
    live_server, model, X_test, sent, status, detail
):
    port = live_server
    with socket.create_connection(("127.0.0.1", port)) as slow:
        slow.sendall(sent)
        time.sleep(0.2)
        assert _health(port)[0] == 200  # answered while the slow one waits
        data, seconds = _answer_and_close(slow, within=10)
    assert data.startswith(b"HTTP/1.1 " + status), data
    assert detail in data
    assert seconds < 5
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = json.dumps({"instances": X_test[:2].tolist()})
    connection.request("POST", "/predict", body, _JSON)
    answer = json.loads(connection.getresponse().read())
    connection.close()
    got = [p["probabilities"] for p in answer["predictions"]]
    np.testing.assert_allclose(got, model.predict_proba(X_test[:2]), atol=1e-6)


def test_many_slow_clients_do_not_stop_the_server(live_server):
    port = live_server
    slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(50)]
    try:
        for k, sock in enumerate(slow):
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n" if k % 2 else b"P")
        assert _health(port)[0] == 200
        time.sleep(1.5)
        closed = 0
        for sock in slow:
            sock.settimeout(5)
            data, _ = _answer_and_close(sock, within=5)
            closed += data.startswith(b"HTTP/1.1 408 ")
        assert closed == len(slow)
    finally:
        for sock in slow:
            sock.close()
    assert _health(port)[0] == 200


def test_headers_past_the_bound_are_refused_and_others_served(live_server):
    port = live_server
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        try:
            for k in range(2 * MAX_HEADER_BYTES // 1000):
                time.sleep(0.005)  # separate reads, as a client dripping them
                sock.sendall(b"x-filler-%d: %s\r\n" % (k, b"a" * 1000))
        except OSError:
            pass  # closed by the server before all was sent
        data, seconds = _answer_and_close(sock, within=5)
    assert data.startswith((b"HTTP/1.1 400 ", b"HTTP/1.1 431 ")), data[:80]
    assert _health(port)[0] == 200


def test_timeout_options_are_checked(model):
    with pytest.raises(ValueError, match="body_timeout must be a positive number"):
        create_app(model, body_timeout=0)
    with pytest.raises(ValueError, match="header_timeout must be finite"):
        make_server(create_app(model), header_timeout=float("inf"))
    with pytest.raises(ValueError, match="http must be one of auto, httptools, h11"):
        make_server(create_app(model), http="h2")
