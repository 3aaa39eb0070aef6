"""The estimator tests again under Keras' JAX backend, in a fresh interpreter.

Keras picks its backend once per process, so the JAX run needs its own.
"""

import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

# Slow: reruns two test files under JAX in a subprocess.
pytestmark = pytest.mark.slow

HERE = Path(__file__).parent


def test_estimator_tests_pass_on_jax_backend():
    if os.environ.get("KERAS_BACKEND") == "jax":  # already the JAX run
        assert keras.backend.backend() == "jax"
        return
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(HERE / "test_estimator.py"),
            str(HERE / "test_model.py"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    tail = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 0, tail
    assert " passed" in result.stdout and " failed" not in result.stdout, tail
