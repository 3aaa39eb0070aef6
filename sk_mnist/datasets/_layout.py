"""What the first line of an MNIST CSV file says about the rest of it.

A header row, if there is one, says where the label is and which column holds
which pixel: columns are read by name when the header names them
unambiguously (``label`` anywhere; the pixels as Kaggle's ``1x1 ... 28x28``,
as ``pixel0 ... pixel783`` or ``pixel1 ... pixel784``, or, beside a ``label``
column, as pandas' ``0 ... 783``), in any order.  Without a header, or with
names it does not know, the label comes first when there are 785 columns.

Private to :mod:`sk_mnist.datasets`.
"""

import re
from typing import NamedTuple

__all__ = ["NUMBER", "PIXELS", "PIXEL_NAMES", "SIDE", "Layout", "layout_of"]

SIDE = 28
PIXELS = SIDE * SIDE
PIXEL_NAMES = [f"{r}x{c}" for r in range(1, SIDE + 1) for c in range(1, SIDE + 1)]
# The number syntax pandas' C parser accepts; ASCII only, and no '_' digit separators,
# which Python's float() would allow but pandas rejects.
NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*", re.ASCII)
_RXC = re.compile(r"(\d+)x(\d+)", re.ASCII)
_PIXEL_N = re.compile(r"pixel(\d+)", re.ASCII | re.IGNORECASE)
_INDEX = re.compile(r"\d+", re.ASCII)


class Layout(NamedTuple):
    """Where the index, the label and each pixel are in a CSV file's rows."""

    header: bool
    index: bool  # a leading index column, as pandas ``to_csv`` writes by default
    names: tuple  # column names after the index column
    label: int | None  # position of the label among ``names``, or None
    pixels: tuple  # positions among ``names`` of pixels 1x1, 1x2, ..., 28x28

    @property
    def labelled(self):
        return self.label is not None

    @property
    def width(self):
        return len(self.names) + self.index

    def expected(self):
        parts = ["index"] * self.index
        if self.label is None:
            parts.append("784 pixels")
        elif self.label == 0:
            parts += ["label", "784 pixels"]
        elif self.label == len(self.names) - 1:
            parts += ["784 pixels", "label"]
        else:
            parts.append(
                f"784 pixels and the label, column {self.column_number(self.label)}"
            )
        return f"expected {self.width} columns ({' + '.join(parts)})"

    def column_number(self, j):
        return j + self.index + 1

    def column(self, j):
        return f"column {self.column_number(j)} ({self.names[j]!r})"


def _is_header(names):
    if names and not names[0]:
        names = names[1:]
    if any(name.lower() == "label" for name in names):
        return True
    numeric = sum(bool(NUMBER.fullmatch(n)) for n in names)
    # pandas writes 0, 1, 2, ... as the header of a frame built from an array;
    # no valid data row looks like that, since 256 is not a pixel value.
    return numeric * 2 < len(names) or names == [str(i) for i in range(len(names))]


def _rxc(name):
    match = _RXC.fullmatch(name)
    if match is None:
        return None
    row, column = int(match[1]), int(match[2])
    inside = 1 <= row <= SIDE and 1 <= column <= SIDE
    return (row - 1) * SIDE + column - 1 if inside else -1


def _pixel_n(name):
    match = _PIXEL_N.fullmatch(name)
    return None if match is None else int(match[1])


def _count(numbers):
    return sum(number is not None for number in numbers.values())


