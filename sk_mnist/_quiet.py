"""Kept until sk_mnist.cli imports import_keras_quietly from _keras_runtime."""

from ._keras_runtime import import_keras_quietly  # noqa: F401
