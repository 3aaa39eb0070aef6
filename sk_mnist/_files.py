"""Writing an output atomically, and leaving nothing behind when that fails.

A command, a save or a download that fails leaves nothing half-written
behind, nor the folders it created; an interruption during the final rename
or cleanup is held until it is done (:func:`uninterrupted`).

:func:`file_sha256` is the checksum a saved model records and a server
reports as the model's version.
"""

import contextlib
import hashlib
import os
import secrets
import shutil
import signal
import stat
import tempfile
import threading
from pathlib import Path

__all__ = [
    "file_sha256",
    "remove_made_folders",
    "special_kind",
    "staged_folder",
    "temporary_beside",
    "topmost_missing",
    "uninterrupted",
]

# The signals held back while an output is renamed into place or cleaned up.
_HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# What special_kind calls each kind of file that is neither a regular file
# nor a folder.
_KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_sha256(path):
    """The SHA-256 of the file at ``path``, as hex, read 1 MiB at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def uninterrupted():
    """Hold SIGINT and SIGTERM until the block ends, then deliver them.

    A ``KeyboardInterrupt`` raised inside a cleanup (a rename, an rmtree)
    would leave it half done. Outside the main thread the block runs as is.

    Examples
    --------
    >>> import signal
    >>> from sk_mnist._files import uninterrupted
    >>> done = []
    >>> try:
    ...     with uninterrupted():
    ...         signal.raise_signal(signal.SIGINT)
    ...         done.append("cleanup finished")
    ... except KeyboardInterrupt:
    ...     done.append("then interrupted")
    >>> done
    ['cleanup finished', 'then interrupted']
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held, saved = [], {}
    holding = True

    def hold(signum, frame):
        if holding:
            held.append(signum)
            return
        # Arrived while the handlers are being put back: as if already back.
        handler = saved[signum]
        if callable(handler):
            handler(signum, frame)
        else:
            signal.signal(signum, handler)
            signal.raise_signal(signum)

    for signum in _HELD_SIGNALS:
        handler = signal.getsignal(signum)
        if handler is not None:  # None: not set from Python, cannot be restored
            saved[signum] = handler
            signal.signal(signum, hold)
    try:
        yield
    finally:
        holding = False
        for signum, handler in saved.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(held):
            signal.raise_signal(signum)


def special_kind(path):
    """What ``path`` is if it is neither a regular file nor a folder, else None.

    A symbolic link counts as a link, whatever it points to. None also when
    nothing is at ``path`` or it cannot be examined.

    Parameters
    ----------
    path : str or path-like
        The path to examine.

    Returns
    -------
    kind : str or None
        "a symbolic link", "a FIFO (named pipe)", "a character device",
        "a block device", "a socket" or "a special file"; None for a regular
        file, a folder or nothing.

    Examples
    --------
    >>> from sk_mnist._files import special_kind
    >>> special_kind("/dev/null")
    'a character device'
    >>> special_kind("/") is None
    True
    """
    try:
        mode = os.lstat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return next((kind for test, kind in _KINDS if test(mode)), "a special file")


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
    """Create an empty file with a random name in ``folder`` (mode 0o666 less
    the umask, unlike :func:`tempfile.mkstemp`); return its path."""
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
    ends, the temporary is removed if still there (rename it to ``target``
    to keep it), and so are the folders made for it if ``target`` is absent.

    Parameters
    ----------
    target : str or path-like
        The file or folder to be written.
    folder : bool, default=False
        Yield a folder (mode 0o700) instead of an empty file (mode 0o666
        less the umask).
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
        try:
            yield Path(tmp)
        except OSError as err:
            named = _naming(err, tmp, target)
            if named is err:
                raise
            raise named from err
    finally:
        with uninterrupted():
            if tmp is not None and folder:
                shutil.rmtree(tmp, ignore_errors=True)
            elif tmp is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(tmp)
            if not os.path.lexists(target):
                remove_made_folders(parent, top)


def _naming(err, tmp, target):
    """``err`` naming ``target`` if it named no file or only the temporary."""
    if err.errno is None or not err.strerror:
        return err
    target = os.fspath(target)
    if err.filename is None:
        return OSError(err.errno, err.strerror, target)
    if not isinstance(err.filename, (str, bytes, os.PathLike)):
        return err
    name, tmp = os.fsdecode(err.filename), os.fspath(tmp)
    if name == tmp:
        return OSError(err.errno, err.strerror, target)
    if name.startswith(tmp + os.sep):  # a file in a temporary folder
        return OSError(err.errno, err.strerror, target + name[len(tmp) :])
    return err


@contextlib.contextmanager
def staged_folder(target):
    """Yield a new empty folder that replaces the folder ``target`` on success.

    The folder is made beside ``target`` (see :func:`temporary_beside`).
    When the block ends without an error, the old ``target`` is swapped out
    and removed (put back if the rename fails), with signals held
    (:func:`uninterrupted`); when the block raises, ``target`` is left as is.

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
    # Entered before the staging folder, so it ends after that is removed.
    with contextlib.ExitStack() as held:
        with temporary_beside(target, folder=True) as staging:
            new, old = staging / "new", staging / "old"
            new.mkdir()  # unlike mkdtemp's 0o700, honours the umask
            try:
                yield new
            except OSError as err:
                named = _naming(err, new, target)
                if named is err:
                    raise
                raise named from err
            held.enter_context(uninterrupted())
            try:
                if os.path.lexists(target):
                    os.rename(target, old)
                os.rename(new, target)
            except BaseException:
                if old.exists() and not os.path.lexists(target):
                    os.rename(old, target)
                raise
