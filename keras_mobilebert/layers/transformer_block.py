"""One MobileBERT block, covering MobileBERT, MobileBERT-TINY and IB-BERT."""

import keras

from keras_mobilebert.layers.activations import get_activation
from keras_mobilebert.layers.attention import MobileBertAttention
from keras_mobilebert.layers.bottleneck import BottleneckInput
from keras_mobilebert.layers.bottleneck import BottleneckOutput
from keras_mobilebert.layers.dense import make_dense
from keras_mobilebert.layers.layer_math import attention_inputs
from keras_mobilebert.layers.layer_math import residual_norm
from keras_mobilebert.layers.no_norm import make_normalization
from keras_mobilebert.layers.stacked_ffn import StackedFFN


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class MobileBertTransformerBlock(keras.layers.Layer):
    """A MobileBERT transformer block (GR `transformer_model`, one layer).

    With `use_bottleneck`, the block input `prev` (width `hidden_dim`) is
    squeezed to `layer_input = Norm(Dense(prev))` of width `bottleneck_dim`;
    the attention and FFNs work at that width and a final dense layer widens
    back to `hidden_dim` with a residual to `prev`. Where the attention
    inputs come from selects the variant:

    - `key_query_shared_bottleneck` (MobileBERT): a second squeeze of `prev`
      is the query and key, `prev` itself the value.
    - `use_bottleneck_attention` (MobileBERT-TINY): query, key and value are
      all `layer_input`. Takes precedence over key-query sharing, as in GR.
    - neither (the IB-BERT teacher): query, key and value are `prev`.

    Head size is `bottleneck_dim // num_heads` with a bottleneck, else
    `hidden_dim // num_heads`. Dropout follows GR: attention-output and FFN
    dropout only in blocks without a bottleneck, output-bottleneck dropout
    in blocks with one.

    Args:
        hidden_dim: int. Width between blocks (512).
        intermediate_dim: int. Inner width of each FFN.
        num_heads: int. Number of attention heads.
        bottleneck_dim: int. Width inside the block (128 student, 1024
            teacher).
        use_bottleneck: bool. Whether to use the input/output bottlenecks.
        key_query_shared_bottleneck: bool. See above.
        use_bottleneck_attention: bool. See above.
        num_feedforward_networks: int. Number of stacked FFNs.
        normalization: string. `"no_norm"` or `"layer_norm"`.
        layer_norm_epsilon: float. Epsilon of the LayerNorms.
        last_ffn_layer_norm_epsilon: float or None. Epsilon of the last FFN's
            LayerNorm (HF uses 1e-5 there); None means `layer_norm_epsilon`.
        activation: string. `"relu"`, `"relu6"` or `"gelu_approximate"`.
        dropout: float. Hidden dropout rate.
        attention_dropout: float. Dropout rate on attention probabilities.
        attention_mask_mode: string. `"additive"` or `"fill"` (-6).
        initializer_range: float. Stddev of the truncated normal initializer.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        inputs: tensor `(batch, sequence, hidden_dim)`.
        padding_mask: optional tensor `(batch, sequence)`, 1 for real tokens.
        training: bool.
        return_attention_scores: bool. Also return the masked pre-softmax
            attention logits `(batch, heads, sequence, sequence)`.

    Examples:
    ```python
    import numpy as np
    import keras_mobilebert

    block = keras_mobilebert.layers.MobileBertTransformerBlock(
        hidden_dim=16,
        intermediate_dim=8,
        num_heads=2,
        bottleneck_dim=8,
    )
    x = np.random.rand(2, 5, 16).astype("float32")
    block(x, padding_mask=np.ones((2, 5), "int32")).shape  # (2, 5, 16)
    ```
    """

    def __init__(
        self,
        hidden_dim,
        intermediate_dim,
        num_heads,
        bottleneck_dim,
        use_bottleneck=True,
        key_query_shared_bottleneck=True,
        use_bottleneck_attention=False,
        num_feedforward_networks=4,
        normalization="no_norm",
        layer_norm_epsilon=1e-12,
        last_ffn_layer_norm_epsilon=None,
        activation="relu",
        dropout=0.0,
        attention_dropout=0.1,
        attention_mask_mode="additive",
        initializer_range=0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        inner_dim = bottleneck_dim if use_bottleneck else hidden_dim
        if inner_dim % num_heads:
            raise ValueError(
                f"The attention width ({inner_dim}) must be divisible by "
                f"num_heads ({num_heads})."
            )
        get_activation(activation)
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.num_heads = num_heads
        self.bottleneck_dim = bottleneck_dim
        self.use_bottleneck = use_bottleneck
        self.key_query_shared_bottleneck = key_query_shared_bottleneck
        self.use_bottleneck_attention = use_bottleneck_attention
        self.num_feedforward_networks = num_feedforward_networks
        self.normalization = normalization
        self.layer_norm_epsilon = layer_norm_epsilon
        self.last_ffn_layer_norm_epsilon = last_ffn_layer_norm_epsilon
        self.activation = activation
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.attention_mask_mode = attention_mask_mode
        self.initializer_range = initializer_range

    @property
    def inner_dim(self):
        """Width of the attention and FFNs inside the block."""
        return self.bottleneck_dim if self.use_bottleneck else self.hidden_dim

    @property
    def shares_query_key(self):
        """Whether a second bottleneck feeds query and key (MobileBERT)."""
        return (
            self.use_bottleneck
            and self.key_query_shared_bottleneck
            and not self.use_bottleneck_attention
        )

    @property
    def attention_variant(self):
        """Where Q, K and V come from unless Q/K are shared (see
        `layer_math.attention_inputs`)."""
        if self.use_bottleneck and self.use_bottleneck_attention:
            return "bottleneck_attention"
        return "block_input"

    def _norm(self, name):
        return make_normalization(
            self.normalization,
            self.layer_norm_epsilon,
            self.dtype_policy,
            name,
        )

    def build(self, inputs_shape, padding_mask_shape=None):
        input_shape = inputs_shape
        inner_shape = tuple(input_shape[:-1]) + (self.inner_dim,)
        if self.use_bottleneck:
            self.bottleneck_input = BottleneckInput(
                self.bottleneck_dim,
                key_query_shared=self.shares_query_key,
                normalization=self.normalization,
                layer_norm_epsilon=self.layer_norm_epsilon,
                initializer_range=self.initializer_range,
                dtype=self.dtype_policy,
                name="bottleneck_input",
            )
            self.bottleneck_input.build(input_shape)
        if self.shares_query_key:
            query_shape, value_shape = inner_shape, input_shape
        elif self.use_bottleneck and self.use_bottleneck_attention:
            query_shape, value_shape = inner_shape, inner_shape
        else:
            query_shape, value_shape = input_shape, input_shape
        self.attention = MobileBertAttention(
            num_heads=self.num_heads,
            head_dim=self.inner_dim // self.num_heads,
            dropout=self.attention_dropout,
            attention_mask_mode=self.attention_mask_mode,
            initializer_range=self.initializer_range,
            dtype=self.dtype_policy,
            name="attention",
        )
        self.attention.build(query_shape, query_shape, value_shape)
        self.attention_output_dense = make_dense(
            self.inner_dim,
            self.initializer_range,
            self.dtype_policy,
            "attention_output_dense",
        )
        self.attention_output_dense.build(inner_shape)
        hidden_dropout = 0.0 if self.use_bottleneck else self.dropout
        self.attention_output_dropout = keras.layers.Dropout(
            hidden_dropout, dtype=self.dtype_policy, name="attention_dropout"
        )
        self.attention_output_norm = self._norm("attention_output_norm")
        self.attention_output_norm.build(inner_shape)
        self.stacked_ffn = StackedFFN(
            num_feedforward_networks=self.num_feedforward_networks,
            intermediate_dim=self.intermediate_dim,
            activation=self.activation,
            normalization=self.normalization,
            layer_norm_epsilon=self.layer_norm_epsilon,
            last_layer_norm_epsilon=self.last_ffn_layer_norm_epsilon,
            output_dropout=hidden_dropout,
            initializer_range=self.initializer_range,
            dtype=self.dtype_policy,
            name="stacked_ffn",
        )
        self.stacked_ffn.build(inner_shape)
        if self.use_bottleneck:
            self.bottleneck_output = BottleneckOutput(
                self.hidden_dim,
                dropout=self.dropout,
                normalization=self.normalization,
                layer_norm_epsilon=self.layer_norm_epsilon,
                initializer_range=self.initializer_range,
                dtype=self.dtype_policy,
                name="bottleneck_output",
            )
            self.bottleneck_output.build(inner_shape, input_shape)
        self.built = True

    def call(
        self,
        inputs,
        padding_mask=None,
        training=None,
        return_attention_scores=False,
    ):
        prev = inputs
        shared = None
        if self.shares_query_key:
            layer_input, shared = self.bottleneck_input(prev)
        elif self.use_bottleneck:
            layer_input = self.bottleneck_input(prev)
        else:
            layer_input = prev
        query, key, value = attention_inputs(
            prev,
            layer_input,
            shared,
            self.shares_query_key,
            self.attention_variant,
        )
        context, scores = self.attention(
            query,
            key,
            value,
            padding_mask=padding_mask,
            training=training,
            return_attention_scores=True,
        )
        x = self.attention_output_dense(context)
        x = self.attention_output_dropout(x, training=training)
        x = residual_norm(x, layer_input, self.attention_output_norm)
        x = self.stacked_ffn(x, training=training)
        if self.use_bottleneck:
            x = self.bottleneck_output(x, prev, training=training)
        if return_attention_scores:
            return x, scores
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(
        self,
        inputs,
        padding_mask=None,
        training=None,
        return_attention_scores=False,
    ):
        output = keras.KerasTensor(inputs.shape, dtype=self.compute_dtype)
        if not return_attention_scores:
            return output
        batch, length = inputs.shape[0], inputs.shape[1]
        scores = keras.KerasTensor(
            (batch, self.num_heads, length, length), dtype="float32"
        )
        return output, scores

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_dim": self.hidden_dim,
                "intermediate_dim": self.intermediate_dim,
                "num_heads": self.num_heads,
                "bottleneck_dim": self.bottleneck_dim,
                "use_bottleneck": self.use_bottleneck,
                "key_query_shared_bottleneck": (
                    self.key_query_shared_bottleneck
                ),
                "use_bottleneck_attention": self.use_bottleneck_attention,
                "num_feedforward_networks": self.num_feedforward_networks,
                "normalization": self.normalization,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "last_ffn_layer_norm_epsilon": (
                    self.last_ffn_layer_norm_epsilon
                ),
                "activation": self.activation,
                "dropout": self.dropout,
                "attention_dropout": self.attention_dropout,
                "attention_mask_mode": self.attention_mask_mode,
                "initializer_range": self.initializer_range,
            }
        )
        return config
