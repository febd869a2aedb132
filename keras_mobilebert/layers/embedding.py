"""MobileBERT's trigram embedding."""

import keras
import tensorflow as tf
from keras import ops

from keras_mobilebert.layers.dense import kernel_initializer
from keras_mobilebert.layers.dense import make_dense
from keras_mobilebert.layers.layer_math import add_position_embeddings
from keras_mobilebert.layers.layer_math import trigram
from keras_mobilebert.layers.no_norm import make_normalization


def check_token_ids(token_ids, vocabulary_size):
    """Fail with a clear message on ids outside `[0, vocabulary_size)`.

    A gather out of range silently returns zeros on accelerators, so the check
    is explicit. The assert runs in eager and graph mode alike.
    """
    token_ids = tf.convert_to_tensor(token_ids)
    checks = [
        tf.debugging.assert_less(
            token_ids,
            tf.cast(vocabulary_size, token_ids.dtype),
            message=(
                f"token_ids must be < vocabulary_size ({vocabulary_size}); "
                "an id at or above it is out of the vocabulary"
            ),
        ),
        tf.debugging.assert_non_negative(
            token_ids, message="token_ids must be >= 0"
        ),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(token_ids)


def check_sequence_length(sequence_length, max_sequence_length):
    """Fail with a clear message on sequences longer than the position table."""
    if isinstance(sequence_length, int):
        if sequence_length > max_sequence_length:
            raise ValueError(
                f"The input sequence has {sequence_length} positions but "
                f"max_sequence_length is {max_sequence_length}; truncate the "
                "input (the preprocessor's sequence_length does this)."
            )
        return []
    return [
        tf.debugging.assert_less_equal(
            sequence_length,
            max_sequence_length,
            message=(
                "the input sequence is longer than max_sequence_length "
                f"({max_sequence_length}); truncate the input"
            ),
        )
    ]


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class MobileBertEmbedding(keras.layers.Layer):
    """Token, trigram, segment and position embeddings of MobileBERT.

    The word table is narrow (`embedding_dim`, 128 in MobileBERT). With
    `trigram_input`, each token's vector is concatenated with those of the
    next and previous tokens (zeros beyond the sequence ends), then a dense
    layer widens the result to `hidden_dim`. Segment and absolute position
    embeddings are added, then the normalization and dropout.

    Args:
        vocabulary_size: int. Size of the token vocabulary.
        embedding_dim: int. Width of the word table.
        hidden_dim: int. Width of the output.
        max_sequence_length: int. Number of learned positions.
        num_segments: int. Number of segment (token type) ids.
        trigram_input: bool. Whether to use the trigram window.
        normalization: string. `"no_norm"` or `"layer_norm"`.
        layer_norm_epsilon: float. Epsilon of the LayerNorm, if used.
        dropout: float. Dropout rate on the output.
        initializer_range: float. Stddev of the truncated normal initializer.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Examples:
    ```python
    import numpy as np
    import keras_mobilebert

    layer = keras_mobilebert.layers.MobileBertEmbedding(
        vocabulary_size=100,
        embedding_dim=8,
        hidden_dim=16,
        max_sequence_length=32,
    )
    token_ids = np.array([[5, 6, 7, 0]])
    segment_ids = np.zeros((1, 4), "int32")
    layer(token_ids, segment_ids).shape  # (1, 4, 16)
    ```
    """

    def __init__(
        self,
        vocabulary_size,
        embedding_dim,
        hidden_dim,
        max_sequence_length=512,
        num_segments=2,
        trigram_input=True,
        normalization="no_norm",
        layer_norm_epsilon=1e-12,
        dropout=0.0,
        initializer_range=0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.max_sequence_length = max_sequence_length
        self.num_segments = num_segments
        self.trigram_input = trigram_input
        self.normalization = normalization
        self.layer_norm_epsilon = layer_norm_epsilon
        self.dropout = dropout
        self.initializer_range = initializer_range
        # Created here rather than in build() because the backbone exposes the
        # word table as `token_embedding` before anything is built.
        self.token_embedding = keras.layers.Embedding(
            vocabulary_size,
            embedding_dim,
            embeddings_initializer=self._initializer(),
            dtype=self.dtype_policy,
            name="token_embedding",
        )

    def _initializer(self):
        return kernel_initializer(self.initializer_range)

    @property
    def projects_input(self):
        """Whether a dense layer maps the word vectors to `hidden_dim`."""
        return self.trigram_input or self.embedding_dim != self.hidden_dim

    def build(self, token_ids_shape, segment_ids_shape=None):
        self.token_embedding.build(token_ids_shape)
        if self.projects_input:
            width = self.embedding_dim * (3 if self.trigram_input else 1)
            self.embedding_transformation = make_dense(
                self.hidden_dim,
                self.initializer_range,
                self.dtype_policy,
                "embedding_transformation",
            )
            self.embedding_transformation.build((None, None, width))
        self.segment_embedding = keras.layers.Embedding(
            self.num_segments,
            self.hidden_dim,
            embeddings_initializer=self._initializer(),
            dtype=self.dtype_policy,
            name="segment_embedding",
        )
        self.segment_embedding.build((None, None))
        self.position_embeddings = self.add_weight(
            name="position_embeddings",
            shape=(self.max_sequence_length, self.hidden_dim),
            initializer=self._initializer(),
        )
        self.norm = make_normalization(
            self.normalization,
            self.layer_norm_epsilon,
            self.dtype_policy,
            "norm",
        )
        self.norm.build((None, None, self.hidden_dim))
        self.dropout_layer = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="dropout"
        )
        self.built = True

    def call(self, token_ids, segment_ids=None, training=None):
        token_ids = check_token_ids(token_ids, self.vocabulary_size)
        sequence_length = token_ids.shape[1]
        if sequence_length is None:
            sequence_length = ops.shape(token_ids)[1]
        checks = check_sequence_length(
            sequence_length, self.max_sequence_length
        )
        with tf.control_dependencies(checks):
            x = self.token_embedding(token_ids)
        if self.trigram_input:
            x = trigram(x)
        if self.projects_input:
            x = self.embedding_transformation(x)
        if segment_ids is None:
            segment_ids = ops.zeros_like(token_ids)
        x = x + self.segment_embedding(segment_ids)
        x = add_position_embeddings(
            x, self.position_embeddings, sequence_length
        )
        x = self.norm(x)
        return self.dropout_layer(x, training=training)

    def compute_output_shape(self, token_ids_shape, segment_ids_shape=None):
        return tuple(token_ids_shape) + (self.hidden_dim,)

    def compute_output_spec(self, token_ids, segment_ids=None, training=None):
        return keras.KerasTensor(
            self.compute_output_shape(token_ids.shape),
            dtype=self.compute_dtype,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim,
                "hidden_dim": self.hidden_dim,
                "max_sequence_length": self.max_sequence_length,
                "num_segments": self.num_segments,
                "trigram_input": self.trigram_input,
                "normalization": self.normalization,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "dropout": self.dropout,
                "initializer_range": self.initializer_range,
            }
        )
        return config
