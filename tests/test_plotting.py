"""Tests of sk_mnist.plotting: each display is checked by what it draws."""

# ruff: noqa: E402  (the backend must be chosen before pyplot is imported)

import matplotlib

matplotlib.use("Agg")

import re
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.image import AxesImage
from sklearn.exceptions import NotFittedError

from sk_mnist.plotting import (
    ClassDistributionDisplay,
    DigitConfusionMatrixDisplay,
    DigitGridDisplay,
    MisclassifiedDisplay,
    SearchScoresDisplay,
    TrainingHistoryDisplay,
    save_figure,
)

TITLE = re.compile(r"^(\d) -> (\d) \((0\.\d\d|1\.00)\)$")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def digits(digits):
    """The shared digits split 1400 / rest."""
    X, y = digits
    return X[:1400], y[:1400], X[1400:], y[1400:]


@pytest.fixture(scope="module")
def fitted(digits):
    from sk_mnist import make_mnist_pipeline

    X_train, y_train, _, _ = digits
    pipe = make_mnist_pipeline(
        hidden_layer_sizes=(16,), epochs=3, batch_size=64, random_state=0
    )
    return pipe.fit(X_train, y_train)


def test_import_is_cheap():
    code = (
        "import sys, sk_mnist.plotting; "
        "assert not {'matplotlib', 'keras', 'tensorflow'} & set(sys.modules), "
        "sorted(m for m in sys.modules if m.split('.')[0] in "
        "('matplotlib', 'keras', 'tensorflow'))"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ClassDistributionDisplay


def test_class_distribution_two_sets(digits):
    _, y_train, _, y_test = digits
    disp = ClassDistributionDisplay.from_labels(y_train, y_test)
    ax = disp.ax_
    assert len(ax.patches) == 2 * 10
    for name, y in (("train", y_train), ("test", y_test)):
        expected = np.bincount(y, minlength=10)
        np.testing.assert_array_equal(disp.counts_[name], expected)
        heights = [bar.get_height() for bar in disp.bars_[name]]
        np.testing.assert_array_equal(heights, expected)
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(i) for i in range(10)]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "test"]
    assert ax.get_title() == "Class distribution"
    # The two bars of a class sit side by side, around the tick.
    train0, test0 = disp.bars_["train"][0], disp.bars_["test"][0]
    assert train0.get_x() + train0.get_width() == pytest.approx(test0.get_x())
    assert disp.figure_ is ax.figure


def test_class_distribution_names_must_differ():
    with pytest.raises(ValueError, match="names must differ, got \\('x', 'x'\\)"):
        ClassDistributionDisplay.from_labels([0, 1], [1, 1], names=("x", "x"))
    one = ClassDistributionDisplay.from_labels([0, 1], names=("x", "x"))
    assert list(one.counts_) == ["x"]  # a second name for no second set is unused


def test_class_distribution_bad_input_leaves_no_figure_open():
    bad = [
        (ClassDistributionDisplay({}, labels=[0, 1]), {}, "counts is empty"),
        (ClassDistributionDisplay({"a": [1, 2, 3]}, labels=[0, 1]), {}, "shape"),
        (ClassDistributionDisplay({"a": [1, 2]}, labels=[0, 1]), {"width": "x"}, "str"),
    ]
    for display, kwargs, message in bad:
        with pytest.raises((ValueError, TypeError), match=message):
            display.plot(**kwargs)
        assert len(plt.get_fignums()) == 0


def test_class_distribution_one_set_labels_and_given_ax():
    fig, ax = plt.subplots()
    y = np.array(["b", "a", "b", "c", "b"])
    disp = ClassDistributionDisplay.from_labels(
        y, labels=["c", "b", "z"], names=("all",), ax=ax
    )
    assert disp.ax_ is ax and disp.figure_ is fig
    assert [p.get_height() for p in ax.patches] == [1, 3, 0]
    assert disp.counts_["all"].tolist() == [1, 3, 0]
    assert disp.legend_ is None and ax.get_legend() is None
    assert [t.get_text() for t in ax.get_xticklabels()] == ["c", "b", "z"]


# DigitGridDisplay


