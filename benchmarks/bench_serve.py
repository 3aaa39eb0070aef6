"""Load benchmark of the HTTP server (``sk-mnist serve``) on this machine.

Trains a model on the embedded sample (the defaults' network, 1024-512-256,
for a couple of epochs: the speed does not depend on how well it learned),
saves it, and starts :func:`sk_mnist.serve.serve` in a subprocess on a free
port of 127.0.0.1, as ``sk-mnist serve`` does (one uvicorn process, access log
off). Then, from ``--clients`` threads with keep-alive connections, bounded
loads against 127.0.0.1 only:

1. ``single JSON``: ``--single`` requests of one image each, as a JSON row of
   784 grey levels;
2. ``single PNG``: ``--png`` requests of one PNG upload each (a sample digit
   drawn at 112 x 112, dark ink on white: what the drawing page sends), which
   the server reads and normalises MNIST-style;
3. ``batch JSON`` and ``batch CSV``: ``--batches`` requests of ``--rows``
   rows each, as JSON instances and as a Kaggle-layout CSV upload.

Every answer is checked against the offline predictions of the same model
loaded in this process (``load_model``, as the server does; read_image and
DigitNormalizer for the PNGs): the same label and probabilities within 1e-5
for every row, the right number of rows, status 200. "lost" counts requests
without an answer, "errors" answers other than 200, "wrong" rows that differ.
Next to it, the offline ``predict_proba`` throughput on the same batches and
its single-row latency, measured in this process while the server is idle.
4. ``v2 single`` and ``v2 batch``: the same rows as single JSON and batch
   JSON, as Open Inference Protocol infer requests (``POST
   /v2/models/mnist/infer``, a UINT8 tensor of shape ``[n, 784]``).

With ``--ceiling`` (default on), the single JSON load also runs, in the same
run, against two servers without a model, started the same way (the same
uvicorn set-up, :func:`sk_mnist.serve._server.make_server`) and answering every
request with the same fixed, real-sized answer: a bare ASGI app, and a FastAPI
app with one route that reads the body. Their rates are what these clients and
uvicorn (then FastAPI) can reach on this machine at all: the ceiling of the
single-image goal.

The saved folder is served twice, side by side in one run: with the default
runtime (``auto``: through its ONNX form in memory when onnxruntime is
installed, as ``/health`` reports) and with ``--runtime keras``. With
``--onnx`` (default on) the same loads also run against the model exported
to an ONNX file.

    python benchmarks/bench_serve.py
    python benchmarks/bench_serve.py --clients 8 --single 2000 --no-onnx

Goals, on this 2-core machine: for every server, >= 500 single-image
requests/s with p99 < 50 ms and batch requests near the offline throughput
(issue 18); for the default runtime, >= 1,000 single-image JSON requests/s
with p99 < 20 ms, and for every server the v2 single-image rate within 20% of
the plain API's (issue 26). Exits with status 1 when a goal is missed or any
answer is lost, an error or wrong.
"""

import argparse
import http.client
import io
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

TOLERANCE = 1e-5
BOUNDARY = "sk-mnist-bench-boundary"
MODEL_NAME = "mnist"
PREDICT = "/predict"
V2_INFER = f"/v2/models/{MODEL_NAME}/infer"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--single", type=int, default=2000)
    parser.add_argument("--png", type=int, default=200)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--hidden", default="1024,512,256")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--onnx", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--ceiling", action=argparse.BooleanOptionalAction, default=True
    )
    return parser.parse_args(argv)


def _multipart(name, data, content_type):
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{name}"\r\nContent-Type: {content_type}\r\n\r\n'
    ).encode()
    body = head + data + f"\r\n--{BOUNDARY}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def _png(digit):
    from PIL import Image

    image = Image.fromarray(255 - digit.reshape(28, 28)).resize((112, 112))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _csv(X, folder):
    from sk_mnist.datasets import save_mnist_csv

    path = os.path.join(folder, "batch.csv")
    save_mnist_csv(path, X)
    with open(path, "rb") as f:
        return f.read()


def _v2_body(rows):
    tensor = {
        "name": "input",
        "shape": list(rows.shape),
        "datatype": "UINT8",
        "data": rows.ravel().tolist(),
    }
    return json.dumps({"inputs": [tensor]}).encode()


