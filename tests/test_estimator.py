"""DenseMLPClassifier and make_mnist_pipeline: behaviour beyond sklearn's checks.

Runs under every Keras backend (tests/test_backends.py reruns it with JAX).
"""

import json
import os
import pickle

import joblib
import keras
import numpy as np
import pandas as pd
import pytest
import sklearn
from scipy.stats import loguniform
from sklearn.base import clone, is_classifier
from sklearn.feature_selection import VarianceThreshold
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import (
    GridSearchCV,
    RandomizedSearchCV,
    StratifiedKFold,
    check_cv,
    cross_val_score,
    cross_validate,
)
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags

from sk_mnist import (
    HOMEWORK_PARAMS,
    DenseMLPClassifier,
    PixelScaler,
    make_mnist_pipeline,
)

TINY = dict(
    hidden_layer_sizes=(16,),
    learning_rate=0.01,
    learning_rate_schedule="constant",
    epochs=3,
    batch_size=64,
    random_state=0,
)


@pytest.fixture(scope="module")
def digits(digits):
    """The shared digits split 1200 / rest."""
    X, y = digits
    return X[:1200], y[:1200], X[1200:], y[1200:]


@pytest.fixture(scope="module")
def fitted(digits):
    X, y, _, _ = digits
    return make_mnist_pipeline(**TINY).fit(X, y)


def test_is_a_classifier_with_right_tags():
    clf = DenseMLPClassifier()
    assert is_classifier(clf)
    assert is_classifier(make_mnist_pipeline())
    tags = get_tags(clf)
    assert tags.estimator_type == "classifier"
    assert tags.target_tags.required
    assert not tags.classifier_tags.multi_label
    assert not tags.input_tags.sparse and not tags.input_tags.allow_nan
    assert not tags.target_tags.multi_output and not tags.classifier_tags.poor_score


def test_tags_as_scikit_learn_1_6_collects_them():
    # sklearn 1.6 sees scikeras' legacy _more_tags and calls __sklearn_tags__
    # of every class in the MRO itself, ClassifierMixin's included; its
    # super() found nothing after it and every fit failed there.
    from sklearn.base import ClassifierMixin

    clf = DenseMLPClassifier()
    mixin_tags = ClassifierMixin.__sklearn_tags__(clf)
    assert mixin_tags.estimator_type == "classifier"
    # What sklearn 1.6 merges from scikeras' _more_tags (its class's _tags
    # over sklearn 1.6's BaseEstimator._more_tags) agrees with __sklearn_tags__.
    legacy = clf._tags
    tags = get_tags(clf)
    assert legacy["multilabel"] == tags.classifier_tags.multi_label is False
    assert legacy["multioutput"] == tags.target_tags.multi_output is False
    assert legacy["poor_score"] == tags.classifier_tags.poor_score is False
    assert legacy["requires_y"] == tags.target_tags.required is True


def test_defaults_keep_the_homework_network_with_a_faster_recipe():
    params = DenseMLPClassifier().get_params()
    assert params["hidden_layer_sizes"] == (1024, 512, 256)
    assert params["activation"] == "relu" and params["optimizer"] == "adam"
    assert params["dropout"] == 0.0 and params["alpha"] == 0.0
    assert params["learning_rate_schedule"] == "cosine"
    assert params["early_stopping"] is False
    assert params["validation_fraction"] == 0.1 and params["n_iter_no_change"] == 5


def test_homework_recipe_is_one_parameter_set_away():
    params = DenseMLPClassifier(**HOMEWORK_PARAMS).get_params()
    assert params["hidden_layer_sizes"] == (1024, 512, 256)
    assert params["learning_rate"] == 1e-3
    assert params["learning_rate_schedule"] == "constant"
    assert params["batch_size"] == 32 and params["epochs"] == 20
    assert params["early_stopping"] is False
    with pytest.raises(TypeError):
        HOMEWORK_PARAMS["batch_size"] = 64  # read-only


@pytest.mark.parametrize(
    "param, value",
    [
        ("hidden_layer_sizes", (10, -3)),
        ("hidden_layer_sizes", (0,)),
        ("hidden_layer_sizes", (10.5,)),
        ("hidden_layer_sizes", (10**20,)),  # was "Can't convert ... to Tensor"
        ("dropout", 1.0),
        ("dropout", -0.1),
        ("alpha", -1.0),
        ("activation", "relux"),
        ("optimizer", "adamm"),
        ("learning_rate", 0.0),
        ("batch_size", 0),
        ("epochs", 0),
        ("validation_fraction", 1.0),
        ("n_iter_no_change", 0),
        ("class_weight", "sometimes"),
    ],
)
def test_invalid_parameter_raises_at_fit_naming_it(digits, param, value):
    X, y, _, _ = digits
    clf = DenseMLPClassifier(**{**TINY, param: value})  # __init__ accepts anything
    with pytest.raises(ValueError, match=f"'{param}' parameter"):
        clf.fit(X[:50], y[:50])


