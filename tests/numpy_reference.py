"""An independent float64 numpy implementation of MobileBERT's forward pass.

Written from GR `modeling.py` (`embedding_lookup`, `embedding_postprocessor`,
`attention_layer`, `transformer_model`), not from our layers: it only reads
the weights out of them. Tests compare the Keras layers against it.
"""

import numpy as np

from keras_mobilebert.layers.no_norm import NoNorm


def to_numpy(variable):
    return np.asarray(variable.numpy(), dtype="float64")


def activation(name, x):
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "relu6":
        return np.clip(x, 0.0, 6.0)
    if name == "gelu_approximate":
        c = np.sqrt(2.0 / np.pi)
        return 0.5 * x * (1.0 + np.tanh(c * (x + 0.044715 * x**3)))
    raise ValueError(name)


def dense(layer, x, act=None):
    y = x @ to_numpy(layer.kernel) + to_numpy(layer.bias)
    return y if act is None else activation(act, y)


def norm(layer, x):
    if isinstance(layer, NoNorm):
        return x * to_numpy(layer.gamma) + to_numpy(layer.beta)
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    normed = (x - mean) / np.sqrt(var + layer.epsilon)
    return normed * to_numpy(layer.gamma) + to_numpy(layer.beta)


def trigram(e):
    zeros = np.zeros_like(e[:, :1])
    following = np.concatenate([e[:, 1:], zeros], axis=1)
    preceding = np.concatenate([zeros, e[:, :-1]], axis=1)
    return np.concatenate([following, e, preceding], axis=-1)


def embedding(layer, token_ids, segment_ids):
    e = to_numpy(layer.token_embedding.embeddings)[token_ids]
    if layer.trigram_input:
        e = trigram(e)
    if layer.projects_input:
        e = dense(layer.embedding_transformation, e)
    e = e + to_numpy(layer.segment_embedding.embeddings)[segment_ids]
    e = e + to_numpy(layer.position_embeddings)[: token_ids.shape[1]][None]
    return norm(layer.norm, e)


def softmax(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


def attention(layer, query, key, value, padding_mask):
    """Returns (context, masked scaled scores)."""
    n, h = layer.num_heads, layer.head_dim

    def heads(x):
        return x.reshape(x.shape[0], x.shape[1], n, h)

    q = heads(dense(layer.query_dense, query))
    k = heads(dense(layer.key_dense, key))
    v = heads(dense(layer.value_dense, value))
    scores = np.einsum("bfnh,btnh->bnft", q, k) / np.sqrt(h)
    if padding_mask is not None:
        mask = padding_mask.astype("float64")[:, None, None, :]
        if layer.attention_mask_mode == "fill":
            scores = scores * mask + (1.0 - mask) * -6.0
        else:
            # HF adds the most negative float32.
            scores = scores + (1.0 - mask) * np.finfo(np.float32).min
    context = np.einsum("bnft,btnh->bfnh", softmax(scores), v)
    return context.reshape(context.shape[0], context.shape[1], n * h), scores


def block(layer, prev, padding_mask):
    """One transformer block, GR `transformer_model` loop body."""
    if layer.use_bottleneck:
        b = layer.bottleneck_input
        layer_input = norm(b.input_norm, dense(b.input_dense, prev))
        if layer.use_bottleneck_attention:
            q = k = v = layer_input
        elif layer.key_query_shared_bottleneck:
            shared = norm(b.attention_norm, dense(b.attention_dense, prev))
            q = k = shared
            v = prev
        else:
            q = k = v = prev
    else:
        layer_input = q = k = v = prev
    context, scores = attention(layer.attention, q, k, v, padding_mask)
    x = dense(layer.attention_output_dense, context)
    x = norm(layer.attention_output_norm, x + layer_input)
    ffn = layer.stacked_ffn
    for inner, outer, n in zip(
        ffn.intermediate_layers, ffn.output_layers, ffn.norm_layers
    ):
        y = dense(outer, dense(inner, x, layer.activation))
        x = norm(n, y + x)
    if layer.use_bottleneck:
        out = layer.bottleneck_output
        x = norm(out.norm, dense(out.dense, x) + prev)
    return x, scores


def backbone(model, token_ids, segment_ids, padding_mask):
    """Returns hidden states (embeddings + each block), scores, pooled."""
    x = embedding(model.embeddings, token_ids, segment_ids)
    hidden, all_scores = [x], []
    for layer in model.transformer_layers:
        x, scores = block(layer, x, padding_mask)
        hidden.append(x)
        all_scores.append(scores)
    pooled = x[:, 0]
    if model.pooled_dense is not None:
        pooled = np.tanh(dense(model.pooled_dense, pooled))
    return hidden, all_scores, pooled


def assert_close_to_scale(actual, expected, rtol=1e-5, msg=""):
    """Max |actual - expected| relative to the max |expected| of the tensor."""
    actual = np.asarray(actual, dtype="float64")
    scale = max(np.max(np.abs(expected)), 1e-30)
    error = np.max(np.abs(actual - expected)) / scale
    assert error <= rtol, f"{msg}: relative error {error:.3g} > {rtol:g}"


def assert_scores_close(actual, expected, padding_mask, rtol=1e-5, msg=""):
    """Compare attention logits: real keys to scale, masked keys exactly.

    Masked logits are a huge constant in additive mode; comparing them
    relative to the tensor's scale would hide every error in the real ones.
    """
    actual = np.asarray(actual, dtype="float64")
    keys = np.broadcast_to(
        padding_mask.astype(bool)[:, None, None, :], expected.shape
    )
    assert_close_to_scale(actual[keys], expected[keys], rtol, msg)
    np.testing.assert_allclose(
        actual[~keys], expected[~keys], rtol=1e-6, err_msg=msg
    )
