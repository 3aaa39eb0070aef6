"""Reading and checking search grids: the private helpers of ``sk_mnist.search``.

A grid is JSON text, a JSON file or a dict. Each key must name a parameter of
the pipeline (or a routed one, such as ``mlp__optimizer__beta_1``), and each
value must be a non-empty list of candidates or, in a randomized search, a
distribution. Every candidate value is tried on a clone of the pipeline and
checked with sklearn's own hook, ``_validate_params``, so an invalid value
fails before any training.
"""

import difflib
import json
import math
from numbers import Integral, Real
from pathlib import Path

from scipy import stats
from sklearn.base import clone, is_classifier
from sklearn.utils.multiclass import unique_labels

DISTRIBUTIONS = {  # name: scipy distribution from [low, high], both included
    "loguniform": stats.loguniform,
    "uniform": lambda low, high: stats.uniform(low, high - low),
    "randint": lambda low, high: stats.randint(low, high + 1),  # scipy's excludes high
}


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs):
    """A JSON object as a dict, refusing a key given twice (JSON keeps the last)."""
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(
                f"key {key!r} is given twice in one JSON object; give it once "
                "(JSON would silently keep only the last)"
            )
        obj[key] = value
    return obj


def read_grid(grid):
    """The object in JSON text ``grid``, or in the JSON file it names."""
    text = str(grid)
    path = Path(text)
    where = "the grid is not valid JSON (and not a file)"
    source = ""
    try:
        is_file = not text.lstrip().startswith("{") and path.is_file()
    except (OSError, ValueError):  # a name too long, or holding a NUL
        is_file = False
    if is_file:
        where = f"grid file {text}"
        source = f"{where}: "
        try:  # utf-8-sig: a byte order mark, as some editors write, is fine
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as err:
            raise ValueError(f"{where}: cannot be read: {err}") from None
        where += " is not valid JSON"
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except _DuplicateKey as err:
        raise ValueError(f"{source}{err}") from None
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{where}: {err.msg} at line {err.lineno}, column {err.colno}"
        ) from None
    except RecursionError:
        raise ValueError(f"{where}: nested too deeply") from None


def check_key(key, valid):
    """Raise ValueError unless ``key`` is a parameter in ``valid`` or a routed one."""
    if key == "memory" or key.endswith("__memory"):
        # load_model refuses a saved 'memory' for the same reason.
        raise ValueError(
            f"grid key {key!r} is refused: it names a joblib cache folder, and "
            "joblib would unpickle the files it finds there, which can run code"
        )
    if key in valid or _is_routed(key, valid):
        return
    hint = difflib.get_close_matches(key, valid, n=1)
    hint = (
        f"did you mean {hint[0]!r}?"
        if hint
        else "parameters look like 'mlp__batch_size' (see pipeline.get_params())"
    )
    raise ValueError(f"grid key {key!r} is not a parameter of the pipeline; {hint}")


def parse_values(key, values, pipeline, randomized):
    """The checked candidates of ``key``: a list, or a scipy distribution."""
    if isinstance(values, dict):
        distribution = _distribution(key, values, randomized)
        for value in _draws(values):
            check_value(pipeline, key, value, f" from {json.dumps(values)}")
        return distribution
    if values == []:
        raise ValueError(
            f"grid key {key!r} has an empty list of values; a search needs at least one"
        )
    if not isinstance(values, list):
        raise ValueError(
            f"grid key {key!r}: expected a non-empty list of values, got "
            f"{json.dumps(values)}"
        )
    values = [_tuples(v) for v in values]
    for value in values:
        check_value(pipeline, key, value)
    return values


def check_value(estimator, key, value, source=""):
    """Raise ValueError naming ``key`` when ``value`` is not a valid setting."""
    try:
        validate(clone(estimator).set_params(**{key: value}), estimator)
    except (ValueError, TypeError, AttributeError) as err:
        reason = str(err).strip().splitlines()[0]
        raise ValueError(
            f"grid key {key!r}: value {value!r}{source} is invalid: {reason}"
        ) from None


def check_candidates(estimator, candidates, y=None):
    """Raise ValueError naming a key and value of a candidate a fit would refuse.

    ``candidates`` are dicts ``{key: value}``; a ``class_weight`` dict among
    them must weight classes of ``y`` only.
    """
    classes = None
    if y is not None and is_classifier(estimator):
        try:
            classes = unique_labels(y)
        except (ValueError, TypeError):  # the fit reports bad labels itself
            pass
    for params in candidates:
        _check_candidate(estimator, params, classes)


