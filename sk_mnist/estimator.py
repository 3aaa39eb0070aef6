"""DenseMLPClassifier: scikeras' KerasClassifier made correct for current sklearn.

scikeras 0.13 predates scikit-learn 1.6's tag API: its ``KerasClassifier``
puts ``ClassifierMixin`` after ``BaseEstimator`` in the MRO, so sklearn does not
see a classifier, and its input checks do not set or compare
``n_features_in_`` / ``feature_names_in_`` the way current sklearn expects.
This subclass keeps scikeras' parameter routing (``fit__``, ``compile__``,
``predict__``, ``optimizer__``), callbacks and pickling, and owns tags,
parameter and input validation, label encoding and the training loop.
"""

import contextlib
import functools
import math
import random
from numbers import Integral, Real
from types import MappingProxyType

import keras
import numpy as np
from scikeras.wrappers import KerasClassifier
from sklearn.base import BaseEstimator
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ._tf_memory import clear_session, skip_single_replica_all_reduce
from ._threads import limit_backend_threads
from .model import ACTIVATIONS, _check_hidden_layer_sizes, build_dense_mlp

__all__ = ["DenseMLPClassifier", "HOMEWORK_PARAMS"]

#: The classic Keras homework's training recipe as DenseMLPClassifier
#: parameters: ``make_mnist_pipeline(**HOMEWORK_PARAMS)`` trains exactly the
#: homework's network (Dense 1024-512-256 relu, Adam 1e-3, batch 32, 20
#: epochs, no schedule, no early stopping).
HOMEWORK_PARAMS = MappingProxyType(
    {
        "hidden_layer_sizes": (1024, 512, 256),
        "activation": "relu",
        "dropout": 0.0,
        "alpha": 0.0,
        "optimizer": "adam",
        "learning_rate": 1e-3,
        "learning_rate_schedule": "constant",
        "batch_size": 32,
        "epochs": 20,
        "early_stopping": False,
    }
)

OPTIMIZERS = frozenset(
    {
        "adam",
        "adamw",
        "sgd",
        "rmsprop",
        "nadam",
        "adamax",
        "adagrad",
        "adadelta",
        "adafactor",
        "ftrl",
        "lion",
        "lamb",
    }
)
# Prefixes of the scikeras-style routed parameters this class honours.
_ROUTES = ("fit", "compile", "predict", "optimizer", "callbacks")
# Routed names that would hand Keras an argument this class already passes,
# with what to use instead.
_CLASHING_ROUTES = MappingProxyType(
    {
        "optimizer__learning_rate": "the learning_rate parameter",
        "compile__optimizer": "the optimizer parameter (and optimizer__<arg>)",
        "compile__loss": "nothing: the loss is always the cross-entropy",
        "fit__x": "the X argument of fit",
        "fit__y": "the y argument of fit",
        "fit__sample_weight": "the sample_weight argument of fit",
        "fit__epochs": "the epochs parameter",
        "fit__validation_data": "the X_val and y_val arguments of fit",
        "predict__x": "the X argument of predict",
    }
)
_MIN_PREDICT_BATCH = 1024
_PREDICT_CHUNK = 4096
# Samples per compiled call of the training step (``steps_per_execution``):
# fewer round trips between Python and the backend at small batch sizes.
_SAMPLES_PER_EXECUTION = 2048
_XLA_MIN_WORK = 200_000


def _cosine(epoch, lr, *, base, epochs):
    """Half-cosine learning rate for ``epoch`` (0-based) of ``epochs``."""
    return base * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))