def test_digit_grid_in_order(digits):
    X, y, _, _ = digits
    disp = DigitGridDisplay.from_arrays(X, y, n_images=7, n_cols=3)
    assert disp.axes_.shape == (3, 3)
    images = [a for ax in disp.figure_.axes for a in ax.get_images()]
    assert len(images) == len(disp.images_) == 7
    assert all(isinstance(im, AxesImage) for im in disp.images_)
    axes = disp.axes_.ravel()
    for i in range(7):
        assert axes[i].get_title() == str(y[i])
        np.testing.assert_array_equal(disp.images_[i].get_array(), X[i].reshape(8, 8))
        assert axes[i].get_visible()
        assert len(axes[i].get_xticks()) == len(axes[i].get_yticks()) == 0
    assert [ax.get_visible() for ax in axes[7:]] == [False, False]
    np.testing.assert_array_equal(disp.indices_, np.arange(7))
    # Upright: row 0 of the image at the top.
    assert disp.images_[0].origin == "upper"


def test_digit_grid_random_subset_and_mnist_shape():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(40, 784), dtype=np.uint8)
    y = rng.integers(0, 10, size=40)
    disp = DigitGridDisplay.from_arrays(X, y, n_images=6, random_state=0)
    idx = disp.indices_
    assert len(set(idx.tolist())) == 6 and not np.array_equal(idx, np.arange(6))
    assert disp.axes_.shape == (2, 5)
    for k, i in enumerate(idx):
        assert disp.images_[k].get_array().shape == (28, 28)
        np.testing.assert_array_equal(disp.images_[k].get_array(), X[i].reshape(28, 28))
        assert disp.axes_.ravel()[k].get_title() == str(y[i])
    again = DigitGridDisplay.from_arrays(X, y, n_images=6, random_state=0)
    np.testing.assert_array_equal(again.indices_, idx)


def test_digit_grid_image_shape_fig_and_errors():
    X = np.arange(3 * 12).reshape(3, 12)
    fig = plt.figure()
    left, right = fig.subfigures(1, 2)
    disp = DigitGridDisplay.from_arrays(X, image_shape=(3, 4), fig=right)
    assert disp.figure_ is right
    assert all(ax in right.axes for ax in disp.axes_.ravel())
    assert not left.axes
    assert disp.axes_.shape == (1, 3)  # fewer images than columns
    assert disp.images_[2].get_array().shape == (3, 4)
    assert all(ax.get_title() == "" for ax in disp.axes_.ravel())
    with pytest.raises(ValueError, match="not a square number"):
        DigitGridDisplay.from_arrays(X)
    with pytest.raises(ValueError, match="does not match"):
        DigitGridDisplay.from_arrays(X, image_shape=(3, 3))
    with pytest.raises(ValueError, match="n_images"):
        DigitGridDisplay.from_arrays(X, image_shape=(3, 4), n_images=0)
    with pytest.raises(ValueError, match="samples"):
        DigitGridDisplay.from_arrays(X, [1, 2], image_shape=(3, 4))
    with pytest.raises(ValueError, match="^X holds no images$"):
        DigitGridDisplay.from_arrays(np.empty((0, 64)))
    with pytest.raises(ValueError, match="^images holds no images"):
        DigitGridDisplay(np.empty((0, 64))).plot()


# TrainingHistoryDisplay

HISTORY = {
    "loss": [0.9, 0.5, 0.4, 0.35],
    "accuracy": [0.7, 0.85, 0.9, 0.91],
    "val_loss": [0.6, 0.5, 0.45, 0.5],
    "val_accuracy": [0.8, 0.84, 0.86, 0.85],
}


def test_training_history_with_validation():
    disp = TrainingHistoryDisplay.from_history(HISTORY)
    loss_ax, acc_ax = disp.axes_
    assert (loss_ax.get_title(), acc_ax.get_title()) == ("Loss", "Accuracy")
    assert len(loss_ax.get_lines()) == len(acc_ax.get_lines()) == 2
    assert set(disp.lines_) == set(HISTORY)
    for key, values in HISTORY.items():
        line = disp.lines_[key]
        assert line.axes is (acc_ax if "accuracy" in key else loss_ax)
        np.testing.assert_allclose(line.get_ydata(), values)
        np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3, 4])
    for ax in disp.axes_:
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert legend == ["train", "validation"]
    assert disp.figure_ is loss_ax.figure


