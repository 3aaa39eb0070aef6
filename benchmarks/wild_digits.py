"""Make a "wild digits" set: real MNIST digits drawn the way users make them.

Each of the embedded sample's 1,000 test digits is drawn onto a larger canvas
(48 to 300 pixels a side, not always square: up to 3:2), scaled to 35-85% of the
canvas, moved anywhere on it, in either polarity (half are dark ink on light
paper), with a dark-ish and a light-ish grey instead of pure black and white,
a quarter with a thicker and a quarter with a thinner stroke (Pillow's
MaxFilter / MinFilter on the enlarged digit), and saved as PNG or, one in
three, as JPEG at quality 50-85. The files go in the ``OUT_DIR/<label>/``
layout that ``sk_mnist.images.load_images`` reads. The same seed always
gives the same files.

    python benchmarks/wild_digits.py OUT_DIR [--seed 0] [--n-digits N]

``benchmarks/bench_images.py`` builds the set itself, in a temporary folder,
with :func:`make_wild_digits`.

``--kind KIND`` writes instead a set of one kind of :data:`KINDS`
(:func:`make_wild_kind`, used by ``benchmarks/bench_robustness.py``): every
image is drawn as a "plain" one (canvas of 48-300 pixels, digit 50-85% of
it, anywhere on it, either polarity, tinted, PNG) with one change:

* ``plain``: none;
* ``rotated``: turned by 5-15 degrees, either way;
* ``small``: 14-28 pixels high on a canvas of 150-300;
* ``off-centre``: 30-50% of the canvas, 1-5% from two of its edges (a corner);
* ``thin``: strokes eroded by 0.45-0.6 MNIST pixels on each side;
* ``thick``: strokes dilated by 0.7-1.1 MNIST pixels on each side;
* ``noisy``: Gaussian noise of 4-10 grey levels on every pixel;
* ``jpeg``: saved as JPEG at quality 10-40;
* ``elastic``: Simard's elastic warp (alpha 20-30, sigma 4 MNIST pixels).

    python benchmarks/wild_digits.py OUT_DIR --kind thin [--seed 0]
"""

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

from sk_mnist.datasets import load_sample

STROKES = {"normal": 0.5, "thick": 0.25, "thin": 0.25}
# Radius of the dilation / erosion, in MNIST pixels (a stroke is ~2.5 wide).
_STROKE_RADIUS = {"thick": 0.6, "thin": 0.35}


def _glyph(digit, long_side, stroke):
    """The digit's ink, cropped, enlarged so its longer side is ``long_side``."""
    rows = np.flatnonzero(digit.any(axis=1))
    cols = np.flatnonzero(digit.any(axis=0))
    crop = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = long_side / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    glyph = Image.fromarray(crop).resize(size, Image.Resampling.BICUBIC)
    if stroke != "normal":
        size = 2 * round(scale * _STROKE_RADIUS[stroke]) + 1
        if size >= 3:
            kind = ImageFilter.MaxFilter if stroke == "thick" else ImageFilter.MinFilter
            glyph = glyph.filter(kind(size))
    return np.asarray(glyph, dtype=np.float32)


def _draw(digit, rng):
    """One wild image of ``digit`` (28 x 28, bright on dark) and how it was made."""
    height = int(rng.integers(48, 301))
    # Paper, a photo or a canvas: at most 3:2 either way.
    width = int(np.clip(round(height * rng.uniform(2 / 3, 3 / 2)), 48, 300))
    long_side = round(rng.uniform(0.35, 0.85) * min(height, width))
    stroke = rng.choice(list(STROKES), p=list(STROKES.values()))
    glyph = _glyph(digit, long_side, stroke)
    background = rng.uniform(0, 40)
    ink = rng.uniform(200, 255)
    canvas = np.full((height, width), background, dtype=np.float32)
    top = rng.integers(0, height - glyph.shape[0] + 1)
    left = rng.integers(0, width - glyph.shape[1] + 1)
    patch = background + (ink - background) * glyph / 255
    canvas[top : top + glyph.shape[0], left : left + glyph.shape[1]] = patch
    dark_ink = bool(rng.random() < 0.5)
    if dark_ink:
        canvas = 255 - canvas
    image = Image.fromarray(np.rint(canvas).astype(np.uint8))
    jpeg = rng.random() < 1 / 3
    quality = int(rng.integers(50, 86)) if jpeg else None
    settings = {
        "size": (width, height),
        "long_side": long_side,
        "stroke": str(stroke),
        "polarity": "dark_ink" if dark_ink else "bright_ink",
        "format": f"JPEG q{quality}" if jpeg else "PNG",
    }
    return image, quality, settings


