"""save_model / load_model: round trips, the on-disk format and every error path."""

import hashlib
import json
import os
import pickle
import sys
import zipfile

import joblib
import keras
import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

import sk_mnist.persistence
from sk_mnist import DenseMLPClassifier, make_mnist_pipeline
from sk_mnist.persistence import ModelFileError, load_model, save_model

try:
    import tomllib
except ImportError:  # Python 3.10: read the installed package's metadata
    tomllib = None

PARAMS = dict(hidden_layer_sizes=(16,), epochs=2, batch_size=64, random_state=0)
WORDS = np.array("zero one two three four five six seven eight nine".split())


@pytest.fixture(scope="module")
def digits(digits):
    """The first 600 of the shared digits."""
    X, y = digits
    return X[:600], y[:600]


@pytest.fixture(scope="module")
def fitted(digits):
    """Fitted pipelines keyed by label type."""
    X, y = digits
    return {
        "int": make_mnist_pipeline(**PARAMS).fit(X, y),
        "str": make_mnist_pipeline(**PARAMS).fit(X, WORDS[y]),
    }


def _subject(fitted, digits, labels, kind):
    """The estimator to save and the X it predicts on."""
    pipe, X = fitted[labels], digits[0]
    return (pipe, X) if kind == "pipeline" else (pipe[-1], pipe[0].transform(X))


def _rewrite_json(model_dir, **changes):
    path = model_dir / "sk_mnist.json"
    doc = json.loads(path.read_text())
    doc.update(changes)
    path.write_text(json.dumps(doc))


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def saved(fitted, tmp_path):
    save_model(fitted["int"], tmp_path / "model")
    return tmp_path / "model"


