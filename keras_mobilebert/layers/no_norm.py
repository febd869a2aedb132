"""NoNorm, MobileBERT's replacement for LayerNorm, and the norm factory."""

import keras

from keras_mobilebert.layers.layer_math import no_norm
from keras_mobilebert.layers.substitution import layer_class

NORMALIZATIONS = ("no_norm", "layer_norm")


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class NoNorm(keras.layers.Layer):
    """An element-wise affine map used by MobileBERT in place of LayerNorm.

    `NoNorm` computes `x * gamma + beta` over the last axis. It keeps no
    statistics, which removes the mean and variance reductions of LayerNorm
    from the latency-critical path (MobileBERT paper, section 4.2). `gamma`
    starts at ones and `beta` at zeros, so a fresh layer is the identity.

    Args:
        gamma_initializer: string or `keras.initializers.Initializer`.
            Initializer of the scale. Defaults to `"ones"`.
        beta_initializer: string or `keras.initializers.Initializer`.
            Initializer of the offset. Defaults to `"zeros"`.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`,
            including `name` and `dtype`.

    Examples:
    ```python
    import numpy as np
    import keras_mobilebert

    layer = keras_mobilebert.layers.NoNorm()
    layer(np.ones((2, 3, 8), "float32")).shape  # (2, 3, 8)
    ```
    """

    def __init__(
        self,
        gamma_initializer="ones",
        beta_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.gamma_initializer = keras.initializers.get(gamma_initializer)
        self.beta_initializer = keras.initializers.get(beta_initializer)
        self.supports_masking = True

    def build(self, input_shape):
        dim = input_shape[-1]
        if dim is None:
            raise ValueError(
                "NoNorm needs a known last dimension; received input shape "
                f"{input_shape}."
            )
        self.gamma = self.add_weight(
            name="gamma", shape=(dim,), initializer=self.gamma_initializer
        )
        self.beta = self.add_weight(
            name="beta", shape=(dim,), initializer=self.beta_initializer
        )
        self.built = True

    def call(self, inputs):
        return no_norm(inputs, self.gamma, self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "gamma_initializer": keras.initializers.serialize(
                    self.gamma_initializer
                ),
                "beta_initializer": keras.initializers.serialize(
                    self.beta_initializer
                ),
            }
        )
        return config


def make_normalization(normalization, epsilon, dtype, name):
    """Build the normalization layer a MobileBERT config asks for.

    Args:
        normalization: string. `"no_norm"` (the student) or `"layer_norm"`
            (the IB-BERT teacher and BERT).
        epsilon: float. The LayerNorm epsilon; ignored by `"no_norm"`.
        dtype: the dtype policy of the owning layer.
        name: string. The layer name.

    Example:
    ```python
    norm = make_normalization("no_norm", 1e-12, "float32", "norm")
    ```
    """
    if normalization == "no_norm":
        return layer_class("no_norm", NoNorm)(dtype=dtype, name=name)
    if normalization == "layer_norm":
        return keras.layers.LayerNormalization(
            epsilon=epsilon, dtype=dtype, name=name
        )
    raise ValueError(
        f"Unknown normalization {normalization!r}; expected one of "
        f"{NORMALIZATIONS}."
    )
