"""Everything DenseMLPClassifier owes to scikeras, and what it replaces, in one place.

:class:`~sk_mnist.DenseMLPClassifier` subclasses scikeras 0.13's
``KerasClassifier``, the project's chosen wrapper. From scikeras it keeps:

* **routed parameters**: ``<prefix>__<name>`` keyword arguments live in the
  instance ``__dict__``, where scikeras' ``_get_param_names`` lists them for
  ``get_params`` / ``clone`` and its ``set_params`` stores them for the
  prefixes in ``_routing_prefixes``;
* **callbacks** given as instances, or as classes whose arguments are routed
  (``callbacks__patience=3``), built by its ``_initialize_callbacks``;
* **pickling**: importing scikeras makes Keras models picklable.

It replaces the rest, because scikeras predates scikit-learn 1.6: the tags
(``KerasClassifier(BaseWrapper, ClassifierMixin)`` puts the mixin after its
base class, so sklearn would not see a classifier), the ``repr``, parameter
and input validation (scikeras neither sets nor compares ``n_features_in_``
the way current sklearn does), label encoding, the training loop and
prediction. :class:`ScikerasMixin` holds the part of that which concerns
scikeras itself; the estimator module holds the rest.
"""

from collections.abc import Mapping
from numbers import Integral
from types import MappingProxyType

import keras
from sklearn.base import BaseEstimator
from sklearn.utils import ClassifierTags
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    StrOptions,
    validate_parameter_constraints,
)

__all__ = ["ScikerasMixin", "SklearnTagsBase"]


def _is_callback(item):
    return isinstance(item, keras.callbacks.Callback) or (
        isinstance(item, type) and issubclass(item, keras.callbacks.Callback)
    )


def _check_callbacks(name, value, owner):
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


class SklearnTagsBase:
    """The last base of the estimator: sklearn's base tags, for sklearn 1.6.

    scikeras' ``KerasClassifier`` defines ``_more_tags`` and no
    ``__sklearn_tags__``, so scikit-learn 1.6 collects the tags of every class
    in the MRO one by one, calling ``ClassifierMixin.__sklearn_tags__``,
    whose ``super()`` then finds no ``__sklearn_tags__`` after it
    (scikeras puts the mixin after ``BaseEstimator``): every fit failed with
    ``'super' object has no attribute '__sklearn_tags__'``. Placed after
    ``ClassifierMixin`` in the MRO, this class answers that call with
    ``BaseEstimator``'s tags. From scikit-learn 1.7 on, tags are read from
    the instance's ``__sklearn_tags__`` alone and this class is never reached.
    """

    __sklearn_tags__ = BaseEstimator.__sklearn_tags__


class ScikerasMixin:
    """scikeras' routing, callbacks and tags, made right for current sklearn.

    Goes left of ``KerasClassifier`` in the bases. See the module docstring
    for what scikeras provides and what is overridden.
    """

    # Prefixes of the routed parameters this class honours, declared once:
    # scikeras' set_params stores ``<prefix>__<name>`` as a routed parameter
    # only for these (without "callbacks" it would take ``callbacks__patience``
    # for a nested estimator's parameter), fit refuses other unknown names,
    # and sk_mnist.persistence and sk_mnist.search read them from the class.
    _routing_prefixes = frozenset(
        {"fit", "compile", "predict", "optimizer", "callbacks"}
    )

    # Routed names that would hand Keras an argument the class already
    # passes, with what to use instead.
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

    # Values of routed parameters that predict passes to Keras: checked with
    # the other parameters, so that a bad one fails at fit or load time, not
    # when predicting.
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

    # The old-style tags scikeras' ``_more_tags`` reads; only scikit-learn 1.6
    # still merges them (see SklearnTagsBase), over __sklearn_tags__ below.
    # scikeras' say multi-label, multi-output, poor score: none holds here.
    _tags = MappingProxyType(
        {
            "multilabel": False,
            "multioutput": False,
            "poor_score": False,
            "requires_y": True,
        }
    )

    # scikeras prints one parameter per line; sklearn's repr shows only the
    # changed ones and is what GridSearchCV users expect.
    __repr__ = BaseEstimator.__repr__

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # What ClassifierMixin would add if scikeras had put it first.
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags(multi_class=True, multi_label=False)
        tags.target_tags.required = True
        tags.target_tags.single_output = True
        tags.target_tags.multi_output = False
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags

    def _check_routed_params(self):
        """Refuse unknown, clashing or invalid routed parameters."""
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
            _check_callbacks(name, params.get(name), owner)

    def _routed(self, route):
        """The routed parameters ``<route>__<name>``, as ``{name: value}``."""
        prefix = route + "__"
        return {
            name[len(prefix) :]: value
            for name, value in self.get_params(deep=False).items()
            if name.startswith(prefix) and "__" not in name[len(prefix) :]
        }

    def _built_callbacks(self, phase):
        """scikeras' built callbacks for ``phase`` ("fit" or "predict").

        Classes are instantiated with their routed arguments; the result is
        a list of callbacks or of lists of them.
        """
        self._initialize_callbacks()
        return list(self._fit_callbacks if phase == "fit" else self._predict_callbacks)
