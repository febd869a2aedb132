"""The tf_keras twin of a Keras 3 MobileBERT: its graph and float weights.

The twin is flat: each dense layer, NoNorm and residual sum is a top-level
layer, because TF-MOT only wraps top-level layers and fake-quantizes their
weights and outputs. Twin layers are named after the Keras 3 layer paths
(`transformer_layer_0.bottleneck_input.input_dense`), and `TwinGraph`
records which Keras 3 layer each takes its weights from, so copying either
way (`copy_float_weights`) needs no second description of the architecture.
"""

import numpy as np

from keras_mobilebert.layers import layer_math
from keras_mobilebert.quantization.tfmot.imports import tf_keras
from keras_mobilebert.quantization.tfmot.twin_layers import TwinAttention
from keras_mobilebert.quantization.tfmot.twin_layers import TwinClsToken
from keras_mobilebert.quantization.tfmot.twin_layers import TwinFloatMask
from keras_mobilebert.quantization.tfmot.twin_layers import TwinNoNorm
from keras_mobilebert.quantization.tfmot.twin_layers import (
    TwinPositionEmbedding,
)
from keras_mobilebert.quantization.tfmot.twin_layers import TwinSpanLogits
from keras_mobilebert.quantization.tfmot.twin_layers import TwinTokenEmbedding
from keras_mobilebert.quantization.tfmot.twin_layers import TwinTokenIds

# Twin layer names join the Keras 3 layer path with this separator (a
# tf_keras layer name cannot contain "/").
SEPARATOR = "."

ACTIVATIONS = ("relu", "relu6")
ATTENTION_DENSES = ("query_dense", "key_dense", "value_dense")
# A question answerer twin's outputs, in the span head's order.
SPAN_OUTPUTS = ("start_logits", "end_logits")


def float_variables(layer):
    """The float weights of a Keras 3 or tf_keras leaf layer, in order.

    Explicit rather than `layer.weights`: a `quantize_aware` layer also
    holds its quantizer ranges.

    Args:
        layer: a dense, norm, embedding or position-embedding layer.

    Example:
    ```python
    float_variables(backbone.transformer_layers[0].attention_output_dense)
    ```
    """
    if hasattr(layer, "kernel"):
        return [layer.kernel] + ([layer.bias] if layer.use_bias else [])
    if hasattr(layer, "gamma"):
        return [layer.gamma, layer.beta]
    if hasattr(layer, "embeddings"):
        return [layer.embeddings]
    if hasattr(layer, "position_embeddings"):
        return [layer.position_embeddings]
    raise TypeError(f"No known weights in layer {layer.name!r}.")


