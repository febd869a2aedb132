"""The numerical core of MobileBERT's layers, as plain functions.

Two fronts build MobileBERT: the Keras 3 layers of this package and the
tf_keras twin that TF-MOT quantizes (`keras_mobilebert.quantization.tfmot`).
Both call these functions, so each piece of arithmetic (NoNorm's affine map,
the trigram window, the attention scores, mask and context, the residual
norms, the wiring of a block) is written once. The functions take tensors
and, where a step has weights, the callables that apply them (a Keras 3
layer, a tf_keras layer, or a plain function); they use `keras.ops`, which on
the TensorFlow backend take and return `tf.Tensor`s, so a tf_keras layer can
call them inside its `call`.

This module imports neither tf_keras nor TF-MOT.
"""

import math
import operator

from keras import ops

MASK_MODES = ("additive", "fill")
# What a masked logit becomes in "fill" mode: GR's quantization-friendly
# constant (e^-6 is about 0.0025, and the score range stays small for int8).
FILL_VALUE = -6.0
# Added to masked logits in "additive" mode (HF, TF Model Garden). HF adds
# the most negative float32: a fixed -1e9 fails to mask once unmasked logits
# exceed about 1e9, which MobileBERT's NoNorm activations (up to ~1e7 on the
# released weights) can reach, and padded outputs then differ from HF's.
ADDITIVE_MASK_VALUE = -3.4028234663852886e38


def no_norm(inputs, gamma, beta):
    """NoNorm: `inputs * gamma + beta` over the last axis.

    Args:
        inputs: float tensor `(..., dim)`.
        gamma: float tensor or variable `(dim,)`.
        beta: float tensor or variable `(dim,)`.

    Example:
    ```python
    no_norm(np.ones((1, 2), "float32"), np.array([2.0, 3.0]), np.zeros(2))
    ```
    """
    return inputs * gamma + beta


def trigram(embeddings):
    """Concatenate each position with its neighbours: next, current, previous.

    Positions past either end of the sequence contribute zeros. This order is
    the one the released checkpoints were trained with (GR `modeling.py`).

    Args:
        embeddings: tensor of shape `(batch, sequence, dim)`.

    Returns:
        A tensor of shape `(batch, sequence, 3 * dim)`.

    Example:
    ```python
    trigram(np.ones((1, 4, 2), "float32")).shape  # (1, 4, 6)
    ```
    """
    next_tokens = ops.pad(embeddings[:, 1:], ((0, 0), (0, 1), (0, 0)))
    previous_tokens = ops.pad(embeddings[:, :-1], ((0, 0), (1, 0), (0, 0)))
    return ops.concatenate([next_tokens, embeddings, previous_tokens], axis=-1)


def add_position_embeddings(inputs, position_table, sequence_length):
    """Add the first `sequence_length` rows of the position table.

    Args:
        inputs: float tensor `(batch, sequence, dim)`.
        position_table: tensor or variable `(max_sequence_length, dim)`.
        sequence_length: int or scalar tensor, the sequence length.

    Example:
    ```python
    add_position_embeddings(np.zeros((1, 2, 3)), np.ones((4, 3)), 2)
    ```
    """
    positions = ops.cast(position_table[:sequence_length], inputs.dtype)
    return inputs + positions[None]


def mask_attention_scores(scores, padding_mask, mask_mode):
    """Apply a key padding mask to attention logits.

    Args:
        scores: float tensor `(batch, heads, queries, keys)`, already scaled.
        padding_mask: tensor `(batch, keys)`, 1 (or True) for real tokens,
            or a mask already of the rank of `scores` (broadcastable, as
            `keras.layers.Softmax` takes). A float mask keeps an int8 graph
            free of quantized casts.
        mask_mode: string. `"fill"` sets masked logits to exactly -6
            (`scores * mask + (1 - mask) * -6`, GR); `"additive"` adds a
            large negative number (HF, TF Model Garden).

    Returns:
        The masked scores, in the dtype of `scores`.

    Example:
    ```python
    mask_attention_scores(np.zeros((1, 1, 2, 2)), np.array([[1, 0]]), "fill")
    ```
    """
    if mask_mode not in MASK_MODES:
        raise ValueError(
            f"Unknown attention_mask_mode {mask_mode!r}; expected one of "
            f"{MASK_MODES}."
        )
    # expand_dims rather than `[:, None, None, :]`: with a dynamic sequence
    # length LiteRT has no builtin kernel for a strided slice that adds axes
    # (it would need the Flex op StridedSlice).
    mask = ops.cast(padding_mask, scores.dtype)
    if len(mask.shape) == 2:
        mask = ops.expand_dims(ops.expand_dims(mask, 1), 1)
    if mask_mode == "fill":
        return scores * mask + (1.0 - mask) * FILL_VALUE
    return scores + (1.0 - mask) * ADDITIVE_MASK_VALUE


