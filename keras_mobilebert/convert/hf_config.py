"""Hugging Face `MobileBertConfig` fields to and from backbone configs.

HF's config leaves fields out when they equal `transformers.MobileBertConfig`
defaults, so `HF_CONFIG_DEFAULTS` fills them in first. The BERT-family
fields shared with the TF1 converter are mapped in `bert_config`.
"""

import logging

from keras_mobilebert.convert.bert_config import (
    backbone_config_from_bert_fields,
)
from keras_mobilebert.convert.weights import ConversionError

logger = logging.getLogger("keras_mobilebert.convert")

# PyTorch's nn.LayerNorm default; HF builds the embedding LayerNorm and each
# block's last FFN LayerNorm without `eps` (REFERENCE.md section 3).
TORCH_LAYER_NORM_EPSILON = 1e-5

# `transformers.MobileBertConfig` defaults: a config.json that leaves a field
# out gets these in HF, so it must get them here too.
HF_CONFIG_DEFAULTS = {
    "vocab_size": 30522,
    "hidden_size": 512,
    "num_hidden_layers": 24,
    "num_attention_heads": 4,
    "intermediate_size": 512,
    "hidden_act": "relu",
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.1,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-12,
    "pad_token_id": 0,
    "embedding_size": 128,
    "trigram_input": True,
    "use_bottleneck": True,
    "intra_bottleneck_size": 128,
    "use_bottleneck_attention": False,
    "key_query_shared_bottleneck": True,
    "num_feedforward_networks": 4,
    "normalization_type": "no_norm",
    "classifier_activation": True,
    "classifier_dropout": None,
}

# HF `hidden_act` names and the keras_mobilebert activation computing the
# same function. HF's "gelu" is the exact erf form.
HF_ACTIVATIONS = {
    "relu": "relu",
    "relu6": "relu6",
    "gelu": "gelu",
    "gelu_new": "gelu_approximate",
    "gelu_pytorch_tanh": "gelu_approximate",
}
_ACTIVATIONS_TO_HF = {
    "relu": "relu",
    "relu6": "relu6",
    "gelu": "gelu",
    "gelu_approximate": "gelu_new",
}


def hf_architectures(config):
    return list(config.get("architectures") or [])


def backbone_config_from_hf(hf_config):
    """Translate an HF MobileBERT `config.json` dict into backbone kwargs.

    Fields the dict leaves out take `transformers.MobileBertConfig`'s
    defaults, as they do in HF. Values keras_mobilebert cannot reproduce
    exactly raise a `ConversionError` naming the field.

    Args:
        hf_config: dict. The parsed `config.json`.

    Returns:
        A dict of `keras_mobilebert.MobileBertBackbone` arguments.

    Example:
    ```python
    config = json.load(open("mobilebert-uncased/config.json"))
    backbone = keras_mobilebert.MobileBertBackbone(
        **backbone_config_from_hf(config)
    )
    ```
    """
    model_type = hf_config.get("model_type", "mobilebert")
    if model_type != "mobilebert":
        raise ConversionError(
            f"config.json has model_type {model_type!r}; only 'mobilebert' "
            "checkpoints can be converted."
        )
    c = dict(HF_CONFIG_DEFAULTS)
    c.update({k: v for k, v in hf_config.items() if v is not None or k in c})
    if c["normalization_type"] not in ("no_norm", "layer_norm"):
        raise ConversionError(
            f"Unsupported normalization_type {c['normalization_type']!r} in "
            "config.json; HF MobileBERT supports 'no_norm' and 'layer_norm'."
        )
    if c["hidden_act"] not in HF_ACTIVATIONS:
        raise ConversionError(
            f"Unsupported hidden_act {c['hidden_act']!r} in config.json; "
            f"supported: {sorted(HF_ACTIVATIONS)}."
        )
    for field in (
        "vocab_size",
        "hidden_size",
        "num_hidden_layers",
        "num_attention_heads",
        "intermediate_size",
        "embedding_size",
        "intra_bottleneck_size",
        "num_feedforward_networks",
        "max_position_embeddings",
        "type_vocab_size",
    ):
        if (
            isinstance(c[field], bool)
            or not isinstance(c[field], int)
            or c[field] < 1
        ):
            raise ConversionError(
                f"config.json field {field} must be a positive integer; "
                f"received {c[field]!r}."
            )
    for field in (
        "trigram_input",
        "use_bottleneck",
        "use_bottleneck_attention",
        "key_query_shared_bottleneck",
        "classifier_activation",
    ):
        if not isinstance(c[field], bool):
            raise ConversionError(
                f"config.json field {field} must be true or false; received "
                f"{c[field]!r}."
            )
    for field in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
        value = c[field]
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (not 0 <= value < 1)
        ):
            raise ConversionError(
                f"config.json field {field} must be a number in [0, 1); "
                f"received {value!r}."
            )
    eps = c["layer_norm_eps"]
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or eps <= 0:
        raise ConversionError(
            f"config.json field layer_norm_eps must be a positive number; "
            f"received {eps!r}."
        )
    use_bottleneck = c["use_bottleneck"]
    if (
        use_bottleneck
        and not c["use_bottleneck_attention"]
        and not c["key_query_shared_bottleneck"]
        and c["intra_bottleneck_size"] != c["hidden_size"]
    ):
        raise ConversionError(
            "Unsupported config: use_bottleneck without key_query_shared_"
            "bottleneck or use_bottleneck_attention needs intra_bottleneck_"
            f"size == hidden_size ({c['intra_bottleneck_size']} != "
            f"{c['hidden_size']}); HF's query/key projections expect the "
            "bottleneck width but receive the block input, so HF cannot run "
            "this model (REFERENCE.md section 3). Convert the original TF1 "
            "checkpoint instead."
        )
    if c["pad_token_id"] is not None and not (
        0 <= c["pad_token_id"] < c["vocab_size"]
    ):
        raise ConversionError(
            f"pad_token_id {c['pad_token_id']} is outside the vocabulary "
            f"(vocab_size {c['vocab_size']})."
        )
    return backbone_config_from_bert_fields(
        c,
        activation=HF_ACTIVATIONS[c["hidden_act"]],
        layer_norm_epsilon=c["layer_norm_eps"],
        site_layer_norm_epsilon=TORCH_LAYER_NORM_EPSILON,
        attention_mask_mode="additive",
    )