def make_loads(model, X, args, folder):
    """Each load: its path and a list of (body, headers, offline probabilities)."""
    from sk_mnist.images import DigitNormalizer, read_image

    proba = model.predict_proba(X)
    json_headers = {"Content-Type": "application/json"}
    single = [
        (json.dumps({"instances": [X[k].tolist()]}).encode(), json_headers, proba[[k]])
        for k in (i % len(X) for i in range(args.single))
    ]
    png = []
    for k in (i % len(X) for i in range(args.png)):
        data = _png(X[k])
        row = DigitNormalizer().transform([read_image(io.BytesIO(data))])
        png.append(
            (*_multipart(f"{k}.png", data, "image/png"), model.predict_proba(row))
        )
    windows = [
        np.arange(i * 37, i * 37 + args.rows) % len(X) for i in range(args.batches)
    ]
    batch_json = [
        (json.dumps({"instances": X[w].tolist()}).encode(), json_headers, proba[w])
        for w in windows
    ]
    batch_csv = [
        (*_multipart("batch.csv", _csv(X[w], folder), "text/csv"), proba[w])
        for w in windows
    ]
    v2_single = [
        (_v2_body(X[[k]]), json_headers, proba[[k]])
        for k in (i % len(X) for i in range(args.single))
    ]
    v2_batch = [(_v2_body(X[w]), json_headers, proba[w]) for w in windows]
    # In this order: each v2 load right after the plain load it is compared with.
    return {
        "single JSON": (PREDICT, single),
        "v2 single": (V2_INFER, v2_single),
        "single PNG": (PREDICT, png),
        "batch JSON": (PREDICT, batch_json),
        "v2 batch": (V2_INFER, v2_batch),
        "batch CSV": (PREDICT, batch_csv),
    }


def _client(port, path, load, results, counter):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    while (i := next(counter)) < len(load):
        body, headers, _ = load[i]
        start = time.perf_counter()
        try:
            connection.request("POST", path, body, headers)
            response = connection.getresponse()
            results[i] = (response.status, response.read(), time.perf_counter() - start)
        except (OSError, http.client.HTTPException) as err:
            results[i] = (None, repr(err).encode(), time.perf_counter() - start)
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.close()


