"""DenseMLPClassifier's training loop and input checks, behind its public face.

:class:`TrainingMixin` holds what ``fit``, ``partial_fit`` and ``predict``
share: the checks of ``X`` and ``y``, building and compiling the network,
the callbacks, the loop itself and the clean-up after a diverged or
out-of-memory fit. The functions and the Keras callback below it need no
estimator: the learning-rate schedule, the stop on a non-finite loss, the
early-stopping hold-out, sample weights and label encoding.
:mod:`sk_mnist.estimator` keeps the parameters, the public methods and the
fitted state.
"""

import functools
import math

import keras
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ._augment import check_augment, image_side, make_augmenter
from ._callbacks import CallbackSupportMixin, FitTask, with_callbacks
from ._fitted_state import FITTED_ATTRIBUTES, plain
from ._keras_runtime import (
    clear_session,
    compile_speed_settings,
    limit_backend_threads,
    predict_in_chunks,
    seeded,
    skip_single_replica_all_reduce,
)
from .model import build_dense_mlp

__all__ = [
    "StopOnNonFiniteLoss",
    "TrainingMixin",
    "augmenter_seed",
    "check_no_rate_callbacks",
    "cosine_schedule",
    "encode_labels",
    "is_out_of_memory",
    "stratified_holdout",
    "training_weights",
    "unit_mean",
]

# What the backends raise when an allocation fails, by class name so that none
# of them need be imported: TensorFlow's ResourceExhaustedError, PyTorch's
# OutOfMemoryError; JAX raises an XlaRuntimeError (JaxRuntimeError) whose
# message starts with RESOURCE_EXHAUSTED.
_OOM_CLASSES = {"ResourceExhaustedError", "OutOfMemoryError"}
# Keras' predict loop (used with predict__ parameters or callbacks) runs at
# least this many rows per batch: batch_size is a training setting.
_MIN_PREDICT_BATCH = 1024


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


def is_out_of_memory(err):
    """Whether ``err`` is a failed allocation, on any Keras backend."""
    names = {cls.__name__ for cls in type(err).__mro__}
    return (
        isinstance(err, MemoryError)
        or bool(names & _OOM_CLASSES)
        or (
            "RESOURCE_EXHAUSTED" in str(err)
            and bool(names & {"XlaRuntimeError", "JaxRuntimeError"})
        )
    )


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


def _snapshot(model):
    """Copies of the network's weights and its optimizer's variables."""
    to_numpy = keras.ops.convert_to_numpy
    return (
        [to_numpy(v.value) for v in model.weights],
        [to_numpy(v.value) for v in model.optimizer.variables],
    )


def _restore(model, snapshot):
    """Put :func:`_snapshot`'s copies back; False if the optimizer grew since."""
    weights, slots = snapshot
    if len(model.optimizer.variables) != len(slots):
        return False
    model.set_weights(weights)
    for variable, value in zip(model.optimizer.variables, slots, strict=True):
        variable.assign(value)
    return True


