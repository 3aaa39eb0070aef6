"""Build the homework's Dense MLP as a plain Keras 3 model (no scikit-learn here).

Only ``keras`` and ``keras.ops``-free layers are used, so the model runs on
every Keras 3 backend (``KERAS_BACKEND=tensorflow`` or ``jax``).
"""

import math
from numbers import Integral, Real

import keras

__all__ = ["build_dense_mlp", "ACTIVATIONS", "HOMEWORK_LAYERS"]

#: Widths of the homework network's hidden layers, the default of
#: :func:`~sk_mnist.build_dense_mlp` and of
#: :class:`~sk_mnist.DenseMLPClassifier`'s ``hidden_layer_sizes``.
HOMEWORK_LAYERS = (1024, 512, 256)

#: Hidden-layer activations accepted by :func:`~sk_mnist.build_dense_mlp`.
ACTIVATIONS = frozenset(
    {
        "relu",
        "tanh",
        "sigmoid",
        "elu",
        "selu",
        "gelu",
        "silu",
        "swish",
        "softplus",
        "leaky_relu",
        "linear",
    }
)


# The widest hidden layer: wider cannot be a tensor dimension on every
# backend (Keras failed with "Can't convert ... to Tensor").
MAX_WIDTH = 2**31 - 1


def _is_int(value):
    return isinstance(value, Integral) and not isinstance(value, bool)


def hidden_widths(hidden_layer_sizes):
    """``hidden_layer_sizes`` as a tuple of ints; an int is one hidden layer.

    The one check and normalisation of the widths, shared by
    :func:`build_dense_mlp` and :class:`~sk_mnist.DenseMLPClassifier`. Every
    width must be an integer from 1 to ``MAX_WIDTH``: floats and booleans are
    refused rather than truncated. Raises ``ValueError`` otherwise.
    """
    sizes = hidden_layer_sizes
    try:
        sizes = (sizes,) if isinstance(sizes, Integral) else tuple(sizes)
    except TypeError:
        sizes = None
    if sizes is None or not all(_is_int(w) and 1 <= w <= MAX_WIDTH for w in sizes):
        raise ValueError(
            "hidden_layer_sizes must hold positive integer widths, got "
            f"{hidden_layer_sizes!r} (each at most {MAX_WIDTH})"
        )
    return tuple(int(width) for width in sizes)


def _check_args(n_features, n_classes, hidden_layer_sizes, activation, dropout, alpha):
    """Raise ValueError naming the first invalid argument; return the widths."""
    hidden_layer_sizes = hidden_widths(hidden_layer_sizes)
    if not (_is_int(n_features) and _is_int(n_classes)) or (
        n_features < 1 or n_classes < 2
    ):
        raise ValueError(
            f"n_features must be an integer >= 1 and n_classes one >= 2, got "
            f"{n_features!r} and {n_classes!r}"
        )
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}"
        )
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    if not (isinstance(alpha, Real) and math.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha must be >= 0 and finite, got {alpha!r}")
    return hidden_layer_sizes


def build_dense_mlp(
    n_features,
    n_classes,
    hidden_layer_sizes=HOMEWORK_LAYERS,
    *,
    activation="relu",
    dropout=0.0,
    alpha=0.0,
    seed=None,
    check_input=True,
):
    """Return the uncompiled Dense MLP of the homework.

    ``Input(n_features) -> [Dense(width, activation) -> Dropout] * k ->
    Dense(n_classes, softmax)``.

    Parameters
    ----------
    n_features : int
        Width of the input (784 for 28 x 28 images).
    n_classes : int
        Number of output units (softmax probabilities), at least 2.
    hidden_layer_sizes : sequence of int, default=(1024, 512, 256)
        Width of each hidden layer, in order. An empty sequence gives
        multinomial logistic regression.
    activation : str, default="relu"
        Activation of the hidden layers, one of :data:`~sk_mnist.model.ACTIVATIONS`.
    dropout : float, default=0.0
        Dropout rate after each hidden layer, in [0, 1). 0 adds no layer.
    alpha : float, default=0.0
        L2 penalty on the kernels of every Dense layer. 0 adds none.
    seed : int or None, default=None
        Seed for the weight initialisers and dropout masks.
    check_input : bool, default=True
        Check the arguments. False skips the checks, for callers that have
        made them already (as sklearn's ``check_input`` arguments do).

    Returns
    -------
    model : keras.Model
        The model, not compiled.

    Examples
    --------
    >>> from sk_mnist import build_dense_mlp
    >>> model = build_dense_mlp(784, 10, (32,))
    >>> [layer.units for layer in model.layers if hasattr(layer, "units")]
    [32, 10]
    """
    if check_input:
        hidden_layer_sizes = _check_args(
            n_features, n_classes, hidden_layer_sizes, activation, dropout, alpha
        )

    # One SeedGenerator-free int per layer: distinct but reproducible streams.
    def layer_seed(i):
        return None if seed is None else int(seed) + i

    regularizer = keras.regularizers.L2(alpha) if alpha > 0 else None
    inputs = keras.Input(shape=(int(n_features),), name="pixels")
    x = inputs
    for i, width in enumerate(hidden_layer_sizes):
        x = keras.layers.Dense(
            width,
            activation=activation,
            kernel_initializer=keras.initializers.GlorotUniform(seed=layer_seed(i)),
            kernel_regularizer=regularizer,
            name=f"hidden_{i + 1}",
        )(x)
        if dropout > 0:
            x = keras.layers.Dropout(
                dropout, seed=layer_seed(100 + i), name=f"dropout_{i + 1}"
            )(x)
    outputs = keras.layers.Dense(
        int(n_classes),
        activation="softmax",
        kernel_initializer=keras.initializers.GlorotUniform(
            seed=layer_seed(len(hidden_layer_sizes))
        ),
        kernel_regularizer=regularizer,
        name="probabilities",
    )(x)
    return keras.Model(inputs, outputs, name="dense_mlp")
