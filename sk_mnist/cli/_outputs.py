"""Output files: written under a temporary name beside their destination and
renamed into place when complete (:func:`atomic_file`), so an error or
Ctrl-C leaves nothing half-written."""

import contextlib
import os
from pathlib import Path

from .._files import temporary_beside, topmost_missing
from ._errors import UsageError


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
def atomic_file(target):
    """Yield a temporary path that replaces the file ``target`` on success only."""
    target = Path(target)
    if target.is_dir():
        raise UsageError(f"{target} is a directory, expected a file name")
    with contextlib.ExitStack() as stack:
        with output_error(target):
            # Same suffix as the target: matplotlib picks the format from it.
            tmp = stack.enter_context(temporary_beside(target, suffix=target.suffix))
        yield tmp
        os.replace(tmp, target)
