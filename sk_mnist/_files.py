"""Writing an output atomically, and leaving nothing behind when that fails.

A command, a save or a download that fails leaves nothing half-written
behind, and that includes the folders it created on the way to its output.
"""

import contextlib
import os
import secrets
import shutil
import tempfile
from pathlib import Path

__all__ = [
    "remove_made_folders",
    "staged_folder",
    "temporary_beside",
    "topmost_missing",
]


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


def _new_file(folder, prefix, suffix):
    """Create an empty file with a random name in ``folder``; return its path.

    Unlike :func:`tempfile.mkstemp`, whose 0o600 the renamed file would keep,
    the file gets the usual mode, 0o666 less the umask.
    """
    for _ in range(100):
        path = os.path.join(folder, f"{prefix}{secrets.token_hex(4)}{suffix}")
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"{folder}: no unused temporary file name")


@contextlib.contextmanager
def temporary_beside(target, *, folder=False, suffix=""):
    """Yield a new temporary file or folder next to ``target``, to rename onto it.

    ``target``'s missing parent folders are created first. When the block
    ends, the temporary is removed if it is still there (rename it to
    ``target`` to keep it), and the parent folders made for it are removed
    again if ``target`` does not exist then. Errors creating the folders or
    the temporary are raised as they come (``OSError``).

    Parameters
    ----------
    target : str or path-like
        The file or folder to be written.
    folder : bool, default=False
        Yield a folder (mode 0o700, as :func:`tempfile.mkdtemp` makes it)
        instead of an empty file (mode 0o666 less the umask, as ``open``
        makes it, so that ``target`` gets the usual permissions).
    suffix : str, default=""
        Suffix of a temporary file (some writers pick the format from it).

    Yields
    ------
    path : pathlib.Path
        The temporary, named ``.<target name>.tmp-<random><suffix>``.

    Examples
    --------
    >>> import os, tempfile
    >>> from sk_mnist._files import temporary_beside
    >>> home = tempfile.mkdtemp()
    >>> target = os.path.join(home, "new", "notes.txt")
    >>> with temporary_beside(target) as tmp:
    ...     _ = tmp.write_text("done")
    ...     os.replace(tmp, target)
    >>> open(target).read()
    'done'
    """
    target = os.path.abspath(target)
    parent = os.path.dirname(target)
    top = topmost_missing(parent)
    tmp = None
    try:
        os.makedirs(parent, exist_ok=True)
        prefix = f".{os.path.basename(target)}.tmp-"
        if folder:
            tmp = tempfile.mkdtemp(prefix=prefix, dir=parent)
        else:
            tmp = _new_file(parent, prefix, suffix)
        yield Path(tmp)
    finally:
        if tmp is not None and folder:
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.remove(tmp)
        if not os.path.lexists(target):
            remove_made_folders(parent, top)


@contextlib.contextmanager
def staged_folder(target):
    """Yield a new empty folder that replaces the folder ``target`` on success.

    The folder is made beside ``target`` (see :func:`temporary_beside`) with
    the umask's mode. When the block ends without an error, an existing
    ``target`` is moved aside, the new folder is renamed to ``target`` and
    the old one is removed; if that rename fails, the old ``target`` is put
    back. When the block raises, ``target`` is left as it was.

    Examples
    --------
    >>> import os, tempfile
    >>> from sk_mnist._files import staged_folder
    >>> home = tempfile.mkdtemp()
    >>> target = os.path.join(home, "run")
    >>> with staged_folder(target) as new:
    ...     _ = (new / "notes.txt").write_text("done")
    >>> os.listdir(target), os.listdir(home)
    (['notes.txt'], ['run'])
    """
    with temporary_beside(target, folder=True) as staging:
        new, old = staging / "new", staging / "old"
        new.mkdir()  # unlike mkdtemp's 0o700, honours the umask
        yield new
        try:
            if os.path.lexists(target):
                os.rename(target, old)
            os.rename(new, target)
        except BaseException:
            if old.exists() and not os.path.lexists(target):
                os.rename(old, target)
            raise
