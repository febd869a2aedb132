"""Multi-head attention that can hand back its masked pre-softmax scores."""

import keras
from keras import ops

from keras_mobilebert.layers.dense import make_dense
from keras_mobilebert.layers.layer_math import MASK_MODES
from keras_mobilebert.layers.layer_math import attention_context
from keras_mobilebert.layers.layer_math import attention_scores
from keras_mobilebert.layers.layer_math import mask_attention_scores
from keras_mobilebert.layers.layer_math import split_heads
from keras_mobilebert.layers.substitution import layer_class


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class MobileBertAttention(keras.layers.Layer):
    """Multi-head scaled dot-product attention with separate Q, K, V inputs.

    MobileBERT feeds the heads from different tensors: the shared 128-wide
    bottleneck for queries and keys and the 512-wide block input for values
    (key-query-shared variant). This layer projects each of `query`, `key`
    and `value` with its own dense layer to `num_heads * head_dim`, computes
    `softmax(mask(QK^T / sqrt(head_dim)))V`, and returns the concatenated
    heads. The output projection belongs to the transformer block.

    The logits are masked and normalized in float32 whatever the dtype
    policy, so the large negative mask value cannot overflow half precision.

    Args:
        num_heads: int. Number of attention heads.
        head_dim: int. Size of each head.
        dropout: float. Dropout rate on the attention probabilities.
        attention_mask_mode: string. `"additive"` or `"fill"`, see
            `mask_attention_scores`.
        initializer_range: float. Stddev of the truncated normal initializer.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        query: tensor `(batch, queries, query_dim)`.
        key: tensor `(batch, keys, key_dim)`.
        value: tensor `(batch, keys, value_dim)`.
        padding_mask: optional tensor `(batch, keys)`, 1 for real tokens.
        training: bool. Whether dropout is active.
        return_attention_scores: bool. If True, also return the masked
            logits before the softmax, `(batch, heads, queries, keys)`, in
            float32; distillation transfers these.

    Examples:
    ```python
    import numpy as np
    import keras_mobilebert

    layer = keras_mobilebert.layers.MobileBertAttention(
        num_heads=2, head_dim=4
    )
    x = np.random.rand(1, 5, 8).astype("float32")
    context, scores = layer(x, x, x, return_attention_scores=True)
    context.shape, scores.shape  # (1, 5, 8), (1, 2, 5, 5)
    ```
    """

    def __init__(
        self,
        num_heads,
        head_dim,
        dropout=0.0,
        attention_mask_mode="additive",
        initializer_range=0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if attention_mask_mode not in MASK_MODES:
            raise ValueError(
                f"Unknown attention_mask_mode {attention_mask_mode!r}; "
                f"expected one of {MASK_MODES}."
            )
        self.num_heads = num_heads
        self.head_dim = head_dim
        self.dropout = dropout
        self.attention_mask_mode = attention_mask_mode
        self.initializer_range = initializer_range

    def _dense(self, name):
        return make_dense(
            self.num_heads * self.head_dim,
            self.initializer_range,
            self.dtype_policy,
            name,
        )

    def build(
        self,
        query_shape,
        key_shape=None,
        value_shape=None,
        padding_mask_shape=None,
    ):
        key_shape = query_shape if key_shape is None else key_shape
        value_shape = key_shape if value_shape is None else value_shape
        self.query_dense = self._dense("query")
        self.query_dense.build(query_shape)
        self.key_dense = self._dense("key")
        self.key_dense.build(key_shape)
        self.value_dense = self._dense("value")
        self.value_dense.build(value_shape)
        softmax_class = layer_class("softmax", keras.layers.Softmax)
        self.softmax = softmax_class(dtype="float32", name="softmax")
        self.dropout_layer = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="dropout"
        )
        self.built = True

    def _split_heads(self, x):
        return split_heads(x, self.num_heads, self.head_dim)

    def call(
        self,
        query,
        key=None,
        value=None,
        padding_mask=None,
        training=None,
        return_attention_scores=False,
    ):
        key = query if key is None else key
        value = key if value is None else value
        q = self._split_heads(self.query_dense(query))
        k = self._split_heads(self.key_dense(key))
        v = self._split_heads(self.value_dense(value))
        scores = attention_scores(q, k, self.head_dim)
        if padding_mask is not None:
            scores = mask_attention_scores(
                scores, padding_mask, self.attention_mask_mode
            )
        probs = ops.cast(self.softmax(scores), self.compute_dtype)
        probs = self.dropout_layer(probs, training=training)
        context = attention_context(probs, v)
        if return_attention_scores:
            return context, scores
        return context

    def compute_output_shape(
        self, query_shape, key_shape=None, value_shape=None
    ):
        return tuple(query_shape[:-1]) + (self.num_heads * self.head_dim,)

    def compute_output_spec(
        self,
        query,
        key=None,
        value=None,
        padding_mask=None,
        training=None,
        return_attention_scores=False,
    ):
        key = query if key is None else key
        shape = self.compute_output_shape(query.shape)
        context = keras.KerasTensor(shape, dtype=self.compute_dtype)
        if not return_attention_scores:
            return context
        scores = keras.KerasTensor(
            (query.shape[0], self.num_heads, query.shape[1], key.shape[1]),
            dtype="float32",
        )
        return context, scores

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "head_dim": self.head_dim,
                "dropout": self.dropout,
                "attention_mask_mode": self.attention_mask_mode,
                "initializer_range": self.initializer_range,
            }
        )
        return config
