"""fetch_mnist, fetch_fashion_mnist and ``sk-mnist download``, against a local server.

Nothing here touches the internet: the files are built from the embedded
sample, served from 127.0.0.1 with their own checksums, and the data sets'
source lists are pointed at that server.
"""

import gzip
import hashlib
import http.server
import io
import json
import os
import re
import socket
import struct
import sys
import threading
import time
import zipfile

import numpy as np
import pytest
from sklearn.utils import Bunch

from sk_mnist.cli import main
from sk_mnist.datasets import (
    DATASET_NAMES,
    FetchError,
    _download,
    _sources,
    fetch_dataset,
    fetch_fashion_mnist,
    fetch_mnist,
    save_mnist_csv,
)

IDX = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]
FAST = ["--epochs", "2", "--hidden", "32", "--batch-size", "128", "--quiet"]
SAMPLE_COUNTS = ((400,) * 10, (100,) * 10)


# ----------------------------------------------------------------- fixtures
def _idx(X, y, mtime=0):
    images = struct.pack(">4I", 0x803, len(X), 28, 28) + X.tobytes()
    labels = struct.pack(">2I", 0x801, len(y)) + y.astype(np.uint8).tobytes()
    return [gzip.compress(images, mtime=mtime), gzip.compress(labels, mtime=mtime)]


@pytest.fixture(scope="module")
def files(sample, tmp_path_factory):
    """Name -> bytes of every file the fake sources serve."""
    (X, y), (X_test, y_test) = sample
    out = dict(zip(IDX, _idx(X, y) + _idx(X_test, y_test), strict=True))
    npz = io.BytesIO()
    np.savez_compressed(
        npz,
        x_train=X.reshape(-1, 28, 28),
        y_train=y.astype(np.uint8),
        x_test=X_test.reshape(-1, 28, 28),
        y_test=y_test.astype(np.uint8),
    )
    out["mnist.npz"] = npz.getvalue()
    folder = tmp_path_factory.mktemp("kaggle")
    for name, X_, y_ in (("mnist_train.csv", X, y), ("mnist_test.csv", X_test, y_test)):
        out[name] = save_mnist_csv(folder / name, X_, y_).read_bytes()
    return out


class Server:
    """An HTTP server on 127.0.0.1 that counts requests and misbehaves on cue.

    ``plan[path]`` lists what the next requests for ``path`` get: "ok",
    "404", "corrupt" (one byte changed), "cut" (headers promise the whole
    file, half of it comes, then the connection closes), "norange" (the
    Range header is ignored), "sleep" (no answer) or "stall" (half the file,
    then nothing).
    """

    def __init__(self, files):
        self.files = {
            f"/{prefix}/{name}": body
            for name, body in files.items()
            for prefix in ("idx", "keras")
        }
        self.plan = {}
        self.requests = []
        self.release = threading.Event()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                owner.requests.append((self.path, self.headers.get("Range")))
                queue = owner.plan.get(self.path)
                action = queue.pop(0) if queue else "ok"
                body = owner.files.get(self.path)
                if body is None or action == "404":
                    self.send_error(404)
                    return
                if action == "sleep":
                    owner.release.wait(10)
                    return
                if action == "corrupt":
                    body = body[:-20] + bytes([body[-20] ^ 1]) + body[-19:]
                start = 0
                ranged = self.headers.get("Range")
                if ranged and action != "norange":
                    start = int(re.fullmatch(r"bytes=(\d+)-", ranged).group(1))
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header(
                        "Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}"
                    )
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                payload = body[start:]
                if action in ("cut", "stall"):
                    payload = payload[: len(payload) // 2]
                self.wfile.write(payload)
                self.wfile.flush()
                if action == "stall":
                    owner.release.wait(10)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}
        )
        self.thread.start()

    def hits(self, name):
        return [ranged for path, ranged in self.requests if path.endswith("/" + name)]

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def server(files):
    server = Server(files)
    yield server
    server.close()


def closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def md5(data):
    return "md5:" + hashlib.md5(data).hexdigest()


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def idx_source(files, url, label="LeCun's IDX files"):
    return _sources.Source(
        label,
        "idx",
        tuple(_sources.File(name, md5(files[name])) for name in IDX),
        mirrors=(f"{url}/idx/",),
    )


def npz_source(files, url):
    return _sources.Source(
        "Keras' mnist.npz",
        "npz",
        (_sources.File("mnist.npz", sha256(files["mnist.npz"])),),
        mirrors=(f"{url}/keras/",),
    )


