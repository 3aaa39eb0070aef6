"""save_figure: write a display's figure to a file and close it."""

from ._base import pyplot


def save_figure(display_or_figure, path, dpi=100):
    """Save a display's figure (or a figure) to `path`, then close it.

    Parameters
    ----------
    display_or_figure : display, matplotlib Figure or SubFigure
        A display of this module or of sklearn (anything with ``figure_``),
        or a figure. For a SubFigure, the whole figure is saved.
    path : str or os.PathLike
        The file to write; the format follows the extension (``.png``).
    dpi : int, default=100
        Resolution.

    Returns
    -------
    path : str or os.PathLike
        `path`.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import os, tempfile
    >>> from sk_mnist.plotting import ClassDistributionDisplay, save_figure
    >>> disp = ClassDistributionDisplay.from_labels([0, 1, 1])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     os.path.getsize(save_figure(disp, os.path.join(tmp, "c.png"))) > 0
    True
    """
    plt = pyplot("save_figure")
    fig = getattr(display_or_figure, "figure_", display_or_figure)
    try:  # matplotlib >= 3.10: a SubFigure's parent may be another SubFigure
        fig = fig.get_figure(root=True)
    except TypeError:  # older: SubFigure.figure is the root figure
        fig = fig.figure
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path
