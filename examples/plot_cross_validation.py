"""
Cross-validation scores
=======================

One train/test split gives one number, and on 1,000 test images it moves by
a percent from seed to seed. sklearn's cross-validation tools work on the
sk-mnist pipeline as on any classifier: here 5 stratified folds of the 4,000
training images score a one-hidden-layer network (256 units, 10 epochs, to
keep the example short) against a plain logistic regression on the same
scaled pixels. About 40 seconds on two CPU cores.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline

from sk_mnist import PixelScaler, make_mnist_pipeline
from sk_mnist.datasets import load_sample

(X_train, y_train), _ = load_sample()
cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)

# %%
# Cross-validate both models
# --------------------------
# ``cross_validate`` clones each pipeline for every fold, so every fold trains
# a fresh network (seeded by ``random_state``). Besides the held-out scores
# (all that the one-liner ``cross_val_score(model, X, y, cv=cv)`` returns) it
# records the fit times and, with ``return_train_score=True``, the training
# scores: a large gap between the two is the overfitting of
# :ref:`sphx_glr_auto_examples_plot_homework.py`.
models = {
    "MLP (256,)": make_mnist_pipeline(
        hidden_layer_sizes=(256,), epochs=10, random_state=0
    ),
    "logistic regression": make_pipeline(
        PixelScaler(), LogisticRegression(C=0.1, max_iter=200)
    ),
}
results = {
    name: cross_validate(model, X_train, y_train, cv=cv, return_train_score=True)
    for name, model in models.items()
}
for name, res in results.items():
    print(f"{name}: accuracy per fold {np.round(res['test_score'], 3)}")
    print(
        f"    mean {res['test_score'].mean():.3f} +- {res['test_score'].std():.3f}, "
        f"training accuracy {res['train_score'].mean():.3f}, "
        f"{res['fit_time'].mean():.1f} s per fit"
    )

# %%
# Fold by fold
# ------------
# Each dot is one fold; the bar is the mean. The folds are the same for both
# models, so the lines join the scores of the same fold.
fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
for i, (name, res) in enumerate(results.items()):
    ax.bar(i, res["test_score"].mean(), width=0.5, alpha=0.3, label=name)
    ax.plot(np.full(cv.n_splits, i), res["test_score"], "ko", markersize=4)
folds = np.column_stack([res["test_score"] for res in results.values()])
ax.plot(np.arange(folds.shape[1]), folds.T, color="grey", alpha=0.4)
low = folds.min()
ax.set(
    xticks=range(len(results)),
    xticklabels=list(results),
    ylim=(low - 0.02, 1.0),
    ylabel="accuracy on the held-out fold",
    title=f"{cv.n_splits}-fold cross-validation, 4,000 MNIST digits",
)
ax.grid(True, axis="y", alpha=0.3)

# %%
# The network beats the linear model on every fold; the spread over folds
# (about a percent) is the size of difference a single split cannot resolve.
# :ref:`sphx_glr_auto_examples_plot_grid_search.py` uses the same
# cross-validation to choose parameters.