class TwinGraph:
    """Builds the functional tf_keras graph of a Keras 3 MobileBERT.

    While building it records, for each twin layer with weights, the Keras 3
    layer whose weights it takes (`pairs`), so copying either way needs no
    second description of the architecture. The graph has fresh weights;
    `build_tf_keras_twin` copies the model's in.

    Args:
        model: a `MobileBertClassifier`, `MobileBertQuestionAnswerer` or
            `MobileBertBackbone`.
        attention_mask_mode: string or None. None keeps the model's.
        activation: string or None. None keeps the model's.

    Attributes:
        model: the `tf_keras.Model`.
        pairs: list of `(twin layer name, attribute or None, Keras 3
            layer)`; the attribute names the attention's sublayer
            (`"query_dense"`...) or `"position_embeddings"`.
        attentions: list of `(twin attention name, Keras 3 attention)`.

    Example:
    ```python
    graph = TwinGraph(backbone, activation="relu6")
    graph.model.summary()
    ```
    """

    def __init__(self, model, attention_mask_mode=None, activation=None):
        from keras_mobilebert.models.mobilebert import MobileBertBackbone
        from keras_mobilebert.models.mobilebert import MobileBertClassifier
        from keras_mobilebert.models.mobilebert import (
            MobileBertQuestionAnswerer,
        )

        self.classifier = self.question_answerer = None
        if isinstance(model, MobileBertClassifier):
            self.backbone, self.classifier = model.backbone, model
        elif isinstance(model, MobileBertQuestionAnswerer):
            self.backbone, self.question_answerer = model.backbone, model
        elif isinstance(model, MobileBertBackbone):
            self.backbone = model
        else:
            raise TypeError(
                "The TF-MOT bridge takes a MobileBertClassifier, a "
                "MobileBertQuestionAnswerer or a MobileBertBackbone; "
                f"received {type(model).__name__}."
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
        if self.question_answerer is not None:
            return self._span_head(inputs, x)
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

    def _span_head(self, inputs, sequence):
        """The question answerer's `qa_outputs` and its two logits."""
        span_head = self.question_answerer.span_head
        logits = self._dense(span_head, span_head.name)(sequence)
        outputs = {
            name: TwinSpanLogits(index, name=name)(logits)
            for index, name in enumerate(SPAN_OUTPUTS)
        }
        return tf_keras.Model(
            inputs, outputs, name="mobilebert_question_answerer_twin"
        )


def _keras_linear():
    import keras

    return keras.activations.linear


def twin_vocabulary_size(model):
    """The vocabulary size of a twin or of its TF-MOT copy.

    Args:
        model: a model from `build_tf_keras_twin` or `quantize_aware_tfmot`.

    Raises:
        ValueError: the model has no `TwinTokenIds` layer.

    Example:
    ```python
    twin_vocabulary_size(qat)  # 30522
    ```
    """
    for layer in model.layers:
        if isinstance(layer, TwinTokenIds):
            return layer.vocabulary_size
    raise ValueError("Not a MobileBERT twin: no TwinTokenIds layer.")


def twin_variables(model):
    """The twin's variables by name.

    Names are `layer/weight`, or `layer/sublayer/weight` in the attention.
    By name because TF-MOT's wrappers move the weights they quantize out of
    the wrapped layer's own list.

    Args:
        model: a model from `build_tf_keras_twin` or `quantize_aware_tfmot`.

    Example:
    ```python
    twin_variables(twin)["embeddings.token_embedding/embeddings"]
    ```
    """
    return {v.name.split(":")[0]: v for v in model.weights}


def copy_float_weights(pairs, twin, to_twin):
    """Copy float weights between the Keras 3 layers and the twin's.

    Each Keras 3 weight goes to (or comes from) the twin variable named
    `<twin layer name>/<weight name>`, where the twin layer name is the
    Keras 3 layer's path (block included), so every block's weights stay in
    their own block.

    Args:
        pairs: `TwinGraph.pairs` of the Keras 3 model.
        twin: the tf_keras model (a twin or its TF-MOT copy).
        to_twin: bool. Direction: Keras 3 to twin, or back.

    Returns:
        The number of layers copied.

    Raises:
        ValueError: the twin lacks a weight, or a shape differs.

    Example:
    ```python
    graph = TwinGraph(backbone)
    copy_float_weights(graph.pairs, graph.model, to_twin=True)
    ```
    """
    twin_vars = twin_variables(twin)
    sublayers = {"query_dense": "query", "key_dense": "key"}
    sublayers["value_dense"] = "value"
    for name, attribute, source in pairs:
        prefix = name
        if attribute == "position_embeddings":
            keras_vars = [source.position_embeddings]
        else:
            if attribute is not None:
                prefix = f"{name}/{sublayers[attribute]}"
            keras_vars = float_variables(source)
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
    classifier, a dict of `start_logits` and `end_logits` for a question
    answerer). Its layers call the same `layer_math` functions as the
    Keras 3 layers, so with the same weights and settings its outputs equal
    the Keras 3 model's up to float32 rounding. Works for MobileBERT,
    MobileBERT-TINY and any config with NoNorm or LayerNorm and ReLU or
    ReLU6.

    Args:
        model: a `keras_mobilebert.MobileBertClassifier`,
            `MobileBertQuestionAnswerer` or `MobileBertBackbone`.
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
    graph = TwinGraph(model, attention_mask_mode, activation)
    copy_float_weights(graph.pairs, graph.model, to_twin=True)
    return graph.model
