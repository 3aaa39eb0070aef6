"""``sk-mnist evaluate`` and ``sk-mnist predict``: the commands that use a model.

``--data`` is a Kaggle-layout CSV file or images (an image folder, or for
``predict`` image files too; see :mod:`sk_mnist.cli._images`). Their outputs
are checked before anything is read: none may replace the ``--data`` file,
lie inside the ``--data`` or ``--model`` folder, or be each other (see
:mod:`sk_mnist.cli._outputs`).
"""

import json
from pathlib import Path

from . import _options as opt
from ._data import check_labels, load_data, load_labelled
from ._errors import running_network
from ._images import as_paths
from ._outputs import atomic_file, check_output_file
from ._report import metrics, versions

_HINT = "; the model may be too large for this machine"


def load_saved_model(path):
    """``load_model(path)``, running out of memory reported as such."""
    from ..persistence import load_model

    with running_network(hint=_HINT):
        return load_model(path)


def cmd_evaluate(args):
    """Print accuracy and the classification report of a saved model."""
    from sklearn.metrics import classification_report

    inputs = {"--model": args.model, "--data": args.data}
    if args.metrics is not None:
        check_output_file("--metrics", args.metrics, inputs)
    if args.confusion_matrix is not None:
        check_output_file(
            "--confusion-matrix",
            args.confusion_matrix,
            inputs,
            others={"--metrics": args.metrics},
        )
    X, y = load_labelled(args.data, "evaluate", "--data")
    model = load_saved_model(args.model)
    check_labels(y, model.classes_, args.data, f"the classes of {args.model}")
    with running_network(hint=_HINT):
        found, _, pred = metrics(model, X, y)
    print(
        f"accuracy {found['test_accuracy']:.4f} on {found['n_test']} images "
        f"(log loss {found['test_loss']:.4f})"
    )
    print(classification_report(y, pred, digits=4, zero_division=0))
    if args.metrics is not None:
        found.update(model=str(args.model), data=str(args.data), versions=versions())
        with atomic_file("--metrics", args.metrics) as tmp:
            tmp.write_text(json.dumps(found, indent=2) + "\n")
    if args.confusion_matrix is not None:
        from ..plotting import DigitConfusionMatrixDisplay, save_figure

        with atomic_file("--confusion-matrix", args.confusion_matrix) as tmp:
            display = DigitConfusionMatrixDisplay.from_estimator(
                model, X, y, y_pred=pred
            )
            save_figure(display, tmp)
    return 0


def cmd_predict(args):
    """Write predictions and class probabilities for every image."""
    import pandas as pd

    data = as_paths(args.data)
    inputs = {"--model": args.model, "--data": data}
    check_output_file("--output", args.output, inputs)
    X, _, files = load_data(data, "--data")
    model = load_saved_model(args.model)
    with running_network(hint=_HINT):
        proba = model.predict_proba(X)
    frame = pd.DataFrame(proba, columns=[f"proba_{c}" for c in model.classes_])
    best = proba.argmax(axis=1)
    frame.insert(0, "prediction", model.classes_[best])
    if files is not None:  # images: which file, and how sure
        frame.insert(0, "file", files)
        frame.insert(2, "probability", proba[range(len(best)), best])
    with atomic_file("--output", args.output) as tmp:
        # A file name that is not UTF-8 is written back as its own bytes.
        frame.to_csv(tmp, index=False, float_format="%.6g", errors="surrogateescape")
    print(f"wrote {len(frame)} predictions to {args.output}")
    return 0


EVALUATE_EXAMPLES = """\
examples:
  sk-mnist evaluate --model sk-mnist-run/model --data mnist_test.csv
  sk-mnist evaluate --model run1/model --data test.csv.gz --metrics m.json \\
      --confusion-matrix cm.png
  sk-mnist evaluate --model run1/model --data digits/   # label folders 0/-9/
"""

PREDICT_EXAMPLES = """\
examples:
  sk-mnist predict --model sk-mnist-run/model --data new_digits.csv \\
      --output predictions.csv
  sk-mnist predict --model run1/model --data my_digits/ --output p.csv
  sk-mnist predict --model run1/model --data seven.png four.jpg --output p.csv
"""


def add_evaluate_parser(sub):
    """Add the ``evaluate`` subcommand to `sub`."""
    evaluate = opt.subcommand(
        sub,
        "evaluate",
        "accuracy and classification report of a saved model",
        "Evaluate a saved model on a labelled CSV file or image folder.\n\n"
        + opt.images_note(),
        EVALUATE_EXAMPLES,
    )
    opt.add_model_options(evaluate, f"labelled images: {opt.LABELLED}")
    evaluate.add_argument(
        "--metrics",
        metavar="JSON",
        type=Path,
        help="also write the metrics to this JSON file",
    )
    evaluate.add_argument(
        "--confusion-matrix",
        metavar="PNG",
        type=opt.figure_file,
        help="also draw the confusion matrix to this PNG file (or .pdf, .svg, "
        "...: the format follows the extension)",
    )


def add_predict_parser(sub):
    """Add the ``predict`` subcommand to `sub`."""
    predict = opt.subcommand(
        sub,
        "predict",
        "predict labels and class probabilities for a CSV file or images",
        "Predict a label and class probabilities for every image of a CSV "
        "file (with or without a label column), an image folder or image "
        "files.\n\n" + opt.images_note(),
        PREDICT_EXAMPLES,
    )
    opt.add_model_options(
        predict,
        "a Kaggle-layout CSV file (labels optional), or one or more image "
        "folders (at any depth, labelled or not) and image files",
        several=True,
    )
    predict.add_argument(
        "--output",
        metavar="CSV",
        type=Path,
        required=True,
        help="where to write one row per image: prediction, then one "
        "probability column per class; for images, first the file and after "
        "the prediction its probability",
    )