@pytest.mark.slow
@pytest.mark.parametrize("labels", ["int", "str"])
@pytest.mark.parametrize("kind", ["pipeline", "classifier"])
def test_round_trip(fitted, digits, tmp_path, labels, kind):
    est, X = _subject(fitted, digits, labels, kind)
    save_model(est, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert type(loaded) is type(est)
    check_is_fitted(loaded)
    assert np.array_equal(loaded.predict_proba(X), est.predict_proba(X))
    pred = loaded.predict(X)
    assert pred.dtype == est.predict(X).dtype and np.array_equal(pred, est.predict(X))
    y = fitted[labels][-1].classes_[digits[1]]
    assert loaded.score(X, y) == est.score(X, y)
    clf, orig = (loaded, est) if kind == "classifier" else (loaded[-1], est[-1])
    assert clf.classes_.dtype == orig.classes_.dtype
    assert clf.get_params() == orig.get_params()
    assert clf.history_ == orig.history_ and clf.n_iter_ == orig.n_iter_ == 2
    assert clf.n_features_in_ == 64 and clf.n_classes_ == 10
    if kind == "pipeline":
        assert [n for n, _ in loaded.steps] == ["scale", "mlp"]
        assert loaded[0].get_params() == est[0].get_params()
        assert loaded[0].n_features_in_ == 64


def test_loaded_pipeline_clones_and_refits(saved, digits):
    X, y = digits
    loaded = load_model(saved)
    assert loaded.get_params()["mlp__hidden_layer_sizes"] == (16,)
    refit = clone(loaded).fit(X, y)
    assert refit[-1].n_iter_ == 2 and refit[-1].model_ is not loaded[-1].model_
    # Same data, same random_state: the refit reproduces the saved network.
    assert np.allclose(refit.predict_proba(X), loaded.predict_proba(X))


def test_overwrite_existing_model(fitted, digits, tmp_path):
    X = digits[0]
    save_model(fitted["int"], tmp_path / "m")
    save_model(fitted["str"], tmp_path / "m")
    assert load_model(tmp_path / "m").predict(X[:3]).dtype.kind == "U"
    assert sorted(os.listdir(tmp_path)) == ["m"]


def test_json_records_format_versions_and_checksum(saved):
    doc = json.loads((saved / "sk_mnist.json").read_text())
    assert sorted(os.listdir(saved)) == ["model.keras", "sk_mnist.json"]
    assert (doc["format"], doc["format_version"], doc["kind"]) == (
        "sk_mnist-model",
        1,
        "pipeline",
    )
    assert set(doc["versions"]) == {"sk_mnist", "keras", "sklearn", "scikeras", "numpy"}
    assert doc["versions"]["keras"] == keras.__version__
    assert doc["keras_backend"] == keras.backend.backend()
    assert doc["model_sha256"] == _sha(saved / "model.keras")
    scale, mlp = doc["steps"]
    assert (scale["class"], mlp["class"]) == ("PixelScaler", "DenseMLPClassifier")
    assert mlp["params"]["hidden_layer_sizes"] == {"__tuple__": [16]}
    assert mlp["fitted"]["classes_"] == {
        "dtype": np.dtype(int).str,
        "values": list(range(10)),
    }


def test_feature_names_class_weight_and_metadata_requests(digits, tmp_path):
    import pandas as pd

    X, y = digits
    X = pd.DataFrame(X[:200], columns=[f"px{i}" for i in range(64)])
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_mnist_pipeline(
            **{**PARAMS, "epochs": 1}, class_weight={0: 2.0}, optimizer__beta_1=0.8
        ).fit(X, y[:200])
        save_model(pipe, tmp_path / "m")
        loaded = load_model(tmp_path / "m")
        assert loaded[-1].get_metadata_routing().fit.requests["X_val"] is True
    assert loaded.transform_input == ["X_val"]
    assert loaded.get_params()["mlp__class_weight"] == {0: 2.0}
    assert loaded.get_params()["mlp__optimizer__beta_1"] == 0.8
    assert list(loaded[0].feature_names_in_) == list(X.columns)
    assert np.array_equal(loaded.predict_proba(X), pipe.predict_proba(X))


def test_random_state_instance_saved_as_none(fitted, tmp_path, monkeypatch):
    clf = fitted["int"][-1]
    monkeypatch.setattr(clf, "random_state", np.random.RandomState(0))
    with pytest.warns(UserWarning, match="random_state RandomState"):
        save_model(clf, tmp_path / "m")
    assert load_model(tmp_path / "m").random_state is None


def test_unrepresentable_param_refused(fitted, tmp_path, monkeypatch):
    monkeypatch.setattr(fitted["int"][-1], "callbacks", [keras.callbacks.History()])
    with pytest.raises(ValueError, match="parameter 'mlp__callbacks'.*History"):
        save_model(fitted["int"], tmp_path / "m")
    assert os.listdir(tmp_path) == []


def test_unfitted_and_unsupported_refused(tmp_path):
    with pytest.raises(NotFittedError, match="step 'scale': PixelScaler is not fitted"):
        save_model(make_mnist_pipeline(**PARAMS), tmp_path / "m")
    with pytest.raises(NotFittedError):
        save_model(DenseMLPClassifier(), tmp_path / "m")
    with pytest.raises(ValueError, match="StandardScaler"):
        save_model(
            Pipeline([("std", StandardScaler()), ("mlp", DenseMLPClassifier())]),
            tmp_path / "m",
        )
    with pytest.raises(TypeError, match="StandardScaler"):
        save_model(StandardScaler(), tmp_path / "m")
    assert os.listdir(tmp_path) == []


def test_refuses_to_overwrite_user_data(fitted, tmp_path):
    data_dir = tmp_path / "photos"
    data_dir.mkdir()
    (data_dir / "precious.jpg").write_bytes(b"x")
    with pytest.raises(FileExistsError, match="photos.*not an sk_mnist model"):
        save_model(fitted["int"], data_dir)
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="notes.txt.*not a directory"):
        save_model(fitted["int"], tmp_path / "notes.txt")
    # A model directory holding anything else is not ours to delete either.
    save_model(fitted["int"], tmp_path / "m")
    (tmp_path / "m" / "README").write_text("mine")
    with pytest.raises(FileExistsError, match="not an sk_mnist model"):
        save_model(fitted["int"], tmp_path / "m")
    assert (data_dir / "precious.jpg").read_bytes() == b"x"
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    assert sorted(os.listdir(tmp_path)) == ["m", "notes.txt", "photos"]
    # An empty directory is fine.
    (tmp_path / "empty").mkdir()
    save_model(fitted["int"], tmp_path / "empty")
    load_model(tmp_path / "empty")


@pytest.mark.parametrize("where", ["keras_save", "json_dump", "swap"])
def test_interrupted_save_keeps_old_model(fitted, digits, saved, monkeypatch, where):
    X, old_proba = digits[0], fitted["int"].predict_proba(digits[0])
    before = {f: (saved / f).read_bytes() for f in os.listdir(saved)}

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    if where == "keras_save":
        monkeypatch.setattr(keras.Model, "save", interrupt)
    elif where == "json_dump":
        monkeypatch.setattr(json, "dump", interrupt)
    else:  # between moving the old model aside and moving the new one in
        real_rename, calls = os.rename, []

        def rename(src, dst):
            calls.append(src)
            if len(calls) == 2:
                raise KeyboardInterrupt
            real_rename(src, dst)

        monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        save_model(fitted["str"], saved)
    monkeypatch.undo()
    assert os.listdir(saved.parent) == ["model"]  # no temporary directories
    assert {f: (saved / f).read_bytes() for f in os.listdir(saved)} == before
    assert np.array_equal(load_model(saved).predict_proba(X), old_proba)


