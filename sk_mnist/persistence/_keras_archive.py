"""Check a ``model.keras`` archive before Keras opens it: entries, sizes, shapes.

Keras allocates the widths ``config.json`` declares before it reads a
weight, and reads or extracts the archive's entries whatever their size, so
:func:`check_keras_archive` reads only the zip's central directory,
``config.json`` (bounded) and the HDF5 metadata, and refuses what a network
written by :func:`~sk_mnist.save_model` never holds. The measured blow-ups
are in :doc:`/persistence` (Limits).
"""

import contextlib
import io
import json
import math
import re
import struct
import zipfile

try:  # Forces safe mode even after keras.config.enable_unsafe_deserialization().
    from keras.src.saving.serialization_lib import SafeModeScope
except ImportError:  # pragma: no cover
    SafeModeScope = None

__all__ = ["EXPECTED_ENTRIES", "check_keras_archive", "load_keras_network"]

#: What Keras writes into a ``.keras`` file of a network without assets.
EXPECTED_ENTRIES = ("metadata.json", "config.json", "model.weights.h5")
_WEIGHTS = "model.weights.h5"
# HDF5 headers, group and attribute records around the data.
_H5_OVERHEAD = 1 << 20
# Bytes per weight, at most: the weight and up to four optimizer slots
# (Adam's two, amsgrad's maximum, an EMA copy), in float64 at worst.
_MAX_BYTES_PER_WEIGHT = 8 * 5
# Bytes per weight, at least: the weights themselves, in float16 at least.
_MIN_BYTES_PER_WEIGHT = 2
_MAX_H5_OBJECTS = 10_000


class ArchiveError(ValueError):
    """The archive holds something a saved sk_mnist network never holds."""


def _check_entries(zf, *, max_json_bytes, max_ratio):
    names = [info.filename for info in zf.infolist()]
    unexpected = sorted(set(names) - set(EXPECTED_ENTRIES))
    if unexpected:
        shown = ", ".join(repr(n) for n in unexpected[:3])
        more = f" and {len(unexpected) - 3} more" if len(unexpected) > 3 else ""
        raise ArchiveError(f"unexpected archive entries {shown}{more}")
    if len(names) != len(set(names)) or set(names) != set(EXPECTED_ENTRIES):
        raise ArchiveError(
            f"archive entries {names} are not {list(EXPECTED_ENTRIES)}, once each"
        )
    for info in zf.infolist():
        if info.flag_bits & 0x1:
            raise ArchiveError(f"archive entry {info.filename!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ArchiveError(
                f"archive entry {info.filename!r} uses compression method "
                f"{info.compress_type}; Keras writes stored entries"
            )
        if info.file_size > max_ratio * max(info.compress_size, 1):
            raise ArchiveError(
                f"archive entry {info.filename!r} expands from "
                f"{info.compress_size:,} to {info.file_size:,} bytes, more than "
                f"{max_ratio} times"
            )
        if info.filename != _WEIGHTS and info.file_size > max_json_bytes:
            raise ArchiveError(
                f"archive entry {info.filename!r} has {info.file_size:,} bytes, "
                f"more than {max_json_bytes:,}"
            )


def _fail_layer(i, problem):
    return ArchiveError(f"config.json: layer {i}: {problem}")


def _positive_int(value):
    return type(value) is int and value > 0


def _inbound(layer):
    """The name of the one layer feeding ``layer``, or None."""
    try:
        (node,) = layer["inbound_nodes"]
        (tensor,) = node["args"]
        return tensor["config"]["keras_history"][0]
    except (KeyError, TypeError, ValueError, IndexError):
        return None