def make_wild_digits(out_dir, *, seed=0, n_digits=None):
    """Write the wild digits under ``out_dir/<label>/``; return one record per file.

    Parameters
    ----------
    out_dir : str or path-like
        Folder to create; it must not exist yet or be empty.
    seed : int, default=0
        Seed of every random choice: the same seed writes the same files.
    n_digits : int, default=None
        Use only the first `n_digits` test digits of the sample (all 1,000
        when None).

    Returns
    -------
    records : list of dict
        For each file, in the order of the sample: ``path``, ``label``,
        ``index`` (in the sample's test set) and the settings drawn
        (``size``, ``long_side``, ``stroke``, ``polarity``, ``format``).
    """
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out}: not empty; give a new or empty folder")
    _, (X_test, y_test) = load_sample()
    if n_digits is not None:
        X_test, y_test = X_test[:n_digits], y_test[:n_digits]
    rng = np.random.default_rng(seed)
    records = []
    for index, (row, label) in enumerate(zip(X_test, y_test, strict=True)):
        image, quality, settings = _draw(row.reshape(28, 28), rng)
        folder = out / str(int(label))
        folder.mkdir(parents=True, exist_ok=True)
        if quality is None:
            path = folder / f"{index:04d}.png"
            image.save(path, format="PNG")
        else:
            path = folder / f"{index:04d}.jpg"
            image.save(path, format="JPEG", quality=quality)
        records.append({"path": path, "label": int(label), "index": index, **settings})
    return records


KINDS = (
    "plain",
    "rotated",
    "small",
    "off-centre",
    "thin",
    "thick",
    "noisy",
    "jpeg",
    "elastic",
)
# Stroke change per side, in MNIST pixels, drawn uniformly in these ranges.
_KIND_STROKE = {"thin": (0.45, 0.6), "thick": (0.7, 1.1)}


def _elastic(digit, rng):
    """Simard's elastic warp of a 28 x 28 digit (float32 0-255)."""
    alpha, sigma = rng.uniform(20, 30), 4.0
    dx, dy = (
        ndimage.gaussian_filter(rng.uniform(-1, 1, digit.shape), sigma) * alpha
        for _ in range(2)
    )
    rows, cols = np.indices(digit.shape, dtype=np.float64)
    warped = ndimage.map_coordinates(digit, [rows + dy, cols + dx], order=1)
    return np.clip(warped, 0, 255).astype(np.uint8), round(float(alpha), 1)


def _kind_glyph(digit, long_side, kind, rng):
    """The digit's ink (float32 0-255), enlarged, with the kind's change."""
    settings = {}
    if kind == "elastic":
        digit, settings["alpha"] = _elastic(digit.astype(np.float32), rng)
    rows = np.flatnonzero(digit.any(axis=1))
    cols = np.flatnonzero(digit.any(axis=0))
    crop = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    # MNIST's digits are 20 pixels high: the change is in MNIST pixels.
    scale = long_side / 20
    box = long_side / max(crop.shape)
    size = (max(1, round(crop.shape[1] * box)), max(1, round(crop.shape[0] * box)))
    glyph = Image.fromarray(crop).resize(size, Image.Resampling.BICUBIC)
    if kind in _KIND_STROKE:
        radius = rng.uniform(*_KIND_STROKE[kind])
        width = 2 * max(1, round(scale * radius)) + 1
        pad = width
        glyph = Image.fromarray(np.pad(np.asarray(glyph), pad))
        kind_filter = (
            ImageFilter.MaxFilter if kind == "thick" else ImageFilter.MinFilter
        )
        glyph = glyph.filter(kind_filter(width))
        settings["radius"] = round(float(radius), 2)
    if kind == "rotated":
        angle = rng.uniform(5, 15) * rng.choice([-1, 1])
        glyph = glyph.rotate(angle, Image.Resampling.BICUBIC, expand=True)
        settings["angle"] = round(float(angle), 1)
    glyph = np.asarray(glyph, dtype=np.float32)
    inked = glyph > 0
    if not inked.any():
        return None, settings
    rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    return glyph[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], settings


