"""Quantization-aware training with TF-MOT, through a tf_keras twin.

TensorFlow Model Optimization (TF-MOT) quantizes tf_keras models only. This
module is the bridge from a Keras 3 MobileBERT:

1. `build_tf_keras_twin(model)` builds a functional tf_keras model from the
   Keras 3 backbone's (or classifier's) config and copies the weights. Its
   layers compute with the same functions as the Keras 3 layers
   (`keras_mobilebert.layers.layer_math`), so the float twin matches the
   Keras 3 model to float32 rounding.
2. `quantize_aware_tfmot(model)` annotates the twin with TF-MOT and this
   module's `QuantizeConfig`s and runs
   `tfmot.quantization.keras.quantize_apply`; the result is a tf_keras
   model to `compile` and `fit`.
3. `export_int8(qat_model, path)` writes a full-integer LiteRT file,
   checked and verified by `keras_mobilebert.export.litert`.
4. `copy_weights_back(qat_model, keras3_model)` returns the fine-tuned
   weights (and, for a `quantize_aware` model, the activation ranges) to a
   Keras 3 model.

The twin is flat: each dense layer, NoNorm and residual sum is a top-level
layer, because TF-MOT only wraps top-level layers and fake-quantizes their
weights and outputs. What gets quantized follows GR's QAT recipe, like
`keras_mobilebert.quantization.quantize_aware`:

- dense layers: TF-MOT's default 8-bit config (kernel symmetric, narrow
  range, per tensor; output 8-bit asymmetric with moving-average ranges),
  ReLU6 as a separate `ReLU` layer that TF-MOT fuses into the dense layer;
- residual sums: `Add` layers (default config: output quantized), which are
  the NoNorm inputs;
- NoNorm: `NoNormQuantizeConfig` (gamma symmetric, output quantized);
- the embedding: `EmbeddingQuantizeConfig` (the word table) and
  `PositionEmbeddingQuantizeConfig` (the table, the sum quantized);
- the attention: `AttentionQuantizeConfig` (query, key, value kernels and
  outputs, the masked scores, the probabilities, the context).

The bottlenecks are dense layers, sums and NoNorms in the flat twin, so the
dense, `Add` and NoNorm configs cover them.

TF-MOT is an extra (`pip install keras-mobilebert[tfmot]`). Importing it
sets `TF_USE_LEGACY_KERAS=1` for the whole process; this module pins
`tf.keras` to Keras 3 first and restores the variable after the import, so
Keras 3 code in the same process keeps working. `import keras_mobilebert`
does not import this module.
"""

import os

import numpy as np
import tensorflow as tf

from keras_mobilebert.export import litert
from keras_mobilebert.layers import layer_math
from keras_mobilebert.layers.embedding import check_token_ids

INSTALL_HINT = "pip install keras-mobilebert[tfmot]"
LEGACY_KERAS_VARIABLE = "TF_USE_LEGACY_KERAS"
# Twin layer names join the Keras 3 layer path with this separator (a
# tf_keras layer name cannot contain "/").
SEPARATOR = "."


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
        raise ImportError(
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
_serializable = tf_keras.utils.register_keras_serializable(
    package="keras_mobilebert_tfmot"
)


# --------------------------------------------------------------------------
# The twin's layers: thin tf_keras layers around `layer_math`.


@_serializable
class TwinNoNorm(tf_keras.layers.Layer):
    """tf_keras `NoNorm`: `x * gamma + beta` (see `layers.NoNorm`).

    Example:
    ```python
    TwinNoNorm()(np.ones((1, 2, 4), "float32"))
    ```
    """

    def build(self, input_shape):
        dim = input_shape[-1]
        self.gamma = self.add_weight("gamma", (dim,), initializer="ones")
        self.beta = self.add_weight("beta", (dim,), initializer="zeros")
        self.built = True

    def call(self, inputs):
        return layer_math.no_norm(inputs, self.gamma, self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape


@_serializable
class TwinTokenIds(tf_keras.layers.Layer):
    """Checks that token ids are in the vocabulary (as the Keras 3 layer).

    It also keeps the int32 model input away from TF-MOT, which puts a float
    fake-quant op after any model input that feeds an annotated layer.

    Args:
        vocabulary_size: int.

    Example:
    ```python
    TwinTokenIds(100)(np.array([[5, 6]], "int32"))
    ```
    """

    def __init__(self, vocabulary_size, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size

    def call(self, token_ids):
        return check_token_ids(token_ids, self.vocabulary_size)

    def get_config(self):
        config = super().get_config()
        config["vocabulary_size"] = self.vocabulary_size
        return config


@_serializable
class TwinTokenEmbedding(tf_keras.layers.Layer):
    """The word table lookup, then the trigram window if asked for.

    Args:
        vocabulary_size: int.
        embedding_dim: int.
        trigram_input: bool.

    Example:
    ```python
    TwinTokenEmbedding(100, 8, True)(np.array([[5, 6]], "int32"))
    ```
    """

    def __init__(self, vocabulary_size, embedding_dim, trigram_input, **kw):
        super().__init__(**kw)
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        self.trigram_input = trigram_input

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            "embeddings", (self.vocabulary_size, self.embedding_dim)
        )
        self.built = True

    def call(self, token_ids):
        x = tf.gather(self.embeddings, token_ids)
        if self.trigram_input:
            x = layer_math.trigram(x)
        return x

    def compute_output_shape(self, input_shape):
        width = self.embedding_dim * (3 if self.trigram_input else 1)
        return tf.TensorShape(input_shape).concatenate([width])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim,
                "trigram_input": self.trigram_input,
            }
        )
        return config