def test_unknown_keyword_is_rejected_at_fit(digits):
    X, y, _, _ = digits
    clf = DenseMLPClassifier(**TINY, hiden_layer_sizes=(3,))
    with pytest.raises(ValueError, match="Unknown parameter 'hiden_layer_sizes'"):
        clf.fit(X[:50], y[:50])


def test_fit_predict_score_contract(digits, fitted):
    X, y, X_test, y_test = digits
    mlp = fitted.named_steps["mlp"]
    assert isinstance(mlp.model_, keras.Model)
    np.testing.assert_array_equal(mlp.classes_, np.arange(10))
    assert mlp.n_features_in_ == 64 and mlp.n_classes_ == 10
    assert mlp.n_iter_ == 3
    assert set(mlp.history_) == {"loss", "accuracy", "learning_rate"}
    assert all(len(v) == 3 for v in mlp.history_.values())
    assert mlp.history_["loss"][-1] < mlp.history_["loss"][0]

    proba = fitted.predict_proba(X_test)
    assert proba.shape == (len(X_test), 10) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    pred = fitted.predict(X_test)
    np.testing.assert_array_equal(pred, mlp.classes_[proba.argmax(axis=1)])
    assert fitted.score(X_test, y_test) == pytest.approx(accuracy_score(y_test, pred))
    assert fitted.score(X_test, y_test) > 0.6  # three epochs of a 16-unit net


def test_predict_log_proba_is_the_log_of_predict_proba(digits, fitted):
    _, _, X_test, _ = digits
    log_proba = fitted.predict_log_proba(X_test)
    assert log_proba.shape == (len(X_test), 10) and log_proba.dtype == np.float64
    np.testing.assert_allclose(np.exp(log_proba), fitted.predict_proba(X_test))


def test_fit_returns_self(digits):
    X, y, _, _ = digits
    clf = DenseMLPClassifier(**TINY)
    assert clf.fit(X / 255, y) is clf


def test_string_labels_come_back_as_strings(digits):
    X, y, X_test, _ = digits
    names = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
    pipe = make_mnist_pipeline(**TINY).fit(X, names[y])
    pred = pipe.predict(X_test)
    assert pred.dtype.kind == "U" and set(pred) <= set(names)
    np.testing.assert_array_equal(pipe.classes_, np.sort(names))


@pytest.mark.slow
def test_dataframe_input_sets_feature_names(digits):
    X, y, X_test, _ = digits
    columns = [f"px{i}" for i in range(X.shape[1])]
    frame = pd.DataFrame(X / 255, columns=columns)
    clf = DenseMLPClassifier(**TINY).fit(frame, y)
    np.testing.assert_array_equal(clf.feature_names_in_, columns)
    with pytest.warns(UserWarning, match="fitted with feature names"):
        clf.predict(X_test / 255)
    pipe = make_mnist_pipeline(**TINY).fit(pd.DataFrame(X, columns=columns), y)
    np.testing.assert_array_equal(pipe.feature_names_in_, columns)


def test_wrong_number_of_features_at_predict(fitted, digits):
    _, _, X_test, _ = digits
    with pytest.raises(ValueError, match="X has 63 features, but PixelScaler"):
        fitted.predict(X_test[:, :63])
    with pytest.raises(ValueError, match="X has 63 features, but DenseMLPClassifier"):
        fitted.named_steps["mlp"].predict(X_test[:, :63] / 255)


def test_unseen_validation_labels_are_rejected(digits):
    X, y, X_test, y_test = digits
    clf = DenseMLPClassifier(**TINY)
    with pytest.raises(ValueError, match=r"y_val contains labels not seen.*\[11\]"):
        clf.fit(X / 255, y, X_val=X_test / 255, y_val=np.where(y_test == 3, 11, y_test))


def test_errors_about_validation_data_name_it(digits):
    X, y, X_test, y_test = digits
    X, X_test = X[:200] / 255, X_test[:50] / 255
    y, y_test = y[:200], y_test[:50]
    clf = DenseMLPClassifier(**TINY)
    with pytest.raises(ValueError, match="^X_val has 63 features, but Dense"):
        clf.fit(X, y, X_val=X_test[:, :63], y_val=y_test)
    X_nan = X_test.copy()
    X_nan[3, 5] = np.nan
    with pytest.raises(ValueError, match="Input X_val contains NaN"):
        clf.fit(X, y, X_val=X_nan, y_val=y_test)
    with pytest.raises(
        ValueError, match=r"inconsistent numbers of samples: \[50, 49\]"
    ):
        clf.fit(X, y, X_val=X_test, y_val=y_test[:49])
    # A DataFrame X_val is still checked against X's feature names.
    columns = [f"p{i}" for i in range(64)]
    frame = pd.DataFrame(X, columns=columns)
    swapped = pd.DataFrame(X_test, columns=columns[::-1])
    with pytest.raises(ValueError, match="feature names should match"):
        clf.fit(frame, y, X_val=swapped, y_val=y_test)


