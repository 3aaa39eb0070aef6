"""Figures for MNIST-like digits, in scikit-learn's Display style.

Each figure is a class whose constructor stores the data to draw, whose
``plot`` method draws it and stores the matplotlib artists (``ax_`` or
``axes_``, ``figure_``, ...) and returns the display, and whose classmethods
(``from_labels``, ``from_arrays``, ``from_history``, ``from_estimator``,
``from_predictions``, ``from_cv_results``) compute that data and plot it in
one call, like :class:`sklearn.metrics.ConfusionMatrixDisplay`:

* :class:`ClassDistributionDisplay` - bar chart of the class counts of one or
  two label sets.
* :class:`DigitGridDisplay` - a grid of digit images titled with their labels.
* :class:`TrainingHistoryDisplay` - loss and accuracy per epoch of one fit.
* :class:`DigitConfusionMatrixDisplay` - the confusion matrix, with a row and
  a column for every class the classifier knows.
* :class:`MisclassifiedDisplay` - the most confidently misclassified digits.
* :class:`DigitNormalizationDisplay` - images of any size next to the 28 x 28
  digits :class:`~sk_mnist.DigitNormalizer` makes of them.
* :class:`SearchScoresDisplay` - mean cross-validated score of each candidate
  of a grid or randomized search.
* :func:`save_figure` - write a display's figure to a PNG file and close it.

Single-axes displays take ``ax=None`` (a new figure when None). Grid displays
take ``fig=None`` instead (a ``Figure`` or ``SubFigure``). The input is
checked before a figure is made. matplotlib is imported only when something
is drawn.
"""

from ._class_distribution import ClassDistributionDisplay
from ._confusion_matrix import DigitConfusionMatrixDisplay
from ._digit_grid import DigitGridDisplay
from ._misclassified import MisclassifiedDisplay
from ._normalized import DigitNormalizationDisplay
from ._save import save_figure
from ._search_scores import SearchScoresDisplay
from ._training_history import TrainingHistoryDisplay

__all__ = [
    "ClassDistributionDisplay",
    "DigitConfusionMatrixDisplay",
    "DigitGridDisplay",
    "DigitNormalizationDisplay",
    "MisclassifiedDisplay",
    "SearchScoresDisplay",
    "TrainingHistoryDisplay",
    "save_figure",
]
