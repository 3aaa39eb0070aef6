"""``skl2onnx.to_onnx`` with sk-mnist's converters, and one-line refusals.

skl2onnx's own errors are long and name no step; :func:`to_onnx_model`
names the step (``outer__inner`` in a nested pipeline) that cannot be
converted, or is not fitted, and why. skl2onnx is imported when it is
called, never when this module is imported.
"""

import re

from .._messages import one_line
from ._converters import (
    OnnxConversionError,
    _check_fitted,
    _refusal,
    register_converters,
)

__all__ = ["to_onnx_model"]


def to_onnx_model(model, X_sample, **kwargs):
    """``skl2onnx.to_onnx`` with sk-mnist's converters and one-line errors.

    Parameters
    ----------
    model : estimator
        A fitted estimator or pipeline: any mix of skl2onnx-supported steps
        (``StandardScaler``, ``PCA``, ``ColumnTransformer``, ...) and
        sk-mnist's.
    X_sample : array-like
        A few input rows (``X[:1]``), from which skl2onnx takes the input's
        type and width.
    **kwargs : dict
        Passed to ``skl2onnx.to_onnx`` (``options``, ``target_opset``, ...).

    Returns
    -------
    onnx_model : onnx.ModelProto
        The converted model; for a classifier, outputs ``label`` and
        ``probabilities`` with ``options={"zipmap": False}``.

    Raises
    ------
    OnnxConversionError
        Naming the step (as ``outer__inner`` in a nested pipeline) and its
        class when skl2onnx cannot convert it, and why (no converter, no
        graph form, an input type its converter does not take).
    sklearn.exceptions.NotFittedError
        Naming the step that is not fitted.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sk_mnist import DenseMLPClassifier
    >>> from sk_mnist.export._conversion import to_onnx_model
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X.astype(np.float32)
    >>> clf = DenseMLPClassifier(hidden_layer_sizes=(8,), epochs=1, random_state=0)
    >>> pipe = make_pipeline(StandardScaler(), clf).fit(X, y)
    >>> onx = to_onnx_model(pipe, X[:1], options={"zipmap": False})
    >>> [output.name for output in onx.graph.output]
    ['label', 'probabilities']
    """
    import skl2onnx
    from skl2onnx.common.exceptions import MissingConverter, MissingShapeCalculator
    from skl2onnx.common.utils import InvalidInputTypeException

    register_converters()
    steps = list(_leaf_steps(model))
    for path, step in steps:
        _check_step_fitted(path, step)
    try:
        return skl2onnx.to_onnx(_without_passthrough(model), X_sample, **kwargs)
    except OnnxConversionError as exc:
        path = next((p for p, s in steps if s is exc.estimator), None)
        if path is None or exc.reason is None:
            raise
        raise _refusal(exc.estimator, exc.reason, _where(path)) from None
    except (MissingShapeCalculator, MissingConverter) as exc:
        raise _missing_error(steps, str(exc)) from None
    except InvalidInputTypeException as exc:
        step = exc.operator.raw_operator
        path = next((p for p, s in steps if s is step), None)
        if path is None:
            raise

        def name(data_type):
            return data_type.__name__.removesuffix("TensorType")

        reason = (
            f"skl2onnx converts it from {', '.join(map(name, exc.expected_types))} "
            f"input only, not {name(type(exc.variable.type))}; convert with a "
            "sample of one of those types (X[:1].astype(np.float32))"
        )
        raise _refusal(step, reason, _where(path)) from None
    except (RuntimeError, TypeError, ValueError, NotImplementedError) as exc:
        # A converter of skl2onnx's own refusing a step (FunctionTransformer
        # of a Python function, ...): name the step it was converting.
        found = _failed_step(exc, steps)
        if found is None:
            raise
        reason = one_line(one_line(exc).rstrip(".") or type(exc).__name__, 200)
        raise _refusal(found[1], f"skl2onnx says: {reason}", _where(found[0])) from None


def _failed_step(exc, steps):
    """``(path, step)`` of the step whose conversion raised ``exc``, or None.

    skl2onnx's shape calculators and converters take the step as
    ``operator.raw_operator``; the innermost frame holding one of ``steps``
    so names it.
    """
    frames, tb = [], exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        raw = getattr(frame.f_locals.get("operator"), "raw_operator", None)
        for path, step in steps:
            if raw is step:
                return path, step
    return None


def _without_passthrough(model):
    """``model``, its pipelines without ``"passthrough"`` and None steps.

    skl2onnx's pipeline parser takes every step for an estimator. The steps
    themselves (fitted) are kept, so errors still name them.
    """
    from sklearn.pipeline import Pipeline

    if not isinstance(model, Pipeline):
        return model
    steps = [
        (name, _without_passthrough(step))
        for name, step in model.steps
        if step is not None and not (isinstance(step, str) and step == "passthrough")
    ]
    unchanged = len(steps) == len(model.steps) and all(
        new is old for (_, new), (_, old) in zip(steps, model.steps, strict=True)
    )
    return model if unchanged or not steps else Pipeline(steps)


def _leaf_steps(model, path=""):
    """``(path, estimator)`` of every step that is not a pipeline or union."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import FeatureUnion, Pipeline

    if isinstance(model, Pipeline):
        children = [(name, step) for name, step in model.steps]
    elif isinstance(model, FeatureUnion):
        children = list(model.transformer_list)
    elif isinstance(model, ColumnTransformer):
        fitted = getattr(model, "transformers_", model.transformers)
        children = [(name, step) for name, step, _ in fitted]
    else:
        yield path, model
        return
    for name, step in children:
        if step is not None and not isinstance(step, str):  # "drop", "passthrough"
            yield from _leaf_steps(step, f"{path}__{name}" if path else name)


def _where(path):
    return f"step {path!r}" if path else "the model"


def _check_step_fitted(path, step):
    from sklearn.exceptions import NotFittedError

    try:
        _check_fitted(step)
    except NotFittedError:
        raise NotFittedError(
            f"Cannot convert {_where(path)} ({type(step).__name__}) to ONNX: it is not "
            "fitted yet; fit the model first."
        ) from None


def _missing_error(steps, message):
    """The one-line error for skl2onnx's MissingShapeCalculator/Converter."""
    from skl2onnx._supported_operators import sklearn_operator_name_map
    from skl2onnx.common._registration import _converter_pool, _shape_calculator_pool

    reason = (
        "skl2onnx has no converter for it (register one with "
        "skl2onnx.update_registered_converter)"
    )
    # skl2onnx names the class (or, for a missing converter, only the alias)
    # in a multi-line message.
    for path, step in steps:
        if str(type(step)) in message:
            return _refusal(step, reason, _where(path))
    for path, step in steps:
        alias = sklearn_operator_name_map.get(type(step))
        if alias not in _converter_pool or alias not in _shape_calculator_pool:
            return _refusal(step, reason, _where(path))
    found = re.search(r"<class '([^']+)'>", message)
    name = found.group(1) if found else "one of the steps"
    return OnnxConversionError(f"Cannot convert {name} to ONNX: {reason}.")