def declared_weights(config, n_features, n_classes):
    """The number of weights ``config`` declares, checking its structure.

    The structure is the one :func:`~sk_mnist.build_dense_mlp` builds: an
    ``InputLayer`` of ``n_features``, then ``Dense`` and ``Dropout`` layers,
    each fed by the one before it, the last ``Dense`` of ``n_classes``.
    """
    if not isinstance(config, dict):
        raise ArchiveError("config.json does not describe a Functional model")
    inner = config.get("config")
    if config.get("class_name") != "Functional" or not isinstance(inner, dict):
        raise ArchiveError("config.json does not describe a Functional model")
    layers = inner.get("layers")
    if not isinstance(layers, list) or not layers:
        raise ArchiveError("config.json lists no layers")
    previous, width, n_weights = None, None, 0
    for i, layer in enumerate(layers):
        kind = layer.get("class_name") if isinstance(layer, dict) else None
        settings = layer.get("config") if isinstance(layer, dict) else None
        if not isinstance(settings, dict):
            raise _fail_layer(i, "not a layer description")
        if i == 0:
            shape = settings.get("batch_shape")
            if kind != "InputLayer" or shape != [None, n_features]:
                raise _fail_layer(i, f"not an InputLayer of {n_features} features")
            previous, width = layer.get("name"), n_features
            continue
        if kind not in ("Dense", "Dropout"):
            raise _fail_layer(i, f"unexpected layer class {kind!r}")
        if _inbound(layer) != previous:
            raise _fail_layer(i, "not fed by the layer before it")
        if kind == "Dense":
            units = settings.get("units")
            build_shape = (layer.get("build_config") or {}).get("input_shape")
            if not _positive_int(units) or build_shape != [None, width]:
                raise _fail_layer(i, "a Dense layer of invalid width or input")
            n_weights += (width + 1) * units
            width = units
        previous = layer.get("name")
    if kind != "Dense" or width != n_classes:
        raise ArchiveError(f"config.json: the last layer is not a Dense({n_classes})")
    return n_weights


class _StoredEntry(io.RawIOBase):
    """A stored (uncompressed) zip entry read in place, as a seekable file.

    HDF5 reads its metadata from all over the file; ``ZipFile.open`` can only
    seek backwards by reading again from the start (the homework network's
    17 MB entry was read 25 times to list its datasets).
    """

    def __init__(self, path, info):
        super().__init__()
        self._file = open(path, "rb")  # closed by close()
        self._file.seek(info.header_offset)
        header = self._file.read(30)
        if header[:4] != b"PK\x03\x04":
            self._file.close()
            raise ArchiveError(f"archive entry {info.filename!r} has no local header")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        self._start = info.header_offset + 30 + name_len + extra_len
        self._size, self._pos = info.file_size, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self._pos

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}
        self._pos = max(0, base[whence] + offset)
        return self._pos

    def readinto(self, buffer):
        count = max(0, min(len(buffer), self._size - self._pos))
        self._file.seek(self._start + self._pos)
        data = self._file.read(count)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self):
        self._file.close()
        super().close()


def _open_entry(zf, name):
    """A seekable file of entry ``name``: in place if stored, else decompressed."""
    info = zf.getinfo(name)
    if info.compress_type == zipfile.ZIP_STORED:
        return _StoredEntry(zf.filename, info)
    return io.BytesIO(zf.read(name))  # bounded by the checks of its size


def _check_h5(zf, max_bytes):
    """Check the HDF5 file's datasets from its metadata: sizes, no links out."""
    import h5py

    problems, total, count = [], 0, 0

    def visit(name, obj):
        nonlocal total, count
        count += 1
        if count > _MAX_H5_OBJECTS:
            problems.append(f"more than {_MAX_H5_OBJECTS:,} objects")
        elif isinstance(obj, h5py.Dataset):
            if obj.external or obj.is_virtual:
                problems.append(f"dataset {name!r} stores its data outside the file")
            total += math.prod(obj.shape or ()) * obj.dtype.itemsize
        return problems[-1] if problems else None

    def visit_link(name, link):
        if not isinstance(link, h5py.HardLink):
            problems.append(f"{name!r} is a {type(link).__name__}")
            return problems[-1]
        return None

    with _open_entry(zf, _WEIGHTS) as raw, h5py.File(raw, "r") as h5:
        if hasattr(h5, "visititems_links"):
            h5.visititems_links(visit_link)
        if not problems:
            h5.visititems(visit)
    if problems:
        raise ArchiveError(f"{_WEIGHTS}: {problems[0]}")
    if total > max_bytes:
        raise ArchiveError(
            f"{_WEIGHTS} declares datasets of {total:,} bytes, more than the "
            f"{max_bytes:,} its network can hold"
        )


