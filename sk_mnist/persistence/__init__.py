"""Save and load fitted sk_mnist models as JSON plus a Keras file, never pickle.

:func:`~sk_mnist.save_model` writes a folder of ``model.keras`` (the network)
and ``sk_mnist.json`` (everything else, plain JSON), atomically;
:func:`~sk_mnist.load_model` reads it back without unpickling anything, since
a pickled model from elsewhere is a program. The format, the checks and the
measured reasons for the limits are in :doc:`/persistence`.

The limits below are read each time a model is loaded: raise them
(``sk_mnist.persistence.MAX_MODEL_WEIGHTS = ...``) to load a larger model you
trust.
"""

# The file format's names, public as before the split (sk-mnist's CLI reads them).
from ._format import (
    FORMAT_NAME,  # noqa: F401
    FORMAT_VERSION,  # noqa: F401
    JSON_NAME,  # noqa: F401
    KERAS_NAME,  # noqa: F401
    ModelFileError,
)
from ._load import load_model, read_model_description  # noqa: F401
from ._save import _library_versions, save_model  # noqa: F401

__all__ = ["ModelFileError", "load_model", "save_model"]

#: The most weights a loaded network may declare (the homework's has 1.5
#: million; 100 million take 0.4 GB, and three times that with Adam's state).
MAX_MODEL_WEIGHTS = 100_000_000
#: The largest ``sk_mnist.json``, and ``config.json`` / ``metadata.json``
#: inside ``model.keras``, in bytes.
MAX_JSON_BYTES = 16 * 2**20
#: The largest expansion of a compressed entry of ``model.keras`` (Keras
#: stores its entries uncompressed, at ratio 1).
MAX_COMPRESSION_RATIO = 20
