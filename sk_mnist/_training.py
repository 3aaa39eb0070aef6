"""Plain pieces of DenseMLPClassifier's fit loop, which need no estimator.

:mod:`sk_mnist.estimator` holds the loop itself; here are the steps it
calls: the checks of callbacks, labels and sample weights, the
early-stopping hold-out, the learning-rate schedule, the stop on a
non-finite loss, the roll-back of a failed call and its messages.
"""

import functools
import math
from collections.abc import Mapping

import keras
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import column_or_1d

from ._messages import is_out_of_memory

__all__ = [
    "StopOnNonFiniteLoss",
    "augmenter_seed",
    "check_callbacks",
    "check_no_rate_callbacks",
    "cosine_schedule",
    "divergence_message",
    "encode_labels",
    "is_out_of_memory",
    "out_of_memory_message",
    "restore",
    "snapshot",
    "stratified_holdout",
    "training_weights",
    "unit_mean",
]

# What the backends raise when an allocation fails, by class name so that none
# of them need be imported: TensorFlow's ResourceExhaustedError, PyTorch's
# OutOfMemoryError; JAX raises an XlaRuntimeError (JaxRuntimeError) whose
# message starts with RESOURCE_EXHAUSTED.


def _cosine(epoch, lr, *, base, epochs):
    """Half-cosine learning rate for ``epoch`` (0-based) of ``epochs``."""
    return base * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))


def cosine_schedule(learning_rate, epochs):
    """A Keras callback lowering the rate from ``learning_rate`` along half a cosine."""
    cosine = functools.partial(_cosine, base=float(learning_rate), epochs=epochs)
    return keras.callbacks.LearningRateScheduler(cosine)


def check_no_rate_callbacks(callbacks):
    """Reject user callbacks that the cosine schedule would override.

    ``callbacks`` is scikeras' built list: callbacks, or lists of them.
    """
    rate_callbacks = (
        keras.callbacks.LearningRateScheduler,
        keras.callbacks.ReduceLROnPlateau,
    )
    for item in callbacks:
        for callback in item if isinstance(item, list) else [item]:
            if isinstance(callback, rate_callbacks):
                raise ValueError(
                    f"callbacks include {type(callback).__name__}, which "
                    "learning_rate_schedule='cosine' would override; set "
                    "learning_rate_schedule='constant' to use it."
                )


class StopOnNonFiniteLoss(keras.callbacks.TerminateOnNaN):
    """Keras' ``TerminateOnNaN`` that remembers where, and prints nothing.

    Stops training at the first batch whose loss is NaN or infinite, and
    keeps the epoch and the loss so that the estimator can say so. It only
    reads the logs and sets ``stop_training``, so it declares itself
    ``async_safe``: Keras then keeps dispatching batch callbacks in the
    background instead of waiting for every batch's loss (training may run
    a few batches past the first bad one before it stops).
    """

    async_safe = True

    def __init__(self):
        super().__init__()
        self.epoch = self.loss = None
        self._current_epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if self.loss is None and loss is not None and not np.isfinite(loss):
            self.epoch, self.loss = self._current_epoch, float(loss)
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.on_batch_end(None, logs)


def stratified_holdout(X, y_idx, sample_weight, validation_fraction, rng):
    """Stratified split of the training data for early stopping.

    Returns the training part of ``X``, ``y_idx`` and ``sample_weight``, and
    the validation data as Keras takes it.
    """
    try:
        train, val = train_test_split(
            np.arange(X.shape[0]),
            test_size=validation_fraction,
            stratify=y_idx,
            random_state=rng,
        )
    except ValueError as err:
        raise ValueError(
            "early_stopping needs a stratified validation split of "
            f"validation_fraction={validation_fraction}: {err}"
        ) from None
    sw_train = None if sample_weight is None else sample_weight[train]
    return X[train], y_idx[train], sw_train, (X[val], y_idx[val])


def encode_labels(classes, y, what="y"):
    """Map labels to indices of ``classes``; reject unseen labels."""
    y = column_or_1d(y)
    try:
        idx = np.searchsorted(classes, y)
    except TypeError:  # e.g. string labels against integer classes_
        raise ValueError(
            f"{what} holds labels of type {y.dtype}, but the classes seen in "
            f"the first fit are {classes.tolist()}"
        ) from None
    idx = np.clip(idx, 0, len(classes) - 1)
    unseen = classes[idx] != y
    if np.any(unseen):
        raise ValueError(
            f"{what} contains labels not seen in the first fit: "
            f"{np.unique(y[unseen])[:5].tolist()}; known classes are "
            f"{classes.tolist()}"
        )
    return idx.astype(np.int32)