def run_load(port, path, load, clients):
    results = [None] * len(load)
    counter = itertools.count()  # next() on it is atomic under the GIL
    threads = [
        threading.Thread(target=_client, args=(port, path, load, results, counter))
        for _ in range(clients)
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - start


def _answer(path, data, classes):
    """(labels, probabilities) of a /predict or a v2 infer answer."""
    answer = json.loads(data)
    if path == PREDICT:
        got = np.array([p["probabilities"] for p in answer["predictions"]])
        return [p["label"] for p in answer["predictions"]], got, answer["classes"]
    outputs = {out["name"]: out for out in answer["outputs"]}
    probabilities = outputs["probabilities"]
    got = np.reshape(probabilities["data"], probabilities["shape"])
    return outputs["label"]["data"], got, classes


def check(path, load, results, classes):
    """Counts of lost requests, errors and wrong rows, and the latencies."""
    lost = errors = wrong = 0
    latencies = []
    first_problem = None
    for (_, _, expected), result in zip(load, results, strict=True):
        if result is None:
            lost += 1
            continue
        status, data, seconds = result
        latencies.append(seconds)
        if status != 200:
            errors += 1
            first_problem = first_problem or f"status {status}: {data[:200]!r}"
            continue
        labels, got, classes = _answer(path, data, classes)
        if got.shape != expected.shape:
            wrong += len(expected)
            first_problem = first_problem or f"{got.shape} rows, not {expected.shape}"
            continue
        bad = (np.abs(got - expected).max(axis=1) > TOLERANCE) | (
            np.array(labels) != np.array(classes)[expected.argmax(axis=1)]
        )
        wrong += int(bad.sum())
        if bad.any() and first_problem is None:
            diff = np.abs(got - expected).max()
            first_problem = f"max |p_server - p_offline| = {diff:.2e}"
    return lost, errors, wrong, np.array(latencies), first_problem


def offline_speed(model, X, rows, repeats=20):
    """Rows/s of predict_proba on batches of `rows`, and single-row latencies."""
    batch = X[:rows] if len(X) >= rows else np.resize(X, (rows, X.shape[1]))
    model.predict_proba(batch)
    start = time.perf_counter()
    for _ in range(repeats):
        model.predict_proba(batch)
    rows_per_s = repeats * rows / (time.perf_counter() - start)
    single = []
    for k in range(300):
        start = time.perf_counter()
        model.predict_proba(X[k % len(X) : k % len(X) + 1])
        single.append(time.perf_counter() - start)
    return rows_per_s, np.array(single)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Each server's code takes its port as sys.argv[1] (start_server).
SERVE_CODE = (
    "import sys; from sk_mnist.serve import serve; serve(sys.argv[2], "
    "port=int(sys.argv[1]), log_level='warning', access_log=False, "
    f"model_name={MODEL_NAME!r}, runtime=sys.argv[3])"
)

# A server without a model: every request gets ANSWER (argv: port, answer, app).
CEILING_CODE = """
import sys
from sk_mnist.serve._server import bind, make_server

ANSWER = sys.argv[2].encode()
HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(ANSWER)).encode()),
]


async def bare(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": ANSWER})


def fastapi_app():
    from fastapi import FastAPI, Request, Response

    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def anything(request: Request):
        await request.body()
        return Response(ANSWER, media_type="application/json")

    return app


app = bare if sys.argv[3] == "asgi" else fastapi_app()
sock = bind("127.0.0.1", int(sys.argv[1]))
server = make_server(app, log_level="warning", access_log=False, lifespan="off")
server.run(sockets=[sock])
"""


def start_server(code, *args):
    """Start ``python -c code PORT *args``; wait until /health answers."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", code, str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while True:
        if server.poll() is not None:
            sys.exit(f"the server stopped:\n{server.stderr.read()}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/health")
            health = json.loads(connection.getresponse().read())
            connection.close()
            return server, port, health
        except OSError:
            if time.monotonic() > deadline:
                server.kill()
                sys.exit("the server did not start in 300 s")
            time.sleep(0.5)


def bench_ceiling(load, clients):
    """Requests/s of `load` against the two servers without a model."""
    answer = json.dumps(
        {
            "classes": list(range(10)),
            "predictions": [{"label": 7, "probabilities": [0.0999999] * 10}],
        }
    )
    rates = {}
    for app in ("asgi", "fastapi"):
        server, port, _ = start_server(CEILING_CODE, answer, app)
        try:
            results, wall = run_load(port, PREDICT, load, clients)
        finally:
            server.terminate()
            server.wait(60)
        answered = [r for r in results if r is not None]
        errors = sum(status != 200 for status, _, _ in answered)
        latencies = np.array([seconds for _, _, seconds in answered])
        lost = len(results) - len(answered)
        row = _row(load, wall, (lost, errors, 0, latencies, None))
        rates[app] = row["requests_per_s"]
        print(
            f"ceiling, no model, {'bare ASGI' if app == 'asgi' else 'FastAPI'}: "
            f"{rates[app]:.0f} single JSON requests/s, p99 {row['p99_ms']:.1f} ms "
            f"({lost} lost, {errors} errors)"
        )
    return rates


def _row(load, wall, checked):
    lost, errors, wrong, latencies, problem = checked
    n_rows = sum(len(expected) for *_, expected in load)
    percentile = (
        (lambda q: 1e3 * np.percentile(latencies, q)) if len(latencies) else None
    )
    return {
        "requests": len(load),
        "rows_per_request": n_rows // max(len(load), 1),
        "lost": lost,
        "errors": errors,
        "wrong": wrong,
        "requests_per_s": len(load) / wall,
        "rows_per_s": n_rows / wall,
        "p50_ms": percentile(50) if percentile else float("nan"),
        "p99_ms": percentile(99) if percentile else float("nan"),
        "problem": problem,
    }


def bench_server(path, runtime, loads, clients, classes):
    """Run every load against a server of `path`; print and return the rows."""
    server, port, health = start_server(SERVE_CODE, path, runtime)
    table = {}
    try:
        for name, (url, load) in loads.items():
            results, wall = run_load(port, url, load, clients)
            table[name] = _row(load, wall, check(url, load, results, classes))
    finally:
        server.terminate()
        server.wait(60)
    print(
        f"\nmodel {os.path.basename(path)} served with --runtime {runtime}: "
        f"runs on {health['runtime']} (backend {health['backend']}, "
        f"quantization {health.get('quantization')})"
    )
    print(
        f"{'load':<12} {'requests':>8} {'rows':>5} {'lost':>5} {'errors':>6} "
        f"{'wrong':>6} {'req/s':>8} {'rows/s':>8} {'p50 ms':>7} {'p99 ms':>7}"
    )
    for name, row in table.items():
        print(
            f"{name:<12} {row['requests']:>8} {row['rows_per_request']:>5} "
            f"{row['lost']:>5} {row['errors']:>6} {row['wrong']:>6} "
            f"{row['requests_per_s']:>8.1f} {row['rows_per_s']:>8.0f} "
            f"{row['p50_ms']:>7.1f} {row['p99_ms']:>7.1f}"
        )
        if row["problem"]:
            print(f"    first problem: {row['problem']}")
    return table


def print_offline(name, model, X, rows):
    rows_per_s, single = offline_speed(model, X, rows)
    print(
        f"offline predict_proba of the {name} in this process: {rows_per_s:,.0f} "
        f"rows/s in batches of {rows}; one row: p50 "
        f"{1e3 * np.percentile(single, 50):.2f} ms, p99 "
        f"{1e3 * np.percentile(single, 99):.2f} ms"
    )
    return rows_per_s


def verdicts(table, offline_rows_per_s, default):
    """(goal, measured, met) for the issues' goals."""
    single, v2 = table["single JSON"], table["v2 single"]
    best_batch = max(table[name]["rows_per_s"] for name in ("batch JSON", "batch CSV"))
    ratio = best_batch / offline_rows_per_s
    v2_ratio = v2["requests_per_s"] / single["requests_per_s"]
    clean = all(r["lost"] == r["errors"] == r["wrong"] == 0 for r in table.values())
    rate, p99 = single["requests_per_s"], single["p99_ms"]
    goals = [
        ("single-image requests/s >= 500", f"{rate:.0f}", rate >= 500),
        ("single-image p99 < 50 ms", f"{p99:.1f} ms", p99 < 50),
        ("batch rows/s near offline (>= 0.5 x)", f"x{ratio:.2f}", ratio >= 0.5),
        ("v2 single within 20% of the plain API", f"x{v2_ratio:.2f}", v2_ratio >= 0.8),
        ("every answer there, 200 and right", "yes" if clean else "NO", clean),
    ]
    if default:
        goals += [
            ("default runtime: single requests/s >= 1000", f"{rate:.0f}", rate >= 1000),
            ("default runtime: single p99 < 20 ms", f"{p99:.1f} ms", p99 < 20),
        ]
    return goals


def _load():
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv=None):
    args = parse_args(argv)
    from sk_mnist import load_model, make_mnist_pipeline, save_model
    from sk_mnist.datasets import load_sample

    (X_train, y_train), (X_test, _) = load_sample()
    hidden = tuple(int(width) for width in args.hidden.split(","))
    print(
        f"training a {hidden} network for {args.epochs} epochs on "
        f"{len(X_train)} sample digits; {args.clients} clients, "
        f"{os.cpu_count()} CPUs, 127.0.0.1 only; load average {_load()}"
    )
    pipe = make_mnist_pipeline(
        hidden_layer_sizes=hidden, epochs=args.epochs, random_state=0
    ).fit(X_train, y_train)
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as folder:
        folder_path = os.path.join(folder, "model")
        save_model(pipe, folder_path)
        keras = load_model(folder_path)
        servers = [(folder_path, "auto", "onnx"), (folder_path, "keras", "keras")]
        offline = {"keras": keras}
        if args.onnx:
            from sk_mnist.export import export_onnx, load_onnx

            onnx_path = os.path.join(folder, "model.onnx")
            export_onnx(pipe, onnx_path)
            offline["onnx"] = load_onnx(onnx_path)
            servers.append((onnx_path, "auto", "onnx"))
        else:
            servers[0] = (folder_path, "auto", "keras")
        speed = {
            name: print_offline(f"{name} model", model, X_test, args.rows)
            for name, model in offline.items()
        }
        # Every server is checked against the Keras model's probabilities: an
        # ONNX runtime must agree with it within TOLERANCE.
        loads = make_loads(keras, X_test, args, folder)
        ceiling = (
            bench_ceiling(loads["single JSON"][1], args.clients) if args.ceiling else {}
        )
        for path, runtime, engine in servers:
            table = bench_server(path, runtime, loads, args.clients, keras.classes_)
            default = path == folder_path and runtime == "auto"
            for goal, measured, met in verdicts(table, speed[engine], default):
                print(f"  {'MET ' if met else 'MISS'} {goal}: {measured}")
                failed |= not met
            rate = table["single JSON"]["requests_per_s"]
            for app, top in ceiling.items():
                print(f"  single JSON at x{rate / top:.2f} of the {app} ceiling")
    print(f"load average at the end: {_load()} (other processes share the CPUs)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
