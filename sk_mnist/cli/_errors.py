"""How the command fails: one ``error:`` line, an exit status, no traceback.

Every failure a user can cause ends in :class:`UsageError` (or an
``OSError``/``ValueError`` from the library, which carries a one-line
message naming the file and the problem) and exit status 2. Running out of
memory is reported as such, saying whether it was reading the data or
building and running the network. Ctrl-C ends with 130 and SIGTERM with 143
(128 plus the signal's number, as a shell reports a process the signal
killed), after the same cleanup.
"""

import contextlib
import os
import re
import signal
import textwrap
import threading

from .._messages import is_out_of_memory

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM
#: Seconds after a SIGTERM before it is delivered again, unless the command
#: has caught it by then: the first ``Terminated`` can be lost (a fit once ran
#: on to its last epoch), as Python ignores exceptions raised in finalizers.
#: Long enough for the cleanup before the catch (2 s was not, under load).
REDELIVER_SECONDS = 10.0

# What the backends raise when an allocation fails, by class name so that none
# of them need be imported: TensorFlow's ResourceExhaustedError, PyTorch's
# OutOfMemoryError; JAX raises an XlaRuntimeError (JaxRuntimeError) whose
# message starts with RESOURCE_EXHAUSTED.


class UsageError(Exception):
    """A problem the user can fix; reported as one ``error:`` line."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C raises ``KeyboardInterrupt``.

    A subclass of it, so that everything that cleans up after Ctrl-C
    (``finally`` blocks, joblib stopping its workers) does the same here.
    """


def debugging():
    """Whether ``SK_MNIST_DEBUG`` asks for tracebacks instead of one line."""
    return bool(os.environ.get("SK_MNIST_DEBUG"))


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Raise :class:`Terminated` on SIGTERM inside the block.

    The block gets a function to call once it has caught ``Terminated``; until
    then the signal is delivered again every ``REDELIVER_SECONDS``.

    SIGTERM is what ``timeout``, systemd and Slurm send; Python's default
    ends the process on the spot, leaving staging folders behind. Outside
    the main thread (where handlers cannot be set) nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return
    done = threading.Event()

    def again():
        if not done.wait(REDELIVER_SECONDS) and not done.is_set():
            os.kill(os.getpid(), signal.SIGTERM)

    def terminate(signum, frame):
        threading.Thread(target=again, name="sigterm-again", daemon=True).start()
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield done.set
    finally:
        done.set()
        # None: a handler set outside Python, which cannot be put back.
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _reason(err):
    """The first line of ``err``, without TensorFlow's ``{{function_node}}``."""
    lines = str(err).strip().splitlines()
    reason = re.sub(r"^\{\{.*?\}\}\s*", "", lines[0]) if lines else ""
    return textwrap.shorten(reason or type(err).__name__, 160, placeholder=" ...")


@contextlib.contextmanager
def reading_data(path):
    """Report running out of memory in the block as reading ``path``."""
    try:
        yield
    except MemoryError as err:
        raise UsageError(
            f"{path}: out of memory reading the data ({_reason(err)})"
        ) from err


@contextlib.contextmanager
def running_network(sizes=(), hint=""):
    """Report running out of memory in the block as the network's.

    ``sizes`` are the options that set the network's size, as typed
    (``--hidden 4096``); ``hint`` ends the line (``; try ...``).
    """
    try:
        yield
    except Exception as err:
        if not is_out_of_memory(err):
            raise
        where = f" ({', '.join(sizes)})" if sizes else ""
        raise UsageError(
            f"out of memory building or running the network{where}: "
            f"{_reason(err)}{hint}"
        ) from err


def error_line(err):
    """The one line reported for ``err`` (after ``error: ``).

    An ``OSError`` with a file name gives the system's own words; anything
    else its first line. Characters a terminal would not show as typed (a
    file name's undecodable bytes, control characters) are escaped.
    """
    if isinstance(err, OSError) and err.filename and err.strerror:
        name = err.filename
        name = os.fsdecode(name) if isinstance(name, (str, bytes)) else str(name)
        message = f"{name}: {err.strerror}"
    elif is_out_of_memory(err):
        message = f"out of memory: {_reason(err)}"
    else:
        message = str(err).splitlines()[0] if str(err).strip() else type(err).__name__
    return printable(message)


def printable(text):
    """``text`` with what a terminal would not show as typed escaped.

    Undecodable bytes of a file name (which Python keeps as lone surrogates)
    come back as ``\\xNN``; control characters as ``\\n``, ``\\x1b``...
    """
    try:
        raw = os.fsencode(text)
    except UnicodeEncodeError:  # a surrogate that no byte made
        raw = text.encode("utf-8", "backslashreplace")
    text = raw.decode("utf-8", "backslashreplace")
    return "".join(
        char if char.isprintable() or char == " " else repr(char)[1:-1] for char in text
    )