def _speed_settings(batch_size, work):
    """``compile`` arguments that make training faster without changing it.

    Several batches per compiled call (``steps_per_execution``) save the
    Python round trip per batch, which dominates small batches on CPU. On
    TensorFlow, XLA (``jit_compile``) fuses each layer's ops; Keras leaves it
    off on CPU-only machines, and its compile time (~1 s for the homework
    network) only pays off on large fits, so it is switched on from
    ``work`` (samples times epochs) of ``_XLA_MIN_WORK``. JAX always compiles
    with XLA; the torch backend supports neither.
    """
    backend = keras.backend.backend()
    if backend == "torch":
        return {}
    settings = {"steps_per_execution": max(1, _SAMPLES_PER_EXECUTION // batch_size)}
    if backend == "tensorflow" and work >= _XLA_MIN_WORK:
        settings["jit_compile"] = True
    return settings


def _check_no_rate_callbacks(callbacks):
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


@contextlib.contextmanager
def _seeded(seed):
    """Seed Python, NumPy and the Keras backend; restore Python/NumPy state."""
    if seed is None:
        yield
        return
    py_state, np_state = random.getstate(), np.random.get_state()
    keras.utils.set_random_seed(seed)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


class DenseMLPClassifier(KerasClassifier):
    """Dense multi-layer perceptron classifier on Keras 3, sklearn-compatible.

    The network of the classic MNIST homework (Dense 1024-512-256 relu,
    softmax output, Adam) as a scikit-learn classifier built on scikeras'
    ``KerasClassifier``. Every training setting is a flat parameter, so
    ``clone``, ``get_params`` and ``GridSearchCV`` see it. Inputs are used as
    given: put :class:`~sk_mnist.PixelScaler` in front (see
    :func:`~sk_mnist.make_mnist_pipeline`) to scale grey levels.

    The training defaults (batch 128, learning rate 2e-3 on a cosine
    schedule, 15 epochs) were chosen by measurement: on Fashion-MNIST they
    reach the homework recipe's test accuracy in about a fifth of its time,
    and on the MNIST sample they are less sensitive to the seed (see
    ``docs/benchmarks.md``). ``DenseMLPClassifier(**HOMEWORK_PARAMS)`` is the
    homework's recipe (batch 32, constant 1e-3, 20 epochs).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(1024, 512, 256)
        Width of each hidden layer. ``()`` gives multinomial logistic
        regression.
    activation : str, default="relu"
        Hidden-layer activation: one of ``relu``, ``tanh``, ``sigmoid``,
        ``elu``, ``selu``, ``gelu``, ``silu``, ``swish``, ``softplus``,
        ``leaky_relu``, ``linear``.
    dropout : float, default=0.0
        Dropout rate after each hidden layer, in [0, 1).
    alpha : float, default=0.0
        L2 penalty on every Dense kernel.
    optimizer : str, default="adam"
        Name of a Keras optimizer (``adam``, ``adamw``, ``sgd``, ``rmsprop``,
        ``nadam``, ...). Extra optimizer arguments can be routed with
        ``optimizer__<name>=value`` (for example ``optimizer__beta_1=0.8``).
    learning_rate : float, default=2e-3
        Learning rate of the optimizer (the initial one under a schedule).
    learning_rate_schedule : {"constant", "cosine"}, default="cosine"
        ``"cosine"`` lowers the learning rate after every epoch along half a
        cosine, from ``learning_rate`` in the first epoch towards 0 after
        ``epochs`` epochs; each :meth:`fit` (also a warm-started one) runs
        one such cycle, and :meth:`partial_fit` always uses
        ``learning_rate``. The rate of each epoch is recorded in
        ``history_["learning_rate"]``. ``"cosine"`` refuses a
        ``LearningRateScheduler`` or ``ReduceLROnPlateau`` among the
        callbacks (it would override them); use ``"constant"`` with them.
    batch_size : int, default=128
        Samples per gradient update.
    epochs : int, default=15
        Maximum number of passes over the training data.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified),
        stop when the validation accuracy has not improved for
        ``n_iter_no_change`` epochs (as sklearn's ``MLPClassifier`` does),
        and restore the weights of the best epoch. When
        ``X_val``/``y_val`` are given to :meth:`fit`, they are used instead.
    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping.
    n_iter_no_change : int, default=5
        Epochs without improvement of the validation accuracy before stopping.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, shuffling and the validation
        split. An int makes ``fit`` reproducible on CPU.
    verbose : int, default=0
        Keras' verbosity: 0 silent, 1 progress bar, 2 one line per epoch.
    callbacks : list of keras.callbacks.Callback, default=None
        Extra Keras callbacks for training (scikeras semantics; use
        ``fit__callbacks``/``predict__callbacks`` to target one phase).
    class_weight : dict, "balanced" or None, default=None
        Class weights, applied as sample weights.
    warm_start : bool, default=False
        When True, a second :meth:`fit` continues training the existing
        network instead of building a new one. It (and :meth:`partial_fit`)
        raises ``ValueError`` if a parameter fixed in the network
        (``hidden_layer_sizes``, ``activation``, ``dropout``, ``alpha``,
        ``optimizer``, ``optimizer__*``, ``compile__*``) has changed since.
    shuffle : bool, default=True
        Shuffle the training data before each epoch.
    **routed_params : dict
        scikeras-style routed parameters only: ``fit__<arg>`` (to
        ``keras.Model.fit``), ``compile__<arg>`` (to ``keras.Model.compile``),
        ``predict__<arg>`` (to ``keras.Model.predict``), ``optimizer__<arg>``
        and ``callbacks__<...>``. Any other name raises ``ValueError`` at
        :meth:`fit`, as do routed names of arguments this class sets itself
        (``optimizer__learning_rate``, ``compile__loss``, ``fit__epochs``,
        ...; the error names the parameter to use instead).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen during :meth:`fit`.
    n_classes_ : int
        Number of classes.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` was a DataFrame with string column names.
    model_ : keras.Model
        The trained Keras network.
    history_ : dict of str to list of float
        Per-epoch ``loss``, ``accuracy`` and ``learning_rate``, plus
        ``val_loss`` and ``val_accuracy`` when validating.
    n_iter_ : int
        Number of epochs run (fewer than ``epochs`` after early stopping).

    See Also
    --------
    sk_mnist.make_mnist_pipeline : PixelScaler followed by this classifier.
    sklearn.neural_network.MLPClassifier : The NumPy implementation.

    Notes
    -----
    Training runs ``max(1, 2048 // batch_size)`` batches per compiled call
    (Keras' ``steps_per_execution``), and on TensorFlow compiles with XLA
    once a fit is large enough to pay for the compilation (samples times
    epochs of at least 200,000). Neither changes the numbers, only the time;
    override them with ``compile__steps_per_execution=1`` or
    ``compile__jit_compile=False``. Per-batch callbacks are then called once
    per compiled call. On CPU, Keras' JAX backend (``KERAS_BACKEND=jax``)
    trains this network faster than TensorFlow at small batch sizes.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sk_mnist import DenseMLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DenseMLPClassifier(hidden_layer_sizes=(32,), epochs=5,
    ...                          batch_size=64, random_state=0)
    >>> clf.fit(X / 16, y).n_iter_
    5
    >>> clf.predict_proba(X[:2] / 16).shape
    (2, 10)
    """

    _parameter_constraints = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "learning_rate_schedule": [StrOptions({"constant", "cosine"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, tuple, None],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "shuffle": ["boolean"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(1024, 512, 256),
        *,
        activation="relu",
        dropout=0.0,
        alpha=0.0,
        optimizer="adam",
        learning_rate=2e-3,
        learning_rate_schedule="cosine",
        batch_size=128,
        epochs=15,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        random_state=None,
        verbose=0,
        callbacks=None,
        class_weight=None,
        warm_start=False,
        shuffle=True,
        **routed_params,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.alpha = alpha
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.learning_rate_schedule = learning_rate_schedule
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.shuffle = shuffle
        # Routed parameters live in __dict__ like scikeras', so get_params,
        # set_params and clone see them; fit rejects names that are not routed.
        vars(self).update(routed_params)

    # scikeras' set_params stores ``<prefix>__<name>`` as a routed parameter
    # only for these prefixes; without "callbacks" it would treat
    # ``callbacks__patience`` as a nested estimator's parameter and fail.
    _routing_prefixes = frozenset(_ROUTES)

    # scikeras prints one parameter per line; sklearn's repr shows only the
    # changed ones and is what GridSearchCV users expect.
    __repr__ = BaseEstimator.__repr__

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # What ClassifierMixin would add if scikeras had put it first.
        from sklearn.utils import ClassifierTags

        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags(multi_class=True, multi_label=False)
        tags.target_tags.required = True
        tags.target_tags.single_output = True
        tags.target_tags.multi_output = False
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    # ------------------------------------------------------------------ checks
    def _check_params(self):
        """Validate parameters in sklearn's style (``InvalidParameterError``)."""
        self._validate_params()
        prefixes = tuple(f"{route}__" for route in _ROUTES)
        explicit = set(self._parameter_constraints)
        for name in self.get_params(deep=False):
            if name not in explicit and not name.startswith(prefixes):
                raise ValueError(
                    f"Unknown parameter {name!r} for {type(self).__name__}: routed "
                    f"parameters must start with one of {', '.join(prefixes)}"
                )
            if name in _CLASHING_ROUTES:
                raise ValueError(
                    f"The routed parameter {name!r} of {type(self).__name__} "
                    f"clashes with an argument it sets itself; use "
                    f"{_CLASHING_ROUTES[name]} instead."
                )
        return _check_hidden_layer_sizes(
            self.hidden_layer_sizes,
            f"The 'hidden_layer_sizes' parameter of {type(self).__name__}",
        )

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
        return X_checked, self._encode_labels(y_val, what="y_val")

    def _encode_labels(self, y, what="y"):
        """Map labels to indices of ``classes_``; reject unseen labels."""
        y = column_or_1d(y)
        try:
            idx = np.searchsorted(self.classes_, y)
        except TypeError:  # e.g. string labels against integer classes_
            raise ValueError(
                f"{what} holds labels of type {y.dtype}, but the classes seen in "
                f"the first fit are {self.classes_.tolist()}"
            ) from None
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        unseen = self.classes_[idx] != y
        if np.any(unseen):
            raise ValueError(
                f"{what} contains labels not seen in the first fit: "
                f"{np.unique(y[unseen])[:5].tolist()}; known classes are "
                f"{self.classes_.tolist()}"
            )
        return idx.astype(np.int32)

    def _sample_weight(self, sample_weight, y, n_samples):
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
        if self.class_weight is not None:
            class_sw = compute_sample_weight(self.class_weight, y)
            sample_weight = (
                class_sw if sample_weight is None else sample_weight * class_sw
            )
        return sample_weight

    @staticmethod
    def _unit_mean(sample_weight):
        """``sample_weight`` scaled to mean 1, as float32 (None stays None).

        Keras averages the weighted losses over the batch size, so the scale
        of the weights would act as a factor on the learning rate; sklearn's
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

    def _routed(self, route):
        prefix = route + "__"
        return {
            name[len(prefix) :]: value
            for name, value in self.get_params(deep=False).items()
            if name.startswith(prefix) and "__" not in name[len(prefix) :]
        }

    # --------------------------------------------------------------- training
    def _build_model(self, hidden_layer_sizes, seed, work):
        # In a joblib or Dask worker, stay within the worker's share of cores.
        limit_backend_threads()
        # Drop Keras' global graph and name state from earlier fits so that a
        # grid search's hundredth fit is as fast and as lean as its first.
        clear_session()
        model = build_dense_mlp(
            self.n_features_in_,
            max(self.n_classes_, 2),
            hidden_layer_sizes,
            activation=self.activation,
            dropout=self.dropout,
            alpha=self.alpha,
            seed=seed,
        )
        optimizer_cls = type(keras.optimizers.get(self.optimizer))
        optimizer = optimizer_cls(
            learning_rate=self.learning_rate, **self._routed("optimizer")
        )
        compile_kwargs = {
            "metrics": ["accuracy"],
            **_speed_settings(self.batch_size, work),
        }
        compile_kwargs.update(self._routed("compile"))
        model.compile(
            optimizer=optimizer,
            loss="sparse_categorical_crossentropy",
            **compile_kwargs,
        )
        return model

    def _train(
        self, X, y, sample_weight, X_val, y_val, *, epochs, first_call, classes=None
    ):
        """Shared body of :meth:`fit` and :meth:`partial_fit`."""
        hidden_layer_sizes = self._check_params()
        if not first_call:
            self._check_network_unchanged(hidden_layer_sizes)
        X, y = self._validate_inputs(X, y, reset=first_call)
        if first_call:
            self._set_classes(y if classes is None else np.asarray(classes))
        y_idx = self._encode_labels(y)
        sample_weight = self._sample_weight(sample_weight, y, X.shape[0])

        rng = check_random_state(self.random_state)
        seed = None if self.random_state is None else int(rng.randint(2**31 - 1))

        validation_data = None
        if X_val is not None or y_val is not None:
            if X_val is None or y_val is None:
                raise ValueError("X_val and y_val must be given together.")
            validation_data = self._validate_validation_data(X_val, y_val)
        elif self.early_stopping and epochs > 1:
            X, y_idx, sample_weight, validation_data = self._holdout(
                X, y_idx, sample_weight, rng
            )

        sample_weight = self._unit_mean(sample_weight)

        callbacks = list(self._fit_callbacks_for_run())
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
        schedule = self._schedule_callbacks(epochs)
        if schedule:
            _check_no_rate_callbacks(callbacks)
        callbacks.extend(schedule)
        fit_kwargs = {
            "batch_size": self.batch_size,
            "verbose": self.verbose,
            "shuffle": self.shuffle,
            **self._routed("fit"),
        }
        fit_kwargs.pop("callbacks", None)
        with _seeded(seed):
            if first_call or not hasattr(self, "model_"):
                self.model_ = self._build_model(
                    hidden_layer_sizes, seed, work=X.shape[0] * epochs
                )
                self._network_params = self._built_params(hidden_layer_sizes)
                self.history_ = {}
            else:
                # A cosine cycle of an earlier fit leaves its last rate behind.
                self.model_.optimizer.learning_rate = float(self.learning_rate)
            # Without this, TensorFlow keeps every fit's weights alive.
            skip_single_replica_all_reduce(self.model_.optimizer)
            history = self.model_.fit(
                X,
                y_idx,
                sample_weight=sample_weight,
                epochs=epochs,
                validation_data=validation_data,
                callbacks=callbacks,
                **fit_kwargs,
            )
        logs = dict(history.history)
        if "learning_rate" not in logs:  # no schedule: the rate was constant
            logs["learning_rate"] = [self.learning_rate] * len(logs.get("loss", ()))
        for key, values in logs.items():
            self.history_.setdefault(key, []).extend(float(v) for v in values)
        self.n_iter_ = len(self.history_.get("loss", ()))
        return self

    def _built_params(self, hidden_layer_sizes):
        """The parameters that are fixed in a built and compiled network."""
        params = {
            "hidden_layer_sizes": hidden_layer_sizes,
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

    def _check_network_unchanged(self, hidden_layer_sizes):
        """Refuse to continue training a network built with other parameters.

        sklearn's ``MLPClassifier`` has no such check: with ``warm_start`` and
        new ``hidden_layer_sizes`` it fails on mismatched array shapes.
        """
        built = getattr(self, "_network_params", None)
        if built is None:  # pickled before this check existed
            return
        now = self._built_params(hidden_layer_sizes)
        for name in sorted(built.keys() | now.keys()):
            old, new = built.get(name), now.get(name)
            try:
                same = bool(old is new or old == new)
            except ValueError:  # e.g. arrays
                same = False
            if not same:
                raise ValueError(
                    f"{name} is {new!r}, but the network to continue training "
                    f"was built with {name}={old!r}; set warm_start=False (or "
                    "clone the estimator) to build a new network."
                )

    def _schedule_callbacks(self, epochs):
        """Keras callbacks that carry out ``learning_rate_schedule``."""
        if self.learning_rate_schedule == "cosine" and epochs > 1:
            cosine = functools.partial(
                _cosine, base=float(self.learning_rate), epochs=epochs
            )
            return [keras.callbacks.LearningRateScheduler(cosine)]
        return []

    def _holdout(self, X, y_idx, sample_weight, rng):
        """Stratified split of the training data for early stopping."""
        try:
            train, val = train_test_split(
                np.arange(X.shape[0]),
                test_size=self.validation_fraction,
                stratify=y_idx,
                random_state=rng,
            )
        except ValueError as err:
            raise ValueError(
                "early_stopping needs a stratified validation split of "
                f"validation_fraction={self.validation_fraction}: {err}"
            ) from None
        sw_train = None if sample_weight is None else sample_weight[train]
        return X[train], y_idx[train], sw_train, (X[val], y_idx[val])

    def _fit_callbacks_for_run(self):
        # scikeras builds callbacks (instances or classes with routed
        # parameters) into _fit_callbacks/_predict_callbacks.
        self._initialize_callbacks()
        return self._fit_callbacks

    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Train the network on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training samples.
        y : array-like of shape (n_samples,)
            Class labels (ints, strings, ...).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights (times ``class_weight``), scaled to mean 1
            over the samples trained on: only their ratios matter.
        X_val, y_val : array-like, default=None
            A validation set evaluated after every epoch (Keras'
            ``validation_data``), recorded as ``val_loss`` and
            ``val_accuracy`` in ``history_`` and used for early stopping.
            Inside a Pipeline, route them through the preceding steps with
            ``Pipeline(transform_input=["X_val"])`` and metadata routing
            (:func:`~sk_mnist.make_mnist_pipeline` does this).

        Returns
        -------
        self : DenseMLPClassifier
            The fitted classifier.
        """
        first_call = not (self.warm_start and self.__sklearn_is_fitted__())
        return self._train(
            X,
            y,
            sample_weight,
            X_val,
            y_val,
            epochs=self.epochs,
            first_call=first_call,
        )

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch, keeping the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training samples.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like of shape (n_classes,), default=None
            All class labels; required on the first call, and the same
            labels if given again later.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, scaled to mean 1 over this batch.
            ``class_weight="balanced"`` is not supported here (it would be
            computed per batch); pass a dict of class weights instead.

        Returns
        -------
        self : DenseMLPClassifier
            The updated classifier.
        """
        if isinstance(self.class_weight, str):  # "balanced"
            raise ValueError(
                f"class_weight {self.class_weight!r} is not supported for "
                "partial_fit, which would balance each batch on its own; pass a "
                "dict, e.g. from sklearn.utils.class_weight.compute_class_weight "
                "on the whole training set."
            )
        first_call = not self.__sklearn_is_fitted__()
        if first_call and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if not first_call and classes is not None:
            classes = np.unique(classes)
            if not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"`classes={classes.tolist()}` is not the same as on the first "
                    f"call to partial_fit (or fit), was: {self.classes_.tolist()}"
                )
        return self._train(
            X,
            y,
            sample_weight,
            None,
            None,
            epochs=1,
            first_call=first_call,
            classes=classes,
        )

    def _set_classes(self, y):
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the "
                f"data, but the data contains only one class: {classes.tolist()}"
            )
        self.classes_ = classes
        self.n_classes_ = len(classes)

    # -------------------------------------------------------------- inference
    def _predict_raw(self, X):
        check_is_fitted(self)
        X, _ = self._validate_inputs(X, reset=False)
        routed = self._routed("predict")  # predict__callbacks land here too
        if routed or self.callbacks:
            # The user asked for Keras' predict loop (callbacks, batch size).
            self._initialize_callbacks()
            predict_kwargs = {
                "batch_size": max(self.batch_size, _MIN_PREDICT_BATCH),
                "verbose": 0,
                **routed,
                # scikeras' built callbacks, not the raw predict__callbacks.
                "callbacks": self._predict_callbacks,
            }
            proba = self.model_.predict(X, **predict_kwargs)
            return np.asarray(proba, dtype=np.float64)
        return self._forward(X)

    def _forward(self, X):
        """Softmax outputs, ``_PREDICT_CHUNK`` rows per compiled call.

        Skips ``Model.predict``'s loop (data adapter, callbacks, progress),
        which costs a third of the time on 10,000 images. The last chunk is
        zero-padded to a power of two, so that any number of rows reuses a
        handful of compiled shapes (JAX compiles one program per shape).
        """
        n_samples, n_features = X.shape
        n_outputs = self.model_.output_shape[-1]
        out = np.empty((n_samples, n_outputs), dtype=np.float64)
        for start in range(0, n_samples, _PREDICT_CHUNK):
            chunk = X[start : start + _PREDICT_CHUNK]
            rows = chunk.shape[0]
            padded = min(_PREDICT_CHUNK, 1 << max(rows - 1, 0).bit_length())
            if padded > rows:
                chunk = np.concatenate(
                    [chunk, np.zeros((padded - rows, n_features), dtype=chunk.dtype)]
                )
            proba = self.model_.predict_on_batch(chunk)
            out[start : start + rows] = keras.ops.convert_to_numpy(proba)[:rows]
        return out

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), dtype float64
            Rows sum to 1; columns follow ``classes_``.
        """
        proba = self._predict_raw(X)
        # The float32 softmax sums to 1 only up to ~1e-7; renormalise in float64.
        proba /= proba.sum(axis=1, keepdims=True)
        return proba

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes), dtype float64
            ``np.log(self.predict_proba(X))``; columns follow ``classes_``.
        """
        return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``, of the training labels' type.
        """
        proba = self._predict_raw(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Accuracy of ``self.predict(X)``.
        """
        return float(accuracy_score(y, self.predict(X), sample_weight=sample_weight))