@_serializable
class TwinPositionEmbedding(tf_keras.layers.Layer):
    """Adds the learned absolute position embeddings.

    Args:
        max_sequence_length: int.

    Example:
    ```python
    TwinPositionEmbedding(32)(np.zeros((1, 4, 16), "float32"))
    ```
    """

    def __init__(self, max_sequence_length, **kwargs):
        super().__init__(**kwargs)
        self.max_sequence_length = max_sequence_length

    def build(self, input_shape):
        self.position_embeddings = self.add_weight(
            "position_embeddings",
            (self.max_sequence_length, input_shape[-1]),
        )
        self.built = True

    def call(self, inputs):
        length = inputs.shape[1]
        if length is None:
            length = tf.shape(inputs)[1]
        return layer_math.add_position_embeddings(
            inputs, self.position_embeddings, length
        )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["max_sequence_length"] = self.max_sequence_length
        return config


@_serializable
class TwinFloatMask(tf_keras.layers.Layer):
    """Casts the padding mask to float32 once, outside the quantized layers.

    A float mask keeps the int8 graph free of quantized casts (GR issues
    325, 780, 868), and an int32 mask must not reach an annotated layer
    directly (see `TwinTokenIds`).

    Example:
    ```python
    TwinFloatMask()(np.array([[1, 0]], "int32"))
    ```
    """

    def call(self, padding_mask):
        return tf.cast(padding_mask, tf.float32)


@_serializable
class TwinAttention(tf_keras.layers.Layer):
    """tf_keras `MobileBertAttention` with one positional input.

    TF-MOT's wrappers pass one positional input to the layer, so the query
    (which is also the key in every MobileBERT variant) is positional and
    the value and mask are keyword arguments. Query, key and value dense
    layers, scores, mask, softmax and context are those of
    `MobileBertAttention`, through `layer_math`. `softmax` and
    `probabilities_activation` are attributes so that
    `AttentionQuantizeConfig` can fake-quantize the masked scores and the
    probabilities.

    Args:
        num_heads: int.
        head_dim: int.
        value_dim: int or None. Width of the value input; None means the
            query's. (Known at construction: TF-MOT lists the kernels of a
            built layer before its first call.)
        dropout: float. Dropout on the attention probabilities.
        attention_mask_mode: string. `"fill"` or `"additive"`.

    Call arguments:
        query: tensor `(batch, sequence, query_dim)`, also the key.
        value: optional tensor `(batch, sequence, value_dim)`; None means
            the query.
        padding_mask: optional float tensor `(batch, sequence)`.
        training: bool.

    Example:
    ```python
    layer = TwinAttention(num_heads=2, head_dim=4)
    layer(np.ones((1, 3, 8), "float32")).shape  # (1, 3, 8)
    ```
    """

    def __init__(
        self,
        num_heads,
        head_dim,
        value_dim=None,
        dropout=0.0,
        attention_mask_mode="fill",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.head_dim = head_dim
        self.value_dim = value_dim
        self.dropout = dropout
        self.attention_mask_mode = attention_mask_mode
        width = num_heads * head_dim
        self.query_dense = tf_keras.layers.Dense(width, name="query")
        self.key_dense = tf_keras.layers.Dense(width, name="key")
        self.value_dense = tf_keras.layers.Dense(width, name="value")
        self.dropout_layer = tf_keras.layers.Dropout(dropout, name="dropout")
        self.softmax = tf_keras.activations.softmax
        self.probabilities_activation = tf_keras.activations.linear

    def build(self, input_shape):
        input_shape = tf.TensorShape(input_shape)
        value_dim = self.value_dim or input_shape[-1]
        value_shape = input_shape[:-1].concatenate([value_dim])
        shapes = (input_shape, input_shape, value_shape)
        denses = (self.query_dense, self.key_dense, self.value_dense)
        for dense, shape in zip(denses, shapes):
            # Scoped so the weights are named `<layer>/query/kernel`, ...
            # (`copy_weights_back` finds them by name).
            with tf.name_scope(dense.name):
                dense.build(shape)
        self.built = True

    def call(self, query, value=None, padding_mask=None, training=None):
        value = query if value is None else value
        q = layer_math.split_heads(
            self.query_dense(query), self.num_heads, self.head_dim
        )
        k = layer_math.split_heads(
            self.key_dense(query), self.num_heads, self.head_dim
        )
        v = layer_math.split_heads(
            self.value_dense(value), self.num_heads, self.head_dim
        )
        scores = layer_math.attention_scores(q, k, self.head_dim)
        if padding_mask is not None:
            scores = layer_math.mask_attention_scores(
                scores, padding_mask, self.attention_mask_mode
            )
        probabilities = self.probabilities_activation(self.softmax(scores))
        probabilities = self.dropout_layer(probabilities, training=training)
        return layer_math.attention_context(probabilities, v)

    def compute_output_shape(self, input_shape):
        shape = tf.TensorShape(input_shape)
        return shape[:-1].concatenate([self.num_heads * self.head_dim])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "head_dim": self.head_dim,
                "value_dim": self.value_dim,
                "dropout": self.dropout,
                "attention_mask_mode": self.attention_mask_mode,
            }
        )
        return config