def test_interrupted_first_save_leaves_nothing(fitted, tmp_path, monkeypatch):
    monkeypatch.setattr(json, "dump", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        save_model(fitted["int"], tmp_path / "m")
    assert os.listdir(tmp_path) == []
    # nor the folders made on the way to it
    with pytest.raises(ZeroDivisionError):
        save_model(fitted["int"], tmp_path / "new" / "deeper" / "m")
    assert os.listdir(tmp_path) == []


def test_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_model(tmp_path / "nowhere")


def test_not_a_directory(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ModelFileError, match=r"f: not a directory"):
        load_model(tmp_path / "f")


@pytest.mark.parametrize("name", ["sk_mnist.json", "model.keras"])
def test_missing_file(saved, name):
    (saved / name).unlink()
    with pytest.raises(ModelFileError, match=rf"{name}: missing"):
        load_model(saved)


@pytest.mark.parametrize(
    "text, match",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "format None is not 'sk_mnist-model'"),
        ('{"format": "pickle"}', "format 'pickle' is not"),
        ('{"format": "sk_mnist-model", "format_version": "1"}', "invalid format_v"),
        ("[" * 100000 + "]" * 100000, "not valid JSON: nested too deeply"),
    ],
)
def test_bad_json(saved, text, match):
    (saved / "sk_mnist.json").write_text(text)
    with pytest.raises(ModelFileError, match=rf"sk_mnist.json: {match}") as info:
        load_model(saved)
    assert "\n" not in str(info.value)


def test_deeply_nested_parameter(saved):
    # Shallow enough for json.load, too deep to convert back from the JSON.
    doc = json.loads((saved / "sk_mnist.json").read_text())
    doc["steps"][1]["params"]["hidden_layer_sizes"] = [[]]
    text = json.dumps(doc).replace("[[]]", "[" * 900 + "]" * 900)
    (saved / "sk_mnist.json").write_text(text)
    with pytest.raises(ModelFileError, match="sk_mnist.json: .*nested too deeply"):
        load_model(saved)


def test_newer_format_version(saved):
    _rewrite_json(saved, format_version=2)
    with pytest.raises(ModelFileError, match="format version 2 is newer.*upgrade"):
        load_model(saved)


def test_unknown_class_refused_without_import(saved):
    doc = json.loads((saved / "sk_mnist.json").read_text())
    assert "this" not in sys.modules
    doc["steps"][0]["class"] = "this.Zen"
    _rewrite_json(saved, steps=doc["steps"])
    with pytest.raises(ModelFileError, match="unknown step class 'this.Zen'"):
        load_model(saved)
    assert "this" not in sys.modules


def test_unknown_param_and_malformed_fitted_state(saved):
    doc = json.loads((saved / "sk_mnist.json").read_text())
    steps = json.loads(json.dumps(doc["steps"]))
    steps[1]["params"]["__class__"] = 1
    _rewrite_json(saved, steps=steps)
    with pytest.raises(ModelFileError, match=r"unknown parameters \['__class__'\]"):
        load_model(saved)
    del doc["steps"][1]["fitted"]["classes_"]
    _rewrite_json(saved, steps=doc["steps"])
    with pytest.raises(ModelFileError, match="missing entry 'classes_'"):
        load_model(saved)


@pytest.mark.parametrize(
    "param, value",
    [
        ("epochs", "abc"),
        ("hidden_layer_sizes", "x"),
        ("hidden_layer_sizes", [8, "a"]),
        ("batch_size", -5),
        ("verbose", "loud"),
        ("learning_rate", 0),
    ],
)
def test_invalid_parameter_refused(saved, param, value):
    steps = json.loads((saved / "sk_mnist.json").read_text())["steps"]
    steps[1]["params"][param] = value
    _rewrite_json(saved, steps=steps)
    match = rf"sk_mnist.json: .*step 'mlp': The '{param}' parameter of Dense"
    with pytest.raises(ModelFileError, match=match):
        load_model(saved)


def test_invalid_pipeline_parameter_refused(saved):
    doc = json.loads((saved / "sk_mnist.json").read_text())
    _rewrite_json(saved, pipeline_params={**doc["pipeline_params"], "verbose": "a"})
    with pytest.raises(ModelFileError, match="The 'verbose' parameter of Pipeline"):
        load_model(saved)


@pytest.mark.parametrize("name", ["steps", "cache"])
def test_unknown_pipeline_parameter_is_named(saved, name):
    # 'steps' is a Pipeline parameter, but stored apart: the message said
    # "unknown Pipeline parameters []" for it.
    doc = json.loads((saved / "sk_mnist.json").read_text())
    _rewrite_json(saved, pipeline_params={**doc["pipeline_params"], name: []})
    with pytest.raises(
        ModelFileError, match=rf"unknown Pipeline parameters \['{name}'\]"
    ):
        load_model(saved)


