"""Fitted state as plain JSON values, and the checks that restore it safely.

:meth:`~sk_mnist.DenseMLPClassifier.get_fitted_state` and
:meth:`~sk_mnist.PixelScaler.get_fitted_state` return their fitted
attributes as JSON types (the Keras network aside), and ``set_fitted_state``
restores them; the state may come from a file, so every entry is checked
before anything is set, with a ``ValueError`` naming the entry.
"""

import math
from numbers import Real

import keras
import numpy as np

from ._messages import plain

__all__ = [
    "FITTED_ATTRIBUTES",
    "NETWORK_PARAMS",
    "check_network",
    "classifier_attributes",
    "classifier_state",
    "input_attributes",
    "input_state",
    "network_params_entries",
    "plain",
]

# What DenseMLPClassifier's fit sets, and what a failed first fit or
# set_fitted_state removes.
FITTED_ATTRIBUTES = (
    "model_",
    "classes_",
    "n_classes_",
    "n_features_in_",
    "feature_names_in_",
    "history_",
    "n_iter_",
    "_network_params",  # network_params: see DenseMLPClassifier.get_fitted_state
    "_trainer",  # the augmented training model, when augment is set
)
# The entries of network_params, the parameters fixed in a built network,
# besides its optimizer__* / compile__* ones.
NETWORK_PARAMS = ("hidden_layer_sizes", "activation", "dropout", "alpha", "optimizer")
_ROUTED_IN_NETWORK = ("optimizer__", "compile__")
_LABEL_KINDS = "biufUO"


def entry(state, key):
    """``state[key]``, or a ValueError naming the missing entry."""
    if not isinstance(state, dict):
        raise ValueError(f"the fitted state must be a dict, got {type(state).__name__}")
    if key not in state:
        raise ValueError(f"missing entry {key!r}")
    return state[key]


def non_negative_int(value, what):
    if type(value) is not int or value < 0:
        raise ValueError(f"{what} must be a non-negative int, got {value!r}")
    return value


def input_state(est):
    """``n_features_in_`` and, when set, ``feature_names_in_`` of ``est``."""
    state = {"n_features_in_": int(est.n_features_in_)}
    if hasattr(est, "feature_names_in_"):
        state["feature_names_in_"] = [str(n) for n in est.feature_names_in_]
    return state


def input_attributes(state):
    """The attributes :func:`input_state` describes, checked."""
    n_features = non_negative_int(entry(state, "n_features_in_"), "n_features_in_")
    attributes = {"n_features_in_": n_features}
    if "feature_names_in_" in state:
        names = state["feature_names_in_"]
        if (
            not isinstance(names, list)
            or not all(isinstance(n, str) for n in names)
            or len(names) != n_features
        ):
            raise ValueError("feature_names_in_ must be n_features_in_ strings")
        attributes["feature_names_in_"] = np.asarray(names, dtype=object)
    return attributes


def classes_state(classes):
    """``classes_`` as ``{"dtype": ..., "values": [...]}``: ints or strings only."""
    classes = np.asarray(classes)
    kind = classes.dtype.kind
    if kind not in _LABEL_KINDS or (
        kind == "O" and not all(isinstance(c, str) for c in classes)
    ):
        raise ValueError(f"unsupported labels {classes}")
    return {"dtype": classes.dtype.str, "values": classes.tolist()}


def classes_from_state(value):
    values, dtype = entry(value, "values"), np.dtype(entry(value, "dtype"))
    classes = np.asarray(values, dtype=dtype)
    if (
        dtype.kind not in _LABEL_KINDS
        or classes.ndim != 1
        or len(classes) < 2
        or classes.tolist() != values
        or not np.all(classes[:-1] < classes[1:])
    ):
        raise ValueError("classes_ must be >= 2 sorted unique int or str labels")
    return classes


def history_from_state(value):
    if not isinstance(value, dict) or not all(
        isinstance(v, list) for v in value.values()
    ):
        raise ValueError("history_ must map names to lists of numbers")
    return {str(k): [float(v) for v in vs] for k, vs in value.items()}


def classifier_state(clf):
    """A fitted DenseMLPClassifier's attributes as JSON values (no network)."""
    history = {str(k): [float(v) for v in vs] for k, vs in clf.history_.items()}
    return {
        **input_state(clf),
        "classes_": classes_state(clf.classes_),
        "history_": history,
        "n_iter_": int(clf.n_iter_),
    }


