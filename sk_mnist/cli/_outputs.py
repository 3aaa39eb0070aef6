"""The rules every output file follows.

* It is written under a temporary name beside its destination and renamed
  into place when complete (:func:`atomic_file`), so an error, Ctrl-C or
  SIGTERM leaves nothing half-written.
* It never replaces an input of the same run: the data, or anything inside
  the model folder (:func:`check_output_file`).
* It is a regular file or nothing yet: a symbolic link, a FIFO or a device
  (``/dev/full``, ``/dev/stdout``) is refused, because renaming a new file
  onto it would replace the link or the node itself and nothing would reach
  what it stands for, while writing through it could not be atomic.
"""

import contextlib
import os
from pathlib import Path

from .._files import special_kind, temporary_beside, topmost_missing
from ._errors import UsageError


def _real(path):
    return Path(os.path.realpath(path))


def same_or_inside(path, other):
    """Whether ``path`` is ``other`` or lies inside the folder ``other``."""
    path, other = _real(path), _real(other)
    if path == other or other in path.parents:
        return True
    with contextlib.suppress(OSError):
        return os.path.samefile(path, other)
    return False


def check_output_file(option, path, inputs, others=None):
    """Refuse ``path`` as ``option``'s output file before any work is done.

    Parameters
    ----------
    option : str
        The option that names it, e.g. ``"--metrics"``.
    path : path-like
        The output.
    inputs : dict of str to path-like or list of path-like
        The run's inputs by option (files, and folders such as ``--model``;
        a list for an option that takes several); the output may be none of
        them and not inside any of them.
    others : dict of str to path-like, default=None
        The run's other outputs by option; the output may not be one of them.
    """
    kind = special_kind(path)
    if kind is not None:
        raise UsageError(
            f"{option} {path} is {kind}, not a regular file: sk-mnist writes "
            f"its outputs as new regular files only; choose another {option}"
        )
    if Path(path).is_dir():
        raise UsageError(f"{path} is a directory, expected a file name")
    named = [
        (source, other)
        for source, given in {**inputs, **(others or {})}.items()
        for other in (given if isinstance(given, (list, tuple)) else [given])
    ]
    for source, other in named:
        if other is None or not same_or_inside(path, other):
            continue
        if Path(other).is_dir():
            raise UsageError(
                f"{option} {path} is inside the {source} folder {other}; "
                f"choose another {option}"
            )
        raise UsageError(
            f"{option} {path} is the {source} file; choose another {option}"
        )


@contextlib.contextmanager
def output_error(target):
    """Report an OS error in the block as one line naming ``target`` and why."""
    try:
        yield
    except OSError as err:
        reason = err.strerror or err
        parent = Path(target).absolute().parent
        missing = topmost_missing(parent)
        existing = Path(missing).parent if missing else parent
        if not existing.is_dir():
            reason = f"{existing} is not a folder"
        raise UsageError(f"{target}: cannot write there ({reason})") from None


@contextlib.contextmanager
def atomic_file(option, target):
    """Yield a temporary path that replaces the file ``target`` on success only.

    ``target`` is checked again (see :func:`check_output_file`) just before:
    it may have become a link or a device since the command started.
    """
    target = Path(target)
    check_output_file(option, target, {})
    with contextlib.ExitStack() as stack:
        with output_error(target):
            # Same suffix as the target: matplotlib picks the format from it.
            tmp = stack.enter_context(temporary_beside(target, suffix=target.suffix))
        yield tmp
        os.replace(tmp, target)
