"""TF Model Garden names and layouts for the entries of `weights`.

Model Garden's `MobileBERTEncoder` (tf-models-official) is a functional
Keras model built with attribute tracking off, so its object-based
checkpoints name weights by layer position: the embeddings are
`layer_with_weights-0`, block i is `layer_with_weights-{i+1}` (its layers in
a `block_layers` dict), the optional pooler `layer_with_weights-{L+1}`.
Every variable maps one to one onto an original TF1 (GR) name, so this
module gives each `Entry` of `weights.backbone_entries` its Model Garden
name (`Entry.tfm_name`) from its GR name, with the stored shape where it
differs: Keras `MultiHeadAttention` keeps query, key and value kernels as
`[in, heads, head_dim]`, their biases as `[heads, head_dim]` and the output
kernel as `[heads, head_dim, out]`, which reshape (no transpose) into our
2-D kernels. A Model Maker classifier's `Dense(..., name="output")` head is
named `output/kernel`, `output/bias` here (its reader puts it there).
"""

import re

# The embedding layer's sites (GR name or GR site -> Model Garden site).
_EMBEDDINGS = "layer_with_weights-0"
_EMBEDDING_SITES = {
    "bert/embeddings/word_embeddings": "word_embedding/embeddings",
    "bert/embeddings/position_embeddings": "pos_embedding/embeddings",
    "bert/embeddings/token_type_embeddings": "type_embedding/embeddings",
    "bert/embeddings/embedding_transformation": "word_embedding_proj",
    "bert/embeddings": "layer_norm",
}
# A block's dense and norm sites under `bert/encoder/layer_i/`; `{last}` is
# the last stacked FFN, which GR keeps at the block's top level.
_BLOCK_SITES = {
    "bottleneck/input/dense": "bottleneck_input/0",
    "bottleneck/input": "bottleneck_input/1",
    "bottleneck/attention/dense": "kq_shared_bottleneck/0",
    "bottleneck/attention": "kq_shared_bottleneck/1",
    "attention/self/query": "attention/0/_query_dense",
    "attention/self/key": "attention/0/_key_dense",
    "attention/self/value": "attention/0/_value_dense",
    "attention/output/dense": "attention/0/_output_dense",
    "attention/output": "attention/1",
    "intermediate/dense": "ffn/{last}/0",
    "output/dense": "ffn/{last}/1",
    "output": "ffn/{last}/2",
    "output/bottleneck/dense": "bottleneck_output/0",
    "output/bottleneck": "bottleneck_output/2",
}
# A norm's variables: GR's FakeLayerNorm is Model Garden's NoNorm (`scale`,
# `bias` attributes), LayerNorm is Keras LayerNormalization.
_NORM_ATTRIBUTES = {
    "FakeLayerNorm": {"gamma": "gamma", "beta": "beta"},
    "LayerNorm": {"gamma": "gamma", "beta": "beta"},
}
_HEAD_NAMES = {"output_weights": "output/kernel", "output_bias": "output/bias"}
_BLOCK = re.compile(r"^bert/encoder/layer_(\d+)/(.+)$")
_FFN = re.compile(r"^ffn_layer_(\d+)/(.+)$")


def _site_and_leaf(rest):
    """Split a GR name's tail into (site, Model Garden leaf)."""
    parts = rest.split("/")
    if len(parts) >= 2 and parts[-2] in _NORM_ATTRIBUTES:
        return "/".join(parts[:-2]), _NORM_ATTRIBUTES[parts[-2]][parts[-1]]
    if parts[-1] in ("kernel", "bias"):
        return "/".join(parts[:-1]), parts[-1]
    return rest, None


def tfm_name(gr_name, num_layers, num_feedforward_networks):
    """The Model Garden checkpoint name of a GR name (None: no counterpart).

    Args:
        gr_name: string. An `Entry.gr_name`.
        num_layers: int. Transformer blocks (the pooler follows them).
        num_feedforward_networks: int. Stacked FFNs per block.

    Example:
    ```python
    tfm_name("bert/encoder/layer_0/attention/self/query/kernel", 24, 4)
    # 'layer_with_weights-1/block_layers/attention/0/_query_dense/kernel'
    ```
    """
    if gr_name in _HEAD_NAMES:
        return _HEAD_NAMES[gr_name]
    if gr_name.startswith("bert/pooler/dense/"):
        return f"layer_with_weights-{num_layers + 1}/{gr_name.split('/')[-1]}"
    if gr_name in _EMBEDDING_SITES:
        return f"{_EMBEDDINGS}/{_EMBEDDING_SITES[gr_name]}"
    match = _BLOCK.match(gr_name)
    site, leaf = _site_and_leaf(match.group(2) if match else gr_name)
    if match is None:
        if site not in _EMBEDDING_SITES:
            return None
        return f"{_EMBEDDINGS}/{_EMBEDDING_SITES[site]}/{leaf}"
    block = f"layer_with_weights-{int(match.group(1)) + 1}/block_layers"
    ffn = _FFN.match(site)
    if ffn:
        sub = {"intermediate/dense": 0, "output/dense": 1, "output": 2}
        target = f"ffn/{ffn.group(1)}/{sub[ffn.group(2)]}"
    elif site in _BLOCK_SITES:
        target = _BLOCK_SITES[site].format(last=num_feedforward_networks - 1)
    else:
        return None
    return f"{block}/{target}/{leaf}"


def tfm_shape(entry, num_heads):
    """The Model Garden stored shape of an entry's variable.

    Args:
        entry: a `weights.Entry` with `tfm_name` set.
        num_heads: int. Attention heads.

    Example:
    ```python
    tfm_shape(entry, 4)  # (512, 4, 32) for a query kernel of (512, 128)
    ```
    """
    shape = tuple(entry.variable.shape)
    name = entry.tfm_name
    if re.search(r"/_(query|key|value)_dense/kernel$", name):
        return (shape[0], num_heads, shape[1] // num_heads)
    if re.search(r"/_(query|key|value)_dense/bias$", name):
        return (num_heads, shape[0] // num_heads)
    if name.endswith("/_output_dense/kernel"):
        return (num_heads, shape[0] // num_heads, shape[1])
    return shape


def add_tfm_names(entries, num_layers, num_heads, num_feedforward_networks):
    """Set `tfm_name` and `tfm_shape` on every entry that has one.

    Example:
    ```python
    entries = add_tfm_names(backbone_entries(backbone), 24, 4, 4)
    ```
    """
    for entry in entries:
        entry.tfm_name = tfm_name(
            entry.gr_name, num_layers, num_feedforward_networks
        )
        if entry.tfm_name is not None:
            entry.tfm_shape = tfm_shape(entry, num_heads)
    return entries
