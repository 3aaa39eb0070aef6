"""How sk-mnist words what it reports: problems on one line, progress on demand.

The lowest module of the package (it imports nothing of sk-mnist), so that
every part, from the file readers to the server and the command line, says
things the same way.
"""

import sys

__all__ = ["is_out_of_memory", "one_line", "plain", "say"]

_OOM_CLASSES = {"ResourceExhaustedError", "OutOfMemoryError"}


def one_line(text, limit=None):
    """``text`` (any object, as ``str``) on one line, cut to ``limit`` characters.

    Runs of whitespace, newlines included, become one space, so that an
    error from a library reads as one line of ours.

    Examples
    --------
    >>> from sk_mnist._messages import one_line
    >>> one_line("bad value\\n  in   column 3")
    'bad value in column 3'
    >>> one_line("x" * 20, limit=10)
    'xxxxxxx...'
    """
    text = " ".join(str(text).split())
    if limit is None or len(text) <= limit:
        return text
    return text[: limit - 3] + "..."


def say(verbose, message, end="\n", file=None):
    """Print a progress ``message`` if ``verbose``, flushed at once.

    ``file`` defaults to ``sys.stderr`` as it is when called (so that
    captured or redirected streams get it).

    Examples
    --------
    >>> import sys
    >>> from sk_mnist._messages import say
    >>> say(True, "reading...", file=sys.stdout)
    reading...
    >>> say(False, "not shown", file=sys.stdout)
    """
    if verbose:
        print(message, end=end, file=sys.stderr if file is None else file, flush=True)


def plain(value):
    """``value`` with tuples as lists and NumPy scalars as Python ones, recursively.

    What JSON files and messages show of a parameter value.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mnist._messages import plain
    >>> plain({"hidden_layer_sizes": (np.int64(64), 32), "alpha": np.float32(0.5)})
    {'hidden_layer_sizes': [64, 32], 'alpha': 0.5}
    """
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return value.item()
    return value


def is_out_of_memory(err):
    """Whether ``err`` is a failed allocation (Python's, or any Keras backend's)."""
    names = {cls.__name__ for cls in type(err).__mro__}
    return (
        isinstance(err, MemoryError)
        or bool(names & _OOM_CLASSES)
        or (
            "RESOURCE_EXHAUSTED" in str(err)
            and bool(names & {"XlaRuntimeError", "JaxRuntimeError"})
        )
    )
