"""``sk-mnist search``: a cross-validated search, here or on a Dask cluster.

Before anything is trained it says how many fits the search will run
(candidates x folds, then one refit of the best); ``--dry-run`` stops there,
after listing the candidates. Local fits run at most one per CPU core.
Progress is shown as log lines, or as sklearn's progress bars in a terminal
(see :func:`progress_lines`).
"""

import contextlib
import json
import logging
import sys
import time
import warnings
from pathlib import Path

from .._messages import plain
from . import _options as opt
from ._data import input_paths, load_train_test
from ._errors import UsageError, running_network
from ._report import metrics, versions
from ._run_folder import RUN_MARKER, check_out, staged_run

# How long to wait for a --scheduler before giving up.
SCHEDULER_TIMEOUT = "30s"


def check_scheduler(address):
    """Refuse a ``--scheduler`` address that is not HOST:PORT, before connecting.

    A malformed address makes ``Client`` fail, and then hang for twice the
    timeout on exit while it closes the client it never opened.
    """
    try:
        from distributed.comm import get_address_host_port
    except ImportError:
        raise UsageError(
            "--scheduler needs Dask: pip install 'sk-mnist[distributed]'"
        ) from None
    try:
        host, port = get_address_host_port(address)
        problem = None if host and 0 < port < 65536 else "no host or a bad port"
    except (ValueError, TypeError) as err:
        problem = str(err).splitlines()[0] if str(err) else type(err).__name__
    if problem is not None:
        raise UsageError(
            f"--scheduler: expected an address such as tcp://10.0.0.5:8786, got "
            f"{address!r} ({problem})"
        )


@contextlib.contextmanager
def on_cluster(address):
    """Send joblib's work (the search's fits) to the Dask scheduler at ``address``."""
    if address is None:
        yield
        return
    # cmd_search has checked the address, and that Dask is installed.
    import joblib
    from dask.distributed import Client

    try:
        client = Client(address, timeout=SCHEDULER_TIMEOUT, set_as_default=False)
    except (OSError, ValueError, TypeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UsageError(
            f"--scheduler: cannot reach a Dask scheduler at {address}: {reason}"
        ) from None
    with client, joblib.parallel_config(backend="dask", client=client):
        yield


@contextlib.contextmanager
def progress_lines(args):
    """Print the search's progress log to stdout unless --quiet.

    In a terminal, with scikit-learn 1.9+ and rich, the search shows
    sklearn's nested progress bars instead (search, rounds, fits, epochs);
    the lines stay for pipes and files, older scikit-learn and --scheduler
    (Dask's workers cannot reach the bars). The search decides, at fit
    time: see ``sk_mnist._callbacks.progress_bar_instead_of_lines``.
    """
    if args.quiet:
        yield
        return
    logger = logging.getLogger("sk_mnist.search")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("search: %(message)s"))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def fits_at_once(args):
    """The search's ``n_jobs``: at most one local fit per CPU core.

    Each fit holds its own network and copy of the data, so more processes
    than cores only add memory (8 on 2 cores took 7.3 GB), not speed. On a
    --scheduler, the cluster's threads decide (-1) unless --n-jobs says.
    """
    if args.scheduler is not None:
        return args.n_jobs or -1
    import joblib

    cores = joblib.cpu_count()
    if args.n_jobs is not None and args.n_jobs > cores:
        print(
            f"warning: --n-jobs {args.n_jobs} is more than the {cores} CPU "
            f"cores here; running {cores} fits at once",
            file=sys.stderr,
        )
        return cores
    return args.n_jobs or 1


def candidates(search):
    """The parameter sets ``search`` will try, in order (sklearn's own lists)."""
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    if hasattr(search, "param_grid"):
        return list(ParameterGrid(search.param_grid))
    with warnings.catch_warnings():
        # "The total space of parameters is smaller than n_iter": it says so.
        warnings.simplefilter("ignore", UserWarning)
        return list(
            ParameterSampler(
                search.param_distributions,
                search.n_iter,
                random_state=search.random_state,
            )
        )


def plan(n_candidates, folds):
    """One line: how many fits a search of ``n_candidates`` will run."""
    return (
        f"{n_candidates} candidate{'s' * (n_candidates != 1)} x {folds} folds = "
        f"{n_candidates * folds} fits, then 1 refit of the best candidate on "
        "all the training data"
    )


def _listed(params):
    """``name=value, ...`` with NumPy scalars shown as Python's."""
    return ", ".join(
        f"{name}={value.item() if hasattr(value, 'item') else value!r}"
        for name, value in params.items()
    )


def _grid_file(grid):
    """``grid`` as a path when it names an existing file (not JSON text)."""
    with contextlib.suppress(OSError, ValueError):
        if Path(grid).is_file():
            return Path(grid)
    return None


def build_search(args, n_jobs):
    """The unfitted search ``args`` ask for; bad --scoring or --grid refused."""
    from sklearn.metrics import get_scorer

    from ..pipeline import make_mnist_pipeline
    from ..search import make_search

    try:
        get_scorer(args.scoring)
    except ValueError:
        raise UsageError(
            f"--scoring: unknown scorer {args.scoring!r} (sklearn's "
            "get_scorer_names() lists them)"
        ) from None
    try:
        return make_search(
            make_mnist_pipeline(random_state=args.seed),
            args.grid,
            n_iter=args.n_iter,
            cv=args.cv,
            scoring=args.scoring,
            n_jobs=n_jobs,
            random_state=args.seed,
        )
    except ValueError as err:
        raise UsageError(f"--grid: {err}") from None


