"""Read one digit image with Pillow: by name, from its bytes, or a file object.

Only the decoders of :data:`FORMATS` are tried, and an image's pixels are
bounded before Pillow decodes them, since the server decodes what anyone
uploads.
"""

import io
import os
import struct
import warnings
from numbers import Integral

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["read_image"]

# The decoders Pillow may use: the formats digits come in. The server decodes
# what anyone uploads, and Pillow's advisories are mostly in its rarer
# decoders (FITS, PCX, SGI, ...), which are never tried.
FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP")
# A 48-megapixel phone photo fits; its float32 grey array takes 200 MB.
_MAX_PIXELS = 50_000_000
_ALPHA_MODES = {"LA", "La", "PA", "RGBA", "RGBa"}
# Pillow's errors for damaged files: besides OSError ("image file is
# truncated", "broken data stream"), its decoders raise these on bad headers.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)
# How the encoded files begin; bytes that begin so are read as an image's
# content, not as a file name (as is anything with a NUL byte, which no file
# name holds).
_SIGNATURES = (b"\x89PNG", b"\xff\xd8\xff", b"BM", b"GIF8", b"II*\0", b"MM\0*", b"RIFF")


def _is_content(data):
    """Whether ``data`` (bytes) is an encoded image rather than a file name."""
    if b"\0" in data:
        return True
    return data.startswith(_SIGNATURES) and not os.path.exists(data)


def _name(source):
    """How to name ``source`` in an error: its path, or the file object's name."""
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if isinstance(source, str):
        return source
    if isinstance(source, bytes) and not _is_content(source):
        return os.fsdecode(source)
    return str(getattr(source, "name", None) or f"<{type(source).__name__}>")


def _shown(name):
    """``name`` printable: undecodable bytes as ``\\xNN``, controls escaped."""
    try:
        raw = os.fsencode(name)
    except UnicodeEncodeError:  # a surrogate that no byte made
        raw = name.encode("utf-8", "backslashreplace")
    text = raw.decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def _opened(source, where):
    """``(what Image.open takes, name)`` for one source, or a TypeError naming it.

    Paths are opened by name; content bytes and binary file objects are read
    as they are.
    """
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        if isinstance(source, bytes) and not _is_content(source):
            return os.fsdecode(source), os.fsdecode(source)
        return io.BytesIO(source), _name(source)
    if isinstance(source, str):
        return source, source
    if isinstance(source, io.TextIOBase):
        raise TypeError(
            f"{where}: {_shown(_name(source))} is open in text mode; open it "
            f"with mode 'rb'"
        )
    if callable(getattr(source, "read", None)):
        return source, _name(source)
    hint = ""
    if isinstance(source, Integral) and not isinstance(source, bool):
        hint = " (for a file descriptor, pass open(fd, 'rb'))"
    raise TypeError(
        f"{where}: expected an image file name (str, bytes or path-like), the "
        f"file's content (bytes) or a binary file object, got "
        f"{type(source).__name__}{hint}"
    )


def _check_max_pixels(max_pixels):
    if not isinstance(max_pixels, Integral) or isinstance(max_pixels, bool):
        raise TypeError(f"max_pixels must be an integer, got {max_pixels!r}")
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be at least 1, got {max_pixels}")


def _open(source, name, max_pixels):
    """``Image.open`` with Pillow's errors turned into one-line messages."""
    name = _shown(name)
    try:
        with warnings.catch_warnings():
            # The size is checked against max_pixels by the caller instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(source, formats=FORMATS)
    except FileNotFoundError:
        raise FileNotFoundError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{name}: is a folder, not an image file") from None
    except UnidentifiedImageError:
        raise ValueError(
            f"{name}: not an image file that Pillow can read (PNG, JPEG, BMP, GIF, "
            f"TIFF, WebP)"
        ) from None
    except Image.DecompressionBombError as err:
        # Pillow refuses at twice Image.MAX_IMAGE_PIXELS, checked as it opens.
        limit = Image.MAX_IMAGE_PIXELS
        if limit is None or max_pixels < 2 * limit:
            problem = f"more than max_pixels={max_pixels:,} pixels"
        else:
            problem = "more pixels than Pillow's Image.MAX_IMAGE_PIXELS allows"
        raise ValueError(f"{name}: refused, the image has {problem} ({err})") from None
    except _DECODE_ERRORS as err:
        raise ValueError(f"{name}: damaged image header ({err})") from None


