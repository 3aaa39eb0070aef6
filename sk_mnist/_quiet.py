"""Import Keras without the backend's C++ start-up chatter on stderr."""

import os
import sys

__all__ = ["import_keras_quietly"]


def import_keras_quietly():
    """Import Keras with the backend's C++ start-up chatter silenced.

    TensorFlow logs oneDNN notes and CUDA probing failures straight to file
    descriptor 2 while it loads (TF_CPP_MIN_LOG_LEVEL does not cover all of
    them); on a command line that buries our own messages.
    """
    if "keras" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.list_physical_devices()
            # A search builds one network per fit; TensorFlow then warns that
            # "tf.function retracing" happened, which is expected here.
            tf.get_logger().setLevel("ERROR")
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
