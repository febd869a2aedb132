"""Importing TF-MOT and tf_keras without switching the process to tf_keras.

Every module of the bridge takes `tfmot`, `tf_keras` and `quantize` from
here, so the import happens once, contained.
"""

import os

import tensorflow as tf

from keras_mobilebert.utils.errors import MissingDependencyError

INSTALL_HINT = "pip install keras-mobilebert[tfmot]"
LEGACY_KERAS_VARIABLE = "TF_USE_LEGACY_KERAS"


def import_tfmot():
    """Import TF-MOT and tf_keras without switching the process to tf_keras.

    TF-MOT sets `TF_USE_LEGACY_KERAS=1` when imported. TensorFlow reads the
    variable once, the first time `tf.keras` is used, so this function
    resolves `tf.keras` first (to Keras 3, unless the user chose legacy
    Keras) and then puts the variable back as it was.

    Returns:
        `(tensorflow_model_optimization, tf_keras)`.

    Raises:
        ImportError: naming `pip install keras-mobilebert[tfmot]` when
            either package is missing.

    Example:
    ```python
    tfmot, tf_keras = import_tfmot()
    ```
    """
    previous = os.environ.get(LEGACY_KERAS_VARIABLE)
    getattr(tf.keras, "version", None)  # Resolve tf.keras now.
    try:
        import tensorflow_model_optimization
        import tf_keras
    except ImportError as error:
        raise MissingDependencyError(
            "The TF-MOT quantization path needs tensorflow-model-optimization "
            f"and tf-keras: {INSTALL_HINT}. ({error})"
        ) from error
    finally:
        if previous is None:
            os.environ.pop(LEGACY_KERAS_VARIABLE, None)
        else:
            os.environ[LEGACY_KERAS_VARIABLE] = previous
    return tensorflow_model_optimization, tf_keras


tfmot, tf_keras = import_tfmot()
quantize = tfmot.quantization.keras
serializable = tf_keras.utils.register_keras_serializable(
    package="keras_mobilebert_tfmot"
)
