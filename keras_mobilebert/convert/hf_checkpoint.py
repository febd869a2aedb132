"""A Hugging Face MobileBERT snapshot into a backbone and its heads.

A snapshot is a directory with `config.json`, the weights
(`model.safetensors`, sharded safetensors with `model.safetensors.index.json`,
or the TensorFlow `tf_model.h5`) and the vocabulary (`vocab.txt` or
`tokenizer.json`); `hf://owner/name` downloads one through `huggingface_hub`
and then takes the same path. PyTorch `.bin` pickles are never unpickled:
they are read with `torch.load(weights_only=True)` when torch is installed,
and refused with instructions otherwise.

Numerical parity with the PyTorch model is the contract: the backbone config
mirrors HF's per-site LayerNorm epsilons (1e-5 for the embedding norm and
each block's last FFN norm) and its additive attention mask, and classifier
heads are built without keras_mobilebert's extra pooled LayerNorm
(`task_builders.build_classifier`).

Padding (HF issues 7070, 9860): the trigram window of the last real token
sees the `[PAD]` token's embedding as its right neighbour (a zero vector only
past the end of the sequence), so real tokens' outputs depend on how much
padding follows, in HF and here alike. The attention mask removes padded
keys but not that embedding. Converted models reproduce HF's numbers for the
same padded input (HF's additive mask, the most negative float32); a TF1
conversion defaults to GR's -6 fill, which gives GR's numbers instead. For
results independent of padding, run unpadded (or bucketed) batches.
"""

import logging
import re

import numpy as np

from keras_mobilebert.convert.assembly import assemble
from keras_mobilebert.convert.hf_config import backbone_config_from_hf
from keras_mobilebert.convert.hf_config import hf_architectures
from keras_mobilebert.convert.hf_snapshot import find_weights_file
from keras_mobilebert.convert.hf_snapshot import read_hf_config
from keras_mobilebert.convert.hf_snapshot import read_vocabulary
from keras_mobilebert.convert.hf_snapshot import resolve_snapshot
from keras_mobilebert.convert.weight_files import read_weights
from keras_mobilebert.convert.weights import ConversionError

logger = logging.getLogger("keras_mobilebert.convert")


def _normalize_names(tensors, source):
    """Give base-model state dicts the `mobilebert.` prefix of task models."""
    if any(name.startswith("mobilebert.") for name in tensors):
        return tensors
    if not any(name.startswith("embeddings.") for name in tensors):
        raise ConversionError(
            f"{source} holds no MobileBERT weights (no 'mobilebert.*' or "
            "'embeddings.*' names)."
        )
    out = {}
    for name, value in tensors.items():
        if name.startswith(("embeddings.", "encoder.", "pooler.")):
            name = "mobilebert." + name
        out[name] = value
    return out


def _known_unused(tensors, config, backbone_config):
    """HF tensors that carry no information for this configuration.

    Tied copies are checked for equality with what they are tied to; the
    rest are logged, never silently dropped.
    """
    ignored = {"mobilebert.embeddings.position_ids"}
    word = tensors.get("mobilebert.embeddings.word_embeddings.weight")
    for name, tied_to in (
        ("cls.predictions.decoder.weight", word),
        ("cls.predictions.decoder.bias", tensors.get("cls.predictions.bias")),
    ):
        if name in tensors:
            if tied_to is not None and (
                np.shape(tensors[name]) != np.shape(tied_to)
                or not np.allclose(tensors[name], tied_to, rtol=0, atol=0)
            ):
                raise ConversionError(
                    f"{name} differs from the tensor it is tied to in HF "
                    "MobileBERT; keras_mobilebert ties them and cannot hold "
                    "an untied copy."
                )
            ignored.add(name)
    unused = []
    if not backbone_config["use_pooler"]:
        unused += [n for n in tensors if n.startswith("mobilebert.pooler.")]
    if not (
        backbone_config["trigram_input"]
        or (backbone_config["embedding_dim"] != backbone_config["hidden_dim"])
    ):
        unused += [
            n
            for n in tensors
            if n.startswith("mobilebert.embeddings.embedding_transformation.")
        ]
    if backbone_config["use_bottleneck"] and (
        backbone_config["use_bottleneck_attention"]
        and backbone_config["key_query_shared_bottleneck"]
    ):
        # HF builds the shared query/key bottleneck but bottleneck attention
        # takes precedence, so it is never used.
        unused += [
            n for n in tensors if re.search(r"\.bottleneck\.attention\.", n)
        ]
    if unused:
        logger.info(
            "Skipping weights this configuration never uses: %s",
            ", ".join(sorted(unused)),
        )
    return ignored | set(unused)


# HF classes built with `add_pooling_layer=False`: their checkpoints have no
# pooler even when `classifier_activation` is on.
_NO_POOLER_ARCHITECTURES = {
    "MobileBertForMaskedLM",
    "MobileBertForQuestionAnswering",
    "MobileBertForTokenClassification",
}


def _optional_pooler(config):
    """Pooler weights that may be absent, as HF itself allows.

    A checkpoint saved from a class without a pooler, with
    `classifier_activation` on, gets a freshly initialized pooler in HF
    (`from_pretrained` warns); so it does here, with a warning. Any other
    checkpoint must have its pooler.
    """
    architectures = set(hf_architectures(config))
    if architectures and architectures <= _NO_POOLER_ARCHITECTURES:
        return {
            "mobilebert.pooler.dense.weight",
            "mobilebert.pooler.dense.bias",
        }
    return set()


def _num_labels(config):
    id2label = config.get("id2label")
    if isinstance(id2label, dict) and id2label:
        return len(id2label)
    return int(config.get("num_labels", 2))


def convert_snapshot(src, dtype=None, progress=None):
    """Convert an HF MobileBERT snapshot, checking every weight.

    Args:
        src: a local snapshot directory or an `hf://owner/name` handle.
        dtype: optional dtype policy for the backbone.
        progress: optional callable taking a message string.

    Returns:
        A `ConvertedModel`.

    Example:
    ```python
    converted = convert_snapshot("hf://google/mobilebert-uncased")
    converted.backbone.summary()
    ```
    """
    say = progress or (lambda message: logger.info(message))
    snapshot = resolve_snapshot(src)
    config = read_hf_config(snapshot)
    backbone_config = backbone_config_from_hf(config)
    weights_path = find_weights_file(snapshot)
    say(f"Reading {weights_path}")
    tensors = _normalize_names(read_weights(weights_path), weights_path)
    converted = assemble(
        backbone_config,
        tensors,
        "hf",
        str(weights_path),
        ignored=_known_unused(tensors, config, backbone_config),
        num_labels=_num_labels(config),
        dtype=dtype,
        progress=say,
        optional=_optional_pooler(config),
    )
    id2label = config.get("id2label")
    if isinstance(id2label, dict) and id2label:
        converted.id2label = {int(k): v for k, v in id2label.items()}
    converted.vocabulary, settings = read_vocabulary(snapshot)
    converted.lowercase = settings["lowercase"]
    converted.strip_accents = settings["strip_accents"]
    converted.hf_config = config
    converted.source = str(src)
    return converted
