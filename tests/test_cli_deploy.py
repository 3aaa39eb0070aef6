"""``sk-mnist export`` and ``sk-mnist serve``, on a tiny model of the sample.

The server runs as a real process on a free local port: its answers are
compared with the same model run offline, and SIGTERM or Ctrl-C must stop it
cleanly. The one-line errors (no model, port in use, a missing extra) are
checked in this process, where they fail before anything is served.
"""

import functools
import inspect
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import numpy as np
import pytest
from PIL import Image

from sk_mnist import load_model, make_mnist_pipeline, save_model
from sk_mnist.cli import main
from sk_mnist.export import load_onnx
from sk_mnist.images import DigitNormalizer, read_image

SERVE_START_TIMEOUT = 120  # seconds: a loaded CI machine imports TensorFlow slowly


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, sample):
    (X, y), _ = sample
    pipe = make_mnist_pipeline(hidden_layer_sizes=(16,), epochs=1, random_state=0)
    pipe.fit(X[:1000], y[:1000])
    path = tmp_path_factory.mktemp("model") / "model"
    save_model(pipe, path)
    return path


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory, model_dir):
    path = tmp_path_factory.mktemp("onnx") / "digits.onnx"
    assert main(["export", "--model", str(model_dir), "--output", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def digit_png(tmp_path_factory, sample):
    """A test digit drawn larger, dark on light, as a PNG file."""
    _, (X_test, _) = sample
    image = Image.fromarray(255 - X_test[0].reshape(28, 28).astype(np.uint8))
    path = tmp_path_factory.mktemp("png") / "digit.png"
    image.resize((84, 84), Image.Resampling.BICUBIC).save(path)
    return path


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: ") and "Traceback" not in err[0]
    return err[0]


# ------------------------------------------------------------------ export
@pytest.mark.slow
def test_export_writes_an_onnx_file_that_predicts_as_the_model(
    model_dir, onnx_file, sample, tmp_path, capsys
):
    output = tmp_path / "new" / "model.onnx"
    assert main(["export", "--model", str(model_dir), "--output", str(output)]) == 0
    line = capsys.readouterr().out.strip()
    size = f"{output.stat().st_size / 1000:.1f} kB"
    assert line == (
        f"wrote {output}: {size}, 10 classes (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), "
        "784 inputs per image"
    )
    assert output.read_bytes() == onnx_file.read_bytes()  # deterministic
    _, (X_test, _) = sample
    expected = load_model(model_dir).predict_proba(X_test[:200])
    proba = load_onnx(output).predict_proba(X_test[:200])
    np.testing.assert_allclose(proba, expected, atol=1e-5)
    assert sorted(p.name for p in output.parent.iterdir()) == ["model.onnx"]


def test_export_replaces_an_earlier_file(model_dir, onnx_file, tmp_path):
    output = tmp_path / "m.onnx"
    output.write_bytes(b"old")
    assert main(["export", "--model", str(model_dir), "--output", str(output)]) == 0
    assert output.read_bytes() == onnx_file.read_bytes()


@pytest.mark.parametrize(
    "output, expected",
    [
        ("<model>/model.onnx", "is inside the --model folder"),
        ("<tmp>/folder.onnx", "is a directory, expected a file name"),
        ("<tmp>/fifo.onnx", "is a FIFO (named pipe), not a regular file"),
        ("<tmp>/link.onnx", "is a symbolic link, not a regular file"),
        ("<tmp>/m.bin", "argument --output: expected a file name ending in .onnx"),
    ],
)
def test_export_refuses_outputs_that_would_replace_or_write_through(
    model_dir, tmp_path, capsys, output, expected
):
    os.mkfifo(tmp_path / "fifo.onnx")
    (tmp_path / "folder.onnx").mkdir()
    (tmp_path / "target.onnx").write_bytes(b"keep")
    (tmp_path / "link.onnx").symlink_to(tmp_path / "target.onnx")
    before = sorted(os.listdir(model_dir)), sorted(os.listdir(tmp_path))
    output = output.replace("<model>", str(model_dir)).replace("<tmp>", str(tmp_path))
    assert main(["export", "--model", str(model_dir), "--output", output]) == 2
    assert expected in _error_line(capsys)
    assert (sorted(os.listdir(model_dir)), sorted(os.listdir(tmp_path))) == before
    assert (tmp_path / "target.onnx").read_bytes() == b"keep"


def test_export_of_a_bad_model_folder_is_one_line(model_dir, tmp_path, capsys):
    output = tmp_path / "out" / "m.onnx"
    args = ["export", "--output", str(output), "--model"]
    assert main([*args, str(tmp_path / "missing")]) == 2
    assert _error_line(capsys).startswith(f"error: {tmp_path / 'missing'}: ")
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in os.listdir(model_dir):
        (broken / name).write_bytes((model_dir / name).read_bytes())
    (broken / "sk_mnist.json").write_text("{not json")
    assert main([*args, str(broken)]) == 2
    assert "sk_mnist.json" in _error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_export_without_the_onnx_extra_says_what_to_install(
    model_dir, tmp_path, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx fails
    output = tmp_path / "m.onnx"
    assert main(["export", "--model", str(model_dir), "--output", str(output)]) == 2
    line = _error_line(capsys)
    assert "needs the onnx package" in line
    assert line.endswith('pip install "sk-mnist[onnx]"')
    assert list(tmp_path.iterdir()) == []


def test_a_failed_export_leaves_nothing(model_dir, tmp_path, capsys, monkeypatch):
    from sk_mnist.export import _writer

    def fail(model):
        raise ValueError("Cannot export layer 'x': it has no ONNX mapping.")

    monkeypatch.setattr(_writer, "to_onnx", fail)
    output = tmp_path / "a" / "b" / "m.onnx"
    assert main(["export", "--model", str(model_dir), "--output", str(output)]) == 2
    assert _error_line(capsys) == (
        "error: Cannot export layer 'x': it has no ONNX mapping."
    )
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------- serve
def _post(url, body, content_type):
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": content_type}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


class Server:
    """``sk-mnist serve`` in a process on a free port; its stderr collected."""

    def __init__(self, model, *extra):
        command = [sys.executable, "-m", "sk_mnist.cli", "serve", "--model"]
        self.process = subprocess.Popen(
            [*command, str(model), "--host", "127.0.0.1", "--port", "0", *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url = self._wait_for(r"serving .* on (http://127\.0\.0\.1:\d+/)")

    def _read(self):
        for line in self.process.stderr:
            self.lines.append(line)

    def _wait_for(self, pattern):
        deadline = time.monotonic() + SERVE_START_TIMEOUT
        while time.monotonic() < deadline:
            for line in self.lines:
                if found := re.search(pattern, line):
                    return found.group(1)
            assert self.process.poll() is None, self.stderr()
            time.sleep(0.1)
        self.process.kill()
        pytest.fail(f"the server did not start: {self.stderr()}")

    def health(self):
        deadline = time.monotonic() + SERVE_START_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(self.url + "health", timeout=5) as answer:
                    return json.loads(answer.read())
            except OSError:
                assert self.process.poll() is None, self.stderr()
                assert time.monotonic() < deadline, self.stderr()
                time.sleep(0.2)

    def stop(self, signum):
        """Send ``signum``; return the exit status once stderr is all read."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        status = self.process.wait(timeout=60)
        self._reader.join(timeout=10)
        return status

    def stderr(self):
        return "".join(self.lines)


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind, stop", [("folder", signal.SIGTERM), ("onnx", signal.SIGINT)]
)
def test_serve_answers_as_the_model_offline_and_stops_cleanly(
    model_dir, onnx_file, digit_png, sample, kind, stop
):
    model_path = model_dir if kind == "folder" else onnx_file
    offline = load_model(model_dir) if kind == "folder" else load_onnx(onnx_file)
    _, (X_test, _) = sample
    server = Server(model_path)
    try:
        health = server.health()
        image = _post(server.url + "predict", digit_png.read_bytes(), "image/png")
        instances = json.dumps({"instances": X_test[:3].tolist()}).encode()
        table = _post(server.url + "predict", instances, "application/json")
    finally:
        status = server.stop(stop)
    stderr = server.stderr()
    assert status == 0, stderr
    how = "SIGTERM" if stop == signal.SIGTERM else "Ctrl-C"
    assert stderr.strip().splitlines()[-1] == f"stopped: the server shut down on {how}"
    assert "Traceback" not in stderr and "not a loopback address" not in stderr
    assert health["classes"] == list(range(10))
    # A saved folder runs on its ONNX form, converted in memory at start-up.
    assert health["backend"] == "onnxruntime"
    assert ("in memory" in health["runtime"]) == (kind == "folder")
    X_image = DigitNormalizer().transform([read_image(digit_png)])
    expected = offline.predict_proba(X_image)[0]
    (answer,) = image["predictions"]
    assert answer["image"] == X_image[0].tolist()
    np.testing.assert_allclose(answer["probabilities"], expected, atol=1e-5)
    assert answer["label"] == int(np.argmax(expected))
    expected = offline.predict_proba(X_test[:3])
    got = [p["probabilities"] for p in table["predictions"]]
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert [p["label"] for p in table["predictions"]] == expected.argmax(1).tolist()


@pytest.fixture
def busy_port():
    """A port on 127.0.0.1 that another socket listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_serve_on_a_port_in_use_is_one_line(onnx_file, busy_port, capsys):
    args = ["serve", "--model", str(onnx_file), "--port", str(busy_port)]
    assert main(args) == 2
    assert _error_line(capsys) == (
        f"error: cannot listen on 127.0.0.1:{busy_port}: Address already in use; "
        "another program listens there: choose another --port"
    )


def test_serve_warns_when_the_host_is_not_loopback(onnx_file, capsys):
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: after the
    # warning, the bind fails, so nothing is exposed.
    args = ["serve", "--model", str(onnx_file), "--host", "192.0.2.1"]
    assert main([*args, "--port", "0"]) == 2
    warning, error = capsys.readouterr().err.strip().splitlines()
    assert warning == (
        "warning: --host 192.0.2.1 is not a loopback address: anyone who can "
        "reach it can use the model, and there is no authentication"
    )
    assert error.startswith("error: cannot listen on 192.0.2.1:0: ")
    assert error.endswith("; check --host (an address of this machine) and --port")


@pytest.mark.parametrize("model", ["missing", "missing.onnx", "<a file>"])
def test_serve_without_a_model_is_one_line(tmp_path, capsys, model):
    if model == "<a file>":
        model = tmp_path / "notes.txt"
        model.write_text("not a model")
        expected = f"error: {model}: not a model: give a folder written by save_model"
    else:
        model = tmp_path / model
        expected = f"error: {model}: no such model folder or .onnx file"
    assert main(["serve", "--model", str(model), "--port", "0"]) == 2
    assert _error_line(capsys).startswith(expected)


@pytest.mark.parametrize("missing", ["uvicorn", "fastapi", "python_multipart"])
def test_serve_without_the_serve_extra_says_what_to_install(
    onnx_file, capsys, monkeypatch, missing
):
    monkeypatch.setitem(sys.modules, missing, None)
    if missing == "fastapi":  # as if sk_mnist.serve had never been imported
        monkeypatch.setitem(sys.modules, "sk_mnist.serve", None)
    assert main(["serve", "--model", str(onnx_file), "--port", "0"]) == 2
    line = _error_line(capsys)
    assert line.startswith(f"error: sk-mnist serve needs the {missing} package")
    assert line.endswith('pip install "sk-mnist[serve]"')
    # --help still answers, saying what to install.
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--help"])
    assert exit_info.value.code == 0
    assert 'pip install "sk-mnist[serve]"' in capsys.readouterr().out


def test_serving_an_onnx_file_without_onnxruntime_says_what_to_install(
    onnx_file, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    assert main(["serve", "--model", str(onnx_file), "--port", "0"]) == 2
    line = _error_line(capsys)
    assert "needs the onnxruntime package" in line
    assert line.endswith('pip install "sk-mnist[onnx]"')


@pytest.mark.parametrize(
    "args, message",
    [
        (["--port", "65536"], "argument --port: expected a TCP port 0-65535"),
        (["--port", "http"], "argument --port: expected a TCP port 0-65535"),
        (["--max-rows", "0"], "argument --max-rows: expected a positive integer"),
        (["--max-body-bytes", "-1"], "argument --max-body-bytes: expected a"),
        (["--log-level", "loud"], "argument --log-level: invalid choice: 'loud'"),
        (["--body-timeout", "0"], "argument --body-timeout: expected a positive"),
        (["--header-timeout", "x"], "argument --header-timeout: expected a positive"),
        (["--max-image-pixels", "0"], "argument --max-image-pixels: expected a"),
        (["--limit-concurrency", "-3"], "argument --limit-concurrency: expected a"),
        (["--runtime", "tflite"], "argument --runtime: invalid choice: 'tflite'"),
        (["--name", "a/b"], "model_name must be 1-128 letters"),
    ],
)
def test_bad_serve_options_name_the_option(onnx_file, capsys, args, message):
    assert main(["serve", "--model", str(onnx_file), *args]) == 2
    assert message in _error_line(capsys)


def test_serve_help_shows_the_serve_functions_defaults(capsys, monkeypatch):
    from sk_mnist.serve import serve

    monkeypatch.setenv("COLUMNS", "200")  # one line per option
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    defaults = inspect.signature(serve).parameters
    for option, name in [
        ("--host", "host"),
        ("--port", "port"),
        ("--max-body-bytes", "max_body_bytes"),
        ("--max-rows", "max_rows"),
        ("--log-level", "log_level"),
        ("--max-image-pixels", "max_image_pixels"),
        ("--body-timeout", "body_timeout"),
        ("--header-timeout", "header_timeout"),
        ("--limit-concurrency", "limit_concurrency"),
        ("--runtime", "runtime"),
    ]:
        lines = text.splitlines()
        at = next(i for i, line in enumerate(lines) if line.lstrip().startswith(option))
        # A long option's help starts on the next line.
        line = lines[at] if len(lines[at].split()) > 2 else lines[at + 1]
        assert line.endswith(f"(default: {defaults[name].default})"), line
    assert "examples:" in text and 'pip install "sk-mnist[serve]"' in text


@pytest.mark.parametrize("command", ["export", "serve"])
def test_help_is_wrapped_with_examples(command, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert "examples:" in text and f"sk-mnist {command}" in text
    description = text.split("\n\n")[1]
    assert max(map(len, description.splitlines())) <= 58, description
    assert all(len(line) <= 80 for line in text.splitlines()), text


@pytest.mark.slow
def test_serving_an_onnx_file_never_imports_keras(onnx_file, busy_port):
    # The parser of 'serve' alone is built, without the estimator's defaults,
    # and the model is loaded by onnxruntime: no TensorFlow in memory.
    code = (
        "import sys; from sk_mnist.cli import main; "
        f"status = main(['serve', '--model', {str(onnx_file)!r}, "
        f"'--port', '{busy_port}']); "
        "print(status, sorted({'keras', 'tensorflow', 'jax'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == "2 []", result.stderr
    assert "Address already in use" in result.stderr


def test_serve_options_reach_the_server(onnx_file, monkeypatch):
    import sk_mnist.serve

    seen = {}

    @functools.wraps(sk_mnist.serve.serve)  # keeps the signature's defaults
    def fake_serve(path, **options):
        seen.update(options)

    monkeypatch.setattr(sk_mnist.serve, "serve", fake_serve)
    args = ["--body-timeout", "2.5", "--header-timeout", "3", "--name", "digits"]
    args += ["--max-image-pixels", "1000", "--limit-concurrency", "7"]
    assert main(["serve", "--model", str(onnx_file), *args, "--runtime", "keras"]) == 0
    assert seen == {
        "body_timeout": 2.5,
        "header_timeout": 3.0,
        "model_name": "digits",
        "max_image_pixels": 1000,
        "limit_concurrency": 7,
        "runtime": "keras",
    }