@_serializable
class TwinClsToken(tf_keras.layers.Layer):
    """The `[CLS]` vector: `x[:, 0, :]`.

    Example:
    ```python
    TwinClsToken()(np.ones((1, 3, 4), "float32")).shape  # (1, 4)
    ```
    """

    def call(self, inputs):
        return inputs[:, 0, :]

    def compute_output_shape(self, input_shape):
        shape = tf.TensorShape(input_shape)
        return shape[:1].concatenate(shape[2:])


# --------------------------------------------------------------------------
# QuantizeConfigs.


def weight_quantizer():
    """8-bit symmetric, narrow-range, per-tensor (GR's weights)."""
    return quantize.quantizers.LastValueQuantizer(
        num_bits=8, per_axis=False, symmetric=True, narrow_range=True
    )


def activation_quantizer():
    """8-bit asymmetric, moving-average range from [-6, 6] (GR's
    activations)."""
    return quantize.quantizers.MovingAverageQuantizer(
        num_bits=8, per_axis=False, symmetric=False, narrow_range=False
    )


class _WeightsAndOutputQuantizeConfig(quantize.QuantizeConfig):
    """Quantizes the named weights, and the output if `quantize_output`."""

    weight_names = ()
    quantize_output = True

    def get_weights_and_quantizers(self, layer):
        return [
            (getattr(layer, name), weight_quantizer())
            for name in self.weight_names
        ]

    def set_quantize_weights(self, layer, quantize_weights):
        for name, weight in zip(self.weight_names, quantize_weights):
            setattr(layer, name, weight)

    def get_activations_and_quantizers(self, layer):
        return []

    def set_quantize_activations(self, layer, quantize_activations):
        pass

    def get_output_quantizers(self, layer):
        return [activation_quantizer()] if self.quantize_output else []

    def get_config(self):
        return {}


@_serializable
class NoNormQuantizeConfig(_WeightsAndOutputQuantizeConfig):
    """`TwinNoNorm`: gamma quantized like a weight, output quantized.

    The input, a residual sum, is quantized by the `Add` before it. Beta is
    left to the converter, as a dense layer's bias is.

    Example:
    ```python
    quantize_annotate_layer(TwinNoNorm(), NoNormQuantizeConfig())
    ```
    """

    weight_names = ("gamma",)


@_serializable
class EmbeddingQuantizeConfig(_WeightsAndOutputQuantizeConfig):
    """`TwinTokenEmbedding`: the word table quantized like a weight.

    A gather and the trigram concatenation do not change values, so the
    output needs no quantizer of its own.

    Example:
    ```python
    quantize_annotate_layer(layer, EmbeddingQuantizeConfig())
    ```
    """

    weight_names = ("embeddings",)
    quantize_output = False


@_serializable
class PositionEmbeddingQuantizeConfig(_WeightsAndOutputQuantizeConfig):
    """`TwinPositionEmbedding`: the table quantized, the sum quantized.

    Example:
    ```python
    quantize_annotate_layer(layer, PositionEmbeddingQuantizeConfig())
    ```
    """

    weight_names = ("position_embeddings",)


@_serializable
class AttentionQuantizeConfig(quantize.QuantizeConfig):
    """`TwinAttention`: the three kernels, Q/K/V outputs, masked scores,
    probabilities and context.

    The masked scores are quantized as the softmax input (TF-MOT quantizes
    a softmax activation before it), the probabilities after it, the
    context as the layer output.

    Example:
    ```python
    quantize_annotate_layer(TwinAttention(2, 4), AttentionQuantizeConfig())
    ```
    """

    dense_names = ("query_dense", "key_dense", "value_dense")

    def get_weights_and_quantizers(self, layer):
        return [
            (getattr(layer, name).kernel, weight_quantizer())
            for name in self.dense_names
        ]

    def set_quantize_weights(self, layer, quantize_weights):
        for name, kernel in zip(self.dense_names, quantize_weights):
            getattr(layer, name).kernel = kernel

    def get_activations_and_quantizers(self, layer):
        activations = [getattr(layer, n).activation for n in self.dense_names]
        activations += [layer.softmax, layer.probabilities_activation]
        return [(a, activation_quantizer()) for a in activations]

    def set_quantize_activations(self, layer, quantize_activations):
        *dense, softmax, probabilities = quantize_activations
        for name, activation in zip(self.dense_names, dense):
            getattr(layer, name).activation = activation
        layer.softmax = softmax
        layer.probabilities_activation = probabilities

    def get_output_quantizers(self, layer):
        return [activation_quantizer()]

    def get_config(self):
        return {}


CUSTOM_OBJECTS = {
    cls.__name__: cls
    for cls in (
        TwinNoNorm,
        TwinTokenIds,
        TwinTokenEmbedding,
        TwinPositionEmbedding,
        TwinFloatMask,
        TwinAttention,
        TwinClsToken,
        NoNormQuantizeConfig,
        EmbeddingQuantizeConfig,
        PositionEmbeddingQuantizeConfig,
        AttentionQuantizeConfig,
    )
}


# --------------------------------------------------------------------------
# Building the twin from a Keras 3 model.

ACTIVATIONS = ("relu", "relu6")
ATTENTION_DENSES = ("query_dense", "key_dense", "value_dense")


def _variables(layer):
    """The float weights of a Keras 3 or tf_keras leaf layer, in a fixed
    order. Explicit rather than `layer.weights`: a `quantize_aware` layer
    also holds its quantizer ranges."""
    if hasattr(layer, "kernel"):
        return [layer.kernel] + ([layer.bias] if layer.use_bias else [])
    if hasattr(layer, "gamma"):
        return [layer.gamma, layer.beta]
    if hasattr(layer, "embeddings"):
        return [layer.embeddings]
    if hasattr(layer, "position_embeddings"):
        return [layer.position_embeddings]
    raise TypeError(f"No known weights in layer {layer.name!r}.")


