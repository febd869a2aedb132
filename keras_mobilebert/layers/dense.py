"""The dense layers and initializer every MobileBERT layer uses."""

import keras

from keras_mobilebert.layers.substitution import layer_class


def kernel_initializer(initializer_range):
    """BERT's initializer: truncated normal with stddev `initializer_range`.

    Args:
        initializer_range: float. The standard deviation (0.02 in BERT).

    Example:
    ```python
    init = kernel_initializer(0.02)
    ```
    """
    return keras.initializers.TruncatedNormal(stddev=initializer_range)


def make_dense(units, initializer_range, dtype, name, activation=None):
    """A `keras.layers.Dense` with BERT's initializer and zero bias.

    Args:
        units: int. Output width.
        initializer_range: float. Stddev of the kernel initializer.
        dtype: the dtype policy of the owning layer.
        name: string. Layer name.
        activation: optional callable.

    Example:
    ```python
    dense = make_dense(128, 0.02, "float32", "bottleneck")
    ```
    """
    dense_class = layer_class("dense", keras.layers.Dense)
    return dense_class(
        units,
        activation=activation,
        kernel_initializer=kernel_initializer(initializer_range),
        dtype=dtype,
        name=name,
    )