def check_keras_archive(
    path, *, n_features, n_classes, max_weights, max_json_bytes, max_ratio
):
    """Raise ArchiveError (a ValueError) unless ``path`` is a bounded sk_mnist network.

    Parameters
    ----------
    path : path-like
        The ``model.keras`` file.
    n_features, n_classes : int
        The network's input and output widths, from ``sk_mnist.json``.
    max_weights : int
        The most weights the network may declare.
    max_json_bytes : int
        The largest ``config.json`` and ``metadata.json``.
    max_ratio : float
        The largest expansion of a compressed archive entry.
    """
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as err:
        raise ArchiveError(f"not a .keras (zip) file: {err}") from None
    with zf:
        _check_entries(zf, max_json_bytes=max_json_bytes, max_ratio=max_ratio)
        try:
            config = json.loads(zf.read("config.json"))
        except (ValueError, RecursionError) as err:
            raise ArchiveError(f"config.json is not valid JSON: {err}") from None
        n_weights = declared_weights(config, n_features, n_classes)
        if n_weights > max_weights:
            raise ArchiveError(
                f"config.json declares {n_weights:,} weights, more than the "
                f"limit of {max_weights:,} (sk_mnist.persistence.MAX_MODEL_WEIGHTS)"
            )
        size = zf.getinfo(_WEIGHTS).file_size
        low = _MIN_BYTES_PER_WEIGHT * n_weights
        high = _H5_OVERHEAD + _MAX_BYTES_PER_WEIGHT * n_weights
        if not low <= size <= high:
            raise ArchiveError(
                f"{_WEIGHTS} has {size:,} bytes, but the {n_weights:,} weights "
                f"config.json declares need {low:,} to {high:,}"
            )
        try:
            _check_h5(zf, high)
        except (OSError, RuntimeError) as err:  # h5py's errors
            raise ArchiveError(
                f"{_WEIGHTS}: not a readable HDF5 file ({err})"
            ) from None


def _keras_problem(err, limit=200):
    """Keras' error in a few words: never its advice to load unsafely.

    A refusal of safe mode becomes our own wording (Keras suggests passing
    ``safe_mode=False``); any other message is cut to its first sentence of
    its first line, and to ``limit`` characters, since Keras may append the
    whole model config.
    """
    text = str(err)
    if "safe_mode" in text or "unsafe_deserialization" in text:
        what = "a Lambda layer" if "`Lambda` layer" in text else "Python code"
        return (
            f"refusing to load: the model contains {what}, which would run code "
            "from the file"
        )
    lines = text.strip().splitlines() or [""]
    first = re.split(r"(?<=\.)\s+(?=[A-Z])", lines[0].strip(), maxsplit=1)[0]
    if len(first) > limit:
        first = first[: limit - 3].rstrip() + "..."
    return f"Keras could not load the model: {type(err).__name__}: {first}"


def _newer_keras(saved_with):
    """Advice when the file comes from a newer Keras than this one, else ''.

    Keras reads files of older releases, not always of newer ones: Keras 3.15
    writes initializer options (``input_axes``) that 3.14 refuses.
    """
    import keras
    from packaging.version import InvalidVersion, Version

    if not isinstance(saved_with, str):
        return ""
    try:
        newer = Version(saved_with) > Version(keras.__version__)
    except InvalidVersion:
        return ""
    if not newer:
        return ""
    return (
        f"; it was saved with Keras {saved_with} and this is Keras "
        f"{keras.__version__}: install Keras {saved_with} or later"
    )


def load_keras_network(path, saved_with=None, **limits):
    """The network in ``path``, checked by :func:`check_keras_archive` first.

    Keras loads it in safe mode, forced even after
    ``keras.config.enable_unsafe_deserialization()``. Raises ValueError with
    one line: the archive problem, or Keras' refusal in a few words (and, if
    the file comes from a newer Keras, which one to install).

    Parameters
    ----------
    path : path-like
        The ``model.keras`` file.
    saved_with : str, default=None
        The version of Keras that wrote the file, as the model's JSON records.
    **limits
        The keyword arguments of :func:`check_keras_archive`.

    Returns
    -------
    network : keras.Model
        The compiled network.
    """
    import keras

    check_keras_archive(path, **limits)
    try:
        with SafeModeScope(True) if SafeModeScope else contextlib.nullcontext():
            return keras.saving.load_model(path, compile=True, safe_mode=True)
    except Exception as err:
        problem = _keras_problem(err)
        hint = _newer_keras(saved_with)
        raise ValueError(problem.rstrip(".") + hint if hint else problem) from None
