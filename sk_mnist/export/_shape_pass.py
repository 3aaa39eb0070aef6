"""The shape pass: refuse an ONNX graph unless what it computes is bounded.

From the graph input's shape (N rows), node by node, each output's shape
follows from its inputs' by a rule per allowed op; a node of constants only
(onnxruntime computes it when it makes the session), an op without a rule,
a shape not known from the input's, or a tensor over
:data:`~sk_mnist.export.MAX_ONNX_ROW_ELEMENTS` a row is refused.
"""

import math

from .._messages import one_line
from ._format import MAX_ONNX_ROW_ELEMENTS

__all__ = ["N", "check_shapes"]

# A shape is a tuple of ints and N, the number of rows (the batch), unknown.
N = "N"


class _ShapeError(ValueError):
    """A node whose output shapes are unknown or unbounded (says why)."""


def _merged(dims):
    """The size of ``dims`` as one dimension: an int, or N alone."""
    size = math.prod(d for d in dims if d != N)
    if N in dims and size != 1:
        raise _ShapeError(f"it merges the batch dimension with others {dims}")
    return N if N in dims else size


def _int(attrs, name, default=None):
    """The int attribute ``name`` of a node."""
    return attrs.get(name, {}).get("i", default)


def _axis(axis, rank):
    if axis is None or not -rank <= axis < rank:
        raise _ShapeError(f"its axis {axis} is not one of a rank-{rank} tensor")
    return axis % rank


def _broadcast(*shapes):
    """NumPy's broadcasting, where N meets only N or 1."""
    rank = max(map(len, shapes))
    out = []
    for dims in zip(*[(1,) * (rank - len(s)) + s for s in shapes], strict=True):
        rest = set(dims) - {1}
        if len(rest) > 1:
            raise _ShapeError(f"its input shapes {shapes} do not broadcast")
        out.append(rest.pop() if rest else 1)
    return tuple(out)


def _matmul(a, b):
    """NumPy's matmul (1-D operands promoted, leading dims broadcast)."""
    if not a or not b:
        raise _ShapeError("it multiplies a scalar")
    a2, b2 = (a if len(a) > 1 else (1, *a)), (b if len(b) > 1 else (*b, 1))
    if a2[-1] != b2[-2]:
        raise _ShapeError(f"its input shapes {a} and {b} do not multiply")
    out = [*_broadcast(a2[:-2], b2[:-2]), a2[-2], b2[-1]]
    if len(b) == 1:  # drop the promoted dims
        del out[-1]
    if len(a) == 1:
        del out[-2 if len(b) > 1 else -1]
    return tuple(out)


def _gemm(a, b, c, attrs):
    if len(a) != 2 or len(b) != 2:
        raise _ShapeError(f"its input shapes {a} and {b} are not matrices")
    a = a[::-1] if _int(attrs, "transA") else a
    out = _matmul(a, b[::-1] if _int(attrs, "transB") else b)
    if c is not None and _broadcast(out, c) != out:
        raise _ShapeError(f"its bias of shape {c} does not broadcast to {out}")
    return out


def _reshape(shape, target, attrs):
    """ONNX Reshape: a 0 copies the input's dim (unless allowzero), -1 is inferred."""
    if target is None:
        raise _ShapeError("its shape input is not a constant")
    if target.count(-1) > 1 or min(target, default=0) < -1:
        raise _ShapeError(f"its shape {target} is not a shape")
    copy = not _int(attrs, "allowzero")
    dims = [
        shape[i] if d == 0 and copy and i < len(shape) else d
        for i, d in enumerate(target)
    ]
    known = [d for d in dims if d != -1]
    rows, size = N in shape, math.prod(d for d in shape if d != N)
    known_rows, known_size = N in known, math.prod(d for d in known if d != N)
    if -1 in dims and known_size and size % known_size == 0 and rows >= known_rows:
        free = size // known_size
        dims[dims.index(-1)] = _merged((N, free)) if rows > known_rows else free
    elif -1 in dims or (rows, size) != (known_rows, known_size):
        raise _ShapeError(f"it cannot reshape {shape} to {target}")
    return tuple(dims)


