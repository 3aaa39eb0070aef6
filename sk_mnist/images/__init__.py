"""Digit images of any size in, MNIST-style rows of 784 grey levels out.

* :class:`~sk_mnist.DigitNormalizer` - a scikit-learn transformer that
  applies MNIST's own recipe to images of any size: bright ink on a dark
  background, the digit's bounding box scaled to fit 20 x 20, its centre of
  mass placed at the centre of a 28 x 28 field.
* :func:`~sk_mnist.read_image` - one image file (PNG, JPEG, BMP, GIF, TIFF,
  WebP) as a 2-D grey array: by name, from its bytes or from a binary file
  object.
* :func:`~sk_mnist.load_images` - a list of image files, a folder of them,
  or a folder of ``<label>/`` folders (``(images, labels)`` for training).

Put together: ``make_pipeline(DigitNormalizer(), pipe)`` classifies the
images that :func:`~sk_mnist.load_images` returns with a pipeline trained on
MNIST. Pillow reads the files; Keras is never imported.

This package is the public face of three private modules: ``_normalizer``
(the transformer), ``_decode`` (one image) and ``_folders`` (many).
"""

from ._decode import read_image
from ._folders import IMAGE_EXTENSIONS, load_images  # noqa: F401
from ._normalizer import DigitNormalizer

__all__ = ["DigitNormalizer", "load_images", "read_image"]
