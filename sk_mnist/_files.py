"""Folders made for an output, and their removal when the output fails.

A command or a download that fails leaves nothing half-written behind, and
that includes the folders it created on the way to its output.
"""

import os

__all__ = ["remove_made_folders", "topmost_missing"]


def topmost_missing(folder):
    """The highest missing folder on ``folder``'s absolute path, or None.

    Call it before creating ``folder``; pass the result to
    :func:`remove_made_folders` to undo the creation.

    Examples
    --------
    >>> import os, tempfile
    >>> from sk_mnist._files import topmost_missing
    >>> home = tempfile.mkdtemp()
    >>> topmost_missing(os.path.join(home, "a", "b")) == os.path.join(home, "a")
    True
    >>> topmost_missing(home) is None
    True
    """
    folder = os.path.abspath(folder)
    top = None
    while not os.path.exists(folder):
        top, folder = folder, os.path.dirname(folder)
    return top


def remove_made_folders(folder, top):
    """Remove ``folder`` and its parents up to ``top`` while they are empty.

    ``top`` is what :func:`topmost_missing` returned before ``folder`` was
    created; None (nothing was created) removes nothing. A folder that is
    not empty stays, and so do its parents.

    Examples
    --------
    >>> import os, tempfile
    >>> from sk_mnist._files import remove_made_folders, topmost_missing
    >>> home = tempfile.mkdtemp()
    >>> folder = os.path.join(home, "a", "b")
    >>> top = topmost_missing(folder)
    >>> os.makedirs(folder)
    >>> remove_made_folders(folder, top)
    >>> os.listdir(home)
    []
    """
    if top is None:
        return
    folder = os.path.abspath(folder)
    while True:
        try:
            os.rmdir(folder)
        except FileNotFoundError:
            pass  # the creation failed part of the way
        except OSError:
            return  # not empty: it and its parents stay
        if folder == top:
            return
        folder = os.path.dirname(folder)
