"""
Confusion matrix and the worst mistakes
=======================================

Train the pipeline with its defaults (the homework's Dense 1024-512-256
network, batch 128, a cosine learning-rate schedule, 15 epochs), then look at
which digits it confuses and at the test images it got wrong with the most
confidence. About 15 seconds on two CPU cores.
"""

# %%
import numpy as np
from sklearn.metrics import classification_report

from sk_mnist import make_mnist_pipeline
from sk_mnist.datasets import load_sample
from sk_mnist.plotting import DigitConfusionMatrixDisplay, MisclassifiedDisplay

(X_train, y_train), (X_test, y_test) = load_sample()
pipe = make_mnist_pipeline(random_state=0).fit(X_train, y_train)
y_proba = pipe.predict_proba(X_test)  # predict once, for every figure below
y_pred = pipe.classes_[y_proba.argmax(axis=1)]
print(classification_report(y_test, y_pred, digits=3))

# %%
# Confusion matrix
# ----------------
# Rows are the true digits, columns the predicted ones; the diagonal holds
# the correct predictions.
# :class:`~sk_mnist.plotting.DigitConfusionMatrixDisplay` draws with sklearn's
# ``ConfusionMatrixDisplay``, with a row and a column for every class the
# pipeline knows; passing the predictions already made saves predicting again.
disp = DigitConfusionMatrixDisplay.from_estimator(pipe, X_test, y_test, y_pred=y_pred)

# %%
# The largest off-diagonal cells are the digits the network mixes up most
# often. With so few mistakes on a test set this small, several cells tie and
# their order changes with the seed and the backend, so the script lists them
# (the five largest, ties in label order) rather than the text naming them:
mistakes = disp.confusion_matrix.copy()
np.fill_diagonal(mistakes, 0)
labels = disp.display_labels
for flat in np.argsort(-mistakes, axis=None, kind="stable")[:5]:
    true, pred = np.unravel_index(flat, mistakes.shape)
    if mistakes[true, pred]:
        print(f"{labels[true]} taken for {labels[pred]}: {mistakes[true, pred]} times")

# %%
# With ``normalize="true"`` each row sums to 1: the diagonal is the recall of
# each digit.
DigitConfusionMatrixDisplay.from_estimator(
    pipe, X_test, y_test, y_pred=y_pred, normalize="true"
)

# %%
# The worst mistakes
# ------------------
# The misclassified test images, most confident first, titled
# ``true -> predicted (probability of the predicted digit)``. Several are
# hard for a person too; some are plainly mislabelled or cut off.
MisclassifiedDisplay.from_predictions(
    X_test, y_test, y_proba, classes=pipe.classes_, n_images=16
)