def test_pipeline_memory_is_not_saved_and_refused_on_load(fitted, tmp_path):
    # joblib's cache unpickles its files on a refit: a model file must not be
    # able to point a loaded pipeline at a folder of pickles.
    pipe = Pipeline(fitted["int"].steps, memory=str(tmp_path / "cache"))
    save_model(pipe, tmp_path / "model")
    assert load_model(tmp_path / "model").memory is None
    doc = json.loads((tmp_path / "model" / "sk_mnist.json").read_text())
    _rewrite_json(
        tmp_path / "model",
        pipeline_params={**doc["pipeline_params"], "memory": str(tmp_path)},
    )
    with pytest.raises(ModelFileError, match="'memory' must be null"):
        load_model(tmp_path / "model")


@pytest.mark.parametrize(
    "value, match",
    [("NaN", "NaN is not a JSON number"), ("-Infinity", "-Infinity is not a JSON")],
)
@pytest.mark.parametrize("where", ["learning_rate", "class_weight"])
def test_non_finite_number_refused(saved, value, match, where):
    doc = json.loads((saved / "sk_mnist.json").read_text())
    params = doc["steps"][1]["params"]
    if where == "class_weight":  # not covered by the parameter's constraint
        params["class_weight"] = {"__items__": [[0, "PLACEHOLDER"]]}
    else:
        params[where] = "PLACEHOLDER"
    text = json.dumps(doc).replace('"PLACEHOLDER"', value)
    (saved / "sk_mnist.json").write_text(text)
    with pytest.raises(ModelFileError, match=f"sk_mnist.json: not valid JSON.*{match}"):
        load_model(saved)
    (saved / "sk_mnist.json").write_text(text.replace(value, "1e999"))
    with pytest.raises(ModelFileError, match="1e999 is too large for a float"):
        load_model(saved)


@pytest.mark.parametrize(
    "edit, match",
    [
        ("two_classifiers", r"step 'mlp' must be a PixelScaler: only the last"),
        ("two_scalers", r"the last step 'scale' must be a DenseMLPClassifier"),
        ("features", r"step 'mlp' has n_features_in_=64 but step 'scale' .* 100"),
    ],
)
def test_inconsistent_steps_refused(saved, edit, match):
    steps = json.loads((saved / "sk_mnist.json").read_text())["steps"]
    if edit == "two_classifiers":
        steps = [steps[1], steps[1]]
    elif edit == "two_scalers":
        steps = [steps[0], steps[0]]
    else:
        steps[0]["fitted"]["n_features_in_"] = 100
    _rewrite_json(saved, steps=steps)
    with pytest.raises(ModelFileError, match=rf"sk_mnist.json: .*{match}") as info:
        load_model(saved)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_tampered_model_file(saved, damage):
    path = saved / "model.keras"
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
    else:
        del data[len(data) // 2 :]
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="model.keras: SHA-256.*modified or trunc"):
        load_model(saved)


def test_not_a_zip_file(saved):
    (saved / "model.keras").write_bytes(b"not a zip file")
    _rewrite_json(saved, model_sha256=_sha(saved / "model.keras"))
    with pytest.raises(ModelFileError, match=r"model.keras: not a .keras \(zip\) file"):
        load_model(saved)


def _rewrite_config(saved, edit):
    """Rewrite model.keras's config.json with ``edit`` (checksum updated too)."""
    path = saved / "model.keras"
    with zipfile.ZipFile(path) as z:
        files = {name: z.read(name) for name in z.namelist()}
    config = json.loads(files["config.json"])
    edit(config)
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    _rewrite_json(saved, model_sha256=_sha(path))


def _skip_archive_checks(monkeypatch):
    """Let Keras see the archive, to test its own refusals behind ours."""
    import sk_mnist.persistence._keras_archive

    monkeypatch.setattr(
        sk_mnist.persistence._keras_archive, "check_keras_archive", _nothing
    )


def _nothing(*args, **kwargs):
    return None


# registered_name too: Keras looks it up first, and once scikeras has pickled a
# model in this process, ">Functional" is registered and would load the model
# whatever its module and class_name said.
_POPEN = dict(
    module="subprocess", class_name="Popen", registered_name="subprocess>Popen"
)


@pytest.mark.parametrize(
    "inject, ours",
    [
        ("module", "config.json does not describe a Functional model"),
        ("layer", "config.json: layer 1: unexpected layer class 'Popen'"),
        ("activation", None),  # a structure sk_mnist writes: Keras refuses it
    ],
)
def test_keras_failure_is_short_model_file_error(saved, monkeypatch, inject, ours):
    # A rewritten config.json: Keras' message quotes the whole config, over a
    # kilobyte and several lines.
    def edit(config):
        if inject == "module":
            config.update(_POPEN)
        elif inject == "layer":
            config["config"]["layers"][1].update(_POPEN)
        else:
            config["config"]["layers"][1]["config"]["activation"] = {
                **_POPEN,
                "config": {"args": ["true"]},
            }

    _rewrite_config(saved, edit)
    for check in ["ours", "keras"]:
        if check == "keras":
            _skip_archive_checks(monkeypatch)
        expected = ours if check == "ours" and ours else "Keras could not load"
        with pytest.raises(ModelFileError, match=f"model.keras: {expected}") as e:
            load_model(saved)
        message = str(e.value)
        assert "\n" not in message
        assert len(message) < len(str(saved / "model.keras")) + 260


