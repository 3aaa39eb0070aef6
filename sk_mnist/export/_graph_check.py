"""Checks of an ONNX file's bytes before onnxruntime sees them.

An ONNX file is untrusted input. :func:`check_model_bytes` walks its
protobuf encoding with a reader of the few fields that matter (so loading
does not need the ``onnx`` package) and refuses external data, ops outside
:data:`~sk_mnist.export.ALLOWED_OPS`, subgraphs, model-local functions, too
many nodes, weights or bytes of metadata; then :mod:`._shape_pass` bounds
what the graph computes.
"""

import math
import sys

import numpy as np

from .._messages import one_line
from ._format import (
    ALLOWED_OPS,
    DEFAULT_MAX_WEIGHTS,
    MAX_METADATA_BYTES,
    MAX_ONNX_NODES,
)
from ._shape_pass import N, check_shapes

__all__ = ["check_model_bytes"]


# Field numbers of onnx.proto (onnx/onnx.proto3) that the checks read.
_MODEL_GRAPH, _MODEL_METADATA, _MODEL_TRAINING, _MODEL_FUNCTIONS = 7, 14, 20, 25
_GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_INPUT, _GRAPH_SPARSE = 1, 5, 11, 15
_NODE_INPUT, _NODE_OUTPUT, _NODE_NAME, _NODE_OP = 1, 2, 3, 4
_NODE_ATTRIBUTE, _NODE_DOMAIN = 5, 7
_ATTR_NAME, _ATTR_I, _ATTR_T, _ATTR_G, _ATTR_INTS = 1, 3, 5, 6, 8
_ATTR_FLOATS, _ATTR_STRINGS, _ATTR_TENSORS, _ATTR_GRAPHS = 7, 9, 10, 11
_ATTR_TYPE, _ATTR_SPARSE, _ATTR_SPARSES = 20, 22, 23
_ATTR_GRAPH_TYPES = (5, 10)  # AttributeProto.GRAPH, GRAPHS
_TENSOR_DIMS, _TENSOR_TYPE, _TENSOR_INT32, _TENSOR_INT64 = 1, 2, 5, 7
_TENSOR_NAME, _TENSOR_RAW, _TENSOR_EXTERNAL, _TENSOR_LOCATION = 8, 9, 13, 14
_INT32, _INT64 = 6, 7  # TensorProto.DataType
# ValueInfoProto.type, TypeProto.tensor_type, .shape, TensorShapeProto.dim,
# Dimension.dim_value: the path to a graph input's dims.
_INFO_NAME, _INFO_TYPE, _TYPE_TENSOR, _TENSOR_SHAPE, _SHAPE_DIM, _DIM_VALUE = (
    1, 2, 1, 2, 1, 1,
)  # fmt: skip
# Integer tensors of up to this many values are read (Reshape's shape, Slice's).
_MAX_READ_VALUES = 64
_SPARSE_VALUES, _SPARSE_INDICES, _SPARSE_DIMS = 1, 2, 3
_VARINT, _FIXED64, _LEN, _FIXED32 = 0, 1, 2, 5


class _Malformed(ValueError):
    """The bytes are not a protobuf message (onnxruntime would refuse them too)."""


