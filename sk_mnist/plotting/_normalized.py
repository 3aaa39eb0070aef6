"""DigitNormalizationDisplay: each image next to what the model sees of it."""

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state

from ..images import DigitNormalizer
from ._base import as_images, axes_or_new, check_grid, grid_shape


def _as_image_list(images):
    """The images as a list of arrays: a list as it is, rows of an array reshaped."""
    if isinstance(images, (list, tuple)):
        return [np.asarray(image) for image in images]
    array = np.asarray(images)
    if array.ndim == 4:
        return list(array)
    array, shape = as_images(array, None, "images")
    return list(array.reshape(len(array), *shape))


def _shown(image):
    """``(array, imshow keywords)`` that draw an original image as it looks."""
    image = np.asarray(image)
    if image.ndim == 2:
        return image, {"cmap": "gray", "vmin": 0, "vmax": 255}
    if image.ndim == 3 and image.shape[-1] == 1:
        return image[..., 0], {"cmap": "gray", "vmin": 0, "vmax": 255}
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        return np.clip(image.astype(float) / 255, 0, 1), {}
    raise ValueError(f"cannot draw an image of shape {image.shape}")


def _leading_normalizer(estimator):
    """``(normalizer, the rest)`` of a Pipeline that starts with a DigitNormalizer."""
    if isinstance(estimator, Pipeline) and len(estimator.steps) > 1:
        first = estimator.steps[0][1]
        if isinstance(first, DigitNormalizer):
            return first, estimator[1:]
    return None, estimator


def _normalized(normalizer, images):
    """``(rows, stages)`` of ``normalizer`` on ``images``; ``stages`` is
    ``{name: rows}`` of the steps before deskewing and thinning."""
    if isinstance(normalizer, DigitNormalizer):
        return normalizer._transform(images, stages=True)
    return normalizer.transform(images), {}


def _pick(n_total, n_images, random_state, candidates=None):
    """Indices of the images to draw: the first, or a random sample."""
    pool = np.arange(n_total) if candidates is None else np.asarray(candidates)
    n = min(int(n_images), len(pool))
    if random_state is None:
        return pool[:n]
    chosen = check_random_state(random_state).choice(len(pool), n, replace=False)
    return pool[np.sort(chosen)]