def _draw_kind(digit, kind, rng):
    """One wild image of ``digit`` of the given kind, and how it was made."""
    if kind == "small":
        height = int(rng.integers(150, 301))
    else:
        height = int(rng.integers(48, 301))
    width = int(np.clip(round(height * rng.uniform(2 / 3, 3 / 2)), 48, 300))
    short = min(height, width)
    if kind == "small":
        long_side = int(rng.integers(14, 29))
    elif kind == "off-centre":
        long_side = round(rng.uniform(0.3, 0.5) * short)
    elif kind == "rotated":
        # Room for the corners of the turned box.
        long_side = round(rng.uniform(0.4, 0.65) * short)
    else:
        long_side = round(rng.uniform(0.5, 0.85) * short)
    glyph, settings = _kind_glyph(digit, long_side, kind, rng)
    if glyph is None:  # a thin stroke eroded away: keep the digit plain
        glyph, settings = _kind_glyph(digit, long_side, "plain", rng)
        settings["eroded_away"] = True
    glyph = glyph[:height, :width]
    background = rng.uniform(0, 40)
    ink = rng.uniform(200, 255)
    canvas = np.full((height, width), background, dtype=np.float32)
    if kind == "off-centre":
        margin_y = round(rng.uniform(0.01, 0.05) * height)
        margin_x = round(rng.uniform(0.01, 0.05) * width)
        far_y, far_x = (
            height - glyph.shape[0] - margin_y,
            width - glyph.shape[1] - margin_x,
        )
        top = max(0, margin_y if rng.random() < 0.5 else far_y)
        left = max(0, margin_x if rng.random() < 0.5 else far_x)
    else:
        top = rng.integers(0, height - glyph.shape[0] + 1)
        left = rng.integers(0, width - glyph.shape[1] + 1)
    patch = background + (ink - background) * glyph / 255
    canvas[top : top + glyph.shape[0], left : left + glyph.shape[1]] = patch
    if kind == "noisy":
        settings["noise"] = round(float(rng.uniform(4, 10)), 1)
        canvas += rng.normal(0, settings["noise"], canvas.shape).astype(np.float32)
    dark_ink = bool(rng.random() < 0.5)
    if dark_ink:
        canvas = 255 - canvas
    image = Image.fromarray(np.rint(np.clip(canvas, 0, 255)).astype(np.uint8))
    quality = int(rng.integers(10, 41)) if kind == "jpeg" else None
    settings.update(
        kind=kind,
        size=(width, height),
        long_side=long_side,
        polarity="dark_ink" if dark_ink else "bright_ink",
        format=f"JPEG q{quality}" if quality else "PNG",
    )
    return image, quality, settings


def make_wild_kind(out_dir, kind, *, seed=0, n_digits=None):
    """Write a wild set of one kind of :data:`KINDS` under ``out_dir/<label>/``.

    Parameters
    ----------
    out_dir : str or path-like
        Folder to create; it must not exist yet or be empty.
    kind : str
        One of :data:`KINDS` (see the module's docstring).
    seed : int, default=0
        Seed of every random choice: the same seed and kind write the same
        files; each kind draws its own stream.
    n_digits : int, default=None
        Use only the first `n_digits` test digits of the sample (all 1,000
        when None).

    Returns
    -------
    records : list of dict
        For each file, in the order of the sample: ``path``, ``label``,
        ``index`` and the settings drawn (``kind``, ``size``, ``long_side``,
        ``polarity``, ``format`` and the kind's own: ``angle``, ``radius``,
        ``noise``, ``alpha``).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out}: not empty; give a new or empty folder")
    _, (X_test, y_test) = load_sample()
    if n_digits is not None:
        X_test, y_test = X_test[:n_digits], y_test[:n_digits]
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    records = []
    for index, (row, label) in enumerate(zip(X_test, y_test, strict=True)):
        image, quality, settings = _draw_kind(row.reshape(28, 28), kind, rng)
        folder = out / str(int(label))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{index:04d}.{'jpg' if quality else 'png'}"
        if quality:
            image.save(path, format="JPEG", quality=quality)
        else:
            image.save(path, format="PNG")
        records.append({"path": path, "label": int(label), "index": index, **settings})
    return records


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", help="folder to write, new or empty")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument(
        "--n-digits", type=int, default=None, help="first N test digits (all)"
    )
    parser.add_argument(
        "--kind",
        choices=KINDS,
        default=None,
        help="write a set of one kind instead of the mixed set",
    )
    args = parser.parse_args(argv)
    try:
        if args.kind is None:
            records = make_wild_digits(
                args.out_dir, seed=args.seed, n_digits=args.n_digits
            )
        else:
            records = make_wild_kind(
                args.out_dir, args.kind, seed=args.seed, n_digits=args.n_digits
            )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.kind is not None:
        print(f"wrote {len(records)} {args.kind} images to {args.out_dir}/<label>/")
        return 0
    for key in ("polarity", "stroke"):
        print(f"{key}: {dict(sorted(Counter(r[key] for r in records).items()))}")
    jpeg = sum(r["format"] != "PNG" for r in records)
    print(f"wrote {len(records)} images ({jpeg} JPEG) to {args.out_dir}/<label>/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
