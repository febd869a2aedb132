"""BertConfig-style fields (GR `bert_config.json`, HF `config.json`) to
`MobileBertBackbone` arguments: the one mapping both converters use."""

from keras_mobilebert.convert.weights import ConversionError


def backbone_config_from_bert_fields(
    c,
    activation,
    layer_norm_epsilon,
    site_layer_norm_epsilon,
    attention_mask_mode,
):
    """Map a completed BertConfig dict to backbone keyword arguments.

    GR and HF name the MobileBERT fields alike (`intra_bottleneck_size`,
    `key_query_shared_bottleneck`, ...); they differ in activation names,
    LayerNorm epsilons and masking, which the caller passes in.

    Args:
        c: dict. A config with every BertConfig field present (defaults
            already applied, `embedding_size` and `intra_bottleneck_size`
            filled in).
        activation: string. Our name of the config's activation.
        layer_norm_epsilon: float. The LayerNorm epsilon.
        site_layer_norm_epsilon: float or None. The epsilon of the embedding
            and last-FFN LayerNorms where it differs (HF: PyTorch's 1e-5).
        attention_mask_mode: `"additive"` (HF) or `"fill"` (GR).

    Example:
    ```python
    kwargs = backbone_config_from_bert_fields(
        config, "relu", 1e-12, None, "fill"
    )
    ```
    """
    use_bottleneck = bool(c["use_bottleneck"])
    inner = c["intra_bottleneck_size"] if use_bottleneck else c["hidden_size"]
    if inner % c["num_attention_heads"]:
        raise ConversionError(
            f"The attention width ({inner}) is not divisible by "
            f"num_attention_heads ({c['num_attention_heads']})."
        )
    return {
        "vocabulary_size": c["vocab_size"],
        "num_layers": c["num_hidden_layers"],
        "num_heads": c["num_attention_heads"],
        "hidden_dim": c["hidden_size"],
        "intermediate_dim": c["intermediate_size"],
        "embedding_dim": c["embedding_size"],
        "bottleneck_dim": inner,
        "use_bottleneck": use_bottleneck,
        "key_query_shared_bottleneck": bool(c["key_query_shared_bottleneck"]),
        "use_bottleneck_attention": bool(c["use_bottleneck_attention"]),
        "num_feedforward_networks": c["num_feedforward_networks"],
        "trigram_input": bool(c["trigram_input"]),
        "normalization": c["normalization_type"],
        "layer_norm_epsilon": float(layer_norm_epsilon),
        "embedding_layer_norm_epsilon": site_layer_norm_epsilon,
        "last_ffn_layer_norm_epsilon": site_layer_norm_epsilon,
        "activation": activation,
        "dropout": float(c["hidden_dropout_prob"]),
        "attention_dropout": float(c["attention_probs_dropout_prob"]),
        "embedding_dropout": float(c["hidden_dropout_prob"]),
        "max_sequence_length": c["max_position_embeddings"],
        "num_segments": c["type_vocab_size"],
        "use_pooler": bool(c["classifier_activation"]),
        "attention_mask_mode": attention_mask_mode,
        "initializer_range": float(c["initializer_range"]),
    }
