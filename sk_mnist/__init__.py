"""sk-mnist: a scikit-learn style Dense MLP classifier for MNIST-like images.

The estimator and pipeline pull in Keras (and its backend) when first used, so
``import sk_mnist`` and ``sk_mnist.datasets`` stay fast for data-only work.

With skl2onnx installed, sk-mnist's skl2onnx converters are registered as
soon as both skl2onnx and the estimator are imported, whichever comes
first, so that plain ``skl2onnx.to_onnx`` converts pipelines holding
sk-mnist's steps; :func:`register_onnx_converters` does it at once.
``import sk_mnist`` imports neither (skl2onnx takes about two seconds).
"""

import sys
from importlib import import_module
from importlib.util import find_spec

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

__all__ = ["__version__", "register_onnx_converters", *_LAZY]


def register_onnx_converters():
    """Register sk-mnist's converters with skl2onnx (idempotent).

    Afterwards ``skl2onnx.to_onnx`` converts any fitted pipeline of steps it
    supports and sk-mnist's: :class:`PixelScaler` and
    :class:`DenseMLPClassifier` (labels and probabilities; its options
    ``zipmap`` and ``nocl``), while a :class:`DigitNormalizer` is refused in
    one line. sk-mnist calls it by itself once both skl2onnx and
    :mod:`sk_mnist.estimator` are imported; call it to be explicit.
    :func:`sk_mnist.export.export_onnx` needs neither.

    Raises
    ------
    ImportError
        If skl2onnx is not installed (``pip install "sk-mnist[onnx]"``).

    Examples
    --------
    >>> import numpy as np, skl2onnx
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.decomposition import PCA
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> import sk_mnist
    >>> sk_mnist.register_onnx_converters()
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X.astype(np.float32)
    >>> clf = sk_mnist.DenseMLPClassifier(hidden_layer_sizes=(8,), epochs=1,
    ...                                   random_state=0)
    >>> pipe = make_pipeline(StandardScaler(), PCA(20), clf).fit(X, y)
    >>> onx = skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": False})
    >>> [output.name for output in onx.graph.output]
    ['label', 'probabilities']
    """
    from .export import register_converters

    register_converters()


class _RegisterWhenImported:
    """A ``sys.meta_path`` finder: registers the converters once both modules
    of :data:`MODULES` are imported, then leaves ``sys.meta_path``.

    It finds nothing itself: for the two modules it asks the other finders
    and runs the registration after the module's own code.
    """

    MODULES = ("skl2onnx", "sk_mnist.estimator")

    def __init__(self):
        self._finding = set()

    def find_spec(self, name, path=None, target=None):
        if name not in self.MODULES or name in self._finding:
            return None
        self._finding.add(name)
        try:
            spec = find_spec(name)
        finally:
            self._finding.discard(name)
        if spec is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            self.imported(name)

        spec.loader.exec_module = exec_module
        return spec

    def imported(self, name):
        """``name`` has just run its code: register if the other one has too."""
        for other in self.MODULES:
            module = sys.modules.get(other)
            if other != name and (
                module is None or getattr(module.__spec__, "_initializing", False)
            ):
                return  # not imported (or still importing) yet
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        try:
            register_onnx_converters()
        except Exception as err:  # never break the import that triggered it
            import warnings

            warnings.warn(
                f"sk-mnist could not register its skl2onnx converters "
                f"({type(err).__name__}: {err}); call "
                "sk_mnist.register_onnx_converters() to see why",
                RuntimeWarning,
                stacklevel=2,
            )


if find_spec("skl2onnx") is not None:  # installed: a cheap look, no import
    sys.meta_path.insert(0, _RegisterWhenImported())


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sk_mnist' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
