"""DenseMLPClassifier: the homework's Dense MLP as a scikit-learn classifier.

The estimator reads top to bottom here: its parameters and their
constraints, what it overrides of scikeras' ``KerasClassifier`` (each with
its reason), then ``fit`` -> ``_train``: validate, build, train, record the
network's parameters; then the fitted state and prediction. The plain
functions it calls live beside it: ``_training.py`` (steps of the fit loop),
``_fitted_state.py`` (state as JSON values), ``model.py`` (the network),
``_augment.py``, ``_callbacks.py`` and ``_keras_runtime.py``. Why scikeras
is overridden where it is: "Built on scikeras" in ``docs/model.rst``.
"""

from numbers import Integral, Real
from types import MappingProxyType

import keras
import numpy as np
from scikeras.wrappers import KerasClassifier
from sklearn.base import BaseEstimator
from sklearn.metrics import accuracy_score
from sklearn.utils import ClassifierTags, check_random_state
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from ._augment import check_augment, image_side, make_augmenter
from ._callbacks import CallbackSupportMixin, FitTask, with_callbacks
from ._fitted_state import (
    FITTED_ATTRIBUTES,
    NETWORK_PARAMS,
    check_network,
    classifier_attributes,
    classifier_state,
    network_params_entries,
)
from ._keras_runtime import (
    clear_session,
    compile_speed_settings,
    limit_backend_threads,
    predict_in_chunks,
    seeded,
    skip_single_replica_all_reduce,
)
from ._messages import is_out_of_memory, plain
from ._training import (
    StopOnNonFiniteLoss,
    augmenter_seed,
    check_callbacks,
    check_no_rate_callbacks,
    cosine_schedule,
    divergence_message,
    encode_labels,
    out_of_memory_message,
    restore,
    snapshot,
    stratified_holdout,
    training_weights,
    unit_mean,
)
from .model import (
    ACTIVATIONS,
    HOMEWORK_LAYERS,
    MAX_WIDTH,
    build_dense_mlp,
    hidden_widths,
)

__all__ = ["DenseMLPClassifier", "HOMEWORK_PARAMS"]