def _concat(shapes, attrs):
    axis = _axis(_int(attrs, "axis"), len(shapes[0]))
    rest = {s[:axis] + s[axis + 1 :] for s in shapes}
    if len(rest) > 1 or {len(s) for s in shapes} != {len(shapes[0])}:
        raise _ShapeError(f"its input shapes {shapes} differ off axis {axis}")
    sizes = [s[axis] for s in shapes]
    if N in sizes and len(sizes) > 1:
        raise _ShapeError("it concatenates along the batch dimension")
    size = N if N in sizes else sum(sizes)
    return shapes[0][:axis] + (size,) + shapes[0][axis + 1 :]


def _slice(shapes, values):
    shapes, values = (shapes + [None] * 4)[:5], (values + [None] * 4)[:5]
    if any(
        s is not None and v is None for s, v in zip(shapes[1:], values[1:], strict=True)
    ):
        raise _ShapeError("its starts, ends, axes or steps are not constants")
    shape, (starts, ends, axes, steps) = shapes[0], values[1:]
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    out = list(shape)
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        axis = _axis(axis, len(shape))
        whole = start == 0 and step == 1 and end >= 2**31 - 1
        if step == 0 or (out[axis] == N and not whole):
            raise _ShapeError(f"it slices {start}:{end}:{step} of dim {out[axis]}")
        if out[axis] != N:
            out[axis] = len(range(*slice(start, end, step).indices(out[axis])))
    return tuple(out)


def _flatten(shape, attrs):
    axis = _int(attrs, "axis", 1)
    axis += len(shape) if axis < 0 else 0
    if not 0 <= axis <= len(shape):
        raise _ShapeError(f"its axis is not one of a rank-{len(shape)} tensor")
    return _merged(shape[:axis]), _merged(shape[axis:])


def _arg_max(shape, attrs):
    axis = _axis(_int(attrs, "axis", 0), len(shape))
    return shape[:axis] + (1,) * bool(_int(attrs, "keepdims", 1)) + shape[axis + 1 :]


def _gather(data, indices, attrs):
    axis = _axis(_int(attrs, "axis", 0), len(data))
    return data[:axis] + indices + data[axis + 1 :]


_SAME_SHAPE = (
    "Cast Elu Erf Identity LeakyRelu Relu Selu Sigmoid Softmax Softplus Tanh "
    "DequantizeLinear QuantizeLinear Scaler ZipMap"
).split()
_MATMULS = "MatMul MatMulInteger DynamicQuantizeMatMul MatMulIntegerToFloat".split()
# Op -> rule(input shapes, their int values, attributes) -> output shapes.
# Absent optional inputs have shape None; non-constant inputs value None.
_RULES = {
    **{op: lambda s, v, a: [s[0]] for op in _SAME_SHAPE},
    **{
        op: lambda s, v, a: [_broadcast(s[0], s[1])]
        for op in ("Add", "Sub", "Mul", "Div")
    },
    **{op: lambda s, v, a: [_matmul(s[0], s[1])] for op in _MATMULS},
    "Gemm": lambda s, v, a: [_gemm(s[0], s[1], (s + [None])[2], a)],
    "QGemm": lambda s, v, a: [_gemm(s[0], s[3], (s + [None] * 6)[6], a)],
    "Reshape": lambda s, v, a: [_reshape(s[0], v[1], a)],
    "Concat": lambda s, v, a: [_concat(s, a)],
    "Slice": lambda s, v, a: [_slice(s, v)],
    "Flatten": lambda s, v, a: [_flatten(s[0], a)],
    "ArgMax": lambda s, v, a: [_arg_max(s[0], a)],
    "Gather": lambda s, v, a: [_gather(s[0], s[1], a)],
    "ArrayFeatureExtractor": lambda s, v, a: [(s[0][:-1] or (1,)) + (_merged(s[1]),)],
    "DynamicQuantizeLinear": lambda s, v, a: [s[0], (), ()],
}