class _TwinGraph:
    """Builds the functional tf_keras graph of a Keras 3 MobileBERT.

    While building it records, for each twin layer with weights, the Keras 3
    layer whose weights it takes (`pairs`), so copying either way needs no
    second description of the architecture.
    """

    def __init__(self, model, attention_mask_mode=None, activation=None):
        from keras_mobilebert.models.mobilebert import MobileBertBackbone
        from keras_mobilebert.models.mobilebert import MobileBertClassifier

        if isinstance(model, MobileBertClassifier):
            self.backbone, self.classifier = model.backbone, model
        elif isinstance(model, MobileBertBackbone):
            self.backbone, self.classifier = model, None
        else:
            raise TypeError(
                "The TF-MOT bridge takes a MobileBertClassifier or a "
                f"MobileBertBackbone; received {type(model).__name__}."
            )
        self.mask_mode = (
            attention_mask_mode or self.backbone.attention_mask_mode
        )
        self.activation = activation or self.backbone.activation
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"The TF-MOT path supports the activations {ACTIVATIONS} "
                f"(GR's QAT uses relu6); the model uses "
                f"{self.activation!r}. Pass activation='relu6'."
            )
        # (twin layer name, attribute of a sublayer or None, Keras 3 layer)
        self.pairs = []
        # (twin attention name, Keras 3 attention): for the scores' range.
        self.attentions = []
        self.model = self._build()

    def _track(self, twin_layer, source, attribute=None):
        self.pairs.append((twin_layer.name, attribute, source))
        return twin_layer

    def _dense(self, source, name, activation=None):
        layer = tf_keras.layers.Dense(
            source.units,
            activation=activation,
            use_bias=source.use_bias,
            name=name,
        )
        return self._track(layer, source)

    def _norm(self, source, name):
        if hasattr(source, "epsilon"):  # LayerNormalization.
            layer = tf_keras.layers.LayerNormalization(
                epsilon=source.epsilon, name=name
            )
        else:
            layer = TwinNoNorm(name=name)
        return self._track(layer, source)

    def _adder(self, name):
        layer = tf_keras.layers.Add(name=name)
        return lambda x, residual: layer([x, residual])

    def _dropout(self, source, name):
        return tf_keras.layers.Dropout(source.rate, name=name)

    def _intermediate(self, source, name):
        if self.activation == "relu":
            return self._dense(source, name, activation="relu")
        # ReLU6 as its own layer: TF-MOT quantizes only the activations it
        # knows by name, and fuses Dense + ReLU as LiteRT does.
        dense = self._dense(source, name)
        relu6 = tf_keras.layers.ReLU(6.0, name=f"{name}{SEPARATOR}relu6")
        return lambda x: relu6(dense(x))

    def _embeddings(self, inputs):
        emb = self.backbone.embeddings
        p = "embeddings" + SEPARATOR
        ids = TwinTokenIds(emb.vocabulary_size, name=p + "token_ids")(
            inputs["token_ids"]
        )
        token = TwinTokenEmbedding(
            emb.vocabulary_size,
            emb.embedding_dim,
            emb.trigram_input,
            name=p + "token_embedding",
        )
        x = self._track(token, emb.token_embedding)(ids)
        if emb.projects_input:
            x = self._dense(
                emb.embedding_transformation, p + "embedding_transformation"
            )(x)
        segment = tf_keras.layers.Embedding(
            emb.num_segments, emb.hidden_dim, name=p + "segment_embedding"
        )
        segments = self._track(segment, emb.segment_embedding)(
            inputs["segment_ids"]
        )
        x = self._adder(p + "segment_sum")(x, segments)
        position = TwinPositionEmbedding(
            emb.max_sequence_length, name=p + "position_embedding"
        )
        x = self._track(position, emb, "position_embeddings")(x)
        x = self._norm(emb.norm, p + "norm")(x)
        return self._dropout(emb.dropout_layer, p + "dropout")(x)

    def _block(self, block, prev, mask):
        p = block.name + SEPARATOR
        shared = None
        layer_input = prev
        if block.use_bottleneck:
            squeeze = block.bottleneck_input
            q = p + "bottleneck_input" + SEPARATOR
            dense = self._dense(squeeze.input_dense, q + "input_dense")
            norm = self._norm(squeeze.input_norm, q + "input_norm")
            layer_input = norm(dense(prev))
            if block.shares_query_key:
                dense = self._dense(
                    squeeze.attention_dense, q + "attention_dense"
                )
                norm = self._norm(squeeze.attention_norm, q + "attention_norm")
                shared = norm(dense(prev))
        query, key, value = layer_math.attention_inputs(
            prev,
            layer_input,
            shared,
            block.shares_query_key,
            block.attention_variant,
        )
        assert key is query  # True of every variant: TwinAttention's input.
        source = block.attention
        attention = TwinAttention(
            source.num_heads,
            source.head_dim,
            value_dim=value.shape[-1],
            dropout=source.dropout,
            attention_mask_mode=self.mask_mode,
            name=p + "attention",
        )
        for dense in ATTENTION_DENSES:
            self._track(attention, getattr(source, dense), dense)
        self.attentions.append((attention.name, source))
        kwargs = {} if value is query else {"value": value}
        context = attention(query, padding_mask=mask, **kwargs)
        y = self._dense(
            block.attention_output_dense, p + "attention_output_dense"
        )(context)
        y = self._dropout(
            block.attention_output_dropout, p + "attention_output_dropout"
        )(y)
        x = layer_math.residual_norm(
            y,
            layer_input,
            self._norm(
                block.attention_output_norm, p + "attention_output_norm"
            ),
            add=self._adder(p + "attention_output_sum"),
        )
        ffn = block.stacked_ffn
        f = p + "stacked_ffn" + SEPARATOR
        for j in range(ffn.num_feedforward_networks):
            last = j == ffn.num_feedforward_networks - 1
            x = layer_math.feed_forward(
                x,
                self._intermediate(
                    ffn.intermediate_layers[j], f"{f}ffn_{j}_intermediate"
                ),
                self._dense(ffn.output_layers[j], f"{f}ffn_{j}_output"),
                self._norm(ffn.norm_layers[j], f"{f}ffn_{j}_norm"),
                dropout=(
                    self._dropout(ffn.dropout_layer, f + "dropout")
                    if last
                    else None
                ),
                add=self._adder(f"{f}ffn_{j}_sum"),
            )
        if block.use_bottleneck:
            widen = block.bottleneck_output
            q = p + "bottleneck_output" + SEPARATOR
            y = self._dense(widen.dense, q + "dense")(x)
            y = self._dropout(widen.dropout_layer, q + "dropout")(y)
            x = layer_math.residual_norm(
                y,
                prev,
                self._norm(widen.norm, q + "norm"),
                add=self._adder(q + "sum"),
            )
        return x

    def _build(self):
        inputs = {
            name: tf_keras.Input((None,), dtype="int32", name=name)
            for name in ("token_ids", "segment_ids", "padding_mask")
        }
        mask = TwinFloatMask(name="float_padding_mask")(inputs["padding_mask"])
        x = self._embeddings(inputs)
        for block in self.backbone.transformer_layers:
            x = self._block(block, x, mask)
        pooled = TwinClsToken(name="cls_token")(x)
        if self.backbone.pooled_dense is not None:
            pooled = self._dense(
                self.backbone.pooled_dense, "pooled_dense", activation="tanh"
            )(pooled)
        if self.classifier is None:
            outputs = {"sequence_output": x, "pooled_output": pooled}
            return tf_keras.Model(inputs, outputs, name="mobilebert_twin")
        head = self.classifier
        if head.pooled_norm is not None:
            pooled = self._norm(head.pooled_norm, "pooled_norm")(pooled)
        pooled = self._dropout(head.output_dropout, "classifier_dropout")(
            pooled
        )
        if head.output_dense.activation not in (None, _keras_linear()):
            raise ValueError(
                "The TF-MOT path exports classifiers that output logits "
                "(activation=None)."
            )
        logits = self._dense(head.output_dense, "logits")(pooled)
        return tf_keras.Model(inputs, logits, name="mobilebert_classifier_twin")


