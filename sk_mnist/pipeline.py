"""make_mnist_pipeline: PixelScaler followed by DenseMLPClassifier."""

from sklearn import get_config
from sklearn.pipeline import Pipeline

from .estimator import DenseMLPClassifier
from .preprocessing import PixelScaler

__all__ = ["make_mnist_pipeline"]


def make_mnist_pipeline(**mlp_params):
    """Return ``Pipeline([("scale", PixelScaler()), ("mlp", DenseMLPClassifier())])``.

    Parameters
    ----------
    **mlp_params : dict
        Parameters of :class:`~sk_mnist.DenseMLPClassifier` (for example
        ``hidden_layer_sizes=(256,)``, ``epochs=5``, ``random_state=0``).
        In a grid search, address them as ``mlp__<name>``.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Steps ``scale`` and ``mlp``.

    Notes
    -----
    Per-epoch validation on a set of your own (the homework's
    ``validation_data=(x_test, y_test)``) needs the validation images to go
    through the same scaler. sklearn does that with metadata routing: when
    ``sklearn.set_config(enable_metadata_routing=True)`` is in force as the
    pipeline is made, it is built with ``transform_input=["X_val"]`` and the
    classifier requests ``X_val``/``y_val``, so ``pipe.fit(X, y, X_val=...,
    y_val=...)`` scales ``X_val`` with the fitted scaler before Keras sees it.

    Examples
    --------
    >>> from sk_mnist import make_mnist_pipeline
    >>> from sk_mnist.datasets import load_sample
    >>> (X_train, y_train), (X_test, y_test) = load_sample()
    >>> pipe = make_mnist_pipeline(hidden_layer_sizes=(64,), epochs=2,
    ...                            batch_size=128, random_state=0)
    >>> pipe.fit(X_train, y_train).score(X_test, y_test) > 0.8
    True
    """
    mlp = DenseMLPClassifier(**mlp_params)
    transform_input = None
    if get_config()["enable_metadata_routing"]:
        mlp.set_fit_request(X_val=True, y_val=True, sample_weight=True)
        transform_input = ["X_val"]
    return Pipeline(
        [("scale", PixelScaler()), ("mlp", mlp)], transform_input=transform_input
    )
