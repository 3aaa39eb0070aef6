"""
Early stopping against overfitting
==================================

The homework's network overfits the 4,000 training images after a few epochs
(see :ref:`sphx_glr_auto_examples_plot_homework.py`). Three ways to train the
same Dense 1024-512-256 network, each validated on the 1,000 test images:

* a constant learning rate for 20 epochs (the homework, at batch 128 instead
  of 32 to keep this example short);
* the same with ``early_stopping=True``: 10% of the training images are held
  out, training stops when their accuracy has not improved for
  ``n_iter_no_change`` epochs, and the weights of the best epoch are kept;
* sk-mnist's defaults: the learning rate decays along a cosine over 15
  epochs, so the last epochs take small steps and the network ends near its
  best instead of wherever the swings leave it.

About 40 seconds on two CPU cores.
"""

# %%
import matplotlib.pyplot as plt
import sklearn

from sk_mnist import make_mnist_pipeline
from sk_mnist.datasets import load_sample
from sk_mnist.plotting import TrainingHistoryDisplay

(X_train, y_train), (X_test, y_test) = load_sample()

# %%
# A constant learning rate for 20 epochs
# --------------------------------------
# ``learning_rate_schedule="constant"`` with the homework's rate of 0.001.
with sklearn.config_context(enable_metadata_routing=True):
    constant = make_mnist_pipeline(
        learning_rate=1e-3,
        learning_rate_schedule="constant",
        epochs=20,
        random_state=0,
    ).fit(X_train, y_train, X_val=X_test, y_val=y_test)
TrainingHistoryDisplay.from_estimator(constant)

# %%
# Early stopping
# --------------
# The validation data now comes from the training images themselves
# (``validation_fraction=0.1``, stratified): the test images are not used to
# choose when to stop, so the test score below stays honest. sklearn's
# ``MLPClassifier`` watches the same quantity, the validation accuracy.
stopped = make_mnist_pipeline(
    learning_rate=1e-3,
    learning_rate_schedule="constant",
    epochs=20,
    early_stopping=True,
    n_iter_no_change=4,
    random_state=0,
).fit(X_train, y_train)
mlp = stopped.named_steps["mlp"]
best_epoch = max(range(mlp.n_iter_), key=mlp.history_["val_accuracy"].__getitem__)
print(
    f"stopped after {mlp.n_iter_} of 20 epochs; "
    f"kept the weights of epoch {best_epoch + 1}"
)
TrainingHistoryDisplay.from_estimator(stopped)

# %%
# The defaults: a cosine schedule
# -------------------------------
# ``make_mnist_pipeline()`` trains with a learning rate of 0.002 that falls to
# nearly 0 over 15 epochs, recorded in ``history_["learning_rate"]``.
with sklearn.config_context(enable_metadata_routing=True):
    cosine = make_mnist_pipeline(random_state=0).fit(
        X_train, y_train, X_val=X_test, y_val=y_test
    )

# %%
# Side by side
# ------------
# Validation loss of the two runs that were validated on the test set, and
# the test accuracy of all three.
fig, (ax_loss, ax_rate) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
for name, pipe in (("constant 1e-3", constant), ("cosine 2e-3 (default)", cosine)):
    history = pipe.named_steps["mlp"].history_
    epochs = range(1, len(history["val_loss"]) + 1)
    ax_loss.plot(epochs, history["val_loss"], "-o", markersize=4, label=name)
    ax_rate.plot(epochs, history["learning_rate"], "-o", markersize=4, label=name)
ax_loss.set(xlabel="Epoch", ylabel="validation loss", title="Loss on the test set")
ax_rate.set(xlabel="Epoch", ylabel="learning rate", title="Learning rate")
for ax in (ax_loss, ax_rate):
    ax.grid(True, alpha=0.3)
    ax.legend()

for name, pipe in (
    ("constant rate, 20 epochs", constant),
    ("early stopping", stopped),
    ("cosine schedule, 15 epochs", cosine),
):
    print(f"{name:28s} test accuracy {pipe.score(X_test, y_test):.3f}")

# %%
# On this small training set early stopping tends to end lowest: it trains
# on 10% fewer images, and 400 held-out images are a noisy guide (one image is
# a quarter of a percent), so it may stop on a lucky early epoch. What it buys
# is the epochs it skips and a model chosen without looking at the test set;
# the constant-rate run's final score depends on where the swings of its last
# epoch leave it, and the cosine schedule ends near the top of them.
# ``dropout`` and ``alpha`` (an L2 penalty) are the other levers against
# overfitting; see :doc:`/model`.