def training_weights(sample_weight, y, class_weight):
    """Per-sample weights from ``sample_weight`` times ``class_weight``, or None."""
    n_samples = len(y)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.ndim == 0:
            sample_weight = np.full(n_samples, float(sample_weight))
        if sample_weight.shape != (n_samples,):
            raise ValueError(
                f"sample_weight.shape == {sample_weight.shape}, expected "
                f"{(n_samples,)}!"
            )
        if not np.all(np.isfinite(sample_weight)) or np.any(sample_weight < 0):
            raise ValueError("sample_weight must be finite and non-negative.")
        if not np.any(sample_weight):
            raise ValueError(
                "No training sample has any weight: sample_weight is all zero."
            )
    if class_weight is not None:
        class_sw = compute_sample_weight(class_weight, y)
        sample_weight = class_sw if sample_weight is None else sample_weight * class_sw
    return sample_weight


def unit_mean(sample_weight):
    """``sample_weight`` scaled to mean 1, as float32 (None stays None).

    Keras averages the weighted losses over the batch size, so the scale of
    the weights would act as a factor on the learning rate; sklearn's
    ``MLPClassifier`` divides by their sum instead.
    """
    if sample_weight is None:
        return None
    total = sample_weight.sum()
    if not total:  # the weighted samples all went to the hold-out
        raise ValueError(
            "No training sample has any weight: sample_weight is zero on "
            "every sample left after the early-stopping hold-out."
        )
    return (sample_weight / (total / sample_weight.size)).astype(np.float32)


def augmenter_seed(seed, epochs_done):
    """The seed of the distortions of a call that starts after ``epochs_done`` epochs.

    A fit's ``seed`` is the same in every call with an int ``random_state``;
    mixing in the epochs already run (``n_iter_``, saved with the model)
    makes each :meth:`partial_fit` or warm start draw new distortions, and
    the same ones again for the same calls. None stays None (unseeded).
    """
    if seed is None:
        return None
    state = np.random.SeedSequence([int(seed), int(epochs_done)]).generate_state(1)
    return int(state[0] >> 1)  # a non-negative int32


def _is_callback(item):
    return isinstance(item, keras.callbacks.Callback) or (
        isinstance(item, type) and issubclass(item, keras.callbacks.Callback)
    )


def check_callbacks(name, value, owner):
    """Raise unless ``value`` is None or callbacks in a form scikeras builds.

    That is a Keras callback (instance or class), a list or tuple of them or
    of lists of them, or a dict of those. A saved model's JSON could hold
    anything here, and Keras would only fail at predict time.
    """
    if value is None:
        return
    items = value.values() if isinstance(value, Mapping) else value
    if not isinstance(items, (list, tuple)) and not isinstance(value, Mapping):
        items = [value]
    for item in items:
        nested = item if isinstance(item, (list, tuple)) else [item]
        if not all(_is_callback(callback) for callback in nested):
            raise InvalidParameterError(
                f"The {name!r} parameter of {owner} must hold Keras callbacks "
                "(keras.callbacks.Callback instances or subclasses), got "
                f"{item!r}."
            )


def snapshot(model):
    """Copies of the network's weights and its optimizer's variables."""
    to_numpy = keras.ops.convert_to_numpy
    return (
        [to_numpy(v.value) for v in model.weights],
        [to_numpy(v.value) for v in model.optimizer.variables],
    )


def restore(model, snapshot):
    """Put :func:`snapshot`'s copies back; False if the optimizer grew since."""
    weights, slots = snapshot
    if len(model.optimizer.variables) != len(slots):
        return False
    model.set_weights(weights)
    for variable, value in zip(model.optimizer.variables, slots, strict=True):
        variable.assign(value)
    return True


def divergence_message(stopper, losses, learning_rate):
    """Where the loss became NaN or infinite, and what to try."""
    if stopper.loss is not None:
        epoch, loss = stopper.epoch + 1, stopper.loss
    else:
        epoch = int(np.argmin(np.isfinite(losses))) + 1
        loss = losses[epoch - 1]
    return (
        f"training diverged in epoch {epoch}: the loss became {loss}; lower "
        f"learning_rate ({learning_rate:g}) or check the data and "
        "sample weights"
    )


def out_of_memory_message(sizes, batch_size, err):
    """The network's size and what to shrink; ``sizes`` are all layer widths."""
    n_weights = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
    reason = reason.split("}}")[-1].strip()[:160] or type(err).__name__
    return (
        f"out of memory building or training the network of "
        f"hidden_layer_sizes={sizes[1:-1]} ({n_weights:,} weights) at "
        f"batch_size={batch_size}; try smaller hidden_layer_sizes or "
        f"batch_size ({reason})"
    )