def _varint(data, pos):
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise _Malformed("a truncated or overlong varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(data):
    """``(field, wire_type, value)`` of a protobuf message's encoding.

    ``value`` is an int for varints and fixed-width fields, a memoryview of
    the bytes for length-delimited ones. Groups (deprecated) are malformed.
    """
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, pos = _varint(data, pos)
        elif wire in (_FIXED64, _FIXED32):
            width = 8 if wire == _FIXED64 else 4
            value, pos = int.from_bytes(data[pos : pos + width], "little"), pos + width
        elif wire == _LEN:
            size, pos = _varint(data, pos)
            value, pos = data[pos : pos + size], pos + size
        else:
            raise _Malformed(f"wire type {wire} in field {field}")
        if pos > len(data):
            raise _Malformed(f"field {field} runs past the end of its message")
        yield field, wire, value


def _int64s(wire, value):
    """The int64 values of one (packed or not) repeated int64 field."""
    if wire == _VARINT:
        values = [value]
    elif wire == _LEN:
        values, pos = [], 0
        while pos < len(value):
            item, pos = _varint(value, pos)
            values.append(item)
    else:
        raise _Malformed("an int64 field of the wrong wire type")
    return [v - (1 << 64) if v >= 1 << 63 else v for v in values]


def _text(value, limit=80):
    """A protobuf string field, quoted, for an error message."""
    return repr(one_line(bytes(value).decode("utf-8", "replace"), limit))


class _ModelCheck:
    """Walks a serialized ``onnx.ModelProto``, raising ``fail(problem)``."""

    def __init__(self, fail, max_weights):
        self.fail, self.max_weights = fail, max_weights
        self.weights = self.nodes = self.metadata_bytes = 0
        self.has_graph = False
        # What the shape pass reads: (name, op, inputs, outputs, attributes)
        # of each node, the constants' (dims, int values or None), the inputs.
        self.node_list, self.constants, self.inputs = [], {}, []

    def model(self, data):
        for field, wire, value in _fields(data):
            if field == _MODEL_GRAPH and wire == _LEN:
                self.has_graph = True
                self.graph(value)
            elif field == _MODEL_METADATA and wire == _LEN:
                self.metadata_bytes += len(value)
                if self.metadata_bytes > MAX_METADATA_BYTES:
                    raise self.fail(f"its metadata is over {MAX_METADATA_BYTES} bytes")
            elif field == _MODEL_FUNCTIONS:
                raise self.fail("it defines model-local functions")
            elif field == _MODEL_TRAINING:
                raise self.fail("it holds training information (more graphs)")
        if not self.has_graph:
            raise self.fail("it holds no graph")
        # After all of it: protobuf merges a graph given twice into one.
        check_shapes(self)

    def graph(self, data):
        for field, wire, value in _fields(data):
            if wire != _LEN:
                continue
            if field == _GRAPH_NODE:
                self.nodes += 1
                if self.nodes > MAX_ONNX_NODES:
                    raise self.fail(f"its graph has over {MAX_ONNX_NODES} nodes")
                self.node(value)
            elif field == _GRAPH_INITIALIZER:
                self.constant(*self.tensor(value, "initializer"))
            elif field == _GRAPH_SPARSE:
                self.constant(*self.sparse_tensor(value, "sparse initializer"))
            elif field == _GRAPH_INPUT:
                self.inputs.append(_value_info(value))

    def constant(self, name, dims, values):
        if name in self.constants:
            raise self.fail(f"constant {name!r} is defined twice")
        self.constants[name] = dims, values

    def node(self, data):
        op, domain, node_name, attributes = b"", b"", "", []
        inputs, outputs = [], []
        for field, wire, value in _fields(data):
            if wire != _LEN:
                continue
            if field == _NODE_OP:
                op = bytes(value)
            elif field == _NODE_DOMAIN:
                domain = bytes(value)
            elif field == _NODE_ATTRIBUTE:
                attributes.append(value)
            elif field in (_NODE_INPUT, _NODE_OUTPUT, _NODE_NAME):
                text = bytes(value).decode("utf-8", "replace")
                if field == _NODE_NAME:
                    node_name = text
                else:
                    (inputs if field == _NODE_INPUT else outputs).append(text)
        name = op.decode("utf-8", "replace")
        dom = domain.decode("utf-8", "replace")
        allowed = ALLOWED_OPS.get("" if dom == "ai.onnx" else dom, ())
        if name not in allowed:
            where = f"op {one_line(name, 60)!r}" + (f" (domain {dom!r})" if dom else "")
            raise self.fail(
                f"{where} is not one sk-mnist's exporters write (allowed: "
                "sk_mnist.export.ALLOWED_OPS)"
            )
        attrs = {}
        for attribute in attributes:
            key, info = self.attribute(attribute, f"op {name!r}")
            if key in attrs:
                raise self.fail(f"attribute {key!r} of op {name!r} is given twice")
            attrs[key] = info
        self.node_list.append((node_name, name, inputs, outputs, attrs))

    def attribute(self, data, where):
        """``(name, info)``: ``info`` has the attribute's int ``"i"``, its
        ``"ints"``, its list length ``"n"`` and ``"t"``, a tensor's dims and values.
        """
        fields = list(_fields(data))
        raw = next((bytes(v) for f, w, v in fields if f == _ATTR_NAME), b"")
        name = _text(raw)
        where = f"attribute {name} of {where}"
        info = {"ints": [], "n": 0}
        for field, wire, value in fields:
            if field == _ATTR_I and wire == _VARINT:
                info["i"] = _int64s(wire, value)[0]
            elif field == _ATTR_INTS:
                ints = _int64s(wire, value)
                info["ints"] += ints
                info["n"] += len(ints)
            elif field == _ATTR_FLOATS:
                info["n"] += len(value) // 4 if wire == _LEN else 1
            elif field == _ATTR_STRINGS:
                info["n"] += 1
            if field in (_ATTR_G, _ATTR_GRAPHS) or (
                field == _ATTR_TYPE and wire == _VARINT and value in _ATTR_GRAPH_TYPES
            ):
                raise self.fail(f"{where} is a subgraph")
            if wire != _LEN:
                continue
            if field in (_ATTR_T, _ATTR_TENSORS):
                info["t"] = self.tensor(value, f"tensor in {where}")[1:]
            elif field in (_ATTR_SPARSE, _ATTR_SPARSES):
                info["t"] = self.sparse_tensor(value, f"sparse tensor in {where}")[1:]
        self.count([info["n"]], where)
        return raw.decode("utf-8", "replace"), info

    def tensor(self, data, kind, count=True):
        """``(name, dims, values)``; ``values``: small integer tensors' only."""
        dims, key, external, dtype, ints, raw = [], "", False, 0, [], None
        for field, wire, value in _fields(data):
            if field == _TENSOR_DIMS:
                dims += _int64s(wire, value)
            elif field == _TENSOR_NAME and wire == _LEN:
                key = bytes(value).decode("utf-8", "replace")
            elif field == _TENSOR_EXTERNAL or (field == _TENSOR_LOCATION and value):
                external = True
            elif field == _TENSOR_TYPE and wire == _VARINT:
                dtype = value
            elif field in (_TENSOR_INT32, _TENSOR_INT64) and ints is not None:
                # Large tensors are not decoded (a varint takes 10 bytes at most).
                small = wire != _LEN or len(value) <= 10 * _MAX_READ_VALUES
                small = small and len(ints) <= _MAX_READ_VALUES
                ints = ints + _int64s(wire, value) if small else None
            elif field == _TENSOR_RAW and wire == _LEN:
                raw = value
        name = repr(one_line(key, 80))
        if external:
            raise self.fail(
                f"{kind} {name} keeps its data outside the file (ONNX external "
                "data); only self-contained files are read"
            )
        if count:
            self.count(dims, f"{kind} {name}")
        size, values = math.prod(max(d, 0) for d in dims), None
        if dtype in (_INT32, _INT64) and size <= _MAX_READ_VALUES:
            width = 8 if dtype == _INT64 else 4
            if raw is not None and len(raw) == size * width:
                ints = np.frombuffer(raw, f"<i{width}").tolist()
            values = ints if ints is not None and len(ints) == size else None
        return key, tuple(dims), values

    def sparse_tensor(self, data, kind):
        dims, key = [], ""
        for field, wire, value in _fields(data):
            if field in (_SPARSE_VALUES, _SPARSE_INDICES) and wire == _LEN:
                name = self.tensor(value, kind, count=False)[0]
                key = name if field == _SPARSE_VALUES else key
            elif field == _SPARSE_DIMS:
                dims += _int64s(wire, value)
        self.count(dims, kind)  # onnxruntime makes sparse initializers dense
        return key, tuple(dims), None

    def count(self, dims, where):
        size = 1
        for dim in dims:
            if dim < 0:
                raise self.fail(f"{where} has a negative dimension {dim}")
            size = min(size * dim, self.max_weights + 1)
        self.weights += size
        if self.weights > self.max_weights:
            raise self.fail(
                f"{where} takes its weights over {self.max_weights:,} "
                "(sk_mnist.persistence.MAX_MODEL_WEIGHTS; raise it to load a "
                "larger model you trust)"
            )


def _last(data, number, wire_type=_LEN):
    """The last field ``number`` of a message (protobuf's rule), or None."""
    found = [v for f, w, v in _fields(data) if f == number and w == wire_type]
    return found[-1] if found else None


def _value_info(data):
    """``(name, dims)`` of a graph input (a ``ValueInfoProto``).

    Dims are ints, with N for the others (a ``dim_param``, or no value);
    ``dims`` is None when the input has no tensor shape.
    """
    name = bytes(_last(data, _INFO_NAME) or b"").decode("utf-8", "replace")
    shape = _last(data, _INFO_TYPE)
    for number in (_TYPE_TENSOR, _TENSOR_SHAPE):
        shape = None if shape is None else _last(shape, number)
    if shape is None:
        return name, None
    dims = [
        _last(d, _DIM_VALUE, _VARINT)
        for f, w, d in _fields(shape)
        if f == _SHAPE_DIM and w == _LEN
    ]
    return name, tuple(d if d and d < 1 << 63 else N for d in dims)


def _max_weights():
    persistence = sys.modules.get("sk_mnist.persistence")
    return getattr(persistence, "MAX_MODEL_WEIGHTS", DEFAULT_MAX_WEIGHTS)


def check_model_bytes(data, where):
    """Refuse an ONNX file's bytes unless they hold only what we export.

    Parameters
    ----------
    data : bytes
        The serialized ``onnx.ModelProto``.
    where : str
        How the messages name the file.

    Raises
    ------
    ValueError
        One line naming ``where`` and the op, tensor or limit.
    """

    def fail(problem):
        return ValueError(f"{where}: refused ONNX model: {problem}")

    if data[4:8] == b"ORTM":  # onnxruntime's own (flatbuffer) format
        raise fail("it is in onnxruntime's ORT format; give an .onnx file")
    try:
        _ModelCheck(fail, _max_weights()).model(memoryview(data))
    except _Malformed as err:
        raise ValueError(f"{where}: not a readable ONNX model ({err})") from None
