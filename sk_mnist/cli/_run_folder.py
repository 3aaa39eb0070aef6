"""The run folder of ``train`` and ``search`` (``--out``).

A run is written in a staging folder beside ``--out`` and renamed into place
when complete (:func:`staged_run`). It replaces what is at ``--out`` only
when that is nothing, an empty folder or an earlier run: a folder in which
everything, recursively, is what sk-mnist writes (:func:`foreign_entry`),
with a ``metrics.json`` naming the sk-mnist version that wrote it. A user's
file anywhere in it, ``model/notes.txt`` as much as ``notes.txt``, a folder
or a link where a run writes a file, keeps it from being replaced.
"""

import contextlib
import json
import os
from pathlib import Path

from .._files import special_kind, staged_folder
from ._errors import UsageError
from ._outputs import output_error, same_or_inside

RUN_MARKER = "metrics.json"
# The inputs that may be image folders, whose images are all read.
IMAGE_OPTIONS = ("--train", "--test")
MODEL_FOLDER = "model"
# Every file 'train' and 'search' write in --out, beside MODEL_FOLDER.
TRAIN_NAMES = (
    "history.csv",
    "class_distribution.png",
    "samples.png",
    "learning_curves.png",
    "confusion_matrix.png",
    "misclassified.png",
    RUN_MARKER,
)
SEARCH_NAMES = (
    "cv_results.csv",
    "best_params.json",
    "search_scores.png",
    RUN_MARKER,
)


def _model_files():
    """The files ``save_model`` writes in a model folder."""
    from ..persistence import JSON_NAME, KERAS_NAME

    return {JSON_NAME, KERAS_NAME}


def foreign_entry(folder):
    """The first thing in ``folder``, recursively, that no run writes, or None.

    A run writes regular files with the names above, and a ``model`` folder
    holding only the model's files; anything else (another name, a folder
    or a link where a file belongs, anything under a folder a run does not
    write) is foreign.
    """
    run_files = {*TRAIN_NAMES, *SEARCH_NAMES}
    for entry in sorted(os.scandir(folder), key=lambda entry: entry.name):
        if entry.name == MODEL_FOLDER and entry.is_dir(follow_symlinks=False):
            model_files = _model_files()
            for inner in sorted(os.scandir(entry.path), key=lambda e: e.name):
                if inner.name not in model_files or not inner.is_file(
                    follow_symlinks=False
                ):
                    return Path(inner.path)
        elif entry.name not in run_files or not entry.is_file(follow_symlinks=False):
            return Path(entry.path)
    return None


def _not_a_run(folder):
    """Why the non-empty ``folder`` is not an earlier run, or None if it is."""
    foreign = foreign_entry(folder)
    if foreign is not None:
        return f"{foreign} was not written by sk-mnist"
    try:
        metrics = json.loads((folder / RUN_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        metrics = None
    versions = metrics.get("versions") if isinstance(metrics, dict) else None
    if not (isinstance(versions, dict) and "sk_mnist" in versions):
        return f"no {RUN_MARKER} written by sk-mnist"
    return None


def check_out(target, inputs):
    """Refuse an ``--out`` that a run may not replace, before any work is done.

    ``target`` may be missing, an empty folder or an earlier run; it may not
    be a link, be or hold the current folder, hold one of ``inputs``
    (``{option: path}``, the files and folders the run reads), or lie in a
    ``--train``/``--test`` image folder.
    """
    target = Path(target)
    if special_kind(target) == "a symbolic link":
        raise UsageError(
            f"--out {target} is a symbolic link; a run replaces its --out folder "
            "with a new one, which would replace the link rather than fill the "
            "folder it points to; choose another --out"
        )
    real = Path(os.path.realpath(target))
    here = Path.cwd().resolve()
    if target.is_dir() and (here == real or real in here.parents):
        raise UsageError(
            f"--out {target}: is the current folder or holds it, and a run "
            "replaces its --out folder; choose another --out"
        )
    for option, path in inputs.items():
        if real in Path(os.path.realpath(path)).parents:
            raise UsageError(
                f"--out {target} holds the {option} {path}, and a run replaces "
                "its --out folder; choose another --out"
            )
        if option in IMAGE_OPTIONS and Path(path).is_dir():
            if same_or_inside(target, path):
                # Its figures would be read as images by the next run.
                raise UsageError(
                    f"--out {target} is in the {option} image folder {path}, "
                    "all of whose images are read; choose another --out"
                )
    if not os.path.lexists(target):
        return
    if not target.is_dir():
        problem = f"it is {special_kind(target) or 'a file'}"
    elif any(target.iterdir()):
        problem = _not_a_run(target)
    else:
        problem = None
    if problem is not None:
        raise UsageError(
            f"{target} exists and is not an earlier sk-mnist run ({problem}); "
            "choose another --out or remove it"
        )


@contextlib.contextmanager
def staged_run(target, inputs):
    """Yield a staging folder that replaces ``target`` on success only."""
    target = Path(target)
    # Checked again here, not only before the data was loaded: a training
    # run is long, and files put in ``target`` meanwhile must not be wiped.
    check_out(target, inputs)
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