@pytest.mark.parametrize("saved_with", ["99.0", None])
def test_a_file_from_a_newer_keras_says_which_to_install(saved, saved_with):
    # What Keras 3.14 met in files of 3.15: an initializer option it does not
    # know (3.15 added input_axes and output_axes).
    def edit(config):
        layer = config["config"]["layers"][1]["config"]
        layer["kernel_initializer"]["config"]["axes_of_the_future"] = None

    _rewrite_config(saved, edit)
    versions = json.loads((saved / "sk_mnist.json").read_text())["versions"]
    assert versions["keras"] == keras.__version__
    if saved_with is not None:
        _rewrite_json(saved, versions={**versions, "keras": saved_with})
    with pytest.raises(ModelFileError, match="model.keras: Keras could not load") as e:
        load_model(saved)
    advice = (
        f"; it was saved with Keras 99.0 and this is Keras {keras.__version__}: "
        "install Keras 99.0 or later"
    )
    message = str(e.value)
    assert message.endswith(advice) if saved_with else "saved with" not in message
    assert "\n" not in message and ".;" not in message


def test_lambda_layer_refused_before_and_by_safe_mode(saved, tmp_path, monkeypatch):
    from keras.src.saving.serialization_lib import SafeModeScope

    marker = tmp_path / "lambda_ran"
    monkeypatch.setenv("SK_MNIST_TEST_MARKER", str(marker))
    inputs = keras.Input((64,))
    touch = keras.layers.Lambda(
        lambda x: (
            __import__("pathlib")
            .Path(__import__("os").environ["SK_MNIST_TEST_MARKER"])
            .touch(),
            x,
        )[1]
    )
    keras.Model(inputs, touch(inputs)).save(saved / "model.keras")
    marker.unlink()  # building the model ran the lambda once
    _rewrite_json(saved, model_sha256=_sha(saved / "model.keras"))
    # sk_mnist refuses any layer it never writes, before Keras reads the file.
    with pytest.raises(ModelFileError, match="unexpected layer class 'Lambda'"):
        load_model(saved)
    # Behind that, Keras' safe mode refuses the code, in our words...
    _skip_archive_checks(monkeypatch)
    match = "model.keras: refusing to load: the model contains a Lambda layer"
    with pytest.raises(ModelFileError, match=match) as info:
        load_model(saved)
    assert "safe_mode" not in str(info.value)
    assert "unsafe" not in str(info.value)
    # ... even when the caller has switched Keras' safe mode off.
    with SafeModeScope(safe_mode=False), pytest.raises(ModelFileError):
        load_model(saved)
    assert not marker.exists()
    # The check above is meaningful: an unsafe load does run the code.
    keras.saving.load_model(saved / "model.keras", safe_mode=False)
    assert marker.exists()


@pytest.mark.parametrize("dump, load", [(pickle.dumps, pickle.loads), ("j", "j")])
def test_pickle_and_joblib_round_trip(fitted, digits, tmp_path, dump, load):
    if dump == "j":
        joblib.dump(fitted["str"], tmp_path / "m.joblib")
        loaded = joblib.load(tmp_path / "m.joblib")
    else:
        loaded = load(dump(fitted["str"]))
    X = digits[0]
    assert np.array_equal(loaded.predict_proba(X), fitted["str"].predict_proba(X))
    assert np.array_equal(loaded.predict(X), fitted["str"].predict(X))


def test_model_saved_by_format_version_1_still_loads():
    # tests/data/model_v1 was written by save_model before the restructuring
    # (format version 1, sk-mnist 0.1.0, Keras 3.15): a PixelScaler and a
    # 784-16-10 network fitted on 1,000 sample digits, with the probabilities it
    # gave for the first 20 sample test images.
    from sk_mnist.datasets import load_sample

    here = os.path.join(os.path.dirname(__file__), "data")
    model = load_model(os.path.join(here, "model_v1"))
    _, (X_test, _) = load_sample()
    expected = np.load(os.path.join(here, "model_v1_proba.npy"))
    np.testing.assert_allclose(model.predict_proba(X_test[:20]), expected, atol=1e-6)
    assert model[-1].hidden_layer_sizes == (16,)
    assert model[-1].n_iter_ == 2


# --------------------------------------------------- the network's build record
# What a warm start may not change, with a value to change it to.
NETWORK_CHANGES = {
    "hidden_layer_sizes": (8,),
    "activation": "tanh",
    "optimizer": "sgd",
    "dropout": 0.25,
    "alpha": 1e-3,
}