def test_training_history_given_axes():
    fig, axes = plt.subplots(2, 1)
    history = {k: HISTORY[k] for k in ("loss", "accuracy")}
    disp = TrainingHistoryDisplay.from_history(history, axes=axes)
    assert disp.axes_[0] is axes[0] and disp.axes_[1] is axes[1]
    assert disp.figure_ is fig
    assert sorted(disp.lines_) == ["accuracy", "loss"]
    with pytest.raises(ValueError, match="2 Axes"):
        TrainingHistoryDisplay.from_history(history, axes=axes[:1])


@pytest.mark.parametrize("history", [{}, {"loss": []}, {"accuracy": [0.5]}, None])
def test_training_history_needs_loss(history):
    with pytest.raises(ValueError, match="no 'loss'"):
        TrainingHistoryDisplay.from_history(history)


def test_training_history_from_estimator(fitted):
    history = fitted[-1].history_
    for estimator in (fitted, fitted[-1]):
        disp = TrainingHistoryDisplay.from_estimator(estimator)
        assert sorted(disp.lines_) == ["accuracy", "loss"]
        np.testing.assert_allclose(disp.lines_["loss"].get_ydata(), history["loss"])
        np.testing.assert_array_equal(disp.lines_["loss"].get_xdata(), [1, 2, 3])
    from sk_mnist import DenseMLPClassifier

    with pytest.raises(NotFittedError, match="history_"):
        TrainingHistoryDisplay.from_estimator(DenseMLPClassifier())


# DigitConfusionMatrixDisplay


def test_confusion_matrix(digits, fitted):
    _, _, X_test, y_test = digits
    disp = DigitConfusionMatrixDisplay.from_estimator(fitted, X_test, y_test)
    cm = disp.confusion_matrix
    assert cm.shape == (10, 10) and cm.sum() == len(y_test)
    assert np.trace(cm) == (fitted.predict(X_test) == y_test).sum()
    assert disp.text_.shape == (10, 10) and len(disp.ax_.texts) == 100
    assert disp.ax_.get_title() == "Confusion matrix"
    assert len(disp.figure_.axes) == 2  # the matrix and its colorbar


def test_confusion_matrix_normalized_on_given_ax(digits, fitted):
    _, _, X_test, y_test = digits
    fig, ax = plt.subplots()
    disp = DigitConfusionMatrixDisplay.from_estimator(
        fitted, X_test, y_test, ax=ax, normalize="true"
    )
    assert disp.ax_ is ax and disp.figure_ is fig
    np.testing.assert_allclose(disp.confusion_matrix.sum(axis=1), 1)
    assert re.fullmatch(r"\d\.\d\d", disp.text_[0, 0].get_text())


def test_confusion_matrix_keeps_a_class_missing_from_y_and_y_pred(digits, fitted):
    _, _, X_test, y_test = digits
    y_pred = fitted.predict(X_test)
    keep = (y_test != 7) & (y_pred != 7)
    disp = DigitConfusionMatrixDisplay.from_estimator(
        fitted, X_test[keep], y_test[keep], y_pred=y_pred[keep]
    )
    cm = disp.confusion_matrix
    assert cm.shape == (10, 10) and cm.sum() == keep.sum()
    assert not cm[7].any() and not cm[:, 7].any()
    assert [t.get_text() for t in disp.ax_.get_xticklabels()] == list("0123456789")
    subset = DigitConfusionMatrixDisplay.from_estimator(
        fitted, X_test, y_test, labels=[3, 5]
    )
    assert subset.confusion_matrix.shape == (2, 2)


def test_confusion_matrix_bad_input_leaves_no_figure_open(digits, fitted):
    _, _, X_test, y_test = digits
    bad_calls = [
        ((X_test, y_test[:-1]), {}, "inconsistent numbers of samples"),
        ((X_test[:, :60], y_test), {}, "features"),
        ((X_test, y_test.astype(str)), {}, "Mix of label input types"),
        ((X_test, y_test), {"bogus": 1}, "bogus"),
        ((X_test, y_test), {"cmap": "no-such-colormap"}, "cmap"),  # while drawing
    ]
    for args, kwargs, message in bad_calls:
        with pytest.raises((ValueError, TypeError), match=message):
            DigitConfusionMatrixDisplay.from_estimator(fitted, *args, **kwargs)
        assert plt.get_fignums() == []
    fig, ax = plt.subplots()  # the caller's figure is the caller's to close
    with pytest.raises(ValueError, match="cmap"):
        DigitConfusionMatrixDisplay.from_estimator(
            fitted, X_test, y_test, ax=ax, cmap="no-such-colormap"
        )
    assert plt.get_fignums() == [fig.number]


