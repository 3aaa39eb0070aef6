"""
Saving, loading and predicting
==============================

A fitted pipeline is saved with :func:`~sk_mnist.save_model` as a directory
of two files, a Keras ``model.keras`` and a JSON ``sk_mnist.json``, and
loaded with :func:`~sk_mnist.load_model` without unpickling anything: a model
file from someone else cannot run code on your machine. The saved model is
the one ``sk-mnist evaluate`` and ``sk-mnist predict`` use. A small network
(one hidden layer of 256 units, 5 epochs) keeps this example to about 10
seconds on two CPU cores.
"""

# %%
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from sk_mnist import load_model, make_mnist_pipeline, save_model
from sk_mnist.cli import main as sk_mnist_command
from sk_mnist.datasets import load_sample, save_mnist_csv
from sk_mnist.plotting import DigitGridDisplay

(X_train, y_train), (X_test, y_test) = load_sample()
pipe = make_mnist_pipeline(hidden_layer_sizes=(256,), epochs=5, random_state=0)
pipe.fit(X_train, y_train)
print(f"test accuracy: {pipe.score(X_test, y_test):.3f}")

# %%
# Save
# ----
# The directory is written under a temporary name and renamed into place, so
# an interrupted save never leaves half a model behind.
workdir = Path(tempfile.mkdtemp(prefix="sk-mnist-example-"))
save_model(pipe, workdir / "model")
for path in sorted((workdir / "model").iterdir()):
    print(f"{path.name:14s} {path.stat().st_size:>9,d} bytes")

# %%
# ``sk_mnist.json`` is readable: the steps, their parameters and fitted
# attributes, the versions that wrote it and the SHA-256 of ``model.keras``,
# which :func:`~sk_mnist.load_model` checks before Keras reads the file (in
# its safe mode).
doc = json.loads((workdir / "model" / "sk_mnist.json").read_text())
print({key: doc[key] for key in ("format", "format_version", "kind", "versions")})
print([(step["name"], step["class"]) for step in doc["steps"]])

# %%
# Load and predict
# ----------------
# The loaded pipeline gives exactly the same probabilities.
loaded = load_model(workdir / "model")
assert np.array_equal(loaded.predict_proba(X_test), pipe.predict_proba(X_test))
loaded

# %%
# Twenty test digits, titled with the loaded model's predictions:
DigitGridDisplay.from_arrays(
    X_test[:20], loaded.predict(X_test[:20]), n_images=20, n_cols=10
)

# %%
# The same from the command line
# ------------------------------
# ``sk-mnist predict`` reads any Kaggle-layout CSV, with or without a label
# column, and writes the prediction and one probability column per class.
# :func:`sk_mnist.cli.main` runs the command in this process; in a shell it
# is ``sk-mnist predict --model model --data new_digits.csv --output
# predictions.csv``.
save_mnist_csv(workdir / "new_digits.csv", X_test[:5])
status = sk_mnist_command(
    [
        "predict",
        "--model",
        str(workdir / "model"),
        "--data",
        str(workdir / "new_digits.csv"),
        "--output",
        str(workdir / "predictions.csv"),
    ]
)
print("exit status", status)
pd.read_csv(workdir / "predictions.csv").round(3)

# %%
# Pickle and joblib work too (``joblib.dump(pipe, "model.joblib")``), but
# only load such files from sources you trust: unpickling can run any code.
# See :doc:`/persistence` for the file format and what is checked on loading.
