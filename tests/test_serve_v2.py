"""The Open Inference Protocol (KServe v2) endpoints, driven by tritonclient."""

import json
import socket
import threading
import time

import numpy as np
import pytest
import tritonclient.http as httpclient
import uvicorn
from fastapi.testclient import TestClient
from tritonclient.utils import InferenceServerException

from sk_mnist import make_mnist_pipeline
from sk_mnist.serve import create_app

NAME = "digits"


@pytest.fixture(scope="module")
def models(sample):
    (X, y), _ = sample
    params = dict(hidden_layer_sizes=(32,), epochs=2, batch_size=256, random_state=0)
    words = np.array(["zero", "one", "two", "three", "four", "five", "six",
                      "seven", "eight", "nine"])  # fmt: skip
    return {
        "int": make_mnist_pipeline(**params).fit(X, y),
        "str": make_mnist_pipeline(**params).fit(X, words[y]),
    }


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def servers(models):
    """A live uvicorn server on a free loopback port for each model."""
    running = {}
    for kind, model in models.items():
        port = _free_port()
        app = create_app(model, model_name=NAME, max_rows=1000)
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive()
            time.sleep(0.05)
        running[kind] = (server, thread, port)
    yield {kind: port for kind, (_, _, port) in running.items()}
    for server, thread, _ in running.values():
        server.should_exit = True
        thread.join(30)


@pytest.fixture(scope="module")
def client(servers):
    client = httpclient.InferenceServerClient(url=f"127.0.0.1:{servers['int']}")
    yield client
    client.close()


def _infer(client, X, datatype, binary=True, outputs=("label", "probabilities")):
    tensor = httpclient.InferInput("input", list(X.shape), datatype)
    tensor.set_data_from_numpy(X, binary_data=binary)
    wanted = [httpclient.InferRequestedOutput(o, binary_data=binary) for o in outputs]
    return client.infer(NAME, [tensor], outputs=wanted)


def test_health_and_metadata(client, models):
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready(NAME)
    assert not client.is_model_ready("other")
    server = client.get_server_metadata()
    assert server["name"] == "sk-mnist" and "binary_tensor_data" in server["extensions"]
    meta = client.get_model_metadata(NAME)
    assert meta["name"] == NAME and len(meta["versions"]) == 1
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 784]}]
    assert meta["outputs"] == [
        {"name": "label", "datatype": "INT64", "shape": [-1]},
        {"name": "probabilities", "datatype": "FP32", "shape": [-1, 10]},
    ]
    version = meta["versions"][0]
    assert client.get_model_metadata(NAME, model_version=version) == meta
    assert client.is_model_ready(NAME, model_version=version)
    assert not client.is_model_ready(NAME, model_version="no-such-version")


@pytest.mark.parametrize("n_rows", [5, 500])
@pytest.mark.parametrize("datatype", ["UINT8", "FP32"])
@pytest.mark.parametrize("binary", [True, False])
def test_infer_matches_the_model(client, models, sample, n_rows, datatype, binary):
    X = sample[1][0][:n_rows]
    X_sent = X.astype(np.float32) if datatype == "FP32" else X
    result = _infer(client, X_sent, datatype, binary=binary)
    expected = models["int"].predict_proba(X)
    np.testing.assert_allclose(result.as_numpy("probabilities"), expected, atol=1e-6)
    assert result.as_numpy("probabilities").dtype == np.float32
    labels = result.as_numpy("label")
    assert labels.shape == (n_rows,) and labels.dtype == np.int64
    np.testing.assert_array_equal(labels, models["int"].predict(X))


def test_string_labels_are_bytes(servers, models, sample):
    X = sample[1][0][:7]
    client = httpclient.InferenceServerClient(url=f"127.0.0.1:{servers['str']}")
    try:
        assert client.get_model_metadata(NAME)["outputs"][0]["datatype"] == "BYTES"
        for binary in (True, False):
            labels = _infer(client, X, "UINT8", binary=binary).as_numpy("label")
            got = [v.decode() if isinstance(v, bytes) else v for v in labels]
            assert got == models["str"].predict(X).tolist()
    finally:
        client.close()


def test_one_output_only(client, models, sample):
    X = sample[1][0][:3]
    result = _infer(client, X, "UINT8", outputs=("label",))
    assert result.as_numpy("probabilities") is None
    np.testing.assert_array_equal(result.as_numpy("label"), models["int"].predict(X))


def _expect_error(call, status, text):
    with pytest.raises(InferenceServerException) as info:
        call()
    assert info.value.status() == str(status), info.value
    assert text in info.value.message()


def test_bad_requests_get_protocol_errors_and_the_server_keeps_serving(
    client, models, sample
):
    X = sample[1][0][:4]
    _expect_error(
        lambda: client.get_model_metadata("other"), 404, "unknown model 'other'"
    )
    _expect_error(
        lambda: client.infer(
            "other", [httpclient.InferInput("input", [1, 784], "FP32")]
        ),
        404,
        "unknown model",
    )
    wrong_shape = X.reshape(8, 392)
    _expect_error(
        lambda: _infer(client, wrong_shape, "UINT8"),
        400,
        "input shape [8, 392] does not match the model's [-1, 784]",
    )
    _expect_error(
        lambda: _infer(client, X.astype(bool), "BOOL"),
        400,
        "input datatype 'BOOL' is not one the model takes",
    )
    negative = X.astype(np.float32) - 1
    _expect_error(lambda: _infer(client, negative, "FP32"), 400, "outside 0-255")
    result = _infer(client, X, "UINT8")
    np.testing.assert_array_equal(result.as_numpy("label"), models["int"].predict(X))


