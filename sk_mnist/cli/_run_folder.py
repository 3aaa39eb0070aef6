"""The run folder of ``train`` and ``search`` (``--out``).

A run is written in a staging folder beside ``--out`` and renamed into place
when complete (:func:`staged_run`). It replaces what is at ``--out`` only
when that is nothing, an empty folder or an earlier run (:func:`is_earlier_run`).
"""

import contextlib
import json
from pathlib import Path

from .._files import staged_folder
from ._errors import UsageError
from ._outputs import output_error

RUN_MARKER = "metrics.json"
# Every name 'train' and 'search' write in --out: a folder holding only these
# and a RUN_MARKER that says it came from sk-mnist is an earlier run, which a
# new run may replace.
TRAIN_NAMES = (
    "model",
    "history.csv",
    "class_distribution.png",
    "samples.png",
    "learning_curves.png",
    "confusion_matrix.png",
    "misclassified.png",
    RUN_MARKER,
)
SEARCH_NAMES = (
    "model",
    "cv_results.csv",
    "best_params.json",
    "search_scores.png",
    RUN_MARKER,
)


def is_earlier_run(folder):
    """Whether ``folder`` holds only what an sk-mnist run writes, with its
    ``metrics.json`` naming the sk-mnist version that wrote it."""
    names = {entry.name for entry in folder.iterdir()}
    if not names <= {*TRAIN_NAMES, *SEARCH_NAMES} or RUN_MARKER not in names:
        return False
    try:
        metrics = json.loads((folder / RUN_MARKER).read_text())
    except (OSError, ValueError):
        return False
    versions = metrics.get("versions") if isinstance(metrics, dict) else None
    return isinstance(versions, dict) and "sk_mnist" in versions


def check_out(target):
    """Refuse an ``--out`` that a run may not replace, before any work is done.

    ``target`` may be missing, an empty folder or an earlier run (see
    :func:`is_earlier_run`); it may not be, or hold, the current folder.
    """
    target = Path(target)
    if not target.exists():
        return
    here = Path.cwd().resolve()
    if target.is_dir() and (
        here == target.resolve() or target.resolve() in here.parents
    ):
        raise UsageError(
            f"--out {target}: is the current folder or holds it, and a run "
            "replaces its --out folder; choose another --out"
        )
    if not (target.is_dir() and (not any(target.iterdir()) or is_earlier_run(target))):
        raise UsageError(
            f"{target} exists and is not an earlier sk-mnist run; "
            "choose another --out or remove it"
        )


@contextlib.contextmanager
def staged_run(target):
    """Yield a staging folder that replaces ``target`` on success only."""
    target = Path(target)
    # Checked again here, not only before the data was loaded: a training
    # run is long, and files put in ``target`` meanwhile must not be wiped.
    check_out(target)
    with contextlib.ExitStack() as stack:
        with output_error(target):
            staging = stack.enter_context(staged_folder(target))
        try:
            yield staging
        except OSError as err:
            if err.filename or not err.strerror:
                raise
            # e.g. a full disk while writing: name the run it was writing
            raise UsageError(f"{target}: cannot write there ({err.strerror})") from None