def cmd_search(args):
    """Cross-validated search; write the results and the refit best model."""
    from ..search import start_workers

    inputs = input_paths(args)
    if _grid_file(args.grid) is not None:
        inputs["--grid"] = _grid_file(args.grid)
    check_out(args.out, inputs)
    if args.scheduler is not None:
        check_scheduler(args.scheduler)
    n_jobs = fits_at_once(args)
    search = build_search(args, n_jobs)
    found = candidates(search)
    print(plan(len(found), args.cv), flush=True)
    if args.dry_run:
        for number, params in enumerate(found, 1):
            print(f"  {number}: {_listed(params)}")
        print("dry run: no data was read, nothing was trained or written")
        return 0
    # Local worker processes import Keras while this one loads the data.
    workers = None if args.scheduler else start_workers(n_jobs)
    X_train, y_train, X_test, y_test, _ = load_train_test(args)
    hint = "; try smaller widths or batch sizes in --grid"
    with on_cluster(args.scheduler), staged_run(args.out, inputs) as staging:
        if workers is not None:
            workers.join()
        start = time.perf_counter()
        with running_network(hint=hint), progress_lines(args):
            search.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        summary = write_search(staging, search, args, seconds, len(y_train))
        if X_test is not None:
            with running_network(hint=hint):
                test_metrics, _, _ = metrics(search.best_estimator_, X_test, y_test)
            summary.update(test_metrics)
        (staging / RUN_MARKER).write_text(json.dumps(summary, indent=2) + "\n")
    line = f"best {args.scoring} {search.best_score_:.4f} (cv={args.cv}) with "
    line += str(summary["best_params"])
    if X_test is not None:
        line += f"; test accuracy {summary['test_accuracy']:.4f}"
    print(f"{line}; {summary['n_candidates']} candidates in {seconds:.1f} s")
    print(f"results in {args.out}/: model/, cv_results.csv, best_params.json, ...")
    return 0


def write_search(staging, search, args, seconds, n_train):
    """cv_results.csv, best_params.json, the best model and the scores plot;
    returns what metrics.json records of the search."""
    import pandas as pd

    from ..persistence import save_model
    from ..plotting import SearchScoresDisplay, save_figure

    results = pd.DataFrame(search.cv_results_)
    results.drop(columns="params").to_csv(staging / "cv_results.csv", index=False)
    best = {name: plain(value) for name, value in search.best_params_.items()}
    (staging / "best_params.json").write_text(json.dumps(best, indent=2) + "\n")
    save_model(search.best_estimator_, staging / "model")
    save_figure(
        SearchScoresDisplay.from_estimator(search), staging / "search_scores.png"
    )
    return {
        "best_params": best,
        f"best_cv_{args.scoring}": float(search.best_score_),
        "n_candidates": len(results),
        "cv": args.cv,
        "n_jobs": search.n_jobs,
        "scheduler": args.scheduler,
        "search_seconds": round(seconds, 3),
        "n_train": int(n_train),
        "versions": versions(),
    }


SEARCH_EXAMPLES = """\
examples:
  sk-mnist search --grid '{"mlp__hidden_layer_sizes": [[256], [512, 256]],
                           "mlp__batch_size": [64, 256], "mlp__epochs": [5]}'
  sk-mnist search --grid grid.json --dry-run   # the candidates, nothing trained
  sk-mnist search --train mnist_train.csv --test mnist_test.csv \\
      --grid grid.json --n-iter 8 --cv 5 --n-jobs 2 --out search1
  sk-mnist search --grid grid.json --scheduler tcp://scheduler:8786   # on Dask
"""


def add_parser(sub):
    """Add the ``search`` subcommand to `sub`."""
    from ..datasets import DATASET_NAMES

    search = opt.subcommand(
        sub,
        "search",
        "grid or randomized search over the pipeline's parameters",
        "Cross-validated hyperparameter search. Writes cv_results.csv, "
        "best_params.json, the refit best model under model/, a plot of the "
        "mean score per candidate and, with --test, its test metrics. Before "
        "it starts it says how many fits it will run.",
        SEARCH_EXAMPLES,
    )
    opt.add_data_options(
        search,
        DATASET_NAMES,
        train_help=f"training images: {opt.LABELLED} (default: the embedded sample)",
        test_help="test images for the best model, the same way",
    )
    search.add_argument(
        "--grid",
        required=True,
        metavar="JSON",
        help="sklearn param_grid as JSON text or a JSON file; with --n-iter, "
        'values may be distributions such as {"loguniform": [1e-4, 1e-2]}',
    )
    search.add_argument(
        "--n-iter",
        type=opt.positive_int,
        metavar="N",
        help="sample N candidates (randomized search) instead of the whole grid",
    )
    search.add_argument(
        "--cv", type=opt.folds, default=3, metavar="K", help="folds (default: 3)"
    )
    search.add_argument(
        "--scoring",
        default="accuracy",
        metavar="NAME",
        help="sklearn scorer name (default: accuracy)",
    )
    search.add_argument(
        "--n-jobs",
        type=opt.positive_int,
        metavar="N",
        help="fits run at once: in N worker processes here (default: 1; at "
        "most one per CPU core, with a warning when N is more), or on the "
        "--scheduler's workers (default: as many as they have threads)",
    )
    search.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the fits on a Dask cluster, e.g. tcp://10.0.0.5:8786 (needs "
        "pip install 'sk-mnist[distributed]'); the refit of the best candidate "
        "runs here",
    )
    search.add_argument(
        "--dry-run",
        action="store_true",
        help="print how many fits the search would run and its candidates, "
        "then stop: no data is read, nothing is trained or written",
    )
    opt.add_run_options(search, "sk-mnist-search", "progress lines")