def _constant(attrs):
    """``(dims, int values or None)`` of a Constant node's value."""
    (name, info), *others = attrs.items() or [("", {})]
    if others or name not in _CONSTANT_SHAPES:
        raise _ShapeError(f"its attributes {list(attrs)} are not a Constant's")
    if name in ("value", "sparse_value"):
        return info.get("t", ((), None))
    if name.endswith("s"):  # value_ints, value_floats, value_strings
        return (info["n"],), info["ints"] if name == "value_ints" else None
    return (), [info["i"]] if "i" in info else None


_CONSTANT_SHAPES = {"value", "sparse_value"} | {
    f"value_{kind}{s}" for kind in ("int", "float", "string") for s in ("", "s")
}


def _node_shapes(node, shapes, values, constants):
    """Output ``(shapes, values)`` of ``node``, or a _ShapeError."""
    _, op, inputs, outputs, attrs = node
    present = [i for i in inputs if i]
    undefined = [i for i in present if i not in shapes]
    if undefined:
        raise _ShapeError(
            f"its input {one_line(undefined[0], 60)!r} is not computed before it"
        )
    if op == "Constant":
        dims, vals = _constant(attrs)
        return [dims], [vals]
    if all(i in constants for i in present):
        raise _ShapeError(
            "its inputs are all constants, which onnxruntime would compute on load"
        )
    if op not in _RULES:
        raise _ShapeError(f"sk-mnist has no shape rule for op {op!r}")
    ins = [shapes[i] if i else None for i in inputs]
    try:
        results = _RULES[op](ins, [values.get(i) for i in inputs], attrs)
    except _ShapeError:
        raise
    except (IndexError, TypeError, ValueError):  # missing inputs, zip(strict=True)
        raise _ShapeError(f"its inputs or attributes are not those of {op}") from None
    return results, [None] * len(results)


def check_shapes(check):
    """Refuse a graph unless the shape of each tensor it computes is bounded.

    From the graph input's shape (N rows), node by node: refuse a node whose
    inputs are all constants (onnxruntime computes it when making the
    session), or whose output's shape does not follow from its inputs',
    has the batch dimension twice, or holds over MAX_ONNX_ROW_ELEMENTS a row
    (over MAX_MODEL_WEIGHTS without the batch dimension).
    """
    shapes = {name: dims for name, (dims, _) in check.constants.items()}
    values = {name: vals for name, (_, vals) in check.constants.items()}
    constants = set(check.constants)
    for name, dims in check.inputs:
        if name not in shapes:
            if dims is None:
                raise check.fail(f"graph input {name!r} has no tensor shape")
            shapes[name] = _bound(dims, f"graph input {one_line(name, 60)!r}", check)
    for index, node in enumerate(check.node_list):
        name, op, _, outputs, _ = node
        where = f"node {index} ({op}{f' {one_line(name, 60)!r}' if name else ''})"
        try:
            results, vals = _node_shapes(node, shapes, values, constants)
        except _ShapeError as err:
            raise check.fail(f"{where}: {one_line(err, 200)}") from None
        # (Outputs past the rule's are left undefined: using one is refused.)
        for output, dims, val in zip(outputs, results, vals, strict=False):
            if not output:  # an optional output left out
                continue
            if output in shapes:
                raise check.fail(f"{where}: its output {output!r} is defined twice")
            shapes[output] = _bound(
                dims, f"{where}: its output {one_line(output, 60)!r}", check
            )
            values[output] = val
        if op == "Constant":
            constants.update(outputs)


def _bound(dims, where, check):
    """``dims``, unless too large or with N twice (then ``check.fail``)."""
    if dims.count(N) > 1:
        raise check.fail(f"{where} has the batch dimension twice {dims}")
    size = math.prod(d for d in dims if d != N)
    if N in dims and size > MAX_ONNX_ROW_ELEMENTS:
        raise check.fail(
            f"{where} holds {size:,} elements a row, over MAX_ONNX_ROW_ELEMENTS "
            f"({MAX_ONNX_ROW_ELEMENTS:,}; shape {dims})"
        )
    if N not in dims and size > check.max_weights:
        raise check.fail(f"{where} holds {size:,} elements, over MAX_MODEL_WEIGHTS")
    return dims
