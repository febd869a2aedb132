"""MobileBERT's masked-LM head with its widened, tied output matrix."""

import keras
from keras import ops

from keras_mobilebert.layers.activations import get_activation
from keras_mobilebert.layers.dense import kernel_initializer
from keras_mobilebert.layers.dense import make_dense


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class MobileBertMaskedLMHead(keras.layers.Layer):
    """Predict tokens at masked positions (GR `get_masked_lm_output`).

    `t = LayerNorm(act(Dense(h)))` at the masked positions (a real
    LayerNorm even in the NoNorm student), then
    `logits = t @ concat([word_embeddings, extra_output_weights], 1)^T + b`.
    The word table is only `embedding_dim` wide, so the output matrix is the
    tied table widened by a separate trainable `extra_output_weights` block
    of `hidden_dim - embedding_dim` columns.

    Args:
        vocabulary_size: int. Number of output tokens.
        token_embedding: the backbone's `keras.layers.Embedding` (tied).
        activation: string. Activation of the transform ("relu" student,
            "gelu_approximate" teacher).
        layer_norm_epsilon: float. Epsilon of the transform LayerNorm.
        initializer_range: float. Stddev of the truncated normal initializer.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Example:
    ```python
    head = MobileBertMaskedLMHead(
        vocabulary_size=100, token_embedding=backbone.token_embedding
    )
    logits = head(sequence_output, mask_positions)  # (batch, masks, 100)
    ```
    """

    def __init__(
        self,
        vocabulary_size,
        token_embedding=None,
        activation="relu",
        layer_norm_epsilon=1e-12,
        initializer_range=0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        get_activation(activation)
        self.vocabulary_size = vocabulary_size
        self.token_embedding = token_embedding
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range

    def build(self, inputs_shape, mask_positions_shape=None):
        hidden_dim = inputs_shape[-1]
        embedding_dim = self.token_embedding.output_dim
        if hidden_dim < embedding_dim:
            raise ValueError(
                f"hidden_dim ({hidden_dim}) must be at least the embedding "
                f"width ({embedding_dim})."
            )
        self.transform_dense = make_dense(
            hidden_dim,
            self.initializer_range,
            self.dtype_policy,
            "transform_dense",
            activation=get_activation(self.activation),
        )
        self.transform_dense.build((None, None, hidden_dim))
        self.transform_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon,
            dtype=self.dtype_policy,
            name="transform_norm",
        )
        self.transform_norm.build((None, None, hidden_dim))
        self.extra_output_weights = self.add_weight(
            name="extra_output_weights",
            shape=(self.vocabulary_size, hidden_dim - embedding_dim),
            initializer=kernel_initializer(self.initializer_range),
        )
        self.output_bias = self.add_weight(
            name="output_bias",
            shape=(self.vocabulary_size,),
            initializer="zeros",
        )
        self.built = True

    def call(self, inputs, mask_positions):
        x = ops.take_along_axis(
            inputs, ops.expand_dims(mask_positions, -1), axis=1
        )
        x = self.transform_norm(self.transform_dense(x))
        table = ops.concatenate(
            [
                ops.cast(self.token_embedding.embeddings, x.dtype),
                ops.cast(self.extra_output_weights, x.dtype),
            ],
            axis=1,
        )
        logits = ops.matmul(x, ops.transpose(table))
        return logits + ops.cast(self.output_bias, x.dtype)

    def compute_output_shape(self, inputs_shape, mask_positions_shape):
        return tuple(mask_positions_shape) + (self.vocabulary_size,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "activation": self.activation,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "initializer_range": self.initializer_range,
            }
        )
        return config


def masked_lm_head_for(backbone):
    """The `MobileBertMaskedLMHead` that fits `backbone`, tied to its table.

    Every model with a masked-LM head (the masked LM task, the pre-training
    model, the converters) builds it here, so they agree on its config.

    Args:
        backbone: a `keras_mobilebert.MobileBertBackbone`.

    Example:
    ```python
    head = masked_lm_head_for(backbone)
    logits = head(sequence_output, mask_positions)
    ```
    """
    return MobileBertMaskedLMHead(
        vocabulary_size=backbone.vocabulary_size,
        token_embedding=backbone.token_embedding,
        activation=backbone.activation,
        layer_norm_epsilon=backbone.layer_norm_epsilon,
        initializer_range=backbone.initializer_range,
        dtype=backbone.dtype_policy,
        name="mlm_head",
    )


def masked_lm_inputs(backbone):
    """The backbone's inputs plus the `mask_positions` the head reads.

    Args:
        backbone: a `keras_mobilebert.MobileBertBackbone`.

    Example:
    ```python
    inputs = masked_lm_inputs(backbone)
    sorted(inputs)  # [..., 'mask_positions', 'padding_mask', ...]
    ```
    """
    return {
        **backbone.input,
        "mask_positions": keras.Input(
            shape=(None,), dtype="int32", name="mask_positions"
        ),
    }
