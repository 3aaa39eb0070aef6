"""What the commands print and record: metrics, versions, plain values."""

import contextlib
import sys

from .._messages import say as _say


def say(args, message):
    """Print a progress ``message`` on stdout unless ``--quiet``."""
    _say(not args.quiet, message, file=sys.stdout)


def versions():
    """The versions a run records: the libraries, the backend and Python."""
    from importlib.metadata import PackageNotFoundError, version

    import keras
    import numpy
    import sklearn

    from .. import __version__

    try:
        scikeras = version("scikeras")
    except PackageNotFoundError:  # pragma: no cover
        scikeras = None
    backend = keras.backend.backend()
    found = {
        "sk_mnist": __version__,
        "keras": keras.__version__,
        "sklearn": sklearn.__version__,
        "scikeras": scikeras,
        "numpy": numpy.__version__,
        "keras_backend": backend,
        "python": sys.version.split()[0],
    }
    with contextlib.suppress(Exception):
        found[backend] = __import__(backend).__version__
    return found


def metrics(model, X, y):
    """Accuracy, log loss and per-class report of ``model`` on (X, y), and the
    class probabilities and predictions they came from (so callers need not
    predict again)."""
    from sklearn.metrics import accuracy_score, classification_report, log_loss

    proba = model.predict_proba(X)
    pred = model.classes_[proba.argmax(axis=1)]
    report = classification_report(y, pred, output_dict=True, zero_division=0)
    per_class = {
        str(label): {
            key: report[str(label)][key]
            for key in ("precision", "recall", "f1-score", "support")
        }
        for label in model.classes_
        if str(label) in report
    }
    found = {
        "test_accuracy": float(accuracy_score(y, pred)),
        "test_loss": float(log_loss(y, proba, labels=model.classes_)),
        "per_class": per_class,
        "n_test": int(len(y)),
    }
    return found, proba, pred
