"""
The Keras homework, retold with sk-mnist
========================================

Load the digits, look at the class counts and one digit, train the Dense
1024-512-256 network on pixels divided by 255 with Adam, and plot the loss and
accuracy curves, validating on the test set after every epoch as the original
notebook did. Runs on the embedded sample in about half a minute on 2 cores.
"""

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import sklearn  # noqa: E402

from sk_mnist import make_mnist_pipeline  # noqa: E402
from sk_mnist.datasets import load_sample  # noqa: E402
from sk_mnist.plotting import (  # noqa: E402
    ClassDistributionDisplay,
    DigitGridDisplay,
    LearningCurveDisplay,
)

(X_train, y_train), (X_test, y_test) = load_sample()
ClassDistributionDisplay.from_labels(y_train, y_test)
DigitGridDisplay.from_arrays(X_train, y_train, n_images=1, n_cols=1)

# %%
# ``validation_data=(x_test, y_test)`` becomes ``X_val``/``y_val``; metadata
# routing sends them through the same PixelScaler as the training images.
with sklearn.config_context(enable_metadata_routing=True):
    pipe = make_mnist_pipeline(epochs=5, batch_size=128, random_state=0)
    pipe.fit(X_train, y_train, X_val=X_test, y_val=y_test)
print(f"test accuracy: {pipe.score(X_test, y_test):.3f}")
LearningCurveDisplay.from_estimator(pipe)
plt.close("all")