def _keras_linear():
    import keras

    return keras.activations.linear


def _twin_variables(model):
    """The twin's variables by name (`layer/weight`, or
    `layer/sublayer/weight` in the attention). By name because TF-MOT's
    wrappers move the weights they quantize out of the wrapped layer's own
    list."""
    return {v.name.split(":")[0]: v for v in model.weights}


def _copy(pairs, twin, to_twin):
    """Copy float weights between the Keras 3 layers and the twin's."""
    twin_vars = _twin_variables(twin)
    sublayers = {"query_dense": "query", "key_dense": "key"}
    sublayers["value_dense"] = "value"
    for name, attribute, source in pairs:
        prefix = name
        if attribute == "position_embeddings":
            keras_vars = [source.position_embeddings]
        else:
            if attribute is not None:
                prefix = f"{name}/{sublayers[attribute]}"
            keras_vars = _variables(source)
        for keras_var in keras_vars:
            key = f"{prefix}/{keras_var.name}"
            twin_var = twin_vars.get(key)
            if twin_var is None:
                raise ValueError(
                    f"The tf_keras model has no weight {key!r} for the "
                    f"Keras 3 weight {keras_var.path}: not a twin of this "
                    "model."
                )
            if tuple(keras_var.shape) != tuple(twin_var.shape):
                raise ValueError(
                    f"Weight {keras_var.path} has shape {keras_var.shape} in "
                    f"the Keras 3 model but {tuple(twin_var.shape)} in the "
                    f"twin ({key})."
                )
            if to_twin:
                twin_var.assign(np.asarray(keras_var.numpy()))
            else:
                keras_var.assign(twin_var.numpy())
    return len(pairs)


def build_tf_keras_twin(model, attention_mask_mode=None, activation=None):
    """Build a float tf_keras copy of a Keras 3 MobileBERT, with its weights.

    The twin is a functional tf_keras model with the same inputs
    (`token_ids`, `segment_ids`, `padding_mask`) and outputs (a dict of
    `sequence_output` and `pooled_output` for a backbone, the logits for a
    classifier). Its layers call the same `layer_math` functions as the
    Keras 3 layers, so with the same weights and settings its outputs equal
    the Keras 3 model's up to float32 rounding. Works for MobileBERT,
    MobileBERT-TINY and any config with NoNorm or LayerNorm and ReLU or
    ReLU6.

    Args:
        model: a `keras_mobilebert.MobileBertClassifier` or
            `MobileBertBackbone`.
        attention_mask_mode: string or None. Override the mask mode
            (`"fill"` for QAT); None keeps the model's.
        activation: string or None. Override the FFN activation
            (`"relu6"`); None keeps the model's.

    Returns:
        A `tf_keras.Model`.

    Example:
    ```python
    import keras_mobilebert
    from keras_mobilebert.quantization import tfmot as qt

    backbone = keras_mobilebert.MobileBertBackbone.from_preset(
        "mobilebert_tiny_en_uncased", load_weights=False
    )
    twin = qt.build_tf_keras_twin(backbone)
    twin(inputs)["sequence_output"]  # equals backbone(inputs)[...]
    ```
    """
    graph = _TwinGraph(model, attention_mask_mode, activation)
    _copy(graph.pairs, graph.model, to_twin=True)
    return graph.model


