"""Read ``{"instances": [[grey levels], ...]}`` JSON bodies into rows.

A large plain body is read by pandas' C parser, anything else by
``json.loads``, which names the first problem (:doc:`/deploying`).
"""

import io
import json
import math
import re

import numpy as np
import pandas as pd

from ._inputs import RequestError, _check_rows, _check_width, check_grey_levels


def _constant(name):
    # JSON has no NaN or Infinity; Python's json module reads them anyway.
    return float(name.replace("Infinity", "inf"))


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs):
    """``object_pairs_hook``: a JSON object naming a key twice is refused
    (json.loads would keep the last silently)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(json.dumps(key)[:60])
            seen.add(key)
    return obj


def _value_problem(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"is {json.dumps(value)[:40]}, not a number"
    if math.isnan(value):
        return "is NaN"
    if not 0 <= value <= 255:
        return f"= {value:g} is outside 0-255"
    return None


def _find_bad_value(instances, n_features):
    """Scan row by row for the first row or value that is not a grey level."""
    for i, row in enumerate(instances):
        where = f"instances[{i}]"
        if not isinstance(row, list):
            raise RequestError(
                400, f"{where} is {type(row).__name__}, not a list of grey levels"
            )
        _check_width(len(row), n_features, where)
        for j, value in enumerate(row):
            problem = _value_problem(value)
            if problem:
                raise RequestError(400, f"{where}[{j}] {problem}")


# The usual body, {"instances": [[numbers], ...]} and nothing else, is read by
# pandas' C parser once it is large (_PLAIN_FROM_BYTES): 2.4 times faster than
# json.loads and np.array on 500 rows of floats. Anything else, and anything
# it cannot read, goes through json.loads, which also names the problem.
# JSON's whitespace is these four bytes only (regex \s would take \f and \v).
_WS = rb"[ \t\n\r]*"
_PLAIN_HEAD = re.compile(
    rb"\A"
    + _WS
    + rb"\{"
    + _WS
    + rb'"instances"'
    + _WS
    + rb":"
    + _WS
    + rb"\["
    + _WS
    + rb"\["
)
_PLAIN_TAIL = re.compile(rb"\]" + _WS + rb"\]" + _WS + rb"\}" + _WS + rb"\Z")
_ROW_BREAK = re.compile(rb"\][ \t]*,[ \t]*\[")
_NUMBER_BYTES = b"0123456789.,-eE []\t"
# Below this size json.loads reads plain rows faster than pandas (docs/benchmarks.md).
_PLAIN_FROM_BYTES = 64 * 1024
# Byte classes of the rows' text, for the strict JSON number check.
_DIGIT, _ZERO, _POINT, _MINUS, _EXP, _SEP, _SPACE = range(7)
_CLASS = np.full(256, _SEP, dtype=np.uint8)
_CLASS[np.frombuffer(b"123456789", np.uint8)] = _DIGIT
_CLASS[ord("0")] = _ZERO
_CLASS[ord(".")] = _POINT
_CLASS[ord("-")] = _MINUS
_CLASS[np.frombuffer(b"eE", np.uint8)] = _EXP
_CLASS[np.frombuffer(b" \t", np.uint8)] = _SPACE


def _bad_pairs():
    """Which (byte class, next byte class) pairs no JSON number list has."""
    digits, seps = {_DIGIT, _ZERO}, {_SEP, _SPACE}
    bad = np.zeros((7, 7), dtype=bool)
    for after in set(range(7)) - digits:
        bad[_POINT, after] = bad[_MINUS, after] = True  # "5." "-" "-."
    for before in set(range(7)) - digits:
        bad[before, _POINT] = bad[before, _EXP] = True  # ".5" "-.5" "e5"
    for after in set(range(7)) - digits - {_MINUS}:
        bad[_EXP, after] = True  # "1e" "1e."
    for before in set(range(7)) - seps - {_EXP}:
        bad[before, _MINUS] = True  # "1-2" "--1"
    return bad.ravel()


_BAD_PAIRS = _bad_pairs()


def _strict_numbers(lines):
    """Whether every number in `lines` is written as JSON writes numbers.

    NumPy's and pandas' parsers read ``00012``, ``.5`` or ``5.``, which JSON
    refuses; these are found with a few vector operations over the bytes.
    """
    a = np.frombuffer(b"\n\n" + lines + b"\n", dtype=np.uint8)
    # Integer grey levels (the usual body) have no "." "-" "e": no pair to check.
    if any(byte in lines for byte in (b".", b"-", b"e", b"E")):
        cls = _CLASS[a]
        if _BAD_PAIRS[cls[:-1] * 7 + cls[1:]].any():
            return False
    # A "0" followed by a digit must not start a number (it may start an
    # exponent's digits: "1e-05" is JSON).
    zero_digit = (a[2:-1] == ord("0")) & (a[3:] - ord("0") < 10)
    if not zero_digit.any():
        return True
    at = np.flatnonzero(zero_digit) + 2
    before, before2 = _CLASS[a[at - 1]], _CLASS[a[at - 2]]
    starts = (before >= _SEP) | ((before == _MINUS) & (before2 != _EXP))
    return not starts.any()


def _plain_rows(body, n_features, max_rows):
    """The rows of a plain ``{"instances": [[...], ...]}`` body, or None."""
    head, tail = _PLAIN_HEAD.match(body), _PLAIN_TAIL.search(body[-64:])
    if head is None or tail is None:
        return None
    inner = body[head.end() : len(body) - (len(body[-64:]) - tail.start())]
    if inner.translate(None, _NUMBER_BYTES):
        return None  # other characters: strings, true, NaN, newlines
    lines, n_breaks = _ROW_BREAK.subn(b"\n", inner)
    if b"[" in lines or b"]" in lines or not lines.translate(None, b" \t\n,"):
        return None  # nested lists, or no numbers at all
    n_rows = n_breaks + 1
    _check_rows(n_rows, max_rows, '"instances"')
    if any(row.count(b",") != n_features - 1 for row in lines.split(b"\n")):
        return None  # a row of another length: the full parser names it
    if not _strict_numbers(lines):
        return None  # 00012, .5, 5.: json.loads refuses them, naming where
    try:
        values = _read_numbers(lines)
    except ValueError:  # pandas' ParserError and EmptyDataError are ValueErrors
        return None
    if values.size != n_rows * n_features or np.isnan(values).any():
        return None  # an empty value (NaN) is not plain JSON: the full parser
    return values.reshape(n_rows, n_features)


def _read_numbers(lines):
    """The comma-separated numbers of `lines`, flat, as float64 (pandas' C
    parser, one value a line)."""
    return pd.read_csv(
        io.BytesIO(lines.replace(b",", b"\n")),
        header=None,
        dtype=np.float64,
        skip_blank_lines=False,
        engine="c",
    ).to_numpy()


def rows_from_json(body, n_features, max_rows):
    """Read ``{"instances": [[grey levels], ...]}`` (TensorFlow Serving, KServe).

    Parameters
    ----------
    body : bytes
        The JSON document (UTF-8, -16 or -32).
    n_features : int
        Values each row must have.
    max_rows : int
        Most rows accepted.

    Returns
    -------
    X : ndarray of shape (n, n_features)
    extras : None
    """
    X = None
    if len(body) >= _PLAIN_FROM_BYTES:
        X = _plain_rows(body, n_features, max_rows)
    if X is not None:
        check_grey_levels(X, "instances")
        return X, None
    try:
        doc = json.loads(body, parse_constant=_constant, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise RequestError(400, "body is not valid JSON: nested too deeply") from None
    except _DuplicateKey as err:
        raise RequestError(
            400, f"the JSON body names the key {err} twice in one object: send it once"
        ) from None
    except ValueError as err:
        raise RequestError(400, f"body is not valid JSON: {err}") from None
    if not isinstance(doc, dict) or "instances" not in doc:
        raise RequestError(
            400, 'expected a JSON object {"instances": [[grey levels], ...]}'
        )
    instances = doc["instances"]
    if not isinstance(instances, list):
        raise RequestError(400, '"instances" must be a list of rows of grey levels')
    _check_rows(len(instances), max_rows, '"instances"')
    X = None
    # NumPy would read true/false as 1/0 and "12" as text: scan such bodies.
    if b"true" not in body and b"false" not in body:
        try:
            X = np.array(instances)
        except (ValueError, TypeError):
            X = None
    if X is None or X.dtype.kind not in "iuf" or X.shape != (len(X), n_features):
        _find_bad_value(instances, n_features)
        X = np.array(instances, dtype=np.float64)
    check_grey_levels(X, "instances")
    return X, None
