"""PixelScaler: the homework's ``x / 255`` as a scikit-learn transformer."""

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._callbacks import CallbackSupportMixin, leaf_fit_task, with_callbacks
from ._fitted_state import input_attributes, input_state

__all__ = ["PixelScaler"]

_MAX_PIXEL = 255


def _check_pixel_range(X, where):
    """Raise a one-line ValueError when ``X`` holds values outside 0-255."""
    if X.size == 0:
        return
    lo, hi = X.min(), X.max()
    if lo < 0 or hi > _MAX_PIXEL:
        bad = lo if lo < 0 else hi
        rows, cols = np.nonzero(X == bad)
        # "Negative values in data" is sklearn's wording for positive-only input.
        problem = "Negative values in data" if lo < 0 else "Values above 255 in data"
        raise ValueError(
            f"{problem} passed to {where}: pixel values must lie in 0-{_MAX_PIXEL}, "
            f"found {bad.item():g} at row {rows[0]}, column {cols[0]}"
        )


class PixelScaler(
    CallbackSupportMixin, OneToOneFeatureMixin, TransformerMixin, BaseEstimator
):
    """Scale grey levels from 0-255 to ``float32`` values in [0, 1].

    The homework's ``x_train / 255`` as a stateless transformer: ``fit``
    only records the input's shape, to check later inputs. Values outside
    0-255, NaN or infinity raise ``ValueError``.

    Attributes
    ----------
    n_features_in_ : int
        Number of features (pixels) seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :meth:`fit`, when ``X`` was a DataFrame
        with string column names.

    See Also
    --------
    sklearn.preprocessing.MinMaxScaler : Learns the range from the data instead.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mnist import PixelScaler
    >>> X = np.array([[0, 51, 255]], dtype=np.uint8)
    >>> PixelScaler().fit_transform(X)
    array([[0. , 0.2, 1. ]], dtype=float32)
    """

    _parameter_constraints = {}  # no parameters; sklearn's hook still works

    @with_callbacks
    def fit(self, X, y=None):
        """Check ``X`` and record its number of features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Grey levels in 0-255.
        y : None
            Ignored.

        Returns
        -------
        self : PixelScaler
            The fitted transformer.
        """
        with leaf_fit_task(self, X, y):
            self._checked(X, reset=True)
        return self

    @with_callbacks
    def fit_transform(self, X, y=None):
        """Fit to ``X`` and scale it, checking the images once rather than twice.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Grey levels in 0-255.
        y : None
            Ignored.

        Returns
        -------
        X_scaled : ndarray of shape (n_samples, n_features), dtype float32
            Values in [0, 1].
        """
        with leaf_fit_task(self, X, y):
            X = self._checked(X, reset=True)
        return self._scale(X)

    def transform(self, X):
        """Divide the grey levels by 255.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Grey levels in 0-255.

        Returns
        -------
        X_scaled : ndarray of shape (n_samples, n_features), dtype float32
            Values in [0, 1].
        """
        check_is_fitted(self)
        return self._scale(self._checked(X, reset=False))

    def _checked(self, X, *, reset):
        """Validate ``X`` (``n_features_in_``, 0-255) for fit or transform."""
        # "numeric" keeps uint8 input as it is: no float64 copy of the images.
        X = validate_data(self, X, reset=reset, dtype="numeric")
        _check_pixel_range(X, "PixelScaler.fit" if reset else "PixelScaler.transform")
        return X

    @staticmethod
    def _scale(X):
        return np.divide(X, np.float32(_MAX_PIXEL), dtype=np.float32)

    def inverse_transform(self, X):
        """Map values in [0, 1] back to grey levels in 0-255.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Scaled values.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features), dtype float32
            ``X * 255``.
        """
        check_is_fitted(self)
        # Like StandardScaler: no feature-name check, since the input is
        # usually this transformer's own (NumPy) output.
        X = check_array(X, dtype=(np.float32, np.float64))
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input."
            )
        return np.multiply(X, np.float32(_MAX_PIXEL), dtype=np.float32)

    def get_fitted_state(self):
        """The fitted attributes as plain JSON values.

        Returns
        -------
        state : dict
            ``n_features_in_``, and ``feature_names_in_`` when fitted on a
            DataFrame with string column names.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the transformer is not fitted.

        Examples
        --------
        >>> import numpy as np
        >>> from sk_mnist import PixelScaler
        >>> state = PixelScaler().fit(np.zeros((2, 784))).get_fitted_state()
        >>> state
        {'n_features_in_': 784}
        >>> PixelScaler().set_fitted_state(state).n_features_in_
        784
        """
        check_is_fitted(self)
        return input_state(self)

    def set_fitted_state(self, state, model=None):
        """Restore the fitted attributes from :meth:`get_fitted_state`'s dict.

        Parameters
        ----------
        state : dict
            As returned by :meth:`get_fitted_state`; every entry is checked
            before anything is set.
        model : None
            Ignored (for symmetry with
            :meth:`~sk_mnist.DenseMLPClassifier.set_fitted_state`).

        Returns
        -------
        self : PixelScaler
            The fitted transformer.

        Raises
        ------
        ValueError
            Naming the missing or invalid entry.
        """
        if model is not None:
            raise ValueError("PixelScaler has no network: model must be None")
        attributes = input_attributes(state)
        vars(self).pop("feature_names_in_", None)
        vars(self).update(attributes)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