@pytest.fixture(scope="module")
def saved_for_warm_start(digits, tmp_path_factory):
    """A warm-startable classifier (16 units), saved."""
    X, y = digits
    clf = DenseMLPClassifier(**{**PARAMS, "epochs": 1}, warm_start=True)
    path = tmp_path_factory.mktemp("warm") / "clf"
    save_model(clf.fit(X[:200] / 255, y[:200]), path)
    return path


def _network_record(path):
    doc = json.loads((path / "sk_mnist.json").read_text())
    return doc["steps"][-1]["fitted"]["network_params"]


@pytest.mark.slow
@pytest.mark.parametrize("name, value", list(NETWORK_CHANGES.items()))
def test_warm_start_after_load_refuses_a_changed_network(
    saved_for_warm_start, digits, tmp_path, name, value
):
    # load_model used to drop the record of the network's build parameters:
    # a warm-started fit or partial_fit with a changed parameter then kept
    # training the old network, and saving wrote JSON describing a network
    # model.keras does not hold.
    X, y = digits[0][:200] / 255, digits[1][:200]
    loaded = load_model(saved_for_warm_start)
    before = loaded.predict_proba(X)
    loaded.set_params(**{name: value})
    with pytest.raises(ValueError, match=f"built with {name}=.*warm_start=False"):
        loaded.fit(X, y)
    with pytest.raises(ValueError, match=f"built with {name}="):
        loaded.partial_fit(X, y)
    assert loaded.n_iter_ == 1
    np.testing.assert_array_equal(loaded.predict_proba(X), before)
    # Saved again, the record still describes the network in model.keras.
    save_model(loaded, tmp_path / "again")
    assert _network_record(tmp_path / "again") == _network_record(saved_for_warm_start)
    reloaded = load_model(tmp_path / "again")
    assert reloaded.get_params()[name] == value
    with pytest.raises(ValueError, match=f"built with {name}="):
        reloaded.fit(X, y)
    with pytest.raises(ValueError, match=f"built with {name}="):
        reloaded.partial_fit(X, y)
    # Parameters that do not shape the network may change.
    reloaded.set_params(**{name: load_model(saved_for_warm_start).get_params()[name]})
    reloaded.set_params(batch_size=32, learning_rate=0.05).partial_fit(X, y)
    assert reloaded.n_iter_ == 2


def test_saved_record_is_the_built_network(saved_for_warm_start):
    assert _network_record(saved_for_warm_start) == {
        "hidden_layer_sizes": [16],
        "activation": "relu",
        "dropout": 0.0,
        "alpha": 0.0,
        "optimizer": "adam",
    }


def _as_format_1(path, **params):
    """Rewrite ``path``'s JSON as format version 1 wrote it (no record)."""
    doc = json.loads((path / "sk_mnist.json").read_text())
    doc["steps"][-1]["fitted"].pop("network_params", None)
    doc["steps"][-1]["params"].update(
        {
            k: {"__tuple__": list(v)} if isinstance(v, tuple) else v
            for k, v in params.items()
        }
    )
    (path / "sk_mnist.json").write_text(json.dumps(doc))


@pytest.mark.parametrize("name, value", list(NETWORK_CHANGES.items()))
def test_format_1_params_that_describe_another_network_are_refused(
    saved_for_warm_start, tmp_path, name, value
):
    # A format-1 file records no build parameters: they are taken from the
    # parameters, which must then describe the network model.keras holds
    # (a file re-saved after the bug above would not).
    path = tmp_path / "m"
    save_model(load_model(saved_for_warm_start), path)
    _as_format_1(path)
    assert load_model(path)._network_params["hidden_layer_sizes"] == (16,)
    _as_format_1(path, **{name: value})
    match = rf"sk_mnist.json: step 'mlp': {name}=.* does not describe the Keras net"
    with pytest.raises(ModelFileError, match=match) as info:
        load_model(path)
    assert "\n" not in str(info.value)