def test_confusion_matrix_from_predictions_and_plot():
    y_true = np.array([3, 3, 5, 5, 5, 8])
    y_pred = np.array([3, 5, 5, 5, 8, 8])
    disp = DigitConfusionMatrixDisplay.from_predictions(y_true, y_pred)
    # sklearn's rule here: the labels found in y_true or y_pred
    expected = [[1, 1, 0], [0, 2, 1], [0, 0, 1]]
    np.testing.assert_array_equal(disp.confusion_matrix, expected)
    assert [t.get_text() for t in disp.ax_.get_xticklabels()] == ["3", "5", "8"]
    assert [t.get_text() for t in disp.ax_.texts] == list("110021001")
    assert disp.ax_.get_title() == "Confusion matrix"
    shares = DigitConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=[5, 3], normalize="all", display_labels=["five", "3"]
    )
    # shares of the 4 samples whose labels are both listed
    np.testing.assert_allclose(shares.confusion_matrix, [[0.5, 0], [0.25, 0.25]])
    assert shares.text_[1, 0].get_text() == "0.25"
    assert [t.get_text() for t in shares.ax_.get_yticklabels()] == ["five", "3"]
    # plot() draws a given matrix; without values or colorbar on request
    fig, ax = plt.subplots()
    drawn = DigitConfusionMatrixDisplay(np.eye(2, dtype=int)).plot(
        ax=ax, include_values=False, colorbar=False
    )
    assert drawn.ax_ is ax and drawn.figure_ is fig and drawn.text_ is None
    assert len(fig.axes) == 1 and drawn.im_.get_array().shape == (2, 2)


# MisclassifiedDisplay


def test_misclassified_from_estimator(digits, fitted):
    _, _, X_test, y_test = digits
    proba = fitted.predict_proba(X_test)
    y_pred = fitted.predict(X_test)
    n_wrong = (y_pred != y_test).sum()
    assert n_wrong > 16  # the tiny model makes enough mistakes to fill the grid
    disp = MisclassifiedDisplay.from_estimator(fitted, X_test, y_test)
    assert disp.n_shown_ == len(disp.indices_) == len(disp.images_) == 16
    assert disp.axes_.shape == (4, 4)
    idx = disp.indices_
    assert (y_pred[idx] != y_test[idx]).all()
    confidence = proba[idx].max(axis=1)
    assert (np.diff(confidence) <= 0).all()
    # Nothing more confident was left out.
    wrong = np.flatnonzero(y_pred != y_test)
    assert confidence[-1] >= np.sort(proba[wrong].max(axis=1))[-17]
    for k, (ax, i) in enumerate(zip(disp.axes_.ravel(), idx, strict=True)):
        match = TITLE.fullmatch(ax.get_title())
        assert match, ax.get_title()
        assert int(match[1]) == y_test[i] and int(match[2]) == y_pred[i]
        assert float(match[3]) == pytest.approx(confidence[k], abs=0.005)
        np.testing.assert_array_equal(
            disp.images_[k].get_array(), X_test[i].reshape(8, 8)
        )
    assert f"of {n_wrong} misclassified" in disp.figure_.get_suptitle()


def test_misclassified_from_predictions_few_and_fig():
    X = np.arange(5 * 4).reshape(5, 4)
    classes = np.array([3, 7])
    y_true = np.array([3, 3, 7, 7, 3])
    y_proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.95, 0.05], [0.2, 0.8], [0.1, 0.9]])
    fig = plt.figure()
    disp = MisclassifiedDisplay.from_predictions(
        X, y_true, y_proba, classes=classes, n_cols=4, fig=fig
    )
    assert disp.figure_ is fig
    np.testing.assert_array_equal(disp.indices_, [2, 4, 1])
    titles = [ax.get_title() for ax in disp.axes_.ravel()[:3]]
    assert titles == ["7 -> 3 (0.95)", "3 -> 7 (0.90)", "3 -> 7 (0.60)"]
    assert disp.axes_.shape == (1, 3)
    np.testing.assert_array_equal(disp.images_[0].get_array(), X[2].reshape(2, 2))
    with pytest.raises(ValueError, match="y_proba must have shape"):
        MisclassifiedDisplay.from_predictions(X, y_true, y_proba, classes=[0, 1, 2])


