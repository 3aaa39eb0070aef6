"""Draw docs/_static/progress_bars.svg: sklearn's nested bars over a search.

Run from the repository root (about a minute on 2 cores)::

    python docs/_static/make_progress_bars_svg.py

The picture is the live display during the search's last round, after the
second epoch of a fit, drawn by rich as in a terminal 118 columns wide.
"""

import io
from pathlib import Path

from rich.console import Console
from sklearn.callback import (
    ProgressBar,
    _progressbar,  # the live display, to draw it once
)
from sklearn.model_selection import GridSearchCV

from sk_mnist import make_mnist_pipeline
from sk_mnist.datasets import load_sample

OUT = Path(__file__).with_name("progress_bars.svg")


class Snapshot:
    """Draws the live bars once, at the end of epoch 2 of fit number ``at``."""

    max_propagation_depth = None

    def __init__(self, at):
        self.at, self.seen = at, 0

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        if context.task_name != "epoch" or context.task_id != 1:
            return
        self.seen += 1
        if self.seen != self.at:
            return
        (monitor,) = _progressbar._run_monitors.values()
        console = Console(
            record=True, width=118, file=io.StringIO(), force_terminal=True
        )
        console.print(monitor.progress_ctx.get_renderable())
        console.save_svg(str(OUT), title="python search.py")


(X, y), _ = load_sample()
search = GridSearchCV(
    make_mnist_pipeline(hidden_layer_sizes=(64,), epochs=5, random_state=0),
    {"mlp__batch_size": [64, 256]},
    cv=3,
)
search.set_callbacks(ProgressBar(max_propagation_depth=None), Snapshot(at=5))
search.fit(X[:2000], y[:2000])
print(f"wrote {OUT}")
