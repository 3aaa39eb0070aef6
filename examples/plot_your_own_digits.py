"""
Your own digits
===============

A model trained on MNIST has only ever seen one kind of image: 28 x 28 grey
levels, bright ink on black, the digit scaled to fit 20 x 20 and centred by
its centre of mass. A digit drawn in a paint program or photographed on
paper is none of that: larger, dark on light, anywhere on the page.
:class:`~sk_mnist.DigitNormalizer` applies MNIST's own recipe to such
images, so that ``make_pipeline(DigitNormalizer(), pipe)`` reads them.

This example draws a few digits with Pillow, as a user would in a paint
program, saves them as image files, reads them back with
:func:`~sk_mnist.load_images`, and compares what a model trained on
the embedded sample makes of them with and without the normaliser. A small
network (one hidden layer of 256 units, 5 epochs) keeps it to about 15
seconds on two CPU cores.
"""

# %%
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from sklearn.pipeline import make_pipeline

from sk_mnist import make_mnist_pipeline
from sk_mnist.datasets import load_sample
from sk_mnist.images import DigitNormalizer, load_images
from sk_mnist.plotting import DigitNormalizationDisplay

(X_train, y_train), (X_test, y_test) = load_sample()
pipe = make_mnist_pipeline(hidden_layer_sizes=(256,), epochs=5, random_state=0)
pipe.fit(X_train, y_train)
print(f"accuracy on the sample's test digits: {pipe.score(X_test, y_test):.3f}")

# %%
# Draw some digits
# ----------------
# Black strokes on white canvases of different sizes, off-centre, as a mouse
# or a pen draws them, saved in the ``<label>/`` folder layout that
# :func:`~sk_mnist.load_images` reads labels from. The last two are
# real test digits of the sample, printed dark on light paper and
# photographed (saved as JPEG).
STROKES = {
    0: [("ellipse", (40, 20, 110, 150))],
    1: [("line", [(70, 30), (85, 25), (80, 160)])],
    4: [("line", [(95, 170), (90, 30), (30, 120), (120, 115)])],
    7: [("line", [(30, 40), (120, 40), (60, 170)]), ("line", [(55, 105), (105, 100)])],
}

folder = Path(tempfile.mkdtemp(prefix="sk-mnist-digits-"))
for label, strokes in STROKES.items():
    canvas = Image.new("L", (200, 200), 255)
    draw = ImageDraw.Draw(canvas)
    for shape, points in strokes:
        if shape == "ellipse":
            draw.ellipse(points, outline=0, width=14)
        else:
            draw.line(points, fill=0, width=14, joint="curve")
    (folder / str(label)).mkdir()
    canvas.save(folder / str(label) / "drawn.png")

for label in (2, 9):
    i = int(np.flatnonzero(y_test == label)[0])
    ink = Image.fromarray(X_test[i].reshape(28, 28)).resize((90, 90))
    photo = np.full((120, 160), 235.0)  # grey paper, dark grey ink
    photo[20:110, 60:150] -= (235 - 50) * np.asarray(ink, dtype=float) / 255
    photo = Image.fromarray(photo.round().astype(np.uint8))
    (folder / str(label)).mkdir()
    photo.save(folder / str(label) / f"photo{i}.jpg", quality=75)

digits = load_images(folder)
for name, image, label in zip(
    digits.filenames, digits.images, digits.target, strict=True
):
    print(f"{Path(name).relative_to(folder)}: {image.shape}, label {label}")

# %%
# Without the normaliser
# ----------------------
# Squeezed to 28 x 28 as they are, the digits are black on white and the
# model sees a bright square with a hole in it.
naive = np.stack(
    [np.asarray(Image.fromarray(im).resize((28, 28))).ravel() for im in digits.images]
)
print("naive resize:   ", pipe.predict(naive.clip(0, 255)), "for", digits.target)

# %%
# With the normaliser
# -------------------
# Put :class:`~sk_mnist.DigitNormalizer` in front of the trained
# pipeline. It takes the list of images of any sizes as they are.
reader = make_pipeline(DigitNormalizer(), pipe)
print("DigitNormalizer:", reader.predict(digits.images), "for", digits.target)

# %%
# What the model sees
# -------------------
# :class:`~sk_mnist.plotting.DigitNormalizationDisplay` shows each image
# next to its normalised version, titled with the prediction and its
# probability (in red when it is wrong): the first place to look when a digit
# is misread.
disp = DigitNormalizationDisplay.from_estimator(
    reader, digits.images, digits.target, n_cols=3
)

# %%
# On the command line, the same works on a folder of images with a saved
# model: ``sk-mnist predict --model MODEL --data FOLDER``.
