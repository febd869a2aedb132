"""The original TF1 MobileBERT release (google-research) into keras_mobilebert.

The release is a TF1 name-based checkpoint (`mobilebert_variables.ckpt.*` or
`mobilebert.ckpt.*`) with GR's names (`bert/...`, `cls/...`), a
`bert_config.json` in GR's `BertConfig` format and a `vocab.txt`. It is read
with `tf.train.load_checkpoint`; optimizer slots (`*/adam_m`, `*/adam_v`)
and `global_step` are skipped, everything else must map to a variable.

The converted model computes GR's numbers: the attention mask is GR's -6
fill (`attention_mask_mode="fill"`), every LayerNorm uses GR's 1e-12 and
GR's `"gelu"` is the tanh approximation.
"""

import json
import logging
import pathlib
import re

from keras_mobilebert.convert.assembly import assemble
from keras_mobilebert.convert.bert_config import (
    backbone_config_from_bert_fields,
)
from keras_mobilebert.convert.weights import ConversionError

logger = logging.getLogger("keras_mobilebert.convert")

# GR `BertConfig.__init__` defaults (they differ from HF's).
GR_CONFIG_DEFAULTS = {
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "max_position_embeddings": 512,
    "type_vocab_size": 16,
    "initializer_range": 0.02,
    "embedding_size": None,
    "trigram_input": False,
    "use_bottleneck": False,
    "intra_bottleneck_size": None,
    "use_bottleneck_attention": False,
    "key_query_shared_bottleneck": False,
    "num_feedforward_networks": 1,
    "normalization_type": "layer_norm",
    "classifier_activation": True,
}

# GR's "gelu" is the tanh approximation (`modeling.gelu`).
GR_ACTIVATIONS = {
    "relu": "relu",
    "relu6": "relu6",
    "gelu": "gelu_approximate",
}

_OPTIMIZER_SLOT = re.compile(r"(/adam_m|/adam_v)$")
_SKIPPED = ("global_step",)
_CONFIG_NAMES = ("bert_config.json", "mobilebert_config.json", "config.json")


def backbone_config_from_gr(gr_config, attention_mask_mode="fill"):
    """Translate a GR `bert_config.json` dict into backbone kwargs.

    Args:
        gr_config: dict. The parsed GR config.
        attention_mask_mode: `"fill"` (GR's -6, default) or `"additive"`.

    Example:
    ```python
    config = backbone_config_from_gr(json.load(open("bert_config.json")))
    ```
    """
    if "vocab_size" not in gr_config:
        raise ConversionError("The GR config has no vocab_size.")
    c = dict(GR_CONFIG_DEFAULTS)
    c.update(gr_config)
    if c["embedding_size"] is None:
        c["embedding_size"] = c["hidden_size"]
    if c["intra_bottleneck_size"] is None:
        c["intra_bottleneck_size"] = c["hidden_size"]
    if c["normalization_type"] not in ("no_norm", "layer_norm"):
        raise ConversionError(
            f"Unsupported normalization_type {c['normalization_type']!r}; "
            "supported: 'no_norm', 'layer_norm'."
        )
    if c["hidden_act"] not in GR_ACTIVATIONS:
        raise ConversionError(
            f"Unsupported hidden_act {c['hidden_act']!r}; supported: "
            f"{sorted(GR_ACTIVATIONS)}."
        )
    return backbone_config_from_bert_fields(
        c,
        activation=GR_ACTIVATIONS[c["hidden_act"]],
        # GR's layer_norm (tf.contrib) uses 1e-12 everywhere.
        layer_norm_epsilon=1e-12,
        site_layer_norm_epsilon=None,
        attention_mask_mode=attention_mask_mode,
    )


def checkpoint_prefix(path):
    """The checkpoint prefix for a prefix, an `.index` file or a directory.

    Example:
    ```python
    checkpoint_prefix("uncased_L-24_H-128_B-512_A-4_F-4_OPT/")
    ```
    """
    import tensorflow as tf

    path = pathlib.Path(path)
    if path.is_dir():
        latest = tf.train.latest_checkpoint(str(path))
        if latest:
            return latest
        indexes = sorted(path.glob("*.index"))
        if len(indexes) != 1:
            raise ConversionError(
                f"{path} holds {len(indexes)} checkpoints (*.index files); "
                "pass the checkpoint prefix."
            )
        return str(indexes[0])[: -len(".index")]
    if path.suffix == ".index" or re.search(r"\.data-\d+-of-\d+$", path.name):
        return (
            str(path.with_suffix(""))
            if path.suffix == ".index"
            else (str(path)[: str(path).rindex(".data-")])
        )
    return str(path)