def use(monkeypatch, *sources, key="mnist"):
    """Point the data set ``key`` at ``sources``; return it."""
    dataset = _sources.DATASETS[key]._replace(
        sources=sources, class_counts=SAMPLE_COUNTS
    )
    monkeypatch.setitem(_sources.DATASETS, key, dataset)
    return dataset


@pytest.fixture
def mnist(monkeypatch, server, files):
    """MNIST served by ``server``: the IDX files, then mnist.npz."""
    use(monkeypatch, idx_source(files, server.url), npz_source(files, server.url))
    return server


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.delenv("SK_MNIST_DATA", raising=False)
    return tmp_path / "home"


def check_sample(result, sample):
    for (X, y), (X_expected, y_expected) in zip(result, sample, strict=True):
        assert X.dtype == np.uint8 and X.flags.c_contiguous and X.shape[1] == 784
        assert y.dtype == np.int64
        np.testing.assert_array_equal(X, X_expected)
        np.testing.assert_array_equal(y, y_expected)


def one_line(err):
    message = str(err.value)
    assert "\n" not in message and message
    return message


# ------------------------------------------------------------ cache, checks
@pytest.mark.slow
def test_downloads_once_then_reads_the_cache(mnist, home, sample, monkeypatch):
    check_sample(fetch_mnist(home, verbose=False), sample)
    assert sorted(path for path, _ in mnist.requests) == sorted(
        f"/idx/{name}" for name in IDX
    )
    # No .part left; the lock file that serialises concurrent fetches stays.
    assert sorted(os.listdir(home / "mnist")) == sorted([*IDX, ".lock"])
    mnist.requests.clear()
    monkeypatch.setenv("SK_MNIST_DATA", str(home))  # the default data home
    check_sample(fetch_mnist(verbose=False), sample)
    check_sample(fetch_mnist(home, download_if_missing=False), sample)
    assert mnist.requests == []


def test_concurrent_fetches_download_once(mnist, home, sample, monkeypatch):
    download = _download.download_file

    def slow_download(*args):
        time.sleep(0.2)  # keep the first fetch downloading while the second starts
        return download(*args)

    monkeypatch.setattr(_download, "download_file", slow_download)
    results = {}

    def fetch(name):
        results[name] = fetch_mnist(home, verbose=False)

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.1)
    for thread in threads:
        thread.join()
    for result in results.values():
        check_sample(result, sample)
    # The second fetch waited for the first and read its files.
    assert sorted(path for path, _ in mnist.requests) == sorted(
        f"/idx/{name}" for name in IDX
    )


def test_checksum_mismatch_rejects_and_removes_the_file(
    monkeypatch, server, files, home
):
    use(monkeypatch, idx_source(files, server.url))
    server.plan["/idx/train-labels-idx1-ubyte.gz"] = ["corrupt"]
    with pytest.raises(FetchError) as err:
        fetch_mnist(home, verbose=False)
    message = one_line(err)
    assert "train-labels-idx1-ubyte.gz: checksum mismatch (md5 " in message
    assert "the file was removed" in message
    assert "train-labels-idx1-ubyte.gz" not in os.listdir(home / "mnist")
    assert not [name for name in os.listdir(home / "mnist") if ".part" in name]


def test_corrupt_idx_file_falls_back_to_npz(mnist, home, sample, capsys):
    mnist.plan["/idx/t10k-images-idx3-ubyte.gz"] = ["corrupt"]
    check_sample(fetch_mnist(home), sample)
    assert mnist.hits("mnist.npz") == [None]
    assert "t10k-images-idx3-ubyte.gz" not in os.listdir(home / "mnist")
    err = capsys.readouterr().err
    assert "checksum mismatch" in err and "trying the next source" in err
    # The npz is cached now: no more requests, even though the IDX set is not.
    mnist.requests.clear()
    check_sample(fetch_mnist(home, verbose=False), sample)
    assert mnist.requests == []


def test_missing_idx_mirror_falls_back_to_npz(mnist, home, sample, capsys):
    mnist.plan["/idx/train-images-idx3-ubyte.gz"] = ["404"]
    check_sample(fetch_mnist(home), sample)
    assert "HTTP error 404" in capsys.readouterr().err
    assert mnist.hits("mnist.npz") == [None]