def _check_candidate(estimator, params, classes):
    try:
        validate(clone(estimator).set_params(**params), estimator)
    except (ValueError, TypeError, AttributeError) as err:
        for key, value in params.items():  # name the culprit when one is alone
            check_value(estimator, key, value)
        reason = str(err).strip().splitlines()[0]
        raise ValueError(f"grid candidate {params!r} is invalid: {reason}") from None
    for key, value in params.items():
        if key.rsplit("__", 1)[-1] == "class_weight" and isinstance(value, dict):
            _check_class_weight(key, value, classes)


def _check_class_weight(key, weights, classes):
    if classes is None:
        return
    known = set(classes.tolist())
    unknown = [label for label in weights if label not in known]
    if unknown:
        hint = (
            " (JSON object keys are always strings)"
            if all(isinstance(label, str) for label in unknown)
            and not any(isinstance(label, str) for label in known)
            else ""
        )
        raise ValueError(
            f"grid key {key!r}: value {weights!r} is invalid: it weights "
            f"{unknown}, not classes of y, which are {classes.tolist()}{hint}"
        )


def validate(candidate, original):
    """Run the checks a fit of ``candidate`` would start with.

    sklearn's own parameter check (``_validate_params``) of the estimator and,
    for a pipeline, of each of its steps, and the pipeline's shape: named
    steps, transformers (or ``"passthrough"``) and, when ``original`` ends in
    a classifier, a classifier last.
    """
    if hasattr(candidate, "_parameter_constraints"):
        candidate._validate_params()
    if not hasattr(candidate, "steps"):
        return
    steps = candidate.steps
    for step in steps:
        if not (isinstance(step, tuple | list) and len(step) == 2):
            raise ValueError(f"a step must be a (name, estimator) pair, got {step!r}")
    if not steps:
        raise ValueError("the pipeline has no steps")
    for name, step in steps[:-1]:
        if not (
            step is None or isinstance(step, str) and step == "passthrough"
        ) and not (hasattr(step, "fit") and hasattr(step, "transform")):
            raise ValueError(
                f"step {name!r} is {step!r}, not a transformer or 'passthrough'"
            )
    name, last = steps[-1]
    if is_classifier(original) and not (hasattr(last, "fit") and is_classifier(last)):
        raise ValueError(f"the last step {name!r} is {last!r}, not a classifier")
    for _, step in steps:
        if hasattr(step, "_parameter_constraints"):
            step._validate_params()


def _tuples(value):
    """JSON lists nested in a candidate become tuples (``[[256], [512, 256]]``)."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def _distribution(key, spec, randomized):
    if len(spec) != 1 or next(iter(spec)) not in DISTRIBUTIONS:
        raise ValueError(
            f"grid key {key!r}: a distribution is one of "
            f"{', '.join(repr(n) for n in DISTRIBUTIONS)} with [low, high], got "
            f"{json.dumps(spec)}"
        )
    if not randomized:
        raise ValueError(
            f"grid key {key!r}: distributions need --n-iter (a randomized search); "
            "an exhaustive grid takes lists only"
        )
    ((name, bounds),) = spec.items()
    if (
        not isinstance(bounds, list)
        or len(bounds) != 2
        or not all(isinstance(b, Real) and not isinstance(b, bool) for b in bounds)
        or not bounds[0] < bounds[1]
        or (name == "loguniform" and bounds[0] <= 0)
        or (name == "randint" and not all(isinstance(b, Integral) for b in bounds))
    ):
        raise ValueError(
            f"grid key {key!r}: {name} needs [low, high] with low < high"
            + (" and low > 0" if name == "loguniform" else "")
            + (", integers" if name == "randint" else "")
            + f", got {json.dumps(bounds)}"
        )
    return DISTRIBUTIONS[name](*bounds)


def _draws(spec):
    """Values a distribution ``spec`` can draw: its low end, high end and middle."""
    ((name, (low, high)),) = spec.items()
    if name == "randint":
        return [low, high, (low + high) // 2]
    middle = math.sqrt(low * high) if name == "loguniform" else (low + high) / 2
    # scipy draws floats from [low, high): the largest float below high, not high
    return [float(low), math.nextafter(high, low), middle]


def _routed_prefixes(estimator):
    """Prefixes of the routed parameters (``optimizer__``, ...) ``estimator`` takes.

    scikeras-style estimators (DenseMLPClassifier among them) take parameters
    such as ``optimizer__beta_1`` that ``get_params()`` lists only once set.
    """
    routes = getattr(estimator, "_routing_prefixes", ())
    return tuple(f"{route}__" for route in routes)


def _is_routed(key, valid):
    """Whether ``key`` is ``<owner>__<route>__<name>`` for an estimator in ``valid``."""
    parts = key.split("__")
    for i in range(1, len(parts) - 1):
        owner, rest = "__".join(parts[:i]), "__".join(parts[i:])
        if owner in valid and rest.startswith(_routed_prefixes(valid[owner])):
            return True
    return False