def read_tf1_checkpoint(prefix):
    """Read every non-optimizer variable of a TF1 checkpoint as numpy.

    Example:
    ```python
    tensors = read_tf1_checkpoint("mobilebert/mobilebert_variables.ckpt")
    ```
    """
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(prefix)
        names = reader.get_variable_to_shape_map()
        tensors = {}
        skipped = 0
        for name in names:
            if name in _SKIPPED or _OPTIMIZER_SLOT.search(name):
                skipped += 1
                continue
            tensors[name] = reader.get_tensor(name)
    except (tf.errors.OpError, ValueError, IndexError) as e:
        raise ConversionError(
            f"{prefix} is not a readable TF checkpoint (missing, truncated or "
            f"corrupt?): {type(e).__name__}: {e}"
        ) from e
    if skipped:
        logger.info("Skipped %d optimizer slots and counters.", skipped)
    return tensors


def _find_config(prefix):
    directory = pathlib.Path(prefix).parent
    for name in _CONFIG_NAMES:
        if (directory / name).is_file():
            return directory / name
    raise ConversionError(
        f"No GR config next to {prefix} (looked for {list(_CONFIG_NAMES)}); "
        "pass config=."
    )


def convert_tf1_checkpoint(
    checkpoint,
    config=None,
    vocabulary=None,
    lowercase=True,
    strip_accents=None,
    attention_mask_mode="fill",
    num_labels=2,
    dtype=None,
    progress=None,
):
    """Convert an original TF1 MobileBERT checkpoint, checking every weight.

    Args:
        checkpoint: the checkpoint prefix (`.../mobilebert_variables.ckpt`),
            its `.index` file, or the directory holding it.
        config: path to GR's `bert_config.json`, or a dict; by default the
            config file next to the checkpoint.
        vocabulary: path to `vocab.txt`; by default the one next to the
            checkpoint, if any.
        lowercase: bool. Whether the tokenizer lowercases (the uncased
            release does).
        strip_accents: bool or None. Whether it drops accents; None
            follows `lowercase`, as GR's `tokenization.py` does.
        attention_mask_mode: `"fill"` (GR's -6, default: GR's numbers on
            padded inputs) or `"additive"` (HF's).
        num_labels: classes of a fine-tuned classifier head
            (`output_weights`), if the checkpoint has one.
        dtype: optional dtype policy.
        progress: optional callable taking a message.

    Returns:
        A `keras_mobilebert.convert.assembly.ConvertedModel`; pass it to
        `save_preset` or take `.backbone` / `.pretraining_model`.

    Example:
    ```python
    converted = convert_tf1_checkpoint(
        "uncased_L-24_H-128_B-512_A-4_F-4_OPT/mobilebert_variables.ckpt"
    )
    converted.pretraining_model(inputs)["mlm_logits"]
    ```
    """
    say = progress or (lambda message: logger.info(message))
    prefix = checkpoint_prefix(checkpoint)
    if not isinstance(config, dict):
        config_path = pathlib.Path(config) if config else _find_config(prefix)
        try:
            config = json.loads(config_path.read_text())
        except (OSError, ValueError) as e:
            raise ConversionError(
                f"Cannot read the GR config {config_path}: {e}"
            ) from e
    backbone_config = backbone_config_from_gr(config, attention_mask_mode)
    say(f"Reading {prefix}")
    tensors = read_tf1_checkpoint(prefix)
    ignored = set()
    if not backbone_config["use_pooler"]:
        ignored |= {n for n in tensors if n.startswith("bert/pooler/")}
        if ignored:
            logger.info("Skipping the unused pooler: %s", sorted(ignored))
    converted = assemble(
        backbone_config,
        tensors,
        "gr",
        prefix,
        ignored=ignored,
        num_labels=num_labels,
        dtype=dtype,
        progress=say,
    )
    if vocabulary is None:
        candidate = pathlib.Path(prefix).parent / "vocab.txt"
        vocabulary = candidate if candidate.is_file() else None
    if vocabulary is not None:
        tokens = pathlib.Path(vocabulary).read_text(encoding="utf-8")
        tokens = tokens.splitlines()
        while tokens and tokens[-1] == "":
            tokens.pop()
        converted.vocabulary = tokens
    converted.lowercase = lowercase
    converted.strip_accents = (
        lowercase if strip_accents is None else strip_accents
    )
    converted.hf_config = {
        "hidden_dropout_prob": backbone_config["dropout"],
    }
    converted.source = str(prefix)
    return converted
