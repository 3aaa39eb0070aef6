"""The full network on the embedded sample, with the defaults and the homework recipe.

These are the slowest tests (~10-25 s per fit on 2 cores); they check what a
user of the homework expects from the library, not toy behaviour.
"""

import pytest

from sk_mnist import HOMEWORK_PARAMS, make_mnist_pipeline

# Slow: full-size fits of the default network.
pytestmark = pytest.mark.slow

# Measured on this split (issue notes): the defaults score 0.952-0.959 over
# seeds 0-4 on one machine, and 0.948 for seed 0 on a CPU without AVX-512
# VNNI (the float32 kernels differ); the homework recipe's last epoch moves
# between ~0.93 and ~0.963 from seed to seed (plain Keras and this library
# alike).
DEFAULTS_FLOOR = 0.945
HOMEWORK_FLOOR = 0.93


def test_defaults_reach_the_homework_accuracy(sample):
    (X_train, y_train), (X_test, y_test) = sample
    pipe = make_mnist_pipeline(random_state=0).fit(X_train, y_train)
    mlp = pipe.named_steps["mlp"]
    assert mlp.n_iter_ == mlp.epochs and mlp.hidden_layer_sizes == (1024, 512, 256)
    # the cosine schedule ran down to a small rate
    assert mlp.history_["learning_rate"][-1] < 0.02 * mlp.learning_rate
    assert pipe.score(X_test, y_test) >= DEFAULTS_FLOOR


def test_homework_recipe(sample):
    (X_train, y_train), (X_test, y_test) = sample
    pipe = make_mnist_pipeline(**HOMEWORK_PARAMS, random_state=0)
    pipe.fit(X_train, y_train)
    mlp = pipe.named_steps["mlp"]
    assert mlp.n_iter_ == 20 and mlp.batch_size == 32
    assert mlp.history_["learning_rate"] == [pytest.approx(1e-3)] * 20
    assert pipe.score(X_test, y_test) >= HOMEWORK_FLOOR


def test_early_stopping_keeps_the_best_epoch(sample):
    (X_train, y_train), (X_test, y_test) = sample
    params = {**HOMEWORK_PARAMS, "early_stopping": True}
    pipe = make_mnist_pipeline(**params, random_state=1).fit(X_train, y_train)
    mlp = pipe.named_steps["mlp"]
    val_accuracy = mlp.history_["val_accuracy"]
    best = max(range(len(val_accuracy)), key=val_accuracy.__getitem__)
    # it stops n_iter_no_change epochs past the best one, before the 20th
    assert mlp.n_iter_ == best + 1 + mlp.n_iter_no_change < 20
    assert pipe.score(X_test, y_test) >= HOMEWORK_FLOOR
