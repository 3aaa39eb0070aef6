"""
The Keras homework, reproduced
==============================

The classic Keras exercise goes: read Kaggle's ``mnist_train.csv``, look at
the class counts and at one digit, divide the pixels by 255, train a Dense
1024-512-256 relu network with a softmax output and Adam (learning rate
0.001, batch 32, 20 epochs) while validating on the test set after every
epoch, plot the loss and accuracy curves, and notice that it overfits.

Here is the same exercise with sk-mnist, step by step, on the 4,000 + 1,000
real MNIST digits shipped with the package, with the homework's exact recipe
(:data:`~sk_mnist.estimator.HOMEWORK_PARAMS`). It takes about 40 seconds on
two CPU cores.
"""

# %%
# Load the digits
# ---------------
# The homework reads the CSV with pandas and splits off the label column.
# :func:`~sk_mnist.load_sample` returns the embedded sample in the
# same form as :func:`~sk_mnist.load_mnist_csv` returns a Kaggle file
# (``X, y = load_mnist_csv("mnist_train.csv")``): one row of 784 grey levels
# (uint8) per image and integer labels.
import matplotlib.pyplot as plt
import sklearn

from sk_mnist import HOMEWORK_PARAMS, make_mnist_pipeline
from sk_mnist.datasets import load_sample
from sk_mnist.plotting import (
    ClassDistributionDisplay,
    DigitGridDisplay,
    TrainingHistoryDisplay,
)

(X_train, y_train), (X_test, y_test) = load_sample()
print(f"train: X {X_train.shape} {X_train.dtype}, y {y_train.shape}")
print(f"test:  X {X_test.shape} {X_test.dtype}, y {y_test.shape}")

# %%
# Class counts
# ------------
# ``sns.countplot(y_train)`` in the homework. The sample has 400 training and
# 100 test images of each digit; the full MNIST set is nearly as balanced.
ClassDistributionDisplay.from_labels(y_train, y_test)

# %%
# One digit
# ---------
# ``plt.imshow(x_train[0].reshape(28, 28))``: each row of ``X`` is an image
# flattened row by row.
DigitGridDisplay.from_arrays(
    X_train, y_train, n_images=1, n_cols=1, fig=plt.figure(figsize=(2.5, 2.8))
)

# %%
# The network and its training recipe
# -----------------------------------
# Dividing by 255 is the pipeline's first step,
# :class:`~sk_mnist.PixelScaler`; the network is
# :class:`~sk_mnist.DenseMLPClassifier`, whose layers default to the
# homework's 1024-512-256. Its training defaults are faster than the
# homework's (see :doc:`/model`), so ask for the homework's recipe:
print(dict(HOMEWORK_PARAMS))

# %%
# Keras' ``validation_data=(x_test, y_test)`` becomes ``X_val``/``y_val``.
# sklearn's metadata routing sends them through the same
# :class:`~sk_mnist.PixelScaler` as the training images, so the network sees
# the test images divided by 255 too.
with sklearn.config_context(enable_metadata_routing=True):
    pipe = make_mnist_pipeline(**HOMEWORK_PARAMS, random_state=0)
    pipe.fit(X_train, y_train, X_val=X_test, y_val=y_test)
pipe

# %%
# The Keras model inside is an ordinary one:
pipe.named_steps["mlp"].model_.summary()

# %%
# ``model.evaluate(x_test, y_test)`` is sklearn's ``score``:
print(f"test accuracy: {pipe.score(X_test, y_test):.3f}")

# %%
# Loss and accuracy curves
# ------------------------
# ``plt.plot(history.history["loss"])`` and friends. The history is the
# fitted classifier's ``history_``, one value per epoch.
TrainingHistoryDisplay.from_estimator(pipe)

# %%
# It overfits
# -----------
# The training loss keeps falling towards 0 while the validation loss is at
# its lowest after two or three epochs and then rises and swings from epoch
# to epoch; the validation accuracy stops improving early and wobbles by a
# percent or two. On 4,000 images this network (1.5 million weights) learns
# the training set by heart. :ref:`sphx_glr_auto_examples_plot_early_stopping.py`
# shows what to do about it, and the defaults of
# :class:`~sk_mnist.DenseMLPClassifier` (batch 128, a cosine learning-rate
# schedule, 15 epochs) land near the best epoch in less time.
history = pipe.named_steps["mlp"].history_
best = min(range(len(history["val_loss"])), key=history["val_loss"].__getitem__)
print(
    f"lowest validation loss {history['val_loss'][best]:.3f} after epoch {best + 1}; "
    f"after epoch 20: {history['val_loss'][-1]:.3f} "
    f"(training loss {history['loss'][-1]:.4f})"
)
