"""sk-mnist: a scikit-learn style Dense MLP classifier for MNIST-like images.

The estimator and pipeline pull in Keras (and its backend) when first used, so
``import sk_mnist`` and ``sk_mnist.datasets`` stay fast for data-only work.
"""

from importlib import import_module

__version__ = "0.1.0"

_LAZY = {
    "load_mnist_csv": "sk_mnist.datasets",
    "save_mnist_csv": "sk_mnist.datasets",
    "load_idx": "sk_mnist.datasets",
    "load_sample": "sk_mnist.datasets",
    "fetch_mnist": "sk_mnist.datasets",
    "fetch_fashion_mnist": "sk_mnist.datasets",
    "PixelScaler": "sk_mnist.preprocessing",
    "DigitNormalizer": "sk_mnist.images",
    "read_image": "sk_mnist.images",
    "load_images": "sk_mnist.images",
    "build_dense_mlp": "sk_mnist.model",
    "DenseMLPClassifier": "sk_mnist.estimator",
    "HOMEWORK_PARAMS": "sk_mnist.estimator",
    "make_mnist_pipeline": "sk_mnist.pipeline",
    "make_search": "sk_mnist.search",
    "save_model": "sk_mnist.persistence",
    "load_model": "sk_mnist.persistence",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sk_mnist' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