def test_a_record_that_describes_another_network_is_refused(
    saved_for_warm_start, tmp_path
):
    path = tmp_path / "m"
    save_model(load_model(saved_for_warm_start), path)
    doc = json.loads((path / "sk_mnist.json").read_text())
    doc["steps"][-1]["fitted"]["network_params"]["hidden_layer_sizes"] = [8]
    (path / "sk_mnist.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match=r"hidden_layer_sizes=\(8,\) does not"):
        load_model(path)
    doc["steps"][-1]["fitted"]["network_params"]["activation"] = "os.system"
    (path / "sk_mnist.json").write_text(json.dumps(doc))
    match = r"network_params: The 'activation' parameter .* Got 'os.system' instead"
    with pytest.raises(ModelFileError, match=match):
        load_model(path)


def test_format_1_fixture_keeps_its_network_record():
    here = os.path.join(os.path.dirname(__file__), "data", "model_v1")
    model = load_model(here)
    from sk_mnist.datasets import load_sample

    (X, y), _ = load_sample()
    model.set_params(mlp__warm_start=True, mlp__hidden_layer_sizes=(32,))
    with pytest.raises(ValueError, match=r"built with hidden_layer_sizes=\(16,\)"):
        model.fit(X[:100], y[:100])


# ------------------------------------------------ parameters that fail late
@pytest.mark.parametrize(
    "param, value",
    [
        ("callbacks", ["x"]),
        ("fit__callbacks", ["x"]),
        ("predict__callbacks", "x"),
        ("predict__batch_size", "x"),
        ("predict__verbose", 7),
    ],
)
def test_parameters_that_would_fail_at_predict_are_refused(saved, param, value):
    # "callbacks": ["x"] loaded, then evaluate and predict crashed inside Keras.
    steps = json.loads((saved / "sk_mnist.json").read_text())["steps"]
    steps[1]["params"][param] = value
    _rewrite_json(saved, steps=steps)
    match = rf"sk_mnist.json: .*step 'mlp': The '{param}' parameter of Dense"
    with pytest.raises(ModelFileError, match=match):
        load_model(saved)


# ------------------------------------------------------- resource bounds
def _rewrite_archive(saved, files):
    """Write model.keras from ``files`` ({name: bytes or (bytes, method)})."""
    path = saved / "model.keras"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            data, method = (
                data if isinstance(data, tuple) else (data, zipfile.ZIP_STORED)
            )
            z.writestr(name, data, compress_type=method)
    _rewrite_json(saved, model_sha256=_sha(path))


def _archive(saved):
    with zipfile.ZipFile(saved / "model.keras") as z:
        return {name: z.read(name) for name in z.namelist()}


@pytest.fixture
def keras_must_not_load(monkeypatch):
    """Fail the test if Keras is asked to load the network."""

    def refuse(*args, **kwargs):
        raise AssertionError("Keras was asked to load the model")

    monkeypatch.setattr(keras.saving, "load_model", refuse)


def test_unexpected_archive_entries_are_refused(saved, keras_must_not_load):
    # 20 extra "asset" entries made Keras write 4.8 GB to the temporary folder.
    files = _archive(saved)
    files.update({f"assets/{i}.bin": b"\0" * 100 for i in range(20)})
    _rewrite_archive(saved, files)
    match = r"model.keras: unexpected archive entries 'assets/0.bin'.* and 17 more"
    with pytest.raises(ModelFileError, match=match):
        load_model(saved)


def test_missing_and_repeated_archive_entries_are_refused(saved, keras_must_not_load):
    files = _archive(saved)
    del files["metadata.json"]
    _rewrite_archive(saved, files)
    with pytest.raises(ModelFileError, match="archive entries .* once each"):
        load_model(saved)


def _declare_width(config, units):
    """Make the hidden layer of a (16,) network ``units`` wide in config.json."""
    layers = config["config"]["layers"]
    layers[1]["config"]["units"] = units
    layers[2]["build_config"]["input_shape"] = [None, units]


def test_declared_weights_are_bounded_before_keras_allocates(
    saved, keras_must_not_load, monkeypatch
):
    # A 176 KB folder declaring Dense(1_300_000) peaked at 13.3 GB on load.
    _rewrite_config(saved, lambda config: _declare_width(config, 1_600_000))
    match = r"config.json declares 120,000,010 weights, more than the limit"
    with pytest.raises(ModelFileError, match=match):
        load_model(saved)
    # Under a higher limit, the weights file is far too small to hold them.
    monkeypatch.setattr(sk_mnist.persistence, "MAX_MODEL_WEIGHTS", 10**10)
    with pytest.raises(ModelFileError, match="model.weights.h5 has .* bytes, but the"):
        load_model(saved)


def test_weight_limit_applies_to_real_networks(saved, monkeypatch):
    monkeypatch.setattr(sk_mnist.persistence, "MAX_MODEL_WEIGHTS", 1000)
    with pytest.raises(ModelFileError, match="declares 1,210 weights, more than"):
        load_model(saved)
    monkeypatch.setattr(sk_mnist.persistence, "MAX_MODEL_WEIGHTS", 1210)
    load_model(saved)


@pytest.mark.parametrize("edit", ["class", "input", "chain", "build"])
def test_networks_sk_mnist_never_writes_are_refused(saved, keras_must_not_load, edit):
    def change(config):
        layers = config["config"]["layers"]
        if edit == "class":
            layers[1]["class_name"] = "Conv2D"
        elif edit == "input":
            layers[0]["config"]["batch_shape"] = [None, 10**9]
        elif edit == "chain":  # the output layer fed by the input directly
            layers[2]["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0] = (
                "pixels"
            )
        else:  # built for a wider input than the layer before gives
            layers[2]["build_config"]["input_shape"] = [None, 10**8]

    _rewrite_config(saved, change)
    with pytest.raises(ModelFileError, match="model.keras: config.json") as info:
        load_model(saved)
    assert "\n" not in str(info.value)


def test_compressed_entries_that_expand_too_much_are_refused(
    saved, keras_must_not_load
):
    # A 4 MB folder whose weights entry expanded to ~4 GiB reached 9.2 GB.
    files = _archive(saved)
    files["model.weights.h5"] = (
        files["model.weights.h5"] + b"\0" * 2**20,
        zipfile.ZIP_DEFLATED,
    )
    _rewrite_archive(saved, files)
    with pytest.raises(ModelFileError, match="'model.weights.h5' expands from"):
        load_model(saved)


def test_a_recompressed_archive_still_loads(saved, fitted, digits):
    # Keras stores its entries; a zip tool may deflate them: that is allowed.
    files = {n: (data, zipfile.ZIP_DEFLATED) for n, data in _archive(saved).items()}
    _rewrite_archive(saved, files)
    with zipfile.ZipFile(saved / "model.keras") as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_DEFLATED}
    X = digits[0]
    loaded = load_model(saved)
    np.testing.assert_array_equal(
        loaded.predict_proba(X), fitted["int"].predict_proba(X)
    )


