"""
Progress bars, per-epoch scores and stopping with scikit-learn's callbacks
==========================================================================

scikit-learn 1.9 added callbacks that estimators report their fit to
(``sklearn.callback``). :class:`~sk_mnist.DenseMLPClassifier` reports each
fit as a task with one subtask per epoch, so that:

* ``ProgressBar`` draws a bar per fit that moves epoch by epoch, nested in
  the bars of a pipeline or a search;
* ``ScoringMonitor`` records a score after every epoch, computed on a copy
  of the classifier that predicts with that epoch's network and whose
  ``history_`` ends at that epoch (its loss, accuracy and, when validating,
  ``val_loss`` and ``val_accuracy``);
* a callback that returns True at the end of an epoch stops training there,
  as early stopping does.

This needs scikit-learn 1.9 and, for the bars, rich. About 10 seconds on two
CPU cores.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.callback import ProgressBar, ScoringMonitor

from sk_mnist import make_mnist_pipeline
from sk_mnist.datasets import load_sample

(X_train, y_train), (X_test, y_test) = load_sample()


# %%
# Recording every epoch
# ---------------------
# A ``ScoringMonitor`` scores the classifier it is set on. Its scoring can
# be any callable; this one reads the epoch's entries of ``history_``. With
# ``early_stopping=True`` a tenth of the images is held out, so the epochs
# have validation metrics too. ``ProgressBar`` on the pipeline draws the
# pipeline's bar and, nested in it, the scaler's and the network's.
def last_epoch(estimator, X, y, **metadata):
    """The epoch's loss, accuracy, validation metrics and learning rate."""
    return {name: values[-1] for name, values in estimator.history_.items()}


monitor = ScoringMonitor(scoring=last_epoch)
pipe = make_mnist_pipeline(
    hidden_layer_sizes=(128,), epochs=12, early_stopping=True, random_state=0
)
pipe.named_steps["mlp"].set_callbacks(monitor)
pipe.set_callbacks(ProgressBar())
pipe.fit(X_train, y_train)

# %%
# One row per epoch, equal to the classifier's ``history_`` (the last row is
# the whole fit's task):
rows = [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]
history = pipe.named_steps["mlp"].history_
assert [row["val_loss"] for row in rows] == history["val_loss"]

fig, ax = plt.subplots(figsize=(6, 3.5))
epochs = [row["task_id"] + 1 for row in rows]
ax.plot(epochs, [row["loss"] for row in rows], "o-", label="training loss")
ax.plot(epochs, [row["val_loss"] for row in rows], "o-", label="validation loss")
ax.set(xlabel="epoch", ylabel="cross-entropy", title="ScoringMonitor, per epoch")
ax.legend()
fig.tight_layout()


# %%
# Stopping from a callback
# ------------------------
# The framework's stop request is ``on_fit_task_end`` returning True. This
# callback asks for it once the held-out accuracy reaches 90%; training ends
# after that epoch, and ``n_iter_`` and ``history_`` stop there.
class StopAtAccuracy:
    """Stop training once an epoch's validation accuracy reaches ``target``."""

    def __init__(self, target):
        self.target = target

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.task_name != "epoch" or fitted_estimator is None:
            return False
        return fitted_estimator.history_["val_accuracy"][-1] >= self.target


pipe = make_mnist_pipeline(
    hidden_layer_sizes=(128,), epochs=12, early_stopping=True, random_state=0
)
pipe.named_steps["mlp"].set_callbacks(StopAtAccuracy(0.9))
pipe.fit(X_train, y_train)
mlp = pipe.named_steps["mlp"]
print(
    f"stopped after {mlp.n_iter_} of 12 epochs, at validation accuracy "
    f"{mlp.history_['val_accuracy'][-1]:.3f}; test accuracy "
    f"{pipe.score(X_test, y_test):.3f}"
)
