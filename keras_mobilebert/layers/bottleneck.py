"""The input and output bottlenecks that make MobileBERT's blocks thin."""

import keras

from keras_mobilebert.layers.dense import make_dense
from keras_mobilebert.layers.layer_math import residual_norm
from keras_mobilebert.layers.no_norm import make_normalization


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class BottleneckInput(keras.layers.Layer):
    """Squeeze the block input to the bottleneck width: `Norm(Dense(x))`.

    With `key_query_shared`, a second, separately weighted squeeze of the
    same input is returned too; MobileBERT uses it as both query and key.

    Args:
        bottleneck_dim: int. Output width (128 in MobileBERT).
        key_query_shared: bool. Whether to also compute the shared
            query/key bottleneck.
        normalization: string. `"no_norm"` or `"layer_norm"`.
        layer_norm_epsilon: float. Epsilon of the LayerNorm, if used.
        initializer_range: float. Stddev of the truncated normal initializer.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Returns:
        `layer_input`, or `(layer_input, shared_query_key)` when
        `key_query_shared`.

    Examples:
    ```python
    import numpy as np
    import keras_mobilebert

    layer = keras_mobilebert.layers.BottleneckInput(
        bottleneck_dim=4, key_query_shared=True
    )
    layer_input, shared = layer(np.ones((1, 3, 16), "float32"))
    layer_input.shape, shared.shape  # (1, 3, 4), (1, 3, 4)
    ```
    """

    def __init__(
        self,
        bottleneck_dim,
        key_query_shared=False,
        normalization="no_norm",
        layer_norm_epsilon=1e-12,
        initializer_range=0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.bottleneck_dim = bottleneck_dim
        self.key_query_shared = key_query_shared
        self.normalization = normalization
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range

    def _squeeze(self, prefix, input_shape):
        dense = make_dense(
            self.bottleneck_dim,
            self.initializer_range,
            self.dtype_policy,
            f"{prefix}_dense",
        )
        dense.build(input_shape)
        norm = make_normalization(
            self.normalization,
            self.layer_norm_epsilon,
            self.dtype_policy,
            f"{prefix}_norm",
        )
        norm.build(tuple(input_shape[:-1]) + (self.bottleneck_dim,))
        return dense, norm

    def build(self, input_shape):
        self.input_dense, self.input_norm = self._squeeze("input", input_shape)
        if self.key_query_shared:
            self.attention_dense, self.attention_norm = self._squeeze(
                "attention", input_shape
            )
        self.built = True

    def call(self, inputs):
        layer_input = self.input_norm(self.input_dense(inputs))
        if not self.key_query_shared:
            return layer_input
        shared = self.attention_norm(self.attention_dense(inputs))
        return layer_input, shared

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape[:-1]) + (self.bottleneck_dim,)
        return (shape, shape) if self.key_query_shared else shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "bottleneck_dim": self.bottleneck_dim,
                "key_query_shared": self.key_query_shared,
                "normalization": self.normalization,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "initializer_range": self.initializer_range,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class BottleneckOutput(keras.layers.Layer):
    """Widen back to the block width: `Norm(Dropout(Dense(x)) + residual)`.

    The residual is the block's input, so information skips the bottleneck.

    Args:
        hidden_dim: int. Output width (512 in MobileBERT).
        dropout: float. Dropout rate before the residual sum.
        normalization: string. `"no_norm"` or `"layer_norm"`.
        layer_norm_epsilon: float. Epsilon of the LayerNorm, if used.
        initializer_range: float. Stddev of the truncated normal initializer.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Examples:
    ```python
    import numpy as np
    import keras_mobilebert

    layer = keras_mobilebert.layers.BottleneckOutput(hidden_dim=16)
    x = np.ones((1, 3, 4), "float32")
    residual = np.ones((1, 3, 16), "float32")
    layer(x, residual).shape  # (1, 3, 16)
    ```
    """

    def __init__(
        self,
        hidden_dim,
        dropout=0.0,
        normalization="no_norm",
        layer_norm_epsilon=1e-12,
        initializer_range=0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_dim = hidden_dim
        self.dropout = dropout
        self.normalization = normalization
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range

    def build(self, inputs_shape, residual_shape=None):
        self.dense = make_dense(
            self.hidden_dim, self.initializer_range, self.dtype_policy, "dense"
        )
        self.dense.build(inputs_shape)
        self.dropout_layer = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="dropout"
        )
        self.norm = make_normalization(
            self.normalization,
            self.layer_norm_epsilon,
            self.dtype_policy,
            "norm",
        )
        self.norm.build(tuple(inputs_shape[:-1]) + (self.hidden_dim,))
        self.built = True

    def call(self, inputs, residual, training=None):
        x = self.dropout_layer(self.dense(inputs), training=training)
        return residual_norm(x, residual, self.norm)

    def compute_output_shape(self, inputs_shape, residual_shape=None):
        return tuple(inputs_shape[:-1]) + (self.hidden_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_dim": self.hidden_dim,
                "dropout": self.dropout,
                "normalization": self.normalization,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "initializer_range": self.initializer_range,
            }
        )
        return config
