"""The MobileBERT encoder as a KerasHub backbone."""

import keras
from keras_hub.models import Backbone

from keras_mobilebert.layers.dense import make_dense
from keras_mobilebert.layers.embedding import MobileBertEmbedding
from keras_mobilebert.layers.transformer_block import MobileBertTransformerBlock
from keras_mobilebert.models.mobilebert.builtin_presets import (
    BuiltinPresetMixin,
)


def make_backbone_inputs():
    """The three named `keras.Input`s of a MobileBERT (or BERT) backbone.

    Example:
    ```python
    inputs = make_backbone_inputs()
    sorted(inputs)  # ['padding_mask', 'segment_ids', 'token_ids']
    ```
    """
    return {
        "token_ids": keras.Input(
            shape=(None,), dtype="int32", name="token_ids"
        ),
        "segment_ids": keras.Input(
            shape=(None,), dtype="int32", name="segment_ids"
        ),
        "padding_mask": keras.Input(
            shape=(None,), dtype="int32", name="padding_mask"
        ),
    }


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class MobileBertBackbone(BuiltinPresetMixin, Backbone):
    """The MobileBERT encoder (Sun et al., ACL 2020), and its relatives.

    A thin, deep BERT: a narrow trigram word embedding widened to
    `hidden_dim`, then `num_layers` blocks that each squeeze their input
    through a `bottleneck_dim`-wide bottleneck, attend, run
    `num_feedforward_networks` stacked FFNs and widen back. The same class
    builds MobileBERT, MobileBERT-TINY (bottleneck attention, two FFNs) and
    the wide IB-BERT teacher (LayerNorm, GELU, 1024-wide "bottleneck", tanh
    pooler); the presets state every field.

    Outputs a dict with `"sequence_output"` `(batch, sequence, hidden_dim)`
    and `"pooled_output"` `(batch, hidden_dim)`: the raw `[CLS]` vector, or
    `tanh(Dense([CLS]))` when `use_pooler`. Call `intermediates_model()` for
    a model that also returns every layer's hidden states and masked
    pre-softmax attention scores; plain inference does not compute them.

    Args:
        vocabulary_size: int. Size of the token vocabulary.
        num_layers: int. Number of transformer blocks.
        num_heads: int. Attention heads per block.
        hidden_dim: int. Width between blocks.
        intermediate_dim: int. Inner width of each FFN.
        embedding_dim: int. Width of the word table.
        bottleneck_dim: int. Width inside each block.
        use_bottleneck: bool. Whether blocks use input/output bottlenecks.
        key_query_shared_bottleneck: bool. MobileBERT's shared Q/K bottleneck.
        use_bottleneck_attention: bool. TINY's Q = K = V = bottleneck.
        num_feedforward_networks: int. Stacked FFNs per block.
        trigram_input: bool. Whether the embedding uses the trigram window.
        normalization: string. `"no_norm"` or `"layer_norm"`.
        layer_norm_epsilon: float. LayerNorm epsilon (GR uses 1e-12).
        embedding_layer_norm_epsilon: float or None. Epsilon of the embedding
            LayerNorm; HF builds it with 1e-5. None means
            `layer_norm_epsilon`.
        last_ffn_layer_norm_epsilon: float or None. Epsilon of each block's
            last FFN LayerNorm; HF builds it with 1e-5. None means
            `layer_norm_epsilon`.
        activation: string. `"relu"`, `"relu6"` or `"gelu_approximate"`.
        dropout: float. Hidden dropout rate.
        attention_dropout: float. Dropout rate on attention probabilities.
        embedding_dropout: float. Dropout rate after the embeddings.
        max_sequence_length: int. Number of learned positions.
        num_segments: int. Number of segment ids.
        use_pooler: bool. Whether `pooled_output` is a tanh dense layer on
            `[CLS]` (IB-BERT) rather than the raw `[CLS]` vector.
        attention_mask_mode: string. `"additive"` (HF, TF Model Garden) or
            `"fill"` (GR's -6, for quantization).
        initializer_range: float. Stddev of the truncated normal initializer.
        dtype: string or `keras.mixed_precision.DTypePolicy`.

    Examples:
    ```python
    import numpy as np
    import keras_mobilebert

    input_data = {
        "token_ids": np.ones((1, 12), "int32"),
        "segment_ids": np.zeros((1, 12), "int32"),
        "padding_mask": np.ones((1, 12), "int32"),
    }
    # The full MobileBERT architecture, randomly initialized.
    model = keras_mobilebert.MobileBertBackbone.from_preset(
        "mobilebert_en_uncased", load_weights=False
    )
    model(input_data)["sequence_output"].shape  # (1, 12, 512)

    # A small custom configuration.
    model = keras_mobilebert.MobileBertBackbone(
        vocabulary_size=1000,
        num_layers=2,
        num_heads=2,
        hidden_dim=64,
        intermediate_dim=64,
        embedding_dim=16,
        bottleneck_dim=16,
    )
    model(input_data)["pooled_output"].shape  # (1, 64)
    ```
    """

    loads_weights = True

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        embedding_dim=128,
        bottleneck_dim=128,
        use_bottleneck=True,
        key_query_shared_bottleneck=True,
        use_bottleneck_attention=False,
        num_feedforward_networks=4,
        trigram_input=True,
        normalization="no_norm",
        layer_norm_epsilon=1e-12,
        embedding_layer_norm_epsilon=None,
        last_ffn_layer_norm_epsilon=None,
        activation="relu",
        dropout=0.0,
        attention_dropout=0.1,
        embedding_dropout=0.0,
        max_sequence_length=512,
        num_segments=2,
        use_pooler=False,
        attention_mask_mode="additive",
        initializer_range=0.02,
        dtype=None,
        **kwargs,
    ):
        # === Layers ===
        if embedding_layer_norm_epsilon is None:
            embedding_epsilon = layer_norm_epsilon
        else:
            embedding_epsilon = embedding_layer_norm_epsilon
        self.embeddings = MobileBertEmbedding(
            vocabulary_size=vocabulary_size,
            embedding_dim=embedding_dim,
            hidden_dim=hidden_dim,
            max_sequence_length=max_sequence_length,
            num_segments=num_segments,
            trigram_input=trigram_input,
            normalization=normalization,
            layer_norm_epsilon=embedding_epsilon,
            dropout=embedding_dropout,
            initializer_range=initializer_range,
            dtype=dtype,
            name="embeddings",
        )
        self.token_embedding = self.embeddings.token_embedding
        self.transformer_layers = []
        for i in range(num_layers):
            self.transformer_layers.append(
                MobileBertTransformerBlock(
                    hidden_dim=hidden_dim,
                    intermediate_dim=intermediate_dim,
                    num_heads=num_heads,
                    bottleneck_dim=bottleneck_dim,
                    use_bottleneck=use_bottleneck,
                    key_query_shared_bottleneck=key_query_shared_bottleneck,
                    use_bottleneck_attention=use_bottleneck_attention,
                    num_feedforward_networks=num_feedforward_networks,
                    normalization=normalization,
                    layer_norm_epsilon=layer_norm_epsilon,
                    last_ffn_layer_norm_epsilon=last_ffn_layer_norm_epsilon,
                    activation=activation,
                    dropout=dropout,
                    attention_dropout=attention_dropout,
                    attention_mask_mode=attention_mask_mode,
                    initializer_range=initializer_range,
                    dtype=dtype,
                    name=f"transformer_layer_{i}",
                )
            )
        self.pooled_dense = None
        if use_pooler:
            self.pooled_dense = make_dense(
                hidden_dim,
                initializer_range,
                dtype,
                "pooled_dense",
                activation="tanh",
            )

        # === Functional Model ===
        inputs = make_backbone_inputs()
        outputs = self._forward(inputs, num_layers, with_intermediates=False)
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.embedding_dim = embedding_dim
        self.bottleneck_dim = bottleneck_dim
        self.use_bottleneck = use_bottleneck
        self.key_query_shared_bottleneck = key_query_shared_bottleneck
        self.use_bottleneck_attention = use_bottleneck_attention
        self.num_feedforward_networks = num_feedforward_networks
        self.trigram_input = trigram_input
        self.normalization = normalization
        self.layer_norm_epsilon = layer_norm_epsilon
        self.embedding_layer_norm_epsilon = embedding_layer_norm_epsilon
        self.last_ffn_layer_norm_epsilon = last_ffn_layer_norm_epsilon
        self.activation = activation
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.embedding_dropout = embedding_dropout
        self.max_sequence_length = max_sequence_length
        self.num_segments = num_segments
        self.use_pooler = use_pooler
        self.attention_mask_mode = attention_mask_mode
        self.initializer_range = initializer_range
        self.cls_token_index = 0

    def _forward(self, inputs, num_layers, with_intermediates):
        x = self.embeddings(inputs["token_ids"], inputs["segment_ids"])
        hidden_states = [x]
        attention_scores = []
        for block in self.transformer_layers[:num_layers]:
            # Every graph asks the blocks for their scores: a Keras
            # functional model requires a layer to return the same structure
            # in all its calls. The scores are computed on the way to the
            # block output anyway, so the plain backbone, which does not
            # output them, does no extra work.
            x, scores = block(
                x,
                padding_mask=inputs["padding_mask"],
                return_attention_scores=True,
            )
            hidden_states.append(x)
            attention_scores.append(scores)
        pooled = x[:, 0, :]
        if self.pooled_dense is not None:
            pooled = self.pooled_dense(pooled)
        outputs = {"sequence_output": x, "pooled_output": pooled}
        if with_intermediates:
            outputs["hidden_states"] = hidden_states
            outputs["attention_scores"] = attention_scores
        return outputs

    def intermediates_model(self, num_layers=None):
        """A model sharing this backbone's layers that exposes every layer.

        The returned functional model takes the same inputs and returns the
        backbone outputs plus `"hidden_states"` (the embedding output and
        each block's output, `num_layers + 1` tensors) and
        `"attention_scores"` (each block's masked pre-softmax logits,
        `(batch, heads, sequence, sequence)`, float32). The weights are
        shared, not copied, so training it trains the backbone. Build it once
        and keep it: each call makes a new graph.

        Args:
            num_layers: int or None. Stop after this many blocks (a
                progressive-distillation stage only pays for the layers in
                play). None means all.

        Example:
        ```python
        model = backbone.intermediates_model()
        outputs = model(input_data)
        len(outputs["hidden_states"])  # backbone.num_layers + 1
        ```
        """
        num_layers = self.num_layers if num_layers is None else num_layers
        if not 0 < num_layers <= self.num_layers:
            raise ValueError(
                f"num_layers must be in [1, {self.num_layers}]; received "
                f"{num_layers}."
            )
        inputs = make_backbone_inputs()
        outputs = self._forward(inputs, num_layers, with_intermediates=True)
        return keras.Model(
            inputs=inputs, outputs=outputs, name=f"{self.name}_intermediates"
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "num_layers": self.num_layers,
                "num_heads": self.num_heads,
                "hidden_dim": self.hidden_dim,
                "intermediate_dim": self.intermediate_dim,
                "embedding_dim": self.embedding_dim,
                "bottleneck_dim": self.bottleneck_dim,
                "use_bottleneck": self.use_bottleneck,
                "key_query_shared_bottleneck": (
                    self.key_query_shared_bottleneck
                ),
                "use_bottleneck_attention": self.use_bottleneck_attention,
                "num_feedforward_networks": self.num_feedforward_networks,
                "trigram_input": self.trigram_input,
                "normalization": self.normalization,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "embedding_layer_norm_epsilon": (
                    self.embedding_layer_norm_epsilon
                ),
                "last_ffn_layer_norm_epsilon": (
                    self.last_ffn_layer_norm_epsilon
                ),
                "activation": self.activation,
                "dropout": self.dropout,
                "attention_dropout": self.attention_dropout,
                "embedding_dropout": self.embedding_dropout,
                "max_sequence_length": self.max_sequence_length,
                "num_segments": self.num_segments,
                "use_pooler": self.use_pooler,
                "attention_mask_mode": self.attention_mask_mode,
                "initializer_range": self.initializer_range,
            }
        )
        return config