def classifier_attributes(state):
    """The attributes :func:`classifier_state` describes, checked."""
    attributes = input_attributes(state)
    classes = classes_from_state(entry(state, "classes_"))
    attributes.update(
        classes_=classes,
        n_classes_=len(classes),
        history_=history_from_state(entry(state, "history_")),
        n_iter_=non_negative_int(entry(state, "n_iter_"), "n_iter_"),
    )
    return attributes


def network_params_entries(value):
    """``value`` if it is a dict naming ``NETWORK_PARAMS`` and routed entries only.

    Only its shape: the values are the estimator's parameters, which its own
    ``_validate_params`` checks.
    """
    if not isinstance(value, dict) or not set(NETWORK_PARAMS) <= value.keys():
        raise ValueError(f"network_params must be a dict with {list(NETWORK_PARAMS)}")
    extra = set(value) - set(NETWORK_PARAMS)
    if any(not name.startswith(_ROUTED_IN_NETWORK) for name in extra):
        raise ValueError(f"network_params has unknown entries {sorted(extra)}")
    return value


def _same(a, b):
    a, b = plain(a), plain(b)
    if isinstance(a, Real) and isinstance(b, Real) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=0.0)
    return a == b


def _network_facts(model):
    """What ``model``'s layers and optimizer say about its build parameters."""
    layers = model.layers
    dense = [layer for layer in layers if isinstance(layer, keras.layers.Dense)]
    if not dense:
        raise ValueError("the network has no Dense layer")
    hidden = dense[:-1]
    rates = [layer.rate for layer in layers if isinstance(layer, keras.layers.Dropout)]
    if not rates:
        dropout = 0.0
    elif len(set(rates)) == 1 and len(rates) == len(hidden):  # one per layer
        dropout = rates[0]
    else:
        dropout = rates
    penalties = set()
    for layer in dense:
        regularizer = layer.kernel_regularizer
        penalties.add(getattr(regularizer, "l2", None) if regularizer else 0.0)
    optimizer = getattr(model, "optimizer", None)
    return {
        "hidden_layer_sizes": tuple(int(layer.units) for layer in hidden),
        "activations": {layer.activation for layer in hidden},
        "dropout": dropout,
        "alpha": penalties.pop() if len(penalties) == 1 else penalties,
        "optimizer": optimizer,
    }


def check_network(model, network_params, attributes):
    """Raise ValueError unless ``model`` is the network ``network_params`` describes.

    Its input and output widths must be ``attributes["n_features_in_"]`` and
    the number of classes. Then compares the hidden-layer widths, their
    activation, the dropout rate, the L2 penalty, the optimizer's class and
    the ``optimizer__*`` arguments the optimizer reports; ``compile__*``
    arguments leave no trace to check.
    """
    shapes = (getattr(model, "input_shape", None), getattr(model, "output_shape", None))
    n_features, n_classes = attributes["n_features_in_"], attributes["n_classes_"]
    if shapes != ((None, n_features), (None, n_classes)):
        raise ValueError(
            f"network shapes {shapes} do not fit n_features_in_={n_features} "
            f"and {n_classes} classes"
        )
    facts = _network_facts(model)

    def refuse(name, actual):
        return ValueError(
            f"{name}={network_params[name]!r} does not describe the Keras network, "
            f"which has {name}={actual!r}"
        )

    if facts["hidden_layer_sizes"] != tuple(network_params["hidden_layer_sizes"]):
        raise refuse("hidden_layer_sizes", facts["hidden_layer_sizes"])
    expected = keras.activations.get(network_params["activation"])
    if facts["activations"] and facts["activations"] != {expected}:
        names = sorted(keras.activations.serialize(a) for a in facts["activations"])
        raise refuse("activation", names[0] if len(names) == 1 else names)
    for name in ("dropout", "alpha"):
        if not isinstance(facts[name], Real) or not _same(
            facts[name], network_params[name]
        ):
            raise refuse(name, facts[name])
    optimizer = facts["optimizer"]
    expected_cls = type(keras.optimizers.get(network_params["optimizer"]))
    if type(optimizer) is not expected_cls:
        actual = None if optimizer is None else type(optimizer).__name__.lower()
        raise refuse("optimizer", actual)
    config = optimizer.get_config()
    for name in sorted(network_params):
        arg = name.removeprefix("optimizer__")
        if name.startswith("optimizer__") and arg in config:
            if not _same(config[arg], network_params[name]):
                raise refuse(name, config[arg])