def test_damaged_cache_file_is_downloaded_again(mnist, home, sample, capsys):
    fetch_mnist(home, verbose=False)
    cached = home / "mnist" / "train-labels-idx1-ubyte.gz"
    cached.write_bytes(b"rotten")
    mnist.requests.clear()
    check_sample(fetch_mnist(home), sample)
    assert [path for path, _ in mnist.requests] == ["/idx/train-labels-idx1-ubyte.gz"]
    assert "failed its checksum" in capsys.readouterr().err


def test_not_cached_and_no_download(mnist, home):
    with pytest.raises(FetchError, match="is not in .* download_if_missing"):
        fetch_mnist(home, download_if_missing=False)
    assert mnist.requests == [] and not home.exists()


# ------------------------------------------------- fetch_dataset, the Bunch
def test_fetch_dataset_returns_the_data_and_where_it_came_from(mnist, home, sample):
    data = fetch_dataset("mnist", home, verbose=False)
    assert isinstance(data, Bunch)
    check_sample(((data.X_train, data.y_train), (data.X_test, data.y_test)), sample)
    assert (data.name, data.title, data.source) == (
        "mnist",
        "MNIST",
        "LeCun's IDX files",
    )
    assert data.folder == str(home / "mnist") and data.downloaded is True
    again = fetch_mnist(home, return_X_y=False, download_if_missing=False)
    assert again.downloaded is False and again.folder == data.folder
    assert set(again) == set(data)
    check_sample(fetch_mnist(home, return_X_y=True), sample)


def test_fetch_dataset_names(mnist, home):
    assert DATASET_NAMES == ("mnist", "fashion-mnist") == tuple(_sources.DATASETS)
    for name in ("emnist", "MNIST", None):
        with pytest.raises(ValueError, match="name: expected one of 'mnist', 'fash"):
            fetch_dataset(name, home)
    with pytest.raises(ValueError, match="return_X_y: expected True or False"):
        fetch_mnist(home, return_X_y="no")
    assert mnist.requests == [] and not home.exists()


# ----------------------------------------------------- interrupted downloads
def test_interrupted_download_resumes_with_a_range_request(mnist, home, sample):
    name = "train-images-idx3-ubyte.gz"
    mnist.plan[f"/idx/{name}"] = ["cut"]
    check_sample(fetch_mnist(home, verbose=False), sample)
    assert mnist.hits(name) == [None, f"bytes={len(mnist.files['/idx/' + name]) // 2}-"]


def test_server_ignoring_range_restarts_from_zero(mnist, home, sample):
    name = "train-images-idx3-ubyte.gz"
    mnist.plan[f"/idx/{name}"] = ["cut", "norange"]
    check_sample(fetch_mnist(home, verbose=False), sample)
    assert len(mnist.hits(name)) == 2


def test_stale_partial_file_fails_its_check_and_restarts(mnist, home, sample):
    name = "t10k-images-idx3-ubyte.gz"
    (home / "mnist").mkdir(parents=True)
    (home / "mnist" / f"{name}.part").write_bytes(b"from another version" * 100)
    check_sample(fetch_mnist(home, verbose=False), sample)
    assert mnist.hits(name) == ["bytes=2000-", None]


def test_download_cut_every_time_resumes_on_the_next_run(mnist, home, sample):
    name = "train-images-idx3-ubyte.gz"
    mnist.plan[f"/idx/{name}"] = ["cut"] * _download._ATTEMPTS
    mnist.plan["/keras/mnist.npz"] = ["404"]
    with pytest.raises(FetchError) as err:
        fetch_mnist(home, verbose=False)
    assert "connection lost 3 times" in one_line(err)
    part = home / "mnist" / f"{name}.part"
    size = part.stat().st_size
    assert 0 < size < len(mnist.files[f"/idx/{name}"])
    assert name not in os.listdir(home / "mnist")
    mnist.requests.clear()
    check_sample(fetch_mnist(home, verbose=False), sample)
    assert mnist.hits(name) == [f"bytes={size}-"]
    assert not part.exists()


@pytest.mark.parametrize("action", ["sleep", "stall"])
def test_timeout_names_the_url_and_the_limit(monkeypatch, server, files, home, action):
    use(monkeypatch, idx_source(files, server.url))
    server.plan["/idx/train-images-idx3-ubyte.gz"] = [action]
    start = time.monotonic()
    with pytest.raises(FetchError) as err:
        fetch_mnist(home, timeout=0.2, verbose=False)
    assert time.monotonic() - start < 5
    message = one_line(err)
    assert f"{server.url}/idx/train-images-idx3-ubyte.gz: timed out" in message
    assert "0.2 s" in message


