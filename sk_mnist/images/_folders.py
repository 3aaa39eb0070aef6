"""Read many digit images: a list of files, a folder, or ``<label>/`` folders.

:func:`load_images` walks folders as ``os.walk`` does (sorted, hidden
entries and links skipped, a bounded depth) and decodes each file with
:mod:`._decode`; a folder of ``<label>/`` folders gives labels too.
"""

import io
import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._decode import (
    _MAX_PIXELS,
    _check_max_pixels,
    _is_content,
    _name,
    _opened,
    _read,
    _shown,
)

__all__ = ["IMAGE_EXTENSIONS", "load_images"]

#: File name endings read from folders (case-insensitive).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
# Folders are read this deep under the one given, and no deeper: a digit
# data set needs a few levels, and a folder nested thousands deep (or a path
# too long to open) is refused by name instead of failing half-way.
_MAX_DEPTH = 32


def _is_folder(entry):
    """Whether a scandir entry is a folder to walk (as os.walk: no links)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _image_files(folder):
    """The image files under ``folder`` in ``os.walk``'s sorted order, hidden
    ones skipped, at most ``_MAX_DEPTH`` folders deep (else a ValueError)."""
    found, todo = [], [(os.fspath(folder), 0)]
    while todo:
        root, depth = todo.pop()
        with os.scandir(root) as scan:
            entries = sorted(
                (e for e in scan if not e.name.startswith(".")), key=lambda e: e.name
            )
        subfolders = []
        for entry in entries:
            if _is_folder(entry):
                if not entry.is_symlink():
                    subfolders.append(entry.path)
            elif entry.name.lower().endswith(IMAGE_EXTENSIONS):
                found.append(entry.path)
        if subfolders and depth >= _MAX_DEPTH:
            raise ValueError(
                f"{_shown(subfolders[0])}: folders nested more than {_MAX_DEPTH} "
                f"deep in {_shown(os.fspath(folder))}; image folders are read "
                f"{_MAX_DEPTH} levels down at most"
            )
        todo += [(sub, depth + 1) for sub in reversed(subfolders)]
    return found


def _label_folders(folder):
    """``(labels, folders)`` of a ``folder/<label>/`` layout, or None if flat.

    Labels are ints when every folder name is an integer, else the names.
    """
    with os.scandir(folder) as scan:
        entries = sorted(
            (e for e in scan if not e.name.startswith(".")), key=lambda e: e.name
        )
    subfolders = [e for e in entries if e.is_dir()]
    images = [e.name for e in entries if e.name.lower().endswith(IMAGE_EXTENSIONS)]
    if not subfolders:
        return None
    if images:
        raise ValueError(
            f"{_shown(os.fspath(folder))}: holds both image files "
            f"({_shown(images[0])}, ...) and folders "
            f"({_shown(subfolders[0].name)}, ...); put every image in a <label> "
            f"folder, or none"
        )
    names = [e.name for e in subfolders]
    if not all(name.isdecimal() for name in names):
        return names, [e.path for e in subfolders]
    labels = [int(name) for name in names]
    for label in set(labels):
        same = [n for n in names if int(n) == label]
        if len(same) > 1:
            raise ValueError(
                f"{_shown(os.fspath(folder))}: folders {' and '.join(same)} both "
                f"name label {label}"
            )
    order = np.argsort(labels, kind="stable")
    return [labels[k] for k in order], [subfolders[k].path for k in order]


def _files_of(source):
    """``(files, labels or None, label names or None)`` for a path or a list.

    One file's content (bytes) or a binary file object is one file.
    """
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if isinstance(source, bytes) and not _is_content(source):
        source = os.fsdecode(source)  # a name as os.fsencode gives it
    if isinstance(source, (bytes, bytearray, memoryview)) or (
        callable(getattr(source, "read", None))
        and not isinstance(source, io.TextIOBase)
    ):
        return [source], None, None
    if isinstance(source, str):
        path = Path(source)
        if path.is_dir():
            layout = _label_folders(path)
            if layout is None:
                return _image_files(path), None, None
            files, labels = [], []
            for label, sub in zip(*layout, strict=True):
                found = _image_files(sub)
                files += found
                labels += [label] * len(found)
            return files, labels, layout[0]
        if not path.exists():
            raise FileNotFoundError(f"{_shown(source)}: no such file or folder")
        return [source], None, None
    if isinstance(source, io.TextIOBase) or not hasattr(source, "__iter__"):
        raise TypeError(
            f"source: expected a path, a folder or a list of image files, got "
            f"{type(source).__name__}"
        )
    return list(source), None, None


def load_images(source, *, return_X_y=False, max_pixels=_MAX_PIXELS, transform=None):
    """Read digit image files: a list of files, a folder, or labelled folders.

    * A folder of ``<label>/`` folders (``root/0/*.png``, ``root/1/*.png``,
      ..., as Keras' ``image_dataset_from_directory``) gives the images and
      their labels, ints when every folder name is an integer.
    * A folder of image files, a single file, or a list of files gives the
      images and no labels.

    In folders, image files (by extension) are read in sorted order, others
    and hidden ones skipped; :doc:`/images` has the rules. The images keep
    their size and polarity: pass them to :class:`~sk_mnist.DigitNormalizer`.

    Parameters
    ----------
    source : str, path-like, or list of str, path-like or binary file objects
        A folder, a file, or a list of files.
    return_X_y : bool, default=False
        If True, return ``(images, target)`` instead of a Bunch.
    max_pixels : int, default=50_000_000
        Largest width x height accepted for each image (see
        :func:`~sk_mnist.read_image`).
    transform : callable, default=None
        Applied to each image as soon as it is read; only its result is
        kept, e.g. ``lambda image: DigitNormalizer().transform([image])[0]``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        images : list of ndarray of shape (height, width), dtype float32
            One grey image per file, levels 0-255, sizes as in the files (or
            what `transform` made of each).
        target : ndarray of shape (n_images,) or None
            The label of each image (int64, or str for non-integer folder
            names); None without label folders.
        target_names : list or None
            The labels in order (every label folder, even an empty one); None
            without label folders.
        filenames : list of str
            The file of each image (its path, or a file object's name).

    (images, target) : tuple if ``return_X_y`` is True
        As above.

    Raises
    ------
    FileNotFoundError
        If `source` or a listed file does not exist.
    ValueError
        If a file is not a readable image, is truncated or too large (the
        message names it), if a folder holds no image, or mixes image files
        with label folders.

    See Also
    --------
    read_image : Read one file.
    sklearn.datasets.load_files : The same folder layout, for text files.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from PIL import Image
    >>> from sk_mnist.images import load_images
    >>> root = Path(tempfile.mkdtemp())
    >>> for label in (3, 7):
    ...     (root / str(label)).mkdir()
    ...     Image.new("L", (64, 48), 255).save(root / str(label) / "a.png")
    >>> images, y = load_images(root, return_X_y=True)
    >>> len(images), images[0].shape, y.tolist()
    (2, (48, 64), [3, 7])
    """
    _check_max_pixels(max_pixels)
    files, labels, names = _files_of(source)
    if not files:
        named = isinstance(source, (str, bytes, os.PathLike))
        where = _shown(_name(source)) if named else "source"
        raise ValueError(f"{where}: no image files ({' '.join(IMAGE_EXTENSIONS)})")
    if transform is not None and not callable(transform):
        raise TypeError(f"transform must be callable or None, got {transform!r}")
    listed = not isinstance(
        source, (str, bytes, bytearray, memoryview, os.PathLike)
    ) and not hasattr(source, "read")
    images = []
    for i, f in enumerate(files):
        item, name = _opened(f, f"source[{i}]" if listed else "source")
        if listed and not isinstance(item, str):
            name = f"source[{i}] {name}"  # which of the list's files
        image = _read(item, name, max_pixels)
        images.append(image if transform is None else transform(image))
    target = None
    if labels is not None:
        target = np.asarray(
            labels, dtype=np.int64 if names and isinstance(names[0], int) else str
        )
    if return_X_y:
        return images, target
    return Bunch(
        images=images,
        target=target,
        target_names=names,
        filenames=[_name(f) for f in files],
    )