def _h5_bytes(build):
    import io

    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        build(h5)
    return buffer.getvalue()


@pytest.mark.parametrize("trick", ["huge_dataset", "external_file", "external_link"])
def test_weights_file_datasets_are_checked_before_keras_reads_them(
    saved, tmp_path, keras_must_not_load, trick
):
    import h5py

    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"\0" * 64)

    def build(h5):
        if trick == "huge_dataset":  # 400 MB declared, a few KB stored
            h5.create_dataset(
                "layers/dense/vars/0",
                shape=(10**5, 10**3),
                dtype="f4",
                compression="gzip",
                chunks=(1000, 1000),
            )
        elif trick == "external_file":  # data read from another file
            h5.create_dataset(
                "layers/dense/vars/0",
                shape=(16,),
                dtype="f4",
                external=[(str(secret), 0, 64)],
            )
        else:
            h5["layers/dense/vars/0"] = h5py.ExternalLink(str(secret), "/x")

    files = _archive(saved)
    files["model.weights.h5"] = _h5_bytes(build) + b"\0" * 4096
    _rewrite_archive(saved, files)
    match = {
        "huge_dataset": " declares datasets of 400,000,000 bytes, more than",
        "external_file": ": dataset 'layers/dense/vars/0' stores its data outside",
        "external_link": ": 'layers/dense/vars/0' is a ExternalLink",
    }[trick]
    with pytest.raises(ModelFileError, match=f"model.keras: model.weights.h5{match}"):
        load_model(saved)


def test_oversized_descriptions_are_refused(saved, monkeypatch):
    monkeypatch.setattr(sk_mnist.persistence, "MAX_JSON_BYTES", 1000)
    with pytest.raises(ModelFileError, match=r"sk_mnist.json: .* bytes, more than"):
        load_model(saved)


# ------------------------------------------------------------ the Keras floor
def _requirements():
    """The package's requirements: pyproject.toml in a checkout, else metadata."""
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    pyproject = os.path.join(os.path.dirname(__file__), os.pardir, "pyproject.toml")
    if tomllib is not None and os.path.exists(pyproject):
        with open(pyproject, "rb") as f:
            lines = tomllib.load(f)["project"]["dependencies"]
    else:  # an installed package
        lines = [r for r in requires("sk-mnist") if "extra ==" not in r]
    return {Requirement(line).name: Requirement(line) for line in lines}


def test_keras_floor_excludes_releases_with_known_safe_mode_bypasses():
    # Keras before 3.14 can run code from a .keras file even in safe mode
    # (CVE-2025-1550, CVE-2025-8747, CVE-2025-9906, CVE-2025-49655,
    # CVE-2026-1462) or write outside its folder (the archive path traversal
    # fixed in 3.14); before 3.15 a crafted HDF5 dataset exhausts memory
    # (CVE-2026-12570); docs/persistence.rst lists them.
    from packaging.version import Version

    keras_req = _requirements()["keras"]
    floors = [Version(s.version) for s in keras_req.specifier if s.operator == ">="]
    assert floors and max(floors) >= Version("3.15"), keras_req
    assert Version(keras.__version__) in keras_req.specifier, (
        f"installed Keras {keras.__version__} is below the floor {keras_req}"
    )


def test_installed_dependencies_meet_their_floors():
    from importlib.metadata import version

    from packaging.version import Version

    for name, req in _requirements().items():
        assert Version(version(name)) in req.specifier, (name, version(name), req)
