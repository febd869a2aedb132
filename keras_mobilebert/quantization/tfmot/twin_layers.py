"""The twin's layers: thin tf_keras layers around `layer_math`.

Each computes with the same `keras_mobilebert.layers.layer_math` function
as its Keras 3 counterpart, so the float twin equals the Keras 3 model up
to float32 rounding.
"""

import tensorflow as tf

from keras_mobilebert.layers import layer_math
from keras_mobilebert.layers.embedding import check_token_ids
from keras_mobilebert.quantization.tfmot.imports import serializable
from keras_mobilebert.quantization.tfmot.imports import tf_keras


@serializable
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


@serializable
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


@serializable
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


@serializable
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


@serializable
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


@serializable
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


@serializable
class TwinSpanLogits(tf_keras.layers.Layer):
    """One of a span head's two logits per token: `x[..., index]`.

    The question answerer's `qa_outputs` dense layer gives two numbers per
    token; index 0 is the start logit, 1 the end logit (as in
    `MobileBertQuestionAnswerer`).

    Args:
        index: int. 0 for the start logits, 1 for the end logits.

    Example:
    ```python
    TwinSpanLogits(0)(np.ones((1, 3, 2), "float32")).shape  # (1, 3)
    ```
    """

    def __init__(self, index, **kwargs):
        super().__init__(**kwargs)
        self.index = index

    def call(self, inputs):
        return inputs[..., self.index]

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape)[:-1]

    def get_config(self):
        config = super().get_config()
        config["index"] = self.index
        return config


@serializable
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