# --------------------------------------------------------------------------
# Quantization.


def _quantize_config(layer):
    """`(annotate, config)` for a twin layer; config None means TF-MOT's
    default for that layer class."""
    configs = {
        TwinNoNorm: NoNormQuantizeConfig,
        TwinTokenEmbedding: EmbeddingQuantizeConfig,
        TwinPositionEmbedding: PositionEmbeddingQuantizeConfig,
        TwinAttention: AttentionQuantizeConfig,
    }
    if type(layer) in configs:
        return True, configs[type(layer)]()
    if isinstance(
        layer,
        (tf_keras.layers.Dense, tf_keras.layers.ReLU, tf_keras.layers.Add),
    ):
        return True, None
    # Inputs, id check, float mask, segment table, dropout, LayerNorm and
    # the [CLS] slice stay float here; the converter calibrates any of
    # their outputs that reach an int8 op.
    return False, None


def quantize_aware_tfmot(
    model,
    attention_mask_mode="fill",
    activation=None,
    calibration_inputs=None,
):
    """Make a TF-MOT quantization-aware tf_keras copy of a Keras 3 model.

    Builds the tf_keras twin (`build_tf_keras_twin`), annotates every dense
    layer, residual sum, NoNorm, embedding and attention with TF-MOT's
    default or this module's `QuantizeConfig`s inside `quantize_scope`, and
    runs `tfmot.quantization.keras.quantize_apply`. The result is a plain
    tf_keras functional model: `compile` it with a tf_keras optimizer and
    `fit` it on preprocessed inputs (dicts of `token_ids`, `segment_ids`,
    `padding_mask`), then write it with `export_int8` and bring the weights
    home with `copy_weights_back`.

    Args:
        model: a `MobileBertClassifier` or `MobileBertBackbone` (float).
        attention_mask_mode: string or None. `"fill"` (GR's -6, default)
            keeps masked logits in an int8-friendly range; None keeps the
            model's.
        activation: string or None. `"relu6"` as in GR's QAT config (then
            fine-tune); None keeps the model's (relu or relu6).
        calibration_inputs: optional batch (dict of `token_ids`,
            `segment_ids`, `padding_mask`) to start the activation ranges
            from (`calibrate_ranges`) instead of TF-MOT's [-6, 6].
            Recommended for short fine-tunes.

    Returns:
        A quantization-aware `tf_keras.Model`, uncompiled.

    Example:
    ```python
    import tf_keras
    from keras_mobilebert.quantization import tfmot as qt

    x = classifier.preprocessor(["a fine film", "a dull film"])
    qat = qt.quantize_aware_tfmot(classifier, calibration_inputs=x)
    qat.compile(
        optimizer=tf_keras.optimizers.Adam(1e-4),
        loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    qat.fit(x=x, y=[1, 0], batch_size=2)
    qt.export_int8(qat, "model_int8.tflite")
    ```
    """
    twin = build_tf_keras_twin(model, attention_mask_mode, activation)

    def annotate(layer):
        clone = layer.__class__.from_config(layer.get_config())
        wanted, config = _quantize_config(layer)
        if not wanted:
            return clone
        return quantize.quantize_annotate_layer(clone, config)

    with quantize.quantize_scope(CUSTOM_OBJECTS):
        annotated = tf_keras.models.clone_model(twin, clone_function=annotate)
        annotated.set_weights(twin.get_weights())
        qat = quantize.quantize_apply(annotated)
    if calibration_inputs is not None:
        calibrate_ranges(qat, calibration_inputs)
    return qat


# The decay of TF-MOT 0.8's moving-average ranges (`MovingAvgQuantize`).
TFMOT_EMA_DECAY = 0.999


def _is_activation_range(variable):
    # Output, pre- and post-activation ranges move by EMA; weight ranges
    # (`kernel_min`, `gamma_max`...) are the weights' last values.
    name = variable.name.split("/")[-1].split(":")[0]
    return name.rsplit("_", 1)[0] in (
        "output",
        "pre_activation",
        "post_activation",
    )


def calibrate_ranges(qat_model, inputs):
    """Start every activation range at its value on one batch.

    TF-MOT starts activation ranges at [-6, 6] (GR's initial range) and moves
    them by an exponential moving average of decay 0.999, so a short QAT
    fine-tune ends with ranges still near [-6, 6]: coarse 8-bit steps for
    activations of order 1, and larger differences between the int8 file
    and the QAT model. This runs one forward pass in training mode (no
    weight update) and inverts that one moving-average step, which leaves
    each range at the batch's own minimum and maximum (zero included), as
    `quantize_aware`'s first training batch does.

    Args:
        qat_model: a model from `quantize_aware_tfmot`.
        inputs: a batch, a dict of `token_ids`, `segment_ids`,
            `padding_mask`.

    Returns:
        The number of range variables set.

    Example:
    ```python
    qat = qt.quantize_aware_tfmot(classifier)
    qt.calibrate_ranges(qat, classifier.preprocessor(texts[:64]))
    qat.fit(...)
    ```
    """
    ranges = [v for v in qat_model.weights if _is_activation_range(v)]
    before = [np.float64(v.numpy()) for v in ranges]
    qat_model(inputs, training=True)
    decay = TFMOT_EMA_DECAY
    for variable, old in zip(ranges, before):
        new = np.float64(variable.numpy())
        variable.assign((new - decay * old) / (1.0 - decay))
    return len(ranges)


