"""
Grid search over width and batch size
=====================================

Every training setting of :class:`~sk_mnist.DenseMLPClassifier` is a plain
parameter, so sklearn's ``GridSearchCV`` tunes it like any other estimator:
inside the pipeline the classifier's parameters are called
``mlp__<name>``. :func:`~sk_mnist.make_search` builds the search from a grid
written as JSON (what ``sk-mnist search --grid`` takes) and checks every key
and value against the pipeline before the first fit, so a typo fails at once.

Four candidates (two widths, two batch sizes), 3-fold cross-validation, 5
epochs each: 12 small fits and a refit, about 30 seconds on two CPU cores.
The widths are smaller than the homework's to keep it short.
"""

# %%
from sk_mnist import make_mnist_pipeline, make_search
from sk_mnist.datasets import load_sample
from sk_mnist.plotting import SearchScoresDisplay

(X_train, y_train), (X_test, y_test) = load_sample()

# %%
# The grid
# --------
# JSON lists inside the list of ``hidden_layer_sizes`` become tuples: ``[64]``
# is one hidden layer of 64 units (``[512, 256]`` would be two layers).
grid = """{
    "mlp__hidden_layer_sizes": [[64], [256]],
    "mlp__batch_size": [64, 256]
}"""
search = make_search(make_mnist_pipeline(epochs=5, random_state=0), grid, cv=3)
search.param_grid

# %%
# A misspelt key fails before any training, with a suggestion:
try:
    make_search(make_mnist_pipeline(), '{"mlp__batchsize": [64]}')
except ValueError as err:
    print(err)

# %%
# Search
# ------
# ``refit=True``: the best candidate is trained again on all 4,000 images.
search.fit(X_train, y_train)
print(f"best: {search.best_params_} (cv accuracy {search.best_score_:.3f})")
print(f"refit best model on the test set: {search.score(X_test, y_test):.3f}")

# %%
# Mean cross-validated accuracy of each candidate, best on top, with one
# standard deviation over the folds:
SearchScoresDisplay.from_estimator(search)

# %%
# The full table, as sklearn gives it:
import pandas as pd  # noqa: E402

columns = ["params", "mean_test_score", "std_test_score", "mean_fit_time"]
pd.DataFrame(search.cv_results_)[columns].sort_values(
    "mean_test_score", ascending=False
)

# %%
# The wider layer scores higher, and at 5 epochs the smaller batch helps (four
# times as many gradient steps) at the cost of time per epoch; compare the
# differences with the standard deviations before believing them.
#
# The same search from the command line, writing ``cv_results.csv``,
# ``best_params.json`` and the refit model::
#
#     sk-mnist search --grid '{"mlp__hidden_layer_sizes": [[64], [256]],
#                              "mlp__batch_size": [64, 256], "mlp__epochs": [5]}'