def split_heads(x, num_heads, head_dim):
    """`(batch, sequence, heads * head_dim)` to `(batch, sequence, heads,
    head_dim)`.

    Example:
    ```python
    split_heads(np.zeros((1, 3, 8)), 2, 4).shape  # (1, 3, 2, 4)
    ```
    """
    shape = ops.shape(x)
    return ops.reshape(x, (shape[0], shape[1], num_heads, head_dim))


def attention_scores(query, key, head_dim):
    """Scaled dot-product logits `QK^T / sqrt(head_dim)`, in float32.

    Args:
        query: tensor `(batch, queries, heads, head_dim)`.
        key: tensor `(batch, keys, heads, head_dim)`.
        head_dim: int.

    Returns:
        A float32 tensor `(batch, heads, queries, keys)`. Float32 whatever
        the inputs' dtype, so a large negative mask cannot overflow half
        precision.

    Example:
    ```python
    q = np.ones((1, 3, 2, 4), "float32")
    attention_scores(q, q, 4).shape  # (1, 2, 3, 3)
    ```
    """
    scores = ops.einsum("bfnh,btnh->bnft", query, key)
    return ops.cast(scores, "float32") / math.sqrt(head_dim)


def attention_context(probabilities, value):
    """Weighted sum of the values, heads concatenated.

    Args:
        probabilities: tensor `(batch, heads, queries, keys)`.
        value: tensor `(batch, keys, heads, head_dim)`.

    Returns:
        A tensor `(batch, queries, heads * head_dim)`.

    Example:
    ```python
    p = np.full((1, 2, 3, 3), 1 / 3, "float32")
    attention_context(p, np.ones((1, 3, 2, 4), "float32")).shape  # (1, 3, 8)
    ```
    """
    context = ops.einsum("bnft,btnh->bfnh", probabilities, value)
    shape = ops.shape(context)
    return ops.reshape(context, (shape[0], shape[1], shape[2] * shape[3]))


def residual_norm(x, residual, norm, add=operator.add):
    """`norm(x + residual)`, the step that closes every MobileBERT sub-block.

    Args:
        x: tensor.
        residual: tensor of the same shape.
        norm: callable, the normalization (NoNorm or LayerNorm).
        add: callable summing two tensors. The tf_keras twin passes an `Add`
            layer so that TF-MOT fake-quantizes the sum (the norm's input).

    Example:
    ```python
    residual_norm(x, x, lambda t: t)  # 2 * x
    ```
    """
    return norm(add(x, residual))


def feed_forward(x, intermediate, output, norm, dropout=None, add=None):
    """One FFN of the stack: `norm(dropout(output(intermediate(x))) + x)`.

    Args:
        x: tensor `(batch, sequence, width)`.
        intermediate: callable, the inner dense layer with its activation.
        output: callable, the dense layer back to `width`.
        norm: callable, the normalization.
        dropout: optional callable applied before the residual sum.
        add: optional callable summing two tensors (see `residual_norm`).

    Example:
    ```python
    feed_forward(x, dense_in, dense_out, no_norm_layer)
    ```
    """
    y = output(intermediate(x))
    if dropout is not None:
        y = dropout(y)
    return residual_norm(y, x, norm, add or operator.add)


def attention_inputs(prev, layer_input, shared, shares_query_key, variant):
    """Select the query, key and value of a block's attention.

    Args:
        prev: the block input, `(batch, sequence, hidden_dim)`.
        layer_input: the input bottleneck's output (or `prev` without one).
        shared: the shared query/key bottleneck's output, or None.
        shares_query_key: bool. MobileBERT: Q = K = `shared`, V = `prev`.
        variant: string. `"bottleneck_attention"` (MobileBERT-TINY:
            Q = K = V = `layer_input`) or `"block_input"` (the teacher:
            Q = K = V = `prev`). Ignored when `shares_query_key`.

    Returns:
        `(query, key, value)`.

    Example:
    ```python
    q, k, v = attention_inputs(prev, layer_input, shared, True, None)
    ```
    """
    if shares_query_key:
        return shared, shared, prev
    if variant == "bottleneck_attention":
        return layer_input, layer_input, layer_input
    return prev, prev, prev