def _pixel_numbers(names, candidates, labelled):
    """The pixel naming that the ``candidates`` columns follow, or None.

    Returns ``(numbers, spell)``: ``numbers[j]`` is the pixel (0-783) that
    ``names[j]`` names, -1 for a pixel outside the image, None for a name
    outside the scheme; ``spell(k)`` is pixel ``k``'s name in the scheme.
    None when more than one candidate follows no scheme.
    """
    pixel_n = {j: _pixel_n(names[j]) for j in candidates}
    base = 0 if 0 in pixel_n.values() else 1
    options = [
        ({j: _rxc(names[j]) for j in candidates}, PIXEL_NAMES.__getitem__),
        (
            {j: None if n is None else n - base for j, n in pixel_n.items()},
            lambda k: f"pixel{k + base}",
        ),
    ]
    if labelled:  # pandas' column numbers, only beside a column named 'label'
        numbers = {
            j: int(names[j]) if _INDEX.fullmatch(names[j]) else None for j in candidates
        }
        options.append((numbers, str))
    numbers, spell = max(options, key=lambda option: _count(option[0]))
    if _count(numbers) < len(candidates) - 1:
        return None
    inside = {j: n if n is None or 0 <= n < PIXELS else -1 for j, n in numbers.items()}
    return inside, spell


def _by_count(names, index, label, where):
    """The layout of a header whose pixel names are not known: by position."""
    if label is None and len(names) > PIXELS:
        label = 0
    pixels = tuple(j for j in range(len(names)) if j != label)
    if len(pixels) != PIXELS:
        raise ValueError(
            f"{where}: a 'label' column and {len(pixels)} other columns, expected "
            "784 pixel columns"
        )
    return Layout(True, index, tuple(names), label, pixels)


def _by_name(names, index, where):
    """The layout a header row gives, reading its columns by name."""
    labels = [j for j, name in enumerate(names) if name.lower() == "label"]
    if len(labels) > 1:
        raise ValueError(
            f"{where}: columns {labels[0] + index + 1} and {labels[1] + index + 1} "
            "are both named 'label'"
        )
    candidates = [j for j in range(len(names)) if j not in labels]
    scheme = _pixel_numbers(names, candidates, bool(labels))
    if scheme is None:
        return _by_count(names, index, labels[0] if labels else None, where)
    numbers, spell = scheme
    others = [j for j in candidates if numbers[j] is None]
    if labels and others:
        raise ValueError(
            f"{where}, column {others[0] + index + 1}: {names[others[0]]!r} is "
            f"neither the label nor a pixel (like {spell(0)!r})"
        )
    label = labels[0] if labels else (others[0] if others else None)
    seen = {}
    for j in candidates:
        if j == label:
            continue
        at, number = f"{where}, column {j + index + 1}", numbers[j]
        if number == -1:
            raise ValueError(f"{at}: {names[j]!r} names no pixel of a 28 x 28 image")
        if number in seen:
            raise ValueError(
                f"{at}: {names[j]!r} names the same pixel as column "
                f"{seen[number] + index + 1}"
            )
        seen[number] = j
    missing = [k for k in range(PIXELS) if k not in seen]
    if missing:
        listed = ", ".join(repr(spell(k)) for k in missing[:3])
        raise ValueError(
            f"{where}: {'a label column and ' * (label is not None)}{len(seen)} pixel "
            f"columns, expected 784; no column for {listed}"
            f"{', ...' if len(missing) > 3 else ''}"
        )
    return Layout(
        True, index, tuple(names), label, tuple(seen[k] for k in range(PIXELS))
    )


def layout_of(fields, name):
    """The Layout of a CSV file whose first line holds ``fields``.

    Raises ValueError, naming ``name`` and line 1, if that line cannot begin
    MNIST data: not 784 or 785 columns (after an index column), two 'label'
    columns, or a header whose names miss, repeat or misname a pixel.
    """
    names = [field.strip() for field in fields]
    header = _is_header(names)
    index = header and not names[0]
    names = names[index:]
    where = f"{name}, line 1"
    if len(names) not in (PIXELS, PIXELS + 1):
        raise ValueError(
            f"{where}: expected 785 columns (label + 784 pixels) or 784 "
            f"(pixels only){' after the index column' if index else ''}, "
            f"found {len(names)}"
        )
    if header:
        return _by_name(names, index, where)
    labelled = len(names) > PIXELS
    names = ("label",) * labelled + tuple(PIXEL_NAMES)
    return Layout(
        False, False, names, 0 if labelled else None, tuple(range(labelled, len(names)))
    )