def test_no_network_says_so_in_one_line(monkeypatch, files, home):
    url = closed_port_url()
    use(monkeypatch, idx_source(files, url), npz_source(files, url))
    with pytest.raises(FetchError) as err:
        fetch_mnist(home, verbose=False)
    message = one_line(err)
    assert message.startswith("cannot download MNIST: no network connection (")
    assert str(home / "mnist") in message
    assert "load_mnist_csv or load_idx" in message and "--train" not in message
    assert isinstance(err.value, OSError)
    assert not home.exists()  # no empty folder left behind, nor the data home


def test_failed_fetch_keeps_an_existing_data_home(monkeypatch, files, home):
    url = closed_port_url()
    use(monkeypatch, idx_source(files, url), npz_source(files, url))
    home.mkdir()
    (home / "notes.txt").write_text("mine")
    with pytest.raises(FetchError):
        fetch_mnist(home, verbose=False)
    assert sorted(p.name for p in home.iterdir()) == ["notes.txt"]


def test_progress_on_stderr_unless_quiet(mnist, home, capsys, monkeypatch):
    monkeypatch.setattr(_download, "_PROGRESS_BYTES", 1000)
    fetch_mnist(home / "a")
    err = capsys.readouterr().err
    assert f"downloading {mnist.url}/idx/train-images-idx3-ubyte.gz" in err
    assert re.search(r"train-images-idx3-ubyte.gz: 100% of \d+\.\d MB", err)
    fetch_mnist(home / "b", verbose=False)
    assert capsys.readouterr().err == ""


def test_bad_timeout_and_unwritable_data_home(mnist, tmp_path):
    with pytest.raises(ValueError, match="timeout: expected a positive number"):
        fetch_mnist(tmp_path, timeout=0)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(FetchError) as err:
        fetch_mnist(blocker, verbose=False)
    assert "cannot create the data folder" in one_line(err)


# ------------------------------------------------------------ Fashion-MNIST
def test_debian_folder_is_read_in_place(monkeypatch, sample, tmp_path, home):
    (X, y), (X_test, y_test) = sample
    debian = tmp_path / "debian"
    debian.mkdir()
    # Recompressed with another time stamp, as Debian does: only the content
    # digest matches.
    raw = {}
    for name, body in zip(IDX, _idx(X, y, 1) + _idx(X_test, y_test, 1), strict=True):
        (debian / name).write_bytes(body)
        raw[name] = gzip.decompress(body)
    source = (
        _sources.DATASETS["fashion-mnist"]
        .sources[0]
        ._replace(
            files=tuple(_sources.File(n, sha256(raw[n]), gunzip=True) for n in IDX),
            folders=(str(debian),),
        )
    )
    offline = idx_source({n: b"" for n in IDX}, closed_port_url())
    use(monkeypatch, source, offline, key="fashion-mnist")
    check_sample(fetch_fashion_mnist(home, download_if_missing=False), sample)
    assert not home.exists()  # nothing copied

    # A damaged file there is skipped, never removed: the package owns it.
    (debian / IDX[1]).write_bytes(gzip.compress(b"wrong"))
    with pytest.raises(FetchError, match="no network connection"):
        fetch_fashion_mnist(home, verbose=False)
    assert (debian / IDX[1]).exists()


# Needs Debian's dataset-fashion-mnist, which .ci/run installs: without it
# this fails with fetch's one-line message naming the package.
def test_installed_debian_fashion_mnist(tmp_path):
    (X, y), (X_test, y_test) = fetch_fashion_mnist(tmp_path, download_if_missing=False)
    assert X.shape == (60000, 784) and X_test.shape == (10000, 784)
    assert np.bincount(y).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert not list(tmp_path.iterdir())


def test_pinned_sources_and_checksums():
    mnist, fashion = _sources.MNIST, _sources.FASHION_MNIST
    assert [s.kind for s in mnist.sources] == ["idx", "npz", "csv"]
    assert mnist.sources[0].mirrors == (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
    )
    assert mnist.sources[0].files[0] == (
        "train-images-idx3-ubyte.gz",
        "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
        False,
    )
    assert mnist.sources[1].files[0].digest.endswith("fc17b673d1")
    assert fashion.sources[0].folders == ("/usr/share/datasets/fashion-mnist",)
    assert fashion.sources[1].files[0].digest == "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d"
    assert [sum(c) for c in mnist.class_counts] == [60000, 10000]
    for source in (*mnist.sources, *fashion.sources):
        assert source.kaggle or all(f.digest for f in source.files)