@pytest.mark.slow
def test_random_state_makes_fit_reproducible(digits):
    X, y, X_test, _ = digits
    params = dict(TINY, dropout=0.2, early_stopping=True, epochs=4)
    a = make_mnist_pipeline(**params).fit(X, y)
    b = make_mnist_pipeline(**params).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X_test), b.predict_proba(X_test))
    assert a.named_steps["mlp"].history_ == b.named_steps["mlp"].history_
    c = make_mnist_pipeline(**{**params, "random_state": 1}).fit(X, y)
    assert not np.array_equal(a.predict_proba(X_test), c.predict_proba(X_test))


def test_fit_does_not_touch_global_numpy_random_state(digits):
    X, y, _, _ = digits
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    DenseMLPClassifier(**TINY).fit(X / 255, y)
    assert np.random.rand() == expected


def test_early_stopping_stops_and_restores_best_weights(digits):
    X, y, X_test, y_test = digits
    clf = DenseMLPClassifier(
        hidden_layer_sizes=(64,),
        learning_rate=0.05,
        batch_size=32,
        epochs=60,
        early_stopping=True,
        n_iter_no_change=2,
        random_state=0,
    )
    clf.fit(X / 255, y, X_val=X_test / 255, y_val=y_test)
    assert clf.n_iter_ < 60
    val_accuracy = clf.history_["val_accuracy"]
    assert len(val_accuracy) == clf.n_iter_
    best = int(np.argmax(val_accuracy))  # the first epoch with the best score
    assert clf.n_iter_ == best + 1 + 2  # stopped n_iter_no_change epochs later
    # the restored weights are those of the best epoch, not of the last one
    proba = clf.predict_proba(X_test / 255)
    restored = log_loss(y_test, proba, labels=clf.classes_)
    assert restored == pytest.approx(clf.history_["val_loss"][best], rel=1e-3)
    assert clf.score(X_test / 255, y_test) == pytest.approx(val_accuracy[best])