#: The classic Keras homework's training recipe as DenseMLPClassifier
#: parameters: ``make_mnist_pipeline(**HOMEWORK_PARAMS)`` trains exactly the
#: homework's network (Dense 1024-512-256 relu, Adam 1e-3, batch 32, 20
#: epochs, no schedule, no early stopping).
HOMEWORK_PARAMS = MappingProxyType(
    {
        "hidden_layer_sizes": HOMEWORK_LAYERS,
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

#: The optimizers ``DenseMLPClassifier(optimizer=...)`` accepts, by Keras name.
OPTIMIZERS = frozenset(
    {"adam", "adamw", "sgd", "rmsprop", "nadam", "adamax", "adagrad"}
    | {"adadelta", "adafactor", "ftrl", "lion", "lamb"}
)
# The largest batch size, epoch count or patience: backends count in int32
# (batch_size=2**70 raised TensorFlow's OverflowError inside Keras).
MAX_COUNT = 2**31 - 1
# Keras' predict loop (used with predict__ parameters or callbacks) runs at
# least this many rows per batch: batch_size is a training setting.
_MIN_PREDICT_BATCH = 1024


class _SklearnTagsLast:
    """The last base: sklearn's base tags, for scikit-learn 1.6 only.

    scikeras puts ``ClassifierMixin`` after ``BaseEstimator``, so 1.6's walk
    of the MRO found no ``__sklearn_tags__`` after the mixin's ``super()``
    call; this answers it. From 1.7 on it is never reached.
    """

    __sklearn_tags__ = BaseEstimator.__sklearn_tags__


class DenseMLPClassifier(CallbackSupportMixin, KerasClassifier, _SklearnTagsLast):
    """Dense multi-layer perceptron classifier on Keras 3, sklearn-compatible.

    The network of the classic MNIST homework (Dense 1024-512-256 relu,
    softmax output, Adam) as a scikit-learn classifier. Every training
    setting is a flat parameter, so ``clone``, ``get_params`` and
    ``GridSearchCV`` see it. Inputs are used as given: put
    :class:`~sk_mnist.PixelScaler` in front (see
    :func:`~sk_mnist.make_mnist_pipeline`) to scale grey levels.

    It subclasses scikeras' ``KerasClassifier`` for its routed parameters
    (``fit__``, ``compile__``, ``predict__``, ``optimizer__``,
    ``callbacks__``), callbacks given as classes, and pickling; the rest it
    overrides for current scikit-learn. The training defaults were chosen by
    measurement (``docs/benchmarks.md``);
    ``DenseMLPClassifier(**HOMEWORK_PARAMS)`` is the homework (batch 32,
    constant 1e-3, 20 epochs).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(1024, 512, 256)
        Width of each hidden layer, from 1 to 2**31 - 1 (an int is one
        layer). ``()`` gives multinomial logistic regression.
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
        ``optimizer``, ``optimizer__*``, ``compile__*``) has changed since,
        also after :func:`~sk_mnist.save_model` and
        :func:`~sk_mnist.load_model` (those parameters, ``network_params``, are part
        of the fitted state).
    shuffle : bool, default=True
        Shuffle the training data before each epoch.
    augment : None, {"affine", "elastic"} or dict, default=None
        Random distortions of the training images, drawn afresh for every
        image of every batch of every epoch in :meth:`fit` and
        :meth:`partial_fit` (seeded by ``random_state``); never applied when
        predicting or scoring, nor to the validation data. Rows must be
        square images scaled to [0, 1] (put :class:`~sk_mnist.PixelScaler`
        in front). Each range is symmetric about "no change": ``"affine"``
        draws a rotation in [-12, 12] degrees, a zoom of each axis in
        [0.88, 1.12], a shear in [-15, 15] degrees, a shift of each axis in
        [-2, 2] pixels and a stroke weight in [-0.8, 0.8] (thinner to
        thicker ink); ``"elastic"`` adds an elastic deformation of strength
        34 and smoothness 4 pixels (Simard et al., 2003). A dict sets the
        ranges itself, with keys among ``rotation`` (degrees, at most 180),
        ``zoom`` (at most 0.9), ``shear`` (degrees, at most 45),
        ``translation`` (pixels), ``elastic_alpha``, ``elastic_sigma``
        (pixels, default 4) and ``stroke`` (at most 1); missing keys draw
        nothing. The saved, exported and served network is the same as
        without augmentation.
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
    sk_mnist.save_model : Save the fitted classifier without pickle.
    sklearn.neural_network.MLPClassifier : The NumPy implementation.

    Notes
    -----
    Training stops at the first batch whose loss is NaN or infinite (Keras'
    ``TerminateOnNaN``) and raises ``ValueError`` saying so; a first fit then
    leaves the estimator unfitted, and a continued one (``warm_start``,
    :meth:`partial_fit`) leaves the network as it was before the call. Running
    out of memory while building or training raises ``MemoryError`` naming
    ``hidden_layer_sizes`` and ``batch_size``, with the same clean-up.

    Training runs several batches per compiled call and, on large
    TensorFlow fits, compiles with XLA; neither changes the numbers (see the
    "Speed settings" section of the user guide's model page).

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
        # Each width is checked by _validate_params (model.hidden_widths).
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, MAX_WIDTH, closed="both"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "learning_rate_schedule": [StrOptions({"constant", "cosine"})],
        "batch_size": [Interval(Integral, 1, MAX_COUNT, closed="both")],
        "epochs": [Interval(Integral, 1, MAX_COUNT, closed="both")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, MAX_COUNT, closed="both")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, tuple, None],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "shuffle": ["boolean"],
        # Checked by _validate_params with check_augment (dict contents).
        "augment": "no_validation",
    }
    # Values of routed parameters that predict passes to Keras, checked with
    # the others so that a bad one fails at fit or load time.
    _routed_constraints = MappingProxyType(
        {
            "predict__batch_size": [Interval(Integral, 1, None, closed="left")],
            "predict__verbose": [
                StrOptions({"auto"}),
                Interval(Integral, 0, 2, closed="both"),
            ],
            "predict__steps": [Interval(Integral, 1, None, closed="left"), None],
        }
    )
    # Routed names that would hand Keras an argument this class passes itself,
    # with what to use instead.
    _clashing_routes = MappingProxyType(
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

    def __init__(
        self,
        hidden_layer_sizes=HOMEWORK_LAYERS,
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
        augment=None,
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
        self.augment = augment
        # Routed parameters live in __dict__ like scikeras', so get_params,
        # set_params and clone see them; fit rejects names that are not routed.
        vars(self).update(routed_params)

    # ------------------------------------------- what it overrides of scikeras
    # scikeras' set_params stores ``<prefix>__<name>`` only for these prefixes
    # (without "callbacks" it took callbacks__patience for a nested
    # estimator's); fit refuses other names; persistence and search read them.
    _routing_prefixes = frozenset(
        {"fit", "compile", "predict", "optimizer", "callbacks"}
    )

    # scikeras' _more_tags merges these over its own (multi-label,
    # multi-output, poor score: none holds here); only scikit-learn 1.6 reads it.
    _tags = MappingProxyType(
        {
            "multilabel": False,
            "multioutput": False,
            "poor_score": False,
            "requires_y": True,
        }
    )

    # sklearn's repr shows the changed parameters; scikeras' prints them all.
    __repr__ = BaseEstimator.__repr__

    def __sklearn_tags__(self):
        """Classifier tags, as ``ClassifierMixin`` first in the bases would set."""
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags(multi_class=True, multi_label=False)
        tags.target_tags.required = True
        tags.target_tags.single_output = True
        tags.target_tags.multi_output = False
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags

    def __sklearn_is_fitted__(self):
        # Fitted once there is a network: set_fitted_state without one is not.
        return hasattr(self, "model_")

    def __getstate__(self):
        # The augmented trainer holds model_ a second time and is rebuilt
        # when needed: pickles, copies and clones leave it out.
        state = dict(super().__getstate__())
        state.pop("_trainer", None)
        return state

    def _validate_params(self):
        """Check every parameter, raising ``ValueError`` naming the first bad one.

        sklearn's hook, which scikeras lacks: ``_parameter_constraints`` first
        (``InvalidParameterError``), then what they cannot express: routed
        names and values, callbacks, each hidden-layer width and the
        ``augment`` ranges. ``fit``, ``partial_fit``,
        :meth:`set_fitted_state` and :func:`~sk_mnist.load_model` call it.
        """
        super()._validate_params()
        owner = type(self).__name__
        prefixes = tuple(f"{route}__" for route in sorted(self._routing_prefixes))
        params = self.get_params(deep=False)
        for name in params:
            if name not in self._parameter_constraints and not name.startswith(
                prefixes
            ):
                raise ValueError(
                    f"Unknown parameter {name!r} for {owner}: routed "
                    f"parameters must start with one of {', '.join(prefixes)}"
                )
            if name in self._clashing_routes:
                raise ValueError(
                    f"The routed parameter {name!r} of {owner} clashes with an "
                    f"argument it sets itself; use {self._clashing_routes[name]} "
                    "instead."
                )
        validate_parameter_constraints(
            dict(self._routed_constraints), params, caller_name=owner
        )
        for name in ("callbacks", "fit__callbacks", "predict__callbacks"):
            check_callbacks(name, params.get(name), owner)
        for name, check in [
            ("hidden_layer_sizes", hidden_widths),
            ("augment", check_augment),
        ]:
            try:
                check(params[name])
            except ValueError as err:
                reason = str(err).removeprefix(f"{name} ")
                raise InvalidParameterError(
                    f"The {name!r} parameter of {owner} {reason}."
                ) from None

    def _routed(self, route):
        """The routed parameters ``<route>__<name>``, as ``{name: value}``."""
        prefix = route + "__"
        return {
            name[len(prefix) :]: value
            for name, value in self.get_params(deep=False).items()
            if name.startswith(prefix) and "__" not in name[len(prefix) :]
        }

    def _built_callbacks(self, phase):
        """scikeras' built callbacks for ``phase``: classes get their routed args."""
        self._initialize_callbacks()
        return list(self._fit_callbacks if phase == "fit" else self._predict_callbacks)

    # ------------------------------------------------------------ fit, partial_fit
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

        Raises
        ------
        ValueError
            For an invalid parameter or input, a changed network under
            ``warm_start``, or a loss that became NaN or infinite.
        MemoryError
            When the network does not fit in memory.
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

    # ------------------------------------ the fit loop: validate, build, train
    @with_callbacks
    def _train(
        self, X, y, sample_weight, X_val, y_val, *, epochs, first_call, classes=None
    ):
        """Shared body of :meth:`fit` and :meth:`partial_fit`."""
        self._validate_params()
        if not first_call:
            self._check_network_unchanged()
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
        before = None if first_call else snapshot(self.model_)
        try:
            with seeded(seed):
                model = self._network_to_fit(first_call, seed, X.shape[0] * epochs)
                history = model.fit(X, y_idx, **fit_kwargs)
        except BaseException as err:
            # A callback's error, an interruption: roll back, then re-raise.
            if not is_out_of_memory(err):
                self._forget_failed_call(before)
                raise
            widths = hidden_widths(self.hidden_layer_sizes)
            sizes = (self.n_features_in_, *widths, self.n_classes_)
            message = out_of_memory_message(sizes, self.batch_size, err)
            raise MemoryError(
                f"{message}; {self._forget_failed_call(before)}"
            ) from None
        self._record_history(history.history, stopper, before)
        task.end()
        return self

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

    def _network_to_fit(self, first_call, seed, work):
        """Build ``model_`` on a first call; return it or the augmenter before it.

        A new network records its ``network_params``, which a later call
        checks. ``work`` is samples times epochs (for the compile settings).
        """
        if first_call:
            # In a joblib or Dask worker, stay within the worker's share of cores.
            limit_backend_threads()
            clear_session()
            self._network_params = self._current_network_params()
            self.model_ = build_dense_mlp(
                self.n_features_in_,
                self.n_classes_,
                self._network_params["hidden_layer_sizes"],
                activation=self.activation,
                dropout=self.dropout,
                alpha=self.alpha,
                seed=seed,
            )
            optimizer_cls = type(keras.optimizers.get(self.optimizer))
            optimizer = optimizer_cls(
                learning_rate=self.learning_rate, **self._routed("optimizer")
            )
            self._compile(self.model_, optimizer, work)
            self.history_ = {}
        else:
            # A cosine cycle of an earlier fit leaves its last rate.
            self.model_.optimizer.learning_rate = float(self.learning_rate)
        # Without this, TensorFlow keeps every fit's weights alive.
        skip_single_replica_all_reduce(self.model_.optimizer)
        return self._augmented(seed, 0 if first_call else self.n_iter_, work)

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

    def _augmented(self, seed, epochs_done, work):
        """``model_``, or with ``augment`` a model ``augmenter -> model_``.

        That model shares ``model_``'s layers and optimizer, so fitting it
        trains ``model_``, which stays the network saved, exported and
        served. It is kept (``_trainer``) for the next call with the same
        ranges, reusing its compiled step; its distortions are reseeded for
        each call (:func:`~sk_mnist._training.augmenter_seed`).
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

    def _record_history(self, logs, stopper, before):
        """Append the call's epochs to ``history_``, or roll back a diverged call."""
        logs = dict(logs)
        losses = np.asarray(logs.get("loss", ()), dtype=np.float64)
        if stopper.loss is not None or not np.all(np.isfinite(losses)):
            message = divergence_message(stopper, losses, self.learning_rate)
            raise ValueError(f"{message}; {self._forget_failed_call(before)}")
        if "learning_rate" not in logs:  # no schedule: the rate was constant
            logs["learning_rate"] = [self.learning_rate] * len(losses)
        for key, values in logs.items():
            self.history_.setdefault(key, []).extend(float(v) for v in values)
        self.n_iter_ = len(self.history_.get("loss", ()))

    def _forget_failed_call(self, before):
        """Leave the estimator as it was before a failed fit; say how, in words."""
        if before is not None and restore(self.model_, before):
            return "the network is left as it was before this call"
        for name in FITTED_ATTRIBUTES:
            vars(self).pop(name, None)
        return "the estimator is left unfitted"

    # -------------------------------------- network_params: the built network
    def _current_network_params(self):
        """The parameters fixed in a network built now: ``network_params``."""
        params = {name: getattr(self, name) for name in NETWORK_PARAMS}
        params["hidden_layer_sizes"] = hidden_widths(self.hidden_layer_sizes)
        for route in ("optimizer", "compile"):
            params.update(
                (f"{route}__{name}", value)
                for name, value in self._routed(route).items()
            )
        return params

    def _check_network_unchanged(self):
        """Refuse to continue training a network built with other parameters.

        sklearn's ``MLPClassifier`` has no such check: with ``warm_start`` and
        new ``hidden_layer_sizes`` it fails on mismatched array shapes.
        """
        built = getattr(self, "_network_params", None)
        if built is None:  # pickled before network_params existed
            return
        now = self._current_network_params()
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

    # ----------------------------------------------------------- fitted state
    def get_fitted_state(self):
        """The fitted attributes as plain JSON values, without the Keras network.

        skorch's ``save_params`` / ``load_params`` idea at the level of a
        dict: the estimator says which state it has, and
        :meth:`set_fitted_state` restores it. :func:`~sk_mnist.save_model`
        writes this dict next to the network.

        Returns
        -------
        state : dict
            ``n_features_in_``, ``feature_names_in_`` (when fitted on a
            DataFrame with string column names), ``classes_`` (as ``dtype``
            and ``values``), ``history_``, ``n_iter_``, and
            ``network_params``: the parameters the network was built with
            (``hidden_layer_sizes``, ``activation``, ``dropout``, ``alpha``,
            ``optimizer``, ``optimizer__*``, ``compile__*``), which a
            warm-started :meth:`fit` or :meth:`partial_fit` checks.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the classifier is not fitted.
        ValueError
            For labels that are neither integers nor strings.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from sk_mnist import DenseMLPClassifier
        >>> X, y = load_digits(return_X_y=True)
        >>> clf = DenseMLPClassifier(hidden_layer_sizes=(8,), epochs=1,
        ...                          random_state=0).fit(X / 16, y)
        >>> state = clf.get_fitted_state()
        >>> state["n_iter_"], state["network_params"]["hidden_layer_sizes"]
        (1, [8])
        >>> copy = DenseMLPClassifier(hidden_layer_sizes=(8,), epochs=1)
        >>> copy = copy.set_fitted_state(state, model=clf.model_)
        >>> bool((copy.predict(X / 16) == clf.predict(X / 16)).all())
        True
        """
        check_is_fitted(self)
        network_params = getattr(self, "_network_params", None)
        if network_params is None:  # pickled before network_params existed
            network_params = self._current_network_params()
        return {**classifier_state(self), "network_params": plain(network_params)}

    def set_fitted_state(self, state, model=None):
        """Restore the fitted attributes from :meth:`get_fitted_state`'s dict.

        Every entry is checked before anything is set, since the state may
        come from a file.

        Parameters
        ----------
        state : dict
            As returned by :meth:`get_fitted_state`. Without
            ``network_params`` (a model saved by sk-mnist's format version 1
            before it recorded them), the current parameters are taken as
            the network's.
        model : keras.Model, default=None
            The trained network, which becomes ``model_``. Its input and
            output widths must be ``n_features_in_`` and the number of
            classes, and its layers and optimizer must be the ones
            ``network_params`` describes (widths, activation, dropout rate,
            L2 penalty, optimizer class and ``optimizer__*`` arguments).
            Without it, the attributes are restored but the classifier is not
            fitted.

        Returns
        -------
        self : DenseMLPClassifier
            The classifier.

        Raises
        ------
        ValueError
            Naming the entry of ``state`` that is missing or invalid, or the
            parameter that does not describe ``model``.
        """
        attributes = classifier_attributes(state)
        if "network_params" in state:
            # Checked as parameters: by the constraints fit would apply.
            built = type(self)(**network_params_entries(state["network_params"]))
            try:
                built._validate_params()
            except ValueError as err:
                raise ValueError(f"network_params: {err}") from None
            network_params = built._current_network_params()
        else:
            self._validate_params()
            network_params = self._current_network_params()
        if model is not None:
            check_network(model, network_params, attributes)
        for name in FITTED_ATTRIBUTES:
            vars(self).pop(name, None)
        vars(self).update(attributes, _network_params=network_params)
        if model is not None:
            self.model_ = model
        return self

    # -------------------------------------------------------------- inference
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