def hf_config_from_backbone(backbone, strict=True):
    """The HF `config.json` dict describing `backbone`.

    Args:
        backbone: a `keras_mobilebert.MobileBertBackbone`.
        strict: bool. Raise if HF would compute something else (a LayerNorm
            model whose embedding or last-FFN epsilon is not PyTorch's 1e-5,
            an activation HF lacks, GR's -6 mask fill).

    Example:
    ```python
    config = hf_config_from_backbone(backbone)
    ```
    """
    b = backbone
    problems = []
    if b.activation not in _ACTIVATIONS_TO_HF:
        problems.append(f"activation {b.activation!r} has no HF equivalent")
    if b.normalization == "layer_norm":
        for field in (
            "embedding_layer_norm_epsilon",
            "last_ffn_layer_norm_epsilon",
        ):
            value = getattr(b, field)
            value = b.layer_norm_epsilon if value is None else value
            if value != TORCH_LAYER_NORM_EPSILON:
                problems.append(
                    f"{field} is {value}, but HF always uses "
                    f"{TORCH_LAYER_NORM_EPSILON} at that LayerNorm"
                )
    if b.attention_mask_mode != "additive":
        problems.append(
            "attention_mask_mode 'fill' (GR's -6) differs from HF's additive "
            "mask on padded inputs"
        )
    if (
        b.use_bottleneck
        and not b.use_bottleneck_attention
        and not b.key_query_shared_bottleneck
        and b.bottleneck_dim != b.hidden_dim
    ):
        problems.append(
            "HF cannot run a bottleneck model whose query/key come from the "
            "block input with bottleneck_dim != hidden_dim"
        )
    if problems and strict:
        raise ConversionError(
            "This backbone cannot be exported to Hugging Face with the same "
            "numbers: " + "; ".join(problems) + ". Pass strict=False to "
            "export anyway."
        )
    for problem in problems:
        logger.warning("Hugging Face export: %s.", problem)
    return {
        "model_type": "mobilebert",
        "vocab_size": b.vocabulary_size,
        "hidden_size": b.hidden_dim,
        "num_hidden_layers": b.num_layers,
        "num_attention_heads": b.num_heads,
        "intermediate_size": b.intermediate_dim,
        "hidden_act": _ACTIVATIONS_TO_HF.get(b.activation, b.activation),
        "hidden_dropout_prob": b.dropout,
        "attention_probs_dropout_prob": b.attention_dropout,
        "max_position_embeddings": b.max_sequence_length,
        "type_vocab_size": b.num_segments,
        "initializer_range": b.initializer_range,
        "layer_norm_eps": b.layer_norm_epsilon,
        "pad_token_id": 0,
        "embedding_size": b.embedding_dim,
        "trigram_input": b.trigram_input,
        "use_bottleneck": b.use_bottleneck,
        "intra_bottleneck_size": b.bottleneck_dim,
        "use_bottleneck_attention": b.use_bottleneck_attention,
        "key_query_shared_bottleneck": b.key_query_shared_bottleneck,
        "num_feedforward_networks": b.num_feedforward_networks,
        "normalization_type": b.normalization,
        "classifier_activation": b.use_pooler,
        "tie_word_embeddings": True,
    }