# --------------------------------------------------------------------------
# Export.


def _kind(model):
    return "backbone" if isinstance(model.output, dict) else "classifier"


def _vocabulary_size(model):
    for layer in model.layers:
        if isinstance(layer, TwinTokenIds):
            return layer.vocabulary_size
    raise ValueError("Not a MobileBERT twin: no TwinTokenIds layer.")


def _export_samples(model, data, sequence_length, count, seed):
    if data is None:
        return litert.random_inputs(
            _vocabulary_size(model), sequence_length, count, seed=seed
        )
    return litert.dict_samples(data, count)


def export_int8(
    qat_model,
    path,
    sequence_length=128,
    representative_data=None,
    sample_data=None,
    num_samples=32,
    num_representative=100,
    tolerance=None,
    log=print,
):
    """Write a TF-MOT QAT model as a verified full-integer LiteRT file.

    The tf_keras model is traced with int32 inputs named `ids`, `mask` and
    `segment_ids` of shape `[1, sequence_length]` (the layout of
    `keras_mobilebert.export.to_litert`) and converted with int8 builtin
    ops; the fake-quant ranges learned in QAT become the int8 scales, and
    `representative_data` calibrates the few tensors TF-MOT leaves float
    (the LayerNorm of a classifier head, for instance). The checks are
    `keras_mobilebert.export.litert`'s: builtin ops only (a Flex or custom
    op raises `UnsupportedOpsError` naming it), then the LiteRT interpreter
    runs the file on `sample_data` and its outputs must match the tf_keras
    QAT model's within the `"qat_int8"` tolerance
    (`litert.TOLERANCES`), else `VerificationError`. Only a file that
    passes is written, atomically.

    Args:
        qat_model: the tf_keras model from `quantize_aware_tfmot` (after
            `fit`).
        path: output `.tflite` path.
        sequence_length: int. The fixed input length.
        representative_data: list of input dicts (`token_ids`,
            `padding_mask`, `segment_ids`, or the TFLite names), or None
            for random token sequences.
        sample_data: like `representative_data`, for the verification;
            None reuses `representative_data`.
        num_samples: int. How many samples verify the file.
        num_representative: int. How many samples calibrate.
        tolerance: optional dict overriding `relative_error` and
            `label_agreement`.
        log: callable taking one string, or None.

    Returns:
        A `keras_mobilebert.export.litert.ExportResult`.

    Example:
    ```python
    from keras_mobilebert.quantization import tfmot as qt

    result = qt.export_int8(qat, "model_int8.tflite", sequence_length=128)
    print(result.summary())
    ```
    """
    log = log or (lambda message: None)
    kind = _kind(qat_model)
    limits = litert._tolerance("qat_int8", tolerance)
    if sample_data is None:
        sample_data = representative_data
    samples = _export_samples(
        qat_model, sample_data, sequence_length, num_samples, seed=1
    )
    representative = _export_samples(
        qat_model,
        representative_data,
        sequence_length,
        num_representative,
        seed=2,
    )
    specs = litert._input_specs(qat_model, kind, sequence_length, False)
    serve = tf.function(litert._serving_fn(qat_model, kind))
    concrete = serve.get_concrete_function(*specs)

    def convert():
        converter = tf.lite.TFLiteConverter.from_concrete_functions(
            [concrete], qat_model
        )
        litert.configure_converter(converter, "qat_int8", representative)
        return converter.convert()

    tflite_bytes = litert.convert_builtin(convert)
    result = litert.verify_and_write(
        tflite_bytes,
        reference=litert._keras_outputs(qat_model, kind, samples),
        samples=samples,
        kind=kind,
        quantization="qat_int8",
        limits=limits,
        path=path,
        input_shape=(1, sequence_length),
        ops=litert.list_ops(tflite_bytes),
    )
    log(result.summary())
    return result


# --------------------------------------------------------------------------
# Back to Keras 3.

# Twin layers whose output has the range of their input.
_RANGE_PRESERVING = (tf_keras.layers.Dropout, TwinClsToken)


def _layer_by_name(model, name):
    try:
        return model.get_layer(name)
    except ValueError:
        return None


def _producer(layer, argument=None):
    """The layer that made `layer`'s positional input (or kwarg)."""
    node = layer.inbound_nodes[0]
    tensor = node.call_args[0] if argument is None else None
    if argument is not None:
        tensor = node.call_kwargs.get(argument)
    if tensor is None:
        return None
    return tensor._keras_history.layer