class DigitNormalizationDisplay:
    """Digit images next to what the model sees of them after normalisation.

    Each image takes two cells of a grid: the original as it looks, then
    the 28 x 28 image :class:`~sk_mnist.DigitNormalizer` makes of it, as the
    model receives it, with a cell for each earlier step ("centred",
    "deskewed") in between when the normaliser deskews or thins. With
    predictions, the right cell is titled with the predicted label and its
    probability, in red when wrong. Create it with :meth:`from_images` or
    :meth:`from_estimator`.

    Parameters
    ----------
    images : list of array-like
        The original images: 2-D grey, or ``(h, w, 3 or 4)`` colour, any
        sizes.
    normalized : array-like of shape (n_images, 784)
        The normalised rows, one per image.
    labels : array-like of shape (n_images,), default=None
        The true label of each image, the title of its original. If None,
        the originals are titled with their index.
    y_pred : array-like of shape (n_images,), default=None
        The predicted label of each image. If None, the normalised images are
        titled "normalised".
    confidence : array-like of shape (n_images,), default=None
        The probability of each predicted label, shown after it.
    indices : array-like of shape (n_images,), default=None
        Where the images come from in the original data.
    stages : dict of str to array-like of shape (n_images, 784), default=None
        Steps of the normalisation to draw between each original and its
        normalised image, in order, titled by their keys (for example
        ``{"centred": rows}``). None draws none.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes, shape (n_rows, (2 + n_stages) * n_cols)
        The grid: original, the stages and normalised image side by side;
        the axes after the last image's are hidden.
    originals_ : list of matplotlib AxesImage
        The original images drawn, in order.
    normalized_ : list of matplotlib AxesImage
        The normalised images drawn, in order.
    stages_ : dict of str to list of matplotlib AxesImage
        The images of each stage drawn, in order; empty without stages.
    indices_ : ndarray of shape (n_images,)
        `indices`, or ``0 .. n_images - 1`` when None.
    figure_ : matplotlib Figure or SubFigure
        The figure the grid is drawn in.

    See Also
    --------
    sk_mnist.DigitNormalizer : The normalisation shown.
    MisclassifiedDisplay : The most confident mistakes on 28 x 28 digits.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sk_mnist.plotting import DigitNormalizationDisplay
    >>> canvas = np.full((90, 60), 255.0)   # white paper
    >>> canvas[10:50, 5:15] = 0             # a black bar, off-centre
    >>> disp = DigitNormalizationDisplay.from_images([canvas, 255 - canvas])
    >>> disp.axes_.shape, len(disp.originals_), len(disp.normalized_)
    ((1, 4), 2, 2)
    >>> disp.normalized_[0].get_array().shape
    (28, 28)
    """

    def __init__(
        self,
        images,
        normalized,
        *,
        labels=None,
        y_pred=None,
        confidence=None,
        indices=None,
        stages=None,
    ):
        self.images = images
        self.normalized = normalized
        self.labels = labels
        self.y_pred = y_pred
        self.confidence = confidence
        self.indices = indices
        self.stages = stages

    def _titles(self, n_images):
        """The titles of the originals and of the normalised images, and colours."""
        indices = (
            np.arange(n_images) if self.indices is None else np.asarray(self.indices)
        )
        columns = {"indices": indices}
        for name in ("labels", "y_pred", "confidence"):
            if getattr(self, name) is not None:
                columns[name] = np.asarray(getattr(self, name))
        for name, values in columns.items():
            if len(values) != n_images:
                raise ValueError(
                    f"{len(values)} {name} for {n_images} images; they must match"
                )
        labels = columns.get("labels")
        left = [str(v) for v in labels] if labels is not None else []
        left = left or [f"#{i}" for i in indices]
        y_pred = columns.get("y_pred")
        if y_pred is None:
            return indices, left, ["normalised"] * n_images, ["black"] * n_images
        confidence = columns.get("confidence")
        right = [
            f"seen as {p}" + ("" if confidence is None else f" ({confidence[k]:.2f})")
            for k, p in enumerate(y_pred)
        ]
        wrong = (
            [False] * n_images
            if labels is None
            else [str(t) != str(p) for t, p in zip(labels, y_pred, strict=True)]
        )
        return indices, left, right, ["red" if w else "black" for w in wrong]

    def _checked_stages(self, n_images):
        """``{name: (n_images, 28, 28) array}`` of `stages`, checked."""
        stages = {}
        for name, rows in (self.stages or {}).items():
            rows = np.asarray(rows)
            if rows.shape != (n_images, 784):
                raise ValueError(
                    f"stages[{name!r}] must have shape ({n_images}, 784), one "
                    f"28 x 28 row per image, got {rows.shape}"
                )
            stages[str(name)] = rows.reshape(n_images, 28, 28)
        return stages

    def plot(self, *, n_cols=4, fig=None):
        """Draw each original next to its normalised image (and stages).

        Parameters
        ----------
        n_cols : int, default=4
            Number of images (each with its normalised image) per row, fewer
            when there are fewer images.
        fig : matplotlib Figure or SubFigure, default=None
            Where to add the grid of axes (``fig.subplots``). If None, a new
            figure is created.

        Returns
        -------
        display : DigitNormalizationDisplay
            This display, with the artists stored.
        """
        images = _as_image_list(self.images)
        normalized = np.asarray(self.normalized)
        n_images = len(images)
        if not n_images:
            raise ValueError("images holds no images: nothing to draw")
        if normalized.shape != (n_images, 784):
            raise ValueError(
                f"normalized must have shape ({n_images}, 784), one 28 x 28 row per "
                f"image, got {normalized.shape}"
            )
        check_grid(n_images, n_cols)
        stages = self._checked_stages(n_images)
        shown = [_shown(image) for image in images]
        indices, left, right, colours = self._titles(n_images)
        n_rows, n_cols = grid_shape(n_images, n_cols)
        cells = 2 + len(stages)
        names = list(stages)
        digit = {"cmap": "gray", "vmin": 0, "vmax": 255, "interpolation": "nearest"}
        with axes_or_new(
            "DigitNormalizationDisplay.plot",
            figsize=(1.3 * cells * n_cols, 1.5 * n_rows),
            shape=(n_rows, cells * n_cols),
            fig=fig,
        ) as axes:
            self.originals_, self.normalized_ = [], []
            self.stages_ = {name: [] for name in names}
            for k, ax in enumerate(axes.ravel()):
                ax.set_xticks([])
                ax.set_yticks([])
                pair, side = divmod(k, cells)
                if pair >= n_images:
                    ax.set_visible(False)
                elif side == 0:
                    array, style = shown[pair]
                    self.originals_.append(ax.imshow(array, **style))
                    ax.set_title(left[pair], fontsize=9)
                elif side <= len(names):
                    name = names[side - 1]
                    self.stages_[name].append(ax.imshow(stages[name][pair], **digit))
                    ax.set_title(name, fontsize=9)
                else:
                    image = normalized[pair].reshape(28, 28)
                    self.normalized_.append(ax.imshow(image, **digit))
                    ax.set_title(right[pair], fontsize=9, color=colours[pair])
        self.indices_ = indices
        self.axes_ = axes
        self.figure_ = axes[0, 0].figure
        return self

    @classmethod
    def from_images(
        cls,
        images,
        labels=None,
        *,
        normalizer=None,
        n_images=8,
        n_cols=4,
        random_state=None,
        fig=None,
    ):
        """Normalise images and draw each next to its normalised version.

        Parameters
        ----------
        images : list of array-like, or array-like of shape (n_samples, ...)
            Images of any sizes, as :class:`~sk_mnist.DigitNormalizer`
            takes them (for example the ``images`` of
            :func:`~sk_mnist.load_images`).
        labels : array-like of shape (n_samples,), default=None
            Labels, the titles of the originals.
        normalizer : DigitNormalizer, default=None
            The normaliser to apply; ``DigitNormalizer()`` when None. With
            ``deskew=True`` or a `stroke_width`, the steps before those are
            drawn too.
        n_images : int, default=8
            Number of images to draw (all of them when there are fewer).
        n_cols : int, default=4
            Number of images (each with its normalised image) per row.
        random_state : int, RandomState instance or None, default=None
            If None, the first `n_images` images; otherwise a random sample of
            them, in their order, drawn with this seed.
        fig : matplotlib Figure or SubFigure, default=None
            Where to add the grid of axes. If None, a new figure is created.

        Returns
        -------
        display : DigitNormalizationDisplay
            The display, drawn.
        """
        images = _as_image_list(images)
        check_grid(n_images, n_cols)
        if not images:
            raise ValueError("images holds no images")
        if labels is not None and len(labels) != len(images):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        chosen = _pick(len(images), n_images, random_state)
        images = [images[i] for i in chosen]
        normalizer = DigitNormalizer() if normalizer is None else normalizer
        rows, stages = _normalized(normalizer, images)
        return cls(
            images,
            rows,
            labels=None if labels is None else np.asarray(labels)[chosen],
            indices=chosen,
            stages=stages or None,
        ).plot(n_cols=n_cols, fig=fig)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        images,
        y=None,
        *,
        normalizer=None,
        misclassified_only=False,
        n_images=8,
        n_cols=4,
        random_state=None,
        fig=None,
    ):
        """Draw images, what a fitted classifier sees of them, and what it says.

        Parameters
        ----------
        estimator : fitted classifier
            Either a pipeline that starts with a
            :class:`~sk_mnist.DigitNormalizer` (``make_pipeline(
            DigitNormalizer(), pipe)``), whose normaliser is shown, or a
            classifier of 28 x 28 rows (such as the pipeline of
            :func:`~sk_mnist.make_mnist_pipeline`), given the rows of
            `normalizer`.
        images : list of array-like, or array-like of shape (n_samples, ...)
            Images of any sizes.
        y : array-like of shape (n_samples,), default=None
            True labels: the titles of the originals; a wrong prediction is
            titled in red.
        normalizer : DigitNormalizer, default=None
            For an `estimator` that does not start with one: the normaliser
            to apply (``DigitNormalizer()`` when None).
        misclassified_only : bool, default=False
            Draw only the images whose prediction differs from `y` (needs
            `y`).
        n_images : int, default=8
            Most images to draw.
        n_cols : int, default=4
            Number of images (each with its normalised image) per row.
        random_state : int, RandomState instance or None, default=None
            If None, the first `n_images` images (of the misclassified ones
            with `misclassified_only`); otherwise a random sample of them.
        fig : matplotlib Figure or SubFigure, default=None
            Where to add the grid of axes. If None, a new figure is created.

        Returns
        -------
        display : DigitNormalizationDisplay
            The display, drawn.
        """
        images = _as_image_list(images)
        check_grid(n_images, n_cols)
        if not images:
            raise ValueError("images holds no images")
        if y is not None and len(y) != len(images):
            raise ValueError(f"{len(images)} images but {len(y)} labels in y")
        if misclassified_only and y is None:
            raise ValueError("misclassified_only=True needs the true labels y")
        own, model = _leading_normalizer(estimator)
        if own is not None and normalizer is not None:
            raise ValueError(
                "estimator starts with its own DigitNormalizer; leave normalizer=None"
            )
        if own is not None:
            normalizer = own
        elif normalizer is None:
            normalizer = DigitNormalizer()
        rows, stages = _normalized(normalizer, images)
        if hasattr(model, "predict_proba"):
            proba = model.predict_proba(rows)
            y_pred = np.asarray(model.classes_)[proba.argmax(axis=1)]
            confidence = proba.max(axis=1)
        else:
            y_pred, confidence = np.asarray(model.predict(rows)), None
        candidates = None
        if misclassified_only:
            candidates = np.flatnonzero(np.asarray(y).astype(str) != y_pred.astype(str))
            if not len(candidates):
                raise ValueError("no image is misclassified: nothing to draw")
        chosen = _pick(len(images), n_images, random_state, candidates)
        return cls(
            [images[i] for i in chosen],
            rows[chosen],
            labels=None if y is None else np.asarray(y)[chosen],
            y_pred=y_pred[chosen],
            confidence=None if confidence is None else confidence[chosen],
            indices=chosen,
            stages={name: step[chosen] for name, step in stages.items()} or None,
        ).plot(n_cols=n_cols, fig=fig)