def test_misclassified_rejects_labels_of_another_type_or_unknown(digits, fitted):
    _, _, X_test, y_test = digits
    with pytest.raises(ValueError, match="Mix of label input types"):
        MisclassifiedDisplay.from_estimator(fitted, X_test, y_test.astype(str))
    proba = fitted.predict_proba(X_test)
    with pytest.raises(ValueError, match="Mix of label input types"):
        MisclassifiedDisplay.from_predictions(
            X_test, y_test, proba, classes=[str(c) for c in fitted.classes_]
        )
    y_unknown = y_test.copy()
    y_unknown[:2] = [11, 12]
    with pytest.raises(ValueError, match=r"not among classes .*: \[11, 12\]"):
        MisclassifiedDisplay.from_estimator(fitted, X_test, y_unknown)
    assert plt.get_fignums() == []


def test_misclassified_none():
    X = np.zeros((3, 64))
    y = np.array([0, 1, 2])
    disp = MisclassifiedDisplay.from_predictions(X, y, np.eye(3), classes=[0, 1, 2])
    assert disp.n_shown_ == 0 and len(disp.indices_) == 0 and disp.images_ == []
    ax = disp.axes_.ravel()[0]
    assert disp.axes_.shape == (1, 1)
    assert [t.get_text() for t in ax.texts] == ["no misclassified images"]
    assert not ax.get_images()


# Every display


_BAD_CV_RESULTS = {
    "params": [{"a": 1}, {"a": 2}],
    "mean_test_score": [0.5, 0.6],
    "std_test_score": [-0.1, 0.1],  # a negative error bar
}
_BAD_CMAP = "no-such-colormap"


@pytest.mark.parametrize(
    "draw, target",
    [
        (
            lambda **kw: ClassDistributionDisplay.from_labels([0, 1], width="x", **kw),
            "ax",
        ),
        (
            lambda **kw: DigitConfusionMatrixDisplay.from_predictions(
                [0, 1], [1, 1], cmap=_BAD_CMAP, **kw
            ),
            "ax",
        ),
        (lambda **kw: SearchScoresDisplay.from_cv_results(_BAD_CV_RESULTS, **kw), "ax"),
        (
            lambda **kw: DigitGridDisplay.from_arrays(
                np.ones((2, 4)), cmap=_BAD_CMAP, **kw
            ),
            "fig",
        ),
        (
            lambda **kw: MisclassifiedDisplay.from_predictions(
                np.ones((2, 4)),
                [0, 1],
                np.eye(2)[::-1],
                classes=[0, 1],
                cmap=_BAD_CMAP,
                **kw,
            ),
            "fig",
        ),
    ],
    ids=["distribution", "confusion", "scores", "grid", "misclassified"],
)
def test_a_display_closes_the_figure_it_made_when_drawing_fails(draw, target):
    with pytest.raises((ValueError, TypeError)):
        draw()
    assert plt.get_fignums() == []
    # The caller's axes (or figure, for the grids) stay open: they are theirs.
    fig = plt.figure()
    with pytest.raises((ValueError, TypeError)):
        draw(**{target: fig if target == "fig" else fig.subplots()})
    assert plt.get_fignums() == [fig.number]


def test_training_history_with_bad_values_leaves_no_figure_open():
    with pytest.raises(ValueError, match="could not convert"):
        TrainingHistoryDisplay.from_history({"loss": ["a"]})
    assert plt.get_fignums() == []


# save_figure


def test_save_figure(tmp_path):
    disp = ClassDistributionDisplay.from_labels([0, 1, 1])
    path = save_figure(disp, tmp_path / "c.png", dpi=50)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.get_fignums()
    fig = plt.figure()
    sub = fig.subfigures(1, 2)[1]
    grid = DigitGridDisplay.from_arrays(np.ones((2, 4)), fig=sub)
    save_figure(grid, tmp_path / "g.png")
    assert (tmp_path / "g.png").stat().st_size > 0
    assert not plt.get_fignums()
