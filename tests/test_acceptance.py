"""The seed recipe on the embedded sample: full network, 20 epochs, batch 32.

These are the slowest tests (~25 s per fit on 2 cores); they check what a user
of the homework expects from the library, not toy behaviour.
"""

import pytest

from sk_mnist import make_mnist_pipeline
from sk_mnist.datasets import load_sample

# The seed recipe's final-epoch accuracy on this split moves between ~0.94 and
# ~0.957 from seed to seed (plain Keras and this library alike; see the
# issue notes), so the bar sits just under that spread.
SEED_RECIPE_FLOOR = 0.935


@pytest.fixture(scope="module")
def sample():
    return load_sample()


def test_seed_defaults_reach_homework_accuracy(sample):
    (X_train, y_train), (X_test, y_test) = sample
    pipe = make_mnist_pipeline(random_state=0).fit(X_train, y_train)
    mlp = pipe.named_steps["mlp"]
    assert mlp.n_iter_ == 20 and mlp.hidden_layer_sizes == (1024, 512, 256)
    assert pipe.score(X_test, y_test) >= SEED_RECIPE_FLOOR


def test_early_stopping_keeps_the_best_epoch(sample):
    (X_train, y_train), (X_test, y_test) = sample
    pipe = make_mnist_pipeline(random_state=0, early_stopping=True)
    pipe.fit(X_train, y_train)
    mlp = pipe.named_steps["mlp"]
    val_accuracy = mlp.history_["val_accuracy"]
    best = max(range(len(val_accuracy)), key=val_accuracy.__getitem__)
    # it runs at most n_iter_no_change epochs past the best one
    assert mlp.n_iter_ <= min(20, best + 1 + mlp.n_iter_no_change)
    assert pipe.score(X_test, y_test) >= SEED_RECIPE_FLOOR
