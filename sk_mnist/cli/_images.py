"""Image files and folders as data: which paths are images, and reading them.

A ``--train``/``--test``/``--data`` path is read as images when it is a
folder, or a file whose name ends in an image suffix (:func:`image_suffixes`,
any case); anything else is a Kaggle-layout CSV file, read as before. Images
are read with :func:`~sk_mnist.load_images` and turned into MNIST-style rows
by :class:`~sk_mnist.DigitNormalizer` (MNIST's own recipe), so that the
pipeline gets the same 784 grey levels as from a CSV file. Labels come from
``<label>/`` folder names and must be the digits 0-9.
"""

import os
from pathlib import Path

from ._errors import UsageError, reading_data


def image_suffixes():
    """The file name endings read as images (those load_images reads in folders)."""
    from ..images import IMAGE_EXTENSIONS

    return IMAGE_EXTENSIONS


def is_image_path(path):
    """Whether ``path`` names images: a folder, or a file with an image suffix."""
    return Path(path).is_dir() or os.fspath(path).lower().endswith(image_suffixes())


def as_paths(data):
    """``--data``'s value as a list (``predict`` takes several, others one)."""
    return list(data) if isinstance(data, (list, tuple)) else [data]


def check_image_paths(paths, option):
    """Refuse several ``paths`` unless every one is images (a CSV is read alone)."""
    if len(paths) > 1:
        for path in paths:
            if not is_image_path(path):
                raise UsageError(
                    f"{option} {path}: not a folder or an image file "
                    f"({' '.join(image_suffixes())}); several {option} paths "
                    "must all be images, a CSV file is given alone"
                )


def _digit_labels(target, names, path, option):
    """``target`` as int64 digits, or a one-line error naming the bad folder."""
    import numpy as np

    # Ints when every folder name is one (7, 07), else every name a string.
    bad = [name for name in names if not (str(name).isdecimal() and int(name) <= 9)]
    if bad:
        raise UsageError(
            f"{option} {path}: label folder {str(bad[0])!r} is not a digit 0-9; "
            "name the label folders 0 to 9 (one per digit)"
        )
    return np.asarray(target, dtype=np.int64)


def _normalized(rows, filenames):
    """The MNIST-style rows as one array; an image without ink is named."""
    import numpy as np

    X = np.stack(rows) if rows else np.zeros((0, 784), np.uint8)
    blank = (~X.any(axis=1)).nonzero()[0]
    if blank.size:
        more = f" ({blank.size - 1} more images have none)" if blank.size > 1 else ""
        raise UsageError(
            f"{filenames[blank[0]]}: the image has no ink: no pixel differs from "
            f"its background{more}; remove it or draw a digit in it"
        )
    return X


def read_images(paths, option, *, labelled=False):
    """X (n, 784) uint8, y (digits, or None) and the file of each row.

    Parameters
    ----------
    paths : list of path-like
        Folders and image files; their images are read in this order.
    option : str
        The option that named them, for error lines.
    labelled : bool
        Whether the command needs labels: then ``paths`` must be one folder
        of ``<label>/`` folders.
    """
    from ..images import DigitNormalizer, load_images

    # Each image is normalised as it is read: a folder of large photos takes
    # 784 bytes an image, not the memory of every decoded photo.
    normalizer = DigitNormalizer(on_empty="zeros")

    def normalize(image):
        return normalizer.transform([image])[0]

    images, filenames, y = [], [], None
    for path in paths:
        with reading_data(path):
            found = load_images(path, transform=normalize)
        if labelled and found.target is not None and len(paths) == 1:
            y = _digit_labels(found.target, found.target_names, path, option)
        images += found.images
        filenames += found.filenames
    if labelled and y is None:
        raise UsageError(
            f"{option} {paths[0]}: needs labelled images, a folder of label "
            "folders 0/ to 9/ holding the image files; found images without "
            "labels"
        )
    return _normalized(images, filenames), y, filenames