def test_early_stopping_holds_out_a_stratified_fraction(digits):
    X, y, _, _ = digits
    # One batch per compiled call, so that callbacks see every batch.
    clf = DenseMLPClassifier(
        **{**TINY, "early_stopping": True, "epochs": 2},
        compile__steps_per_execution=1,
    )
    seen = {}

    class Spy(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen["train_batches"] = batch + 1

        def on_test_batch_end(self, batch, logs=None):
            seen["val_batches"] = batch + 1

    clf.set_params(callbacks=[Spy()]).fit(X / 255, y)
    # 1200 samples, 10% held out: 1080 train (17 batches of 64), 120 val (2)
    assert seen == {"train_batches": 17, "val_batches": 2}
    assert set(clf.history_) == {
        "loss",
        "accuracy",
        "learning_rate",
        "val_loss",
        "val_accuracy",
    }


def test_user_validation_data_inside_pipeline_is_scaled(digits):
    X, y, X_test, y_test = digits
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_mnist_pipeline(**TINY)
        pipe.fit(X, y, X_val=X_test, y_val=y_test)
    history = pipe.named_steps["mlp"].history_
    assert len(history["val_loss"]) == 3
    # Keras' last val_loss equals the loss of the pipeline (which scales X)
    # on the raw validation images: so Keras saw them scaled, too.
    expected = log_loss(y_test, pipe.predict_proba(X_test), labels=pipe.classes_)
    assert history["val_loss"][-1] == pytest.approx(expected, rel=1e-3)
    assert history["val_accuracy"][-1] == pytest.approx(pipe.score(X_test, y_test))


def test_pipeline_without_routing_refuses_unscaled_validation(digits):
    X, y, X_test, y_test = digits
    pipe = make_mnist_pipeline(**TINY)
    assert pipe.transform_input is None
    with pytest.raises(ValueError, match="X_val"):
        pipe.fit(X, y, X_val=X_test, y_val=y_test)


@pytest.mark.parametrize(
    "name, instead",
    [
        ("optimizer__learning_rate", "learning_rate parameter"),
        ("compile__optimizer", "optimizer parameter"),
        ("compile__loss", "the loss is always"),
        ("fit__x", "X argument of fit"),
        ("fit__y", "y argument of fit"),
        ("fit__sample_weight", "sample_weight argument of fit"),
        ("fit__epochs", "epochs parameter"),
        ("fit__validation_data", "X_val and y_val arguments"),
        ("predict__x", "X argument of predict"),
    ],
)
def test_routed_names_that_clash_are_refused_naming_the_flat_one(digits, name, instead):
    X, y, _, _ = digits
    clf = DenseMLPClassifier(**TINY, **{name: 0.5})
    with pytest.raises(ValueError, match=f"'{name}'.*; use .*{instead}"):
        clf.fit(X[:50] / 255, y[:50])


def test_clone_get_set_params():
    pipe = make_mnist_pipeline(**TINY, optimizer__beta_1=0.8)
    pipe.set_params(mlp__batch_size=128, mlp__hidden_layer_sizes=(8, 4))
    mlp = pipe.named_steps["mlp"]
    assert mlp.batch_size == 128 and mlp.hidden_layer_sizes == (8, 4)
    cloned = clone(pipe)
    assert cloned.get_params()["mlp__optimizer__beta_1"] == 0.8
    assert cloned.get_params()["mlp__batch_size"] == 128
    assert "optimizer__beta_1=0.8" in repr(mlp)


def test_routed_parameters_reach_keras(digits):
    X, y, _, _ = digits
    epochs_seen = []

    class Count(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            epochs_seen.append(epoch)

    clf = DenseMLPClassifier(
        **{**TINY, "learning_rate": 0.1},
        optimizer="sgd",
        optimizer__momentum=0.5,
        compile__jit_compile=False,
        callbacks=[Count()],
    ).fit(X / 255, y)
    opt = clf.model_.optimizer
    assert isinstance(opt, keras.optimizers.SGD)
    assert float(opt.momentum) == 0.5
    assert float(keras.ops.convert_to_numpy(opt.learning_rate)) == pytest.approx(0.1)
    assert clf.model_.jit_compile is False
    assert epochs_seen == [0, 1, 2]


def test_predict_callbacks_given_as_a_class_are_built(digits):
    X, y, X_test, _ = digits
    batches = []

    class Count(keras.callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            batches.append(batch)

    clf = DenseMLPClassifier(**TINY, predict__callbacks=[Count])
    clf.fit(X[:200] / 255, y[:200]).predict(X_test / 255)
    assert batches


@pytest.mark.parametrize("dump, load", [(pickle.dumps, pickle.loads), (None, None)])
def test_pickle_and_joblib_round_trips(tmp_path, digits, fitted, dump, load):
    _, _, X_test, _ = digits
    if dump is None:  # joblib, through a file as users do
        path = tmp_path / "pipe.joblib"
        joblib.dump(fitted, path)
        restored = joblib.load(path)
    else:
        restored = load(dump(fitted))
    np.testing.assert_array_equal(
        restored.predict_proba(X_test), fitted.predict_proba(X_test)
    )
    unfitted = load(dump(make_mnist_pipeline(**TINY))) if load else None
    if unfitted is not None:
        assert unfitted.get_params()["mlp__hidden_layer_sizes"] == (16,)


def test_clone_of_fitted_refits_identically(digits, fitted):
    X, y, X_test, _ = digits
    again = clone(fitted).fit(X, y)
    np.testing.assert_array_equal(
        again.predict_proba(X_test), fitted.predict_proba(X_test)
    )


def test_warm_start_continues_training(digits):
    X, y, _, _ = digits
    clf = DenseMLPClassifier(**{**TINY, "warm_start": True}).fit(X / 255, y)
    weights = clf.model_
    clf.fit(X / 255, y)
    assert clf.model_ is weights
    assert clf.n_iter_ == 6 and len(clf.history_["loss"]) == 6


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, value",
    [
        ("hidden_layer_sizes", (8,)),
        ("activation", "tanh"),
        ("optimizer", "sgd"),
        ("optimizer__beta_1", 0.5),
    ],
)
def test_warm_start_refuses_a_changed_network(digits, name, value):
    X, y, _, _ = digits
    X, y = X[:200] / 255, y[:200]
    clf = DenseMLPClassifier(**{**TINY, "warm_start": True}).fit(X, y)
    clf.set_params(batch_size=32, learning_rate=0.05, epochs=1)  # these may change
    clf.fit(X, y)
    clf.set_params(**{name: value})
    with pytest.raises(ValueError, match=f"built with {name}=.*warm_start=False"):
        clf.fit(X, y)
    with pytest.raises(ValueError, match=f"built with {name}="):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 4
    clf.set_params(warm_start=False).fit(X, y)  # a new network
    assert clf.n_iter_ == 1


def test_partial_fit_one_epoch_at_a_time(digits):
    X, y, X_test, y_test = digits
    clf = DenseMLPClassifier(**TINY)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X / 255, y)
    clf.partial_fit(X[:600] / 255, y[:600], classes=np.arange(10))
    clf.partial_fit(X[600:] / 255, y[600:])
    assert clf.n_iter_ == 2
    assert clf.score(X_test / 255, y_test) > 0.3


def test_partial_fit_refuses_changed_classes_and_balanced_weights(digits):
    X, y, _, _ = digits
    X, y = X[:200] / 255, y[:200]
    clf = DenseMLPClassifier(**TINY).partial_fit(X, y, classes=np.arange(10))
    clf.partial_fit(X, y, classes=np.arange(10)[::-1])  # same labels: fine
    with pytest.raises(ValueError, match=r"`classes=\[0, 1, 2\]` is not the same"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert clf.n_iter_ == 2
    balanced = DenseMLPClassifier(**TINY, class_weight="balanced")
    with pytest.raises(ValueError, match="'balanced' is not supported for partial_fit"):
        balanced.partial_fit(X, y, classes=np.arange(10))
    assert not hasattr(balanced, "model_")


@pytest.mark.slow
def test_sample_and_class_weights_change_the_model(digits):
    X, y, X_test, _ = digits
    base = DenseMLPClassifier(**TINY).fit(X / 255, y)
    weighted = DenseMLPClassifier(**TINY, class_weight={0: 20.0}).fit(X / 255, y)
    # class 0 weighted up: its probability rises on average
    p0, p1 = (m.predict_proba(X_test / 255)[:, 0].mean() for m in (base, weighted))
    assert p1 > p0
    sw = np.where(y == 0, 20.0, 1.0)
    by_sw = DenseMLPClassifier(**TINY).fit(X / 255, y, sample_weight=sw)
    np.testing.assert_allclose(
        by_sw.predict_proba(X_test / 255),
        weighted.predict_proba(X_test / 255),
        atol=1e-5,
    )


@pytest.mark.slow
def test_only_the_ratios_of_sample_weights_matter(digits):
    X, y, X_test, _ = digits
    X, y = X[:300] / 255, y[:300]
    params = {**TINY, "optimizer": "sgd", "learning_rate": 0.1}
    plain = DenseMLPClassifier(**params).fit(X, y)
    scaled = DenseMLPClassifier(**params).fit(X, y, sample_weight=np.full(300, 10.0))
    np.testing.assert_allclose(
        scaled.predict_proba(X_test / 255), plain.predict_proba(X_test / 255), atol=1e-5
    )
    # Also with early stopping's hold-out, and for uneven weights.
    sw = np.where(y == 0, 3.0, 1.0)
    params.update(early_stopping=True, validation_fraction=0.2)
    small, large = (
        DenseMLPClassifier(**params).fit(X, y, sample_weight=sw * k) for k in (1, 50)
    )
    np.testing.assert_allclose(
        small.predict_proba(X_test / 255), large.predict_proba(X_test / 255), atol=1e-5
    )


def test_sample_weight_only_on_held_out_samples_is_refused():
    from sk_mnist._training import unit_mean

    # What early stopping's hold-out leaves of weights that sum to zero.
    with pytest.raises(ValueError, match="No training sample has any weight"):
        unit_mean(np.zeros(3))
    np.testing.assert_array_equal(unit_mean(np.ones(3)), 1.0)


@pytest.mark.slow
def test_grid_search_over_width_and_batch_size(digits):
    X, y, X_test, y_test = digits
    grid = GridSearchCV(
        make_mnist_pipeline(epochs=2, learning_rate=0.01, random_state=0),
        {"mlp__hidden_layer_sizes": [(8,), (32,)], "mlp__batch_size": [64, 256]},
        cv=2,
    ).fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    assert grid.best_params_["mlp__hidden_layer_sizes"] == (32,)
    assert grid.score(X_test, y_test) > 0.5


@pytest.mark.slow
def test_randomized_search(digits):
    X, y, _, _ = digits
    search = RandomizedSearchCV(
        make_mnist_pipeline(**TINY),
        {"mlp__learning_rate": loguniform(1e-3, 1e-1), "mlp__dropout": [0.0, 0.2]},
        n_iter=3,
        cv=2,
        random_state=0,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 3
    assert 1e-3 <= search.best_params_["mlp__learning_rate"] <= 1e-1


@pytest.mark.slow
def test_cross_validation_is_stratified_and_scores(digits):
    X, y, _, _ = digits
    pipe = make_mnist_pipeline(**TINY)
    assert isinstance(check_cv(3, y, classifier=is_classifier(pipe)), StratifiedKFold)
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and np.all(scores > 0.5)
    results = cross_validate(
        pipe, X, y, cv=2, scoring=["accuracy", "f1_macro", "neg_log_loss"]
    )
    assert {"test_accuracy", "test_f1_macro", "test_neg_log_loss"} <= set(results)
    assert np.all(results["test_neg_log_loss"] < 0)


def test_inside_a_larger_pipeline(digits):
    X, y, X_test, y_test = digits
    outer = Pipeline(
        [("drop_constant", VarianceThreshold()), ("model", make_mnist_pipeline(**TINY))]
    ).fit(X, y)
    n_kept = outer.named_steps["drop_constant"].get_support().sum()
    assert outer.named_steps["model"].named_steps["mlp"].n_features_in_ == n_kept < 64
    assert outer.score(X_test, y_test) > 0.5


@pytest.mark.slow
def test_pixel_scaler_in_front_matches_manual_scaling(digits):
    X, y, X_test, _ = digits
    pipe = make_mnist_pipeline(**TINY).fit(X, y)
    manual = DenseMLPClassifier(**TINY).fit(PixelScaler().fit_transform(X), y)
    np.testing.assert_array_equal(
        pipe.predict_proba(X_test), manual.predict_proba(X_test / np.float32(255))
    )


def test_runs_on_the_requested_backend():
    assert keras.backend.backend() == os.environ.get("KERAS_BACKEND", "tensorflow")


def test_cosine_schedule_lowers_the_rate_each_epoch(digits):
    X, y, _, _ = digits
    params = {**TINY, "epochs": 4, "learning_rate_schedule": "cosine"}
    clf = make_mnist_pipeline(**params).fit(X, y)[-1]
    expected = [0.01 * 0.5 * (1 + np.cos(np.pi * e / 4)) for e in range(4)]
    np.testing.assert_allclose(clf.history_["learning_rate"], expected, rtol=1e-6)
    # partial_fit continues at the base rate, not at the end of the cycle.
    clf.partial_fit(X / 255, y)
    assert clf.history_["learning_rate"][-1] == pytest.approx(0.01)
    assert len(clf.history_["learning_rate"]) == len(clf.history_["loss"]) == 5


@pytest.mark.parametrize(
    "routed",
    [
        {"callbacks": [keras.callbacks.LearningRateScheduler(lambda e, lr: 1e-4)]},
        {"fit__callbacks": [keras.callbacks.ReduceLROnPlateau]},
    ],
)
def test_cosine_schedule_refuses_rate_callbacks_it_would_override(digits, routed):
    X, y, _, _ = digits
    params = {**TINY, "epochs": 2, "learning_rate_schedule": "cosine"}
    clf = DenseMLPClassifier(**params, **routed)
    with pytest.raises(ValueError, match="set learning_rate_schedule='constant'"):
        clf.fit(X[:200] / 255, y[:200])


def test_constant_schedule_leaves_the_rate_to_a_user_scheduler(digits):
    X, y, _, _ = digits
    rates = [0.01, 0.005, 0.001]
    scheduler = keras.callbacks.LearningRateScheduler(lambda e, lr: rates[e])
    clf = DenseMLPClassifier(**TINY, callbacks=[scheduler]).fit(X[:200] / 255, y[:200])
    np.testing.assert_allclose(clf.history_["learning_rate"], rates, rtol=1e-6)


def test_constant_schedule_records_its_rate(fitted):
    history = fitted[-1].history_
    assert history["learning_rate"] == [pytest.approx(0.01)] * 3


@pytest.mark.slow
def test_compiled_training_gives_the_same_model(digits):
    # Several steps per compiled call, and XLA on TensorFlow, only save time.
    X, y, X_test, _ = digits
    # (XLA is switched on for large fits only; force it here.)
    fast = make_mnist_pipeline(**TINY, compile__jit_compile=True).fit(X, y)
    plain = make_mnist_pipeline(
        **TINY, compile__steps_per_execution=1, compile__jit_compile=False
    ).fit(X, y)
    assert fast[-1].model_.steps_per_execution > 1
    np.testing.assert_allclose(
        fast[-1].history_["loss"], plain[-1].history_["loss"], rtol=1e-5
    )
    np.testing.assert_allclose(
        fast.predict_proba(X_test), plain.predict_proba(X_test), atol=1e-6
    )


def _rss_mib():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.slow
@pytest.mark.skipif(
    not os.path.exists("/proc/self/statm"), reason="reads Linux's /proc"
)
def test_consecutive_fits_do_not_keep_earlier_weights(digits):
    # A 2048-2048 layer is 16 MiB of weights, 48 MiB with Adam's two slots:
    # on TensorFlow, every fit used to leave all of it behind (see
    # sk_mnist/_keras_runtime.py), ~50 MiB more after each fit, without end.
    # Allocators keep some freed buffers for reuse (on JAX, RSS rises by up
    # to ~20 MiB a fit over the first few fits, then levels off), so only
    # the second half of the fits is judged.
    X, y, _, _ = digits
    params = {**TINY, "hidden_layer_sizes": (2048, 2048), "epochs": 1}
    rss = []
    for seed in range(12):
        make_mnist_pipeline(**{**params, "random_state": seed}).fit(X[:256], y[:256])
        rss.append(_rss_mib())
    assert rss[-1] - rss[5] < 48, rss


@pytest.mark.slow
def test_memory_fix_leaves_training_unchanged(digits, monkeypatch):
    import sk_mnist.estimator

    X, y, X_test, _ = digits
    fixed = make_mnist_pipeline(**TINY).fit(X, y)
    monkeypatch.setattr(
        sk_mnist.estimator, "skip_single_replica_all_reduce", lambda opt: False
    )
    keras_own = make_mnist_pipeline(**TINY).fit(X, y)
    optimizer = fixed[-1].model_.optimizer
    assert ("_all_reduce_sum_gradients" in vars(optimizer)) == (
        keras.backend.backend() == "tensorflow"
    )
    assert "_all_reduce_sum_gradients" not in vars(keras_own[-1].model_.optimizer)
    assert fixed[-1].history_["loss"] == keras_own[-1].history_["loss"]
    np.testing.assert_array_equal(
        fixed.predict_proba(X_test), keras_own.predict_proba(X_test)
    )


@pytest.mark.slow
@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="tf.distribute is TensorFlow's"
)
def test_fit_inside_a_tf_distribute_scope(digits):
    # Clearing Keras' session inside a strategy scope broke the scope's exit
    # (IndexError), and the strategy path keeps Keras' own all_reduce.
    import tensorflow as tf

    X, y, X_test, _ = digits
    plain = make_mnist_pipeline(**TINY).fit(X, y)
    with tf.distribute.MirroredStrategy(["/cpu:0"]).scope():
        mirrored = make_mnist_pipeline(**TINY).fit(X, y)
    assert mirrored[-1].history_["loss"] == pytest.approx(plain[-1].history_["loss"])
    np.testing.assert_allclose(
        mirrored.predict_proba(X_test), plain.predict_proba(X_test), atol=1e-6
    )


@pytest.mark.slow
def test_grid_search_tunes_routed_callback_parameters(digits):
    X, y, _, _ = digits
    clf = DenseMLPClassifier(
        **TINY,
        callbacks=[keras.callbacks.EarlyStopping],
        callbacks__monitor="loss",
    )
    clf.set_params(callbacks__patience=3)
    assert clf.get_params()["callbacks__patience"] == 3
    assert clone(clf).get_params()["callbacks__patience"] == 3
    grid = GridSearchCV(clf, {"callbacks__patience": [1, 2]}, cv=2).fit(
        X[:300] / 255, y[:300]
    )
    assert [p["callbacks__patience"] for p in grid.cv_results_["params"]] == [1, 2]
    (stopper,) = grid.best_estimator_._fit_callbacks
    assert isinstance(stopper, keras.callbacks.EarlyStopping)
    assert stopper.patience == grid.best_params_["callbacks__patience"]


# ------------------------------------------------------------ diverged fits
def test_a_diverged_fit_raises_and_leaves_the_estimator_unfitted(digits):
    # It used to end silently and predict class 0 everywhere (NaN weights).
    X, y, _, _ = digits
    clf = DenseMLPClassifier(**{**TINY, "learning_rate": 1e308})
    match = (
        r"training diverged in epoch 1: the loss became nan; lower "
        r"learning_rate \(1e\+308\).*the estimator is left unfitted"
    )
    with pytest.raises(ValueError, match=match):
        clf.fit(X / 255, y)
    assert not hasattr(clf, "model_") and not hasattr(clf, "classes_")
    with pytest.raises(sklearn.exceptions.NotFittedError):
        clf.predict(X / 255)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_a_diverged_continued_fit_keeps_the_network_it_started_from(digits, how):
    X, y, X_test, _ = digits
    clf = DenseMLPClassifier(**{**TINY, "warm_start": True}).fit(X / 255, y)
    proba, history = clf.predict_proba(X_test / 255), dict(clf.history_)
    clf.set_params(learning_rate=1e308)
    match = "training diverged in epoch 1.*left as it was before this call"
    with pytest.raises(ValueError, match=match):
        clf.fit(X / 255, y) if how == "warm_start" else clf.partial_fit(X / 255, y)
    np.testing.assert_array_equal(clf.predict_proba(X_test / 255), proba)
    assert clf.history_ == history and clf.n_iter_ == 3
    # The optimizer's state was restored too: training goes on as before.
    clf.set_params(learning_rate=TINY["learning_rate"]).partial_fit(X / 255, y)
    assert np.isfinite(clf.history_["loss"][-1]) and clf.n_iter_ == 4


def test_training_stops_at_the_first_non_finite_loss(digits):
    from sk_mnist._training import StopOnNonFiniteLoss

    X, y, _, _ = digits
    seen = []

    class Count(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(epoch)

    clf = DenseMLPClassifier(
        **{**TINY, "learning_rate": 1e308, "epochs": 5}, callbacks=[Count()]
    )
    with pytest.raises(ValueError, match="diverged in epoch 1"):
        clf.fit(X / 255, y)
    assert seen == [0]  # not five epochs of NaN
    assert StopOnNonFiniteLoss.async_safe  # does not make Keras wait per batch


def test_out_of_memory_names_the_network_size(digits, monkeypatch):
    X, y, _, _ = digits
    # What TensorFlow raises for a width that does not fit (measured with
    # hidden_layer_sizes=(2**31 - 1,): "OOM when allocating tensor ...").
    oom = type("ResourceExhaustedError", (Exception,), {})

    def fail(*args, **kwargs):
        raise oom("{{function_node x}} OOM when allocating tensor with shape[64,9]")

    monkeypatch.setattr(keras.Model, "fit", fail)
    clf = DenseMLPClassifier(**{**TINY, "hidden_layer_sizes": (9,)})
    match = (
        r"out of memory building or training the network of "
        r"hidden_layer_sizes=\(9,\) \(685 weights\) at batch_size=64; try "
        r"smaller hidden_layer_sizes or batch_size \(OOM when allocating"
    )
    with pytest.raises(MemoryError, match=match):
        clf.fit(X / 255, y)
    assert not hasattr(clf, "model_")


def test_callbacks_that_are_not_callbacks_are_refused_at_fit(digits):
    X, y, _, _ = digits
    for params in [{"callbacks": ["x"]}, {"predict__callbacks": "x"}]:
        clf = DenseMLPClassifier(**TINY, **params)
        with pytest.raises(ValueError, match=f"'{next(iter(params))}' parameter"):
            clf.fit(X[:50] / 255, y[:50])


# ------------------------------------------------------------- fitted state
def test_fitted_state_round_trips_and_keeps_the_network_record(digits):
    X, y, X_test, _ = digits
    clf = DenseMLPClassifier(**{**TINY, "warm_start": True}).fit(X / 255, y)
    state = clf.get_fitted_state()
    assert json.loads(json.dumps(state)) == state  # plain JSON values
    assert state["network_params"]["hidden_layer_sizes"] == [16]
    copy = DenseMLPClassifier(**{**TINY, "warm_start": True})
    assert copy.set_fitted_state(state) is copy
    assert not hasattr(copy, "model_")  # no network given: not fitted
    copy.set_fitted_state(state, model=clf.model_)
    np.testing.assert_array_equal(
        copy.predict_proba(X_test / 255), clf.predict_proba(X_test / 255)
    )
    assert copy.history_ == clf.history_ and copy.n_iter_ == 3
    copy.set_params(activation="tanh")
    with pytest.raises(ValueError, match="built with activation='relu'"):
        copy.fit(X / 255, y)


@pytest.mark.slow
def test_set_fitted_state_refuses_a_network_the_state_does_not_describe(digits):
    X, y, _, _ = digits
    clf = DenseMLPClassifier(**TINY).fit(X / 255, y)
    other = DenseMLPClassifier(**{**TINY, "hidden_layer_sizes": (8,)}).fit(X / 255, y)
    with pytest.raises(ValueError, match=r"hidden_layer_sizes=\(16,\) does not"):
        DenseMLPClassifier().set_fitted_state(clf.get_fitted_state(), other.model_)
    state = {**clf.get_fitted_state(), "n_iter_": -1}
    with pytest.raises(ValueError, match="n_iter_ must be a non-negative int"):
        DenseMLPClassifier().set_fitted_state(state)
    with pytest.raises(ValueError, match="missing entry 'classes_'"):
        DenseMLPClassifier().set_fitted_state({"n_features_in_": 64})
    with pytest.raises(sklearn.exceptions.NotFittedError):
        DenseMLPClassifier().get_fitted_state()


def test_the_homework_layers_are_written_once():
    from sk_mnist.model import HOMEWORK_LAYERS

    assert DenseMLPClassifier().hidden_layer_sizes is HOMEWORK_LAYERS
    assert HOMEWORK_PARAMS["hidden_layer_sizes"] is HOMEWORK_LAYERS