class TrainingMixin(CallbackSupportMixin):
    """The training loop of :class:`~sk_mnist.DenseMLPClassifier`.

    Reads the estimator's parameters; sets ``classes_``, ``n_classes_``,
    ``n_features_in_``, ``feature_names_in_``, ``model_``, ``history_``,
    ``n_iter_`` and the record of the network's build parameters; reports
    fits and epochs to sklearn's callbacks (1.9+, ``_callbacks.py``).
    """

    def _validate_inputs(self, X, y=None, *, reset):
        """Check X (and y) and set or compare ``n_features_in_``."""
        if y is None and reset:
            # validate_data raises sklearn's "requires y to be passed" error.
            validate_data(self, X, y, reset=True)
        if y is None:
            return validate_data(self, X, reset=reset, dtype=np.float32), None
        X, y = validate_data(self, X, y, reset=reset, dtype=np.float32)
        check_classification_targets(y)
        return X, y

    def _validate_validation_data(self, X_val, y_val):
        """Check ``X_val``/``y_val`` like ``X``/``y``, naming them in errors."""
        X_checked = check_array(X_val, dtype=np.float32, input_name="X_val")
        if X_checked.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X_val has {X_checked.shape[1]} features, but "
                f"{type(self).__name__} is expecting {self.n_features_in_} "
                "features as input."
            )
        # Feature names of a DataFrame X_val against those of X.
        validate_data(self, X_val, reset=False, skip_check_array=True)
        y_val = check_array(y_val, ensure_2d=False, dtype=None, input_name="y_val")
        check_consistent_length(X_checked, y_val)
        return X_checked, encode_labels(self.classes_, y_val, what="y_val")

    def _set_classes(self, y):
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the "
                f"data, but the data contains only one class: {classes.tolist()}"
            )
        self.classes_ = classes
        self.n_classes_ = len(classes)

    def _build_model(self, widths, seed, work):
        # In a joblib or Dask worker, stay within the worker's share of cores.
        limit_backend_threads()
        clear_session()
        model = build_dense_mlp(
            self.n_features_in_,
            self.n_classes_,
            widths,
            activation=self.activation,
            dropout=self.dropout,
            alpha=self.alpha,
            seed=seed,
            check_input=False,  # _validate_params has checked them
        )
        optimizer_cls = type(keras.optimizers.get(self.optimizer))
        optimizer = optimizer_cls(
            learning_rate=self.learning_rate, **self._routed("optimizer")
        )
        self._compile(model, optimizer, work)
        return model

    def _compile(self, model, optimizer, work):
        compile_kwargs = {
            "metrics": ["accuracy"],
            **compile_speed_settings(self.batch_size, work),
            **self._routed("compile"),  # compile__ arguments win
        }
        model.compile(
            optimizer=optimizer,
            loss="sparse_categorical_crossentropy",
            **compile_kwargs,
        )

    def _training_model(self, seed, epochs_done, work):
        """The model to fit: ``model_`` itself, or the augmenter in front of it.

        With ``augment`` set, a model ``augmenter -> model_`` sharing
        ``model_``'s layers and optimizer: fitting it trains ``model_``,
        which stays the network that is saved, exported and served. It is
        kept (``_trainer``) for the next :meth:`partial_fit` or warm start
        with the same ranges, which then reuse its compiled training step;
        its distortions are reseeded for each call (:func:`augmenter_seed`).
        """
        ranges = check_augment(self.augment)
        if ranges is None:
            vars(self).pop("_trainer", None)
            return self.model_
        cached = getattr(self, "_trainer", None)
        if cached is None or cached[0] is not self.model_ or cached[1] != ranges:
            augmenter = make_augmenter(ranges, self.n_features_in_)
            inputs = keras.Input(shape=(self.n_features_in_,), name="images")
            trainer = keras.Model(
                inputs, self.model_(augmenter(inputs)), name="augmented_training"
            )
            self._compile(trainer, self.model_.optimizer, work)
            cached = self._trainer = (self.model_, ranges, trainer, augmenter)
        _, _, trainer, augmenter = cached
        seed = augmenter_seed(seed, epochs_done)
        if seed is not None:
            state = augmenter.seed_generator.state
            state.assign(np.asarray([seed, 0], dtype=state.dtype))
        return trainer

    def __getstate__(self):
        # The augmented trainer holds model_ a second time and is rebuilt
        # when needed: pickles, copies and clones leave it out.
        state = dict(super().__getstate__())
        state.pop("_trainer", None)
        return state

    def _callbacks(self, epochs, validation_data):
        """The fit's Keras callbacks, and the one watching for divergence."""
        callbacks = self._built_callbacks("fit")
        if self.early_stopping and validation_data is not None:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    # sklearn's MLPClassifier watches the validation score
                    # (accuracy); the loss is a noisier guide to accuracy here.
                    monitor="val_accuracy",
                    mode="max",
                    patience=self.n_iter_no_change,
                    restore_best_weights=True,
                )
            )
        if self.learning_rate_schedule == "cosine" and epochs > 1:
            check_no_rate_callbacks(callbacks)
            callbacks.append(cosine_schedule(self.learning_rate, epochs))
        stopper = StopOnNonFiniteLoss()
        return [*callbacks, stopper], stopper

    @with_callbacks
    def _train(
        self, X, y, sample_weight, X_val, y_val, *, epochs, first_call, classes=None
    ):
        """Shared body of :meth:`fit` and :meth:`partial_fit`."""
        self._validate_params()
        widths = self._widths()
        if not first_call:
            self._check_network_unchanged(widths)
        X, y = self._validate_inputs(X, y, reset=first_call)
        try:
            image_side(self.augment, X.shape[1])
        except ValueError:
            if first_call:  # as validate_data found it: not fitted on X
                self._forget_failed_call(None)
            raise
        if first_call:
            self._set_classes(y if classes is None else np.asarray(classes))
        y_idx = encode_labels(self.classes_, y)
        sample_weight = training_weights(sample_weight, y, self.class_weight)

        rng = check_random_state(self.random_state)
        seed = None if self.random_state is None else int(rng.randint(2**31 - 1))

        validation_data = None
        if X_val is not None or y_val is not None:
            if X_val is None or y_val is None:
                raise ValueError("X_val and y_val must be given together.")
            validation_data = self._validate_validation_data(X_val, y_val)
        elif self.early_stopping and epochs > 1:
            X, y_idx, sample_weight, validation_data = stratified_holdout(
                X, y_idx, sample_weight, self.validation_fraction, rng
            )

        sample_weight = unit_mean(sample_weight)
        task = FitTask(self, X, y_idx, sample_weight, epochs=epochs)
        callbacks, stopper = self._callbacks(epochs, validation_data)
        fit_kwargs = {
            "batch_size": self.batch_size,
            "verbose": self.verbose,
            "shuffle": self.shuffle,
            **self._routed("fit"),
            "sample_weight": sample_weight,
            "epochs": epochs,
            "validation_data": validation_data,
            "callbacks": [*callbacks, *task.keras_callbacks],
        }
        snapshot = None if first_call else _snapshot(self.model_)
        try:
            with seeded(seed):
                if first_call:
                    self.model_ = self._build_model(widths, seed, X.shape[0] * epochs)
                    self._network_params = self._built_params(widths)
                    self.history_ = {}
                else:
                    # A cosine cycle of an earlier fit leaves its last rate.
                    self.model_.optimizer.learning_rate = float(self.learning_rate)
                n_done = 0 if first_call else self.n_iter_
                # Without this, TensorFlow keeps every fit's weights alive.
                skip_single_replica_all_reduce(self.model_.optimizer)
                model = self._training_model(seed, n_done, X.shape[0] * epochs)
                history = model.fit(X, y_idx, **fit_kwargs)
        except BaseException as err:
            # A callback's error, an interruption: roll back, then re-raise.
            if not is_out_of_memory(err):
                self._forget_failed_call(snapshot)
                raise
            message = self._out_of_memory_message(widths, err)
            left = self._forget_failed_call(snapshot)
            raise MemoryError(f"{message}; {left}") from None
        logs = dict(history.history)
        losses = np.asarray(logs.get("loss", ()), dtype=np.float64)
        if stopper.loss is not None or not np.all(np.isfinite(losses)):
            message = self._divergence_message(stopper, losses)
            left = self._forget_failed_call(snapshot)
            raise ValueError(f"{message}; {left}")
        if "learning_rate" not in logs:  # no schedule: the rate was constant
            logs["learning_rate"] = [self.learning_rate] * len(losses)
        for key, values in logs.items():
            self.history_.setdefault(key, []).extend(float(v) for v in values)
        self.n_iter_ = len(self.history_.get("loss", ()))
        task.end()
        return self

    def _forget_failed_call(self, snapshot):
        """Leave the estimator as it was before a failed fit; say how, in words."""
        if snapshot is not None and _restore(self.model_, snapshot):
            return "the network is left as it was before this call"
        for name in FITTED_ATTRIBUTES:
            vars(self).pop(name, None)
        return "the estimator is left unfitted"

    def _divergence_message(self, stopper, losses):
        if stopper.loss is not None:
            epoch, loss = stopper.epoch + 1, stopper.loss
        else:
            epoch = int(np.argmin(np.isfinite(losses))) + 1
            loss = losses[epoch - 1]
        return (
            f"training diverged in epoch {epoch}: the loss became {loss}; lower "
            f"learning_rate ({self.learning_rate:g}) or check the data and "
            "sample weights"
        )

    def _out_of_memory_message(self, widths, err):
        sizes = (self.n_features_in_, *widths, self.n_classes_)
        n_weights = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        reason = reason.split("}}")[-1].strip()[:160] or type(err).__name__
        return (
            f"out of memory building or training the network of "
            f"hidden_layer_sizes={widths} ({n_weights:,} weights) at "
            f"batch_size={self.batch_size}; try smaller hidden_layer_sizes or "
            f"batch_size ({reason})"
        )

    def _built_params(self, widths):
        """The parameters that are fixed in a built and compiled network."""
        params = {
            "hidden_layer_sizes": widths,
            "activation": self.activation,
            "dropout": self.dropout,
            "alpha": self.alpha,
            "optimizer": self.optimizer,
        }
        for route in ("optimizer", "compile"):
            params.update(
                (f"{route}__{name}", value)
                for name, value in self._routed(route).items()
            )
        return params

    def _check_network_unchanged(self, widths):
        """Refuse to continue training a network built with other parameters.

        sklearn's ``MLPClassifier`` has no such check: with ``warm_start`` and
        new ``hidden_layer_sizes`` it fails on mismatched array shapes.
        """
        built = getattr(self, "_network_params", None)
        if built is None:  # pickled before this record existed
            return
        now = self._built_params(widths)
        for name in sorted(built.keys() | now.keys()):
            old, new = built.get(name), now.get(name)
            try:
                same = plain(old) == plain(new)
            except ValueError:  # e.g. arrays
                same = False
            if not same:
                raise ValueError(
                    f"{name} is {new!r}, but the network to continue training "
                    f"was built with {name}={old!r}; set warm_start=False (or "
                    "clone the estimator) to build a new network."
                )

    def _predict_raw(self, X):
        check_is_fitted(self)
        X, _ = self._validate_inputs(X, reset=False)
        routed = self._routed("predict")  # predict__callbacks land here too
        if routed or self.callbacks:
            # The user asked for Keras' predict loop (callbacks, batch size).
            predict_kwargs = {
                "batch_size": max(self.batch_size, _MIN_PREDICT_BATCH),
                "verbose": 0,
                **routed,
                # scikeras' built callbacks, not the raw predict__callbacks.
                "callbacks": self._built_callbacks("predict"),
            }
            proba = self.model_.predict(X, **predict_kwargs)
            return np.asarray(proba, dtype=np.float64)
        return predict_in_chunks(self.model_, X)
