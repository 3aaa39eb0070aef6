"""int8 ONNX files: ``export_onnx(..., quantize="int8")`` and ``--quantize int8``.

The quantised file is run with onnxruntime against the float32 file and the
Keras pipeline on the embedded sample's 1,000 test digits.
"""

import os
import tempfile

import numpy as np
import onnx
import pytest

from sk_mnist import make_mnist_pipeline
from sk_mnist.cli import _evaluate, main
from sk_mnist.export import ALLOWED_OPS, QUANTIZATION_KEY, export_onnx, load_onnx

TINY = {"hidden_layer_sizes": (64,), "epochs": 2, "batch_size": 128}


def assert_labels_agree(int8_proba, fp32_proba):
    """int8 moves probabilities a little, so only close calls may flip.

    The tiny test network leaves ~7% of the test digits with a top-two
    margin under 0.1; how many of those flip depends on the CPU's int8
    kernels (0.987 agreement on one machine, 0.99+ on another).
    """
    top2 = np.sort(fp32_proba, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 0.2
    same = int8_proba.argmax(axis=1) == fp32_proba.argmax(axis=1)
    assert np.abs(int8_proba - fp32_proba).max() < 0.1
    assert same[clear].all() and clear.mean() > 0.8
    assert same.mean() >= 0.97


@pytest.fixture(scope="module")
def pipe(sample):
    (X, y), _ = sample
    return make_mnist_pipeline(**TINY, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def files(pipe, tmp_path_factory):
    folder = tmp_path_factory.mktemp("int8")
    fp32 = export_onnx(pipe, folder / "fp32.onnx")
    int8 = export_onnx(pipe, folder / "int8.onnx", quantize="int8")
    return fp32, int8


def test_int8_file_loads_and_predicts_as_float32(files, pipe, sample):
    _, (X_test, y_test) = sample
    fp32, int8 = (load_onnx(path) for path in files)
    assert len(X_test) == 1000
    labels = int8.predict(X_test)
    assert labels.dtype == pipe.classes_.dtype
    assert_labels_agree(int8.predict_proba(X_test), fp32.predict_proba(X_test))
    assert abs(int8.score(X_test, y_test) - fp32.score(X_test, y_test)) <= 0.01
    assert fp32.score(X_test, y_test) > 0.8  # a model worth comparing
    proba = int8.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(int8.classes_, pipe.classes_)


def test_int8_file_holds_quantised_weights_and_says_so(files):
    fp32, int8 = (onnx.load(path) for path in files)
    ops = {(node.domain, node.op_type) for node in int8.graph.node}
    assert ("", "MatMulInteger") in ops and ("", "Gemm") not in ops, ops
    for domain, op in ops:
        assert op in ALLOWED_OPS[domain]
    int8_weights = [
        t for t in int8.graph.initializer if t.data_type == onnx.TensorProto.INT8
    ]
    assert {t.name for t in int8_weights} >= {"hidden_1_kernel_quantized"}
    assert os.path.getsize(files[1]) < os.path.getsize(files[0]) / 3
    meta = {p.key: p.value for p in int8.metadata_props}
    assert meta.pop(QUANTIZATION_KEY) == "int8"
    fp32_meta = {p.key: p.value for p in fp32.metadata_props}
    assert QUANTIZATION_KEY not in fp32_meta
    assert meta == fp32_meta  # everything else as in the float32 file
    assert int8.producer_name == "sk-mnist"
    assert load_onnx(files[1]).metadata_["quantization"] == "int8"


@pytest.mark.parametrize("bad", ["int4", "INT8", 8, True, ""])
def test_a_bad_quantize_is_one_value_error(pipe, tmp_path, bad):
    with pytest.raises(ValueError, match="quantize must be one of None, 'int8'") as err:
        export_onnx(pipe, tmp_path / "m.onnx", quantize=bad)
    assert "\n" not in str(err.value) and repr(bad) in str(err.value)
    assert os.listdir(tmp_path) == []


def test_a_failed_quantisation_leaves_nothing_behind(pipe, tmp_path, monkeypatch):
    import onnxruntime.quantization as quantization

    own_tmp = tmp_path / "system-tmp"
    own_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(own_tmp))
    out = tmp_path / "out"
    out.mkdir()
    (out / "m.onnx").write_bytes(b"old")
    real = quantization.quantize_dynamic

    def half_then_fail(model_input, model_output, **kwargs):
        real(model_input, model_output, **kwargs)  # its temporaries, its file
        raise RuntimeError("the quantiser broke")

    monkeypatch.setattr(quantization, "quantize_dynamic", half_then_fail)
    with pytest.raises(RuntimeError, match="the quantiser broke"):
        export_onnx(pipe, out / "m.onnx", quantize="int8")
    assert os.listdir(out) == ["m.onnx"] and (out / "m.onnx").read_bytes() == b"old"
    with pytest.raises(RuntimeError):
        export_onnx(pipe, tmp_path / "new" / "m.onnx", quantize="int8")
    assert not (tmp_path / "new").exists()
    monkeypatch.undo()
    monkeypatch.setattr(tempfile, "tempdir", str(own_tmp))
    export_onnx(pipe, out / "m.onnx", quantize="int8")  # and when it works
    assert os.listdir(out) == ["m.onnx"]
    assert os.listdir(own_tmp) == []  # the quantiser's own folder is gone too


def _cli(monkeypatch, pipe, output, *extra):
    folder = output.parent / "model"
    folder.mkdir(exist_ok=True)
    monkeypatch.setattr(_evaluate, "load_saved_model", lambda path: pipe)
    return main(["export", "--model", str(folder), "--output", str(output), *extra])


def test_cli_quantize_int8_writes_an_int8_file(
    pipe, sample, tmp_path, monkeypatch, capsys
):
    _, (X_test, _) = sample
    output = tmp_path / "m.onnx"
    assert _cli(monkeypatch, pipe, output, "--quantize", "int8") == 0
    assert "(int8 weights)" in capsys.readouterr().out
    clf = load_onnx(output)
    assert clf.metadata_["quantization"] == "int8"
    assert_labels_agree(clf.predict_proba(X_test), pipe.predict_proba(X_test))


def test_cli_bad_quantize_is_one_line_exit_2(pipe, tmp_path, monkeypatch, capsys):
    output = tmp_path / "m.onnx"
    assert _cli(monkeypatch, pipe, output, "--quantize", "int4") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert "--quantize" in err[0] and "'int8'" in err[0]
    assert sorted(os.listdir(tmp_path)) == ["model"]