def _output_range(layer, model):
    """The `{"min_var", "max_var"}` of the fake-quant on a layer's output.

    Reads TF-MOT 0.8's wrapper attributes (`_output_quantizer_vars`, the
    activations' `_post_activation_vars`, `_weight_vars`). A lookup layer
    with only a weight quantizer (the word table) passes that range on;
    dropout and the `[CLS]` slice pass their input's on. None where the
    tensor has no fake-quant (a LayerNorm's output).
    """
    if layer is None:
        return None
    # A tensor's history may name the wrapped layer instead of its wrapper.
    layer = _wrapper(model, layer.name) or layer
    if isinstance(layer, quantize.QuantizeWrapperV2):
        if layer._output_quantizers:
            return layer._output_quantizer_vars
        for activation in reversed(layer._quantize_activations):
            if hasattr(activation, "_post_activation_vars"):
                return activation._post_activation_vars
        if isinstance(layer.layer, TwinTokenEmbedding):
            return layer._weight_vars[0][2]
        inner = layer.layer
    else:
        inner = layer
    if isinstance(inner, _RANGE_PRESERVING):
        return _output_range(_producer(layer), model)
    return None


def _set_range(quantizer, quantizer_vars):
    if quantizer is None or quantizer_vars is None:
        return False
    if getattr(quantizer, "fixed_range", None) is not None:
        return False
    quantizer.range_min.assign(float(quantizer_vars["min_var"].numpy()))
    quantizer.range_max.assign(float(quantizer_vars["max_var"].numpy()))
    quantizer.initialized.assign(1.0)
    return True


def _wrapper(model, name):
    return _layer_by_name(model, "quant_" + name) or _layer_by_name(model, name)


def _ranges(name, attribute, source, qat_model):
    """`[(Keras 3 quantizer, TF-MOT range vars)]` for one twin layer."""
    layer = _wrapper(qat_model, name)
    if not isinstance(layer, quantize.QuantizeWrapperV2):
        return []  # A float twin, or a layer TF-MOT left alone.
    if attribute in ATTENTION_DENSES:
        activations = layer._quantize_activations
        index = ATTENTION_DENSES.index(attribute)
        argument = "value" if attribute == "value_dense" else None
        producer = _producer(layer, argument) or _producer(layer)
        return [
            (
                getattr(source, "output_quantizer", None),
                activations[index]._post_activation_vars,
            ),
            (
                getattr(source, "input_quantizer", None),
                _output_range(producer, qat_model),
            ),
        ]
    # A fused ReLU6 owns the range of the dense layer's activated output.
    relu6 = _wrapper(qat_model, name + SEPARATOR + "relu6")
    output = _output_range(relu6 if relu6 is not None else layer, qat_model)
    return [
        (getattr(source, "output_quantizer", None), output),
        (
            getattr(source, "input_quantizer", None),
            _output_range(_producer(layer), qat_model),
        ),
    ]


def copy_weights_back(qat_model, keras3_model):
    """Copy a TF-MOT model's trained weights (and ranges) to a Keras 3 model.

    What is copied:

    - every float weight, where the twin has it: dense kernels and biases,
      NoNorm and LayerNorm gamma and beta, the word, segment and position
      tables (the twin keeps float weights under TF-MOT's fake-quant, so
      these are the trained values);
    - when `keras3_model` was made by
      `keras_mobilebert.quantization.quantize_aware`, the activation ranges
      too: each `MovingAverageQuantizer` takes the range TF-MOT learned for
      the same tensor (a dense layer's output, or after its ReLU6; its
      input, which is the previous layer's output; a NoNorm's input, the
      residual sum; the attention's Q/K/V outputs and masked scores), and
      is marked initialized.

    What is not: TF-MOT's weight ranges (`quantize_aware` recomputes them
    from the weights at every call) and its optimizer step; ranges of
    tensors TF-MOT does not fake-quantize (the classifier head's
    LayerNorm output feeding the logits layer), which keep their value and
    are listed in the result; the optimizer state.

    Args:
        qat_model: the tf_keras model from `quantize_aware_tfmot`, or a
            float twin from `build_tf_keras_twin`.
        keras3_model: a `MobileBertClassifier` or `MobileBertBackbone` of
            the same architecture (the float original, or its
            `quantize_aware` copy).

    Returns:
        A dict: `weights` (number of layers copied), `ranges` (number of
        ranges set) and `ranges_not_set` (paths of Keras 3 quantizers left
        as they were).

    Example:
    ```python
    from keras_mobilebert.quantization import quantize_aware
    from keras_mobilebert.quantization import tfmot as qt

    qat = qt.quantize_aware_tfmot(classifier)
    qat.fit(...)
    qt.copy_weights_back(qat, classifier)  # float weights
    native = quantize_aware(classifier)
    qt.copy_weights_back(qat, native)  # weights and ranges
    ```
    """
    # Only the structure and names matter here, not the activation.
    graph = _TwinGraph(keras3_model, activation="relu6")
    copied = _copy(graph.pairs, qat_model, to_twin=False)
    ranges, not_set = 0, []
    for name, attribute, source in graph.pairs:
        if attribute == "position_embeddings":
            continue
        for quantizer, quantizer_vars in _ranges(
            name, attribute, source, qat_model
        ):
            if quantizer is None:
                continue
            if _set_range(quantizer, quantizer_vars):
                ranges += 1
            elif quantizer.fixed_range is None:
                not_set.append(quantizer.path)
    for name, source in graph.attentions:
        softmax = source.softmax
        if not hasattr(softmax, "input_quantizer"):
            continue
        wrapper = _wrapper(qat_model, name)
        if not isinstance(wrapper, quantize.QuantizeWrapperV2):
            continue
        # The masked scores: the softmax activation's input in TF-MOT.
        scores = wrapper._quantize_activations[3]
        if _set_range(softmax.input_quantizer, scores._pre_activation_vars):
            ranges += 1
    return {"weights": copied, "ranges": ranges, "ranges_not_set": not_set}
