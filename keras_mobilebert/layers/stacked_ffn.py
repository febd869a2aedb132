"""MobileBERT's stacked feed-forward networks."""

import functools

import keras

from keras_mobilebert.layers.activations import get_activation
from keras_mobilebert.layers.dense import make_dense
from keras_mobilebert.layers.layer_math import feed_forward
from keras_mobilebert.layers.no_norm import make_normalization


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class StackedFFN(keras.layers.Layer):
    """`num_feedforward_networks` residual FFNs, each followed by a norm.

    Each FFN computes `Norm(Dense_out(act(Dense_in(h))) + h)`. MobileBERT
    stacks four of them so that the thin block keeps BERT's ratio of FFN to
    attention parameters. `output_dropout` applies to the last FFN only,
    before its residual sum; GR uses it in blocks without a bottleneck.

    Args:
        num_feedforward_networks: int. How many FFNs to stack.
        intermediate_dim: int. Inner width of each FFN.
        activation: string. `"relu"`, `"relu6"` or `"gelu_approximate"`...
        normalization: string. `"no_norm"` or `"layer_norm"`.
        layer_norm_epsilon: float. Epsilon of every LayerNorm but the last.
        last_layer_norm_epsilon: float or None. Epsilon of the last FFN's
            LayerNorm; HF builds that one with PyTorch's default 1e-5.
            `None` means `layer_norm_epsilon`.
        output_dropout: float. Dropout rate on the last FFN's output.
        initializer_range: float. Stddev of the truncated normal initializer.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Examples:
    ```python
    import numpy as np
    import keras_mobilebert

    layer = keras_mobilebert.layers.StackedFFN(
        num_feedforward_networks=4, intermediate_dim=16
    )
    layer(np.ones((1, 3, 8), "float32")).shape  # (1, 3, 8)
    ```
    """

    def __init__(
        self,
        num_feedforward_networks,
        intermediate_dim,
        activation="relu",
        normalization="no_norm",
        layer_norm_epsilon=1e-12,
        last_layer_norm_epsilon=None,
        output_dropout=0.0,
        initializer_range=0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if num_feedforward_networks < 1:
            raise ValueError(
                "num_feedforward_networks must be at least 1; received "
                f"{num_feedforward_networks}."
            )
        get_activation(activation)  # Validate early, with a clear message.
        self.num_feedforward_networks = num_feedforward_networks
        self.intermediate_dim = intermediate_dim
        self.activation = activation
        self.normalization = normalization
        self.layer_norm_epsilon = layer_norm_epsilon
        self.last_layer_norm_epsilon = last_layer_norm_epsilon
        self.output_dropout = output_dropout
        self.initializer_range = initializer_range

    def build(self, input_shape):
        width = input_shape[-1]
        last_epsilon = self.last_layer_norm_epsilon
        if last_epsilon is None:
            last_epsilon = self.layer_norm_epsilon
        self.intermediate_layers = []
        self.output_layers = []
        self.norm_layers = []
        for j in range(self.num_feedforward_networks):
            last = j == self.num_feedforward_networks - 1
            intermediate = make_dense(
                self.intermediate_dim,
                self.initializer_range,
                self.dtype_policy,
                f"ffn_{j}_intermediate",
                activation=get_activation(self.activation),
            )
            intermediate.build(input_shape)
            output = make_dense(
                width,
                self.initializer_range,
                self.dtype_policy,
                f"ffn_{j}_output",
            )
            output.build(tuple(input_shape[:-1]) + (self.intermediate_dim,))
            norm = make_normalization(
                self.normalization,
                last_epsilon if last else self.layer_norm_epsilon,
                self.dtype_policy,
                f"ffn_{j}_norm",
            )
            norm.build(input_shape)
            self.intermediate_layers.append(intermediate)
            self.output_layers.append(output)
            self.norm_layers.append(norm)
        self.dropout_layer = keras.layers.Dropout(
            self.output_dropout, dtype=self.dtype_policy, name="dropout"
        )
        self.built = True

    def call(self, inputs, training=None):
        x = inputs
        layers = zip(
            self.intermediate_layers, self.output_layers, self.norm_layers
        )
        last = self.num_feedforward_networks - 1
        for j, (intermediate, output, norm) in enumerate(layers):
            dropout = None
            if j == last:
                dropout = functools.partial(
                    self.dropout_layer, training=training
                )
            x = feed_forward(x, intermediate, output, norm, dropout=dropout)
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_feedforward_networks": self.num_feedforward_networks,
                "intermediate_dim": self.intermediate_dim,
                "activation": self.activation,
                "normalization": self.normalization,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "last_layer_norm_epsilon": self.last_layer_norm_epsilon,
                "output_dropout": self.output_dropout,
                "initializer_range": self.initializer_range,
            }
        )
        return config