# ---------------------------------------------------------------- Kaggle
@pytest.fixture
def kaggle(tmp_path, monkeypatch, files):
    """A fake ``kaggle`` command that 'downloads' a zip of the CSV files."""
    bin_dir, log = tmp_path / "bin", tmp_path / "kaggle.log"
    bin_dir.mkdir()
    archive = tmp_path / "mnist-in-csv.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name in ("mnist_train.csv", "mnist_test.csv"):
            z.writestr(name, files[name])
    script = bin_dir / "kaggle"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, shutil, sys\n"
        f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "dest = sys.argv[sys.argv.index('-p') + 1]\n"
        f"shutil.copy({str(archive)!r}, dest)\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.delenv("KAGGLE_CONFIG_DIR", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
    monkeypatch.delenv("KAGGLE_KEY", raising=False)
    offline = idx_source(files, closed_port_url())
    use(monkeypatch, offline, _sources.MNIST.sources[2])

    def calls():
        return [json.loads(line) for line in log.read_text().splitlines()]

    return calls


def test_kaggle_route_with_credentials(kaggle, monkeypatch, home, sample):
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "secret")
    check_sample(fetch_mnist(home, verbose=False), sample)
    [args] = kaggle()
    assert args[:4] == ["datasets", "download", "oddrationale/mnist-in-csv", "-p"]
    assert sorted(os.listdir(home / "mnist")) == [
        ".lock",
        "mnist_test.csv",
        "mnist_train.csv",
    ]
    check_sample(fetch_mnist(home, verbose=False), sample)
    assert len(kaggle()) == 1  # read from the cache


def test_kaggle_json_counts_as_credentials(kaggle, tmp_path, home, sample):
    (tmp_path / "user" / ".kaggle").mkdir(parents=True)
    (tmp_path / "user" / ".kaggle" / "kaggle.json").write_text("{}")
    check_sample(fetch_mnist(home, verbose=False), sample)
    assert len(kaggle()) == 1


def test_kaggle_not_used_without_credentials(kaggle, tmp_path, home):
    with pytest.raises(FetchError, match="no network connection"):
        fetch_mnist(home, verbose=False)
    assert not (tmp_path / "kaggle.log").exists()


def test_kaggle_files_with_wrong_counts_are_rejected(kaggle, monkeypatch, home):
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "secret")
    dataset = _sources.DATASETS["mnist"]
    monkeypatch.setitem(
        _sources.DATASETS,
        "mnist",
        dataset._replace(class_counts=_sources.MNIST.class_counts),
    )
    with pytest.raises(FetchError) as err:
        fetch_mnist(home, verbose=False)
    message = one_line(err)
    assert "expected 60000 labelled images" in message and "found 4000" in message
    assert not home.exists()  # the files, then the empty folders


# -------------------------------------------------------------- the command
@pytest.mark.slow
def test_cli_download_then_train_offline(mnist, home, tmp_path, capsys):
    assert main(["download", "--data-home", str(home), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("MNIST: 4,000 training and 1,000 test images")
    assert f"downloaded into {home / 'mnist'}" in out
    mnist.requests.clear()
    assert main(["download", "--data-home", str(home)]) == 0
    assert "already in" in capsys.readouterr().out
    run = tmp_path / "run"
    args = ["train", "--dataset", "mnist", "--data-home", str(home), "--out", str(run)]
    assert main([*args, *FAST]) == 0
    assert mnist.requests == []
    metrics = json.loads((run / "metrics.json").read_text())
    assert (metrics["n_train"], metrics["n_test"]) == (4000, 1000)
    assert metrics["data"]["train"].startswith("MNIST train set (4,000 images")
    assert metrics["test_accuracy"] > 0.7


def test_cli_download_offline_exits_2_with_one_line(monkeypatch, files, home, capsys):
    url = closed_port_url()
    use(monkeypatch, idx_source(files, url), npz_source(files, url))
    assert main(["download", "--data-home", str(home), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot download MNIST: no net")
    assert "--train/--test" in err[0]


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--dataset", "mnist", "--train", "x.csv"], "cannot be combined"),
        (["train", "--dataset", "emnist"], "invalid choice: 'emnist'"),
        (["download", "--timeout", "0"], "--timeout: expected a positive number"),
    ],
)
def test_cli_bad_dataset_options(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert list(tmp_path.iterdir()) == []


def test_cli_download_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["download", "--help"])
    text = capsys.readouterr().out
    assert "examples:" in text and "sk-mnist download --dataset fashion-mnist" in text