@pytest.mark.parametrize(
    "body, status, text",
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "a JSON object with 'inputs'"),
        (b'{"inputs": []}', 400, "a list of one tensor"),
        (
            b'{"inputs": [{"name": "input", "shape": [1, 784], "datatype": "FP32",'
            b' "data": [1, 2, 3]}]}',
            400,
            "holds 3 values; shape [1, 784] needs 784",
        ),
        (
            b'{"inputs": [{"name": "x", "shape": [1, 784], "datatype": "FP32",'
            b' "data": []}]}',
            400,
            "unknown input 'x'",
        ),
        (
            b'{"inputs": [{"name": "input", "shape": [1, 784], "datatype": "FP32",'
            b' "data": ["a"]}]}',
            400,
            "numbers only",
        ),
        (
            b'{"inputs": [{"name": "input", "shape": [2000, 784], "datatype": "FP32",'
            b' "data": []}]}',
            413,
            "the limit is 1000",
        ),
        (
            b'{"inputs": [], "inputs": [{"name": "input"}]}',
            400,
            "repeats the key 'inputs'",
        ),
    ],
)
def test_malformed_infer_bodies(models, sample, body, status, text):
    with TestClient(create_app(models["int"], model_name=NAME, max_rows=1000)) as web:
        answer = web.post(f"/v2/models/{NAME}/infer", content=body)
        assert answer.status_code == status and text in answer.json()["error"]
        assert set(answer.json()) == {"error"}
        row = sample[1][0][:1]
        good = {
            "inputs": [
                {
                    "name": "input",
                    "shape": [1, 784],
                    "datatype": "UINT8",
                    "data": row.ravel().tolist(),
                }  # fmt: skip
            ]
        }
        answer = web.post(f"/v2/models/{NAME}/infer", json=good)
        assert answer.status_code == 200
        labels = answer.json()["outputs"][0]
        assert labels["name"] == "label"
        assert labels["data"] == models["int"].predict(row).tolist()


def test_binary_header_length_must_fit_the_body(models):
    with TestClient(create_app(models["int"], model_name=NAME)) as web:
        headers = {"Inference-Header-Content-Length": "999999"}
        answer = web.post(f"/v2/models/{NAME}/infer", content=b"{}", headers=headers)
        assert answer.status_code == 400
        assert "Inference-Header-Content-Length" in answer.json()["error"]
        head = json.dumps(
            {
                "inputs": [
                    {
                        "name": "input",
                        "shape": [1, 784],
                        "datatype": "UINT8",
                        "parameters": {"binary_data_size": 784},
                    }
                ]
            }  # fmt: skip
        ).encode()
        headers = {"Inference-Header-Content-Length": str(len(head))}
        answer = web.post(
            f"/v2/models/{NAME}/infer", content=head + b"\0" * 10, headers=headers
        )
        assert (
            answer.status_code == 400
            and "binary_data_size 784" in answer.json()["error"]
        )


@pytest.fixture(scope="module")
def saved(models, tmp_path_factory):
    from sk_mnist import save_model

    folder = tmp_path_factory.mktemp("run") / "handwriting"
    save_model(models["int"], folder)
    return folder


def test_a_saved_folder_runs_on_onnx_in_memory_unless_told(saved, models, sample):
    _, (X_test, _) = sample
    auto = create_app(saved)
    keras_app = create_app(saved, runtime="keras")
    with TestClient(auto) as web, TestClient(keras_app) as plain:
        health, plain_health = web.get("/health").json(), plain.get("/health").json()
        assert health["backend"] == "onnxruntime" and "in memory" in health["runtime"]
        assert plain_health["backend"] != "onnxruntime"
        assert plain_health["runtime"] == "Keras, as asked"
        assert health["quantization"] is None
        body = {"instances": X_test[:50].tolist()}
        onnx_p = [
            p["probabilities"]
            for p in web.post("/predict", json=body).json()["predictions"]
        ]
        keras_p = [
            p["probabilities"]
            for p in plain.post("/predict", json=body).json()["predictions"]
        ]
        expected = models["int"].predict_proba(X_test[:50])
        np.testing.assert_allclose(onnx_p, expected, atol=1e-5)
        np.testing.assert_allclose(keras_p, expected, atol=1e-6)
        # The model is named after its folder.
        assert web.get("/v2/models/handwriting").json()["name"] == "handwriting"
        assert web.get("/v2/models/model").status_code == 404


def test_runtime_onnx_and_bad_values(models, saved):
    app = create_app(models["str"], runtime="onnx", model_name="words")
    with TestClient(app) as web:
        assert web.get("/health").json()["backend"] == "onnxruntime"
        ready = web.get("/v2/models/words/ready").json()
        assert ready == {"name": "words", "ready": True}
    with pytest.raises(
        ValueError, match="runtime must be one of 'auto', 'keras', 'onnx'"
    ):
        create_app(saved, runtime="tflite")
    with pytest.raises(ValueError, match="model_name must be"):
        create_app(saved, model_name="a/b")


def test_an_int8_file_is_served_and_health_says_so(models, sample, tmp_path):
    from sk_mnist.export import export_onnx

    _, (X_test, y_test) = sample
    path = export_onnx(models["int"], tmp_path / "digits.onnx", quantize="int8")
    with TestClient(create_app(path)) as web:
        health = web.get("/health").json()
        assert health["quantization"] == "int8" and health["backend"] == "onnxruntime"
        assert web.get("/v2/models/digits/ready").status_code == 200
        body = {"instances": X_test[:200].tolist()}
        labels = [
            p["label"] for p in web.post("/predict", json=body).json()["predictions"]
        ]
    agree = np.mean(np.array(labels) == models["int"].predict(X_test[:200]))
    assert agree >= 0.97