def _grey(im):
    """A decoded Pillow image as a float32 grey array in 0-255."""
    if im.mode in _ALPHA_MODES or "transparency" in im.info:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        # Transparent pixels are the paper: what a viewer shows them as.
        return np.asarray(Image.alpha_composite(white, rgba).convert("L"), np.float32)
    if im.mode.startswith("I;16") or im.mode == "I":
        a = np.asarray(im, dtype=np.float32)
        if a.size and (a.min() < 0 or a.max() > 65535):
            raise ValueError(f"32-bit grey levels outside 0-65535 (mode {im.mode})")
        return a / np.float32(257)  # 16-bit grey levels to 0-255
    if im.mode == "F":
        a = np.asarray(im, dtype=np.float32)
        if a.size and not (np.isfinite(a).all() and 0 <= a.min() and a.max() <= 255):
            raise ValueError("floating-point grey levels outside 0-255 (mode F)")
        return a
    return np.asarray(im if im.mode == "L" else im.convert("L"), dtype=np.float32)


def read_image(source, *, max_pixels=_MAX_PIXELS):
    """Read one image file as a 2-D grey array of levels 0-255.

    PNG, JPEG, BMP, GIF, TIFF or WebP (only the decoders of ``FORMATS``).
    Colour becomes grey, transparency white, the EXIF orientation is applied
    and the polarity is kept (:class:`~sk_mnist.DigitNormalizer` inverts it);
    :doc:`/images` has the details.

    Parameters
    ----------
    source : str, path-like, bytes or binary file object
        The image file: its name (bytes as ``os.fsencode`` gives, for a name
        that is not UTF-8), its content (``bytes``, ``bytearray`` or
        ``memoryview`` of an encoded image, as a web upload gives), or a file
        object opened in binary mode (``open(path, "rb")``, ``io.BytesIO``).
        Bytes are content when they begin with an image signature or hold a
        NUL byte, else a name.
    max_pixels : int, default=50_000_000
        Largest width x height accepted, read from the header before the
        image is decoded (a "decompression bomb" is refused).

    Returns
    -------
    image : ndarray of shape (height, width), dtype float32
        Grey levels 0 (black) to 255 (white).

    Raises
    ------
    FileNotFoundError
        If there is no file at `source`.
    TypeError
        If `source` is none of the above: a file descriptor (``int``; pass
        ``open(fd, "rb")``), ``None``, or a file opened in text mode.
    ValueError
        If the file is not an image, is truncated or damaged, or has more than
        `max_pixels` pixels; the one-line message names the file (a name's
        undecodable bytes written ``\\xNN``).

    See Also
    --------
    load_images : Read many files, or a folder of labelled images.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> from sk_mnist.images import read_image
    >>> buffer = io.BytesIO()
    >>> Image.new("RGB", (40, 30), "white").save(buffer, format="PNG")
    >>> _ = buffer.seek(0)
    >>> image = read_image(buffer)
    >>> image.shape, image.dtype, float(image.max())
    ((30, 40), dtype('float32'), 255.0)
    """
    _check_max_pixels(max_pixels)
    return _read(*_opened(source, "source"), max_pixels)


def _read(source, name, max_pixels):
    """The grey array of ``source``, an ``Image.open`` argument named ``name``."""
    im = _open(source, name, max_pixels)
    name = _shown(name)
    with im:
        width, height = im.size
        if width * height > max_pixels:
            raise ValueError(
                f"{name}: refused, {width} x {height} = {width * height:,} pixels is "
                f"more than max_pixels={max_pixels:,}"
            )
        if width == 0 or height == 0:
            raise ValueError(f"{name}: the image has no pixels ({width} x {height})")
        try:
            im.load()
            return _grey(ImageOps.exif_transpose(im))
        except _DECODE_ERRORS as err:
            raise ValueError(f"{name}: damaged or truncated image ({err})") from None
