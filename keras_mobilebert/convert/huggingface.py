"""Hugging Face MobileBERT snapshots into keras_mobilebert models and presets.

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
heads are built without keras_mobilebert's extra pooled LayerNorm.

Padding (HF issues 7070, 9860): the trigram window of the last real token
sees the `[PAD]` token's embedding as its right neighbour (a zero vector only
past the end of the sequence), so real tokens' outputs depend on how much
padding follows, in HF and here alike. The attention mask removes padded
keys but not that embedding. Converted models reproduce HF's numbers for the
same padded input (HF's additive mask, the most negative float32); a TF1
conversion defaults to GR's -6 fill, which gives GR's numbers instead. For
results independent of padding, run unpadded (or bucketed) batches.
"""

import json
import logging
import pathlib
import re

import numpy as np

from keras_mobilebert.convert.hf_config import backbone_config_from_hf
from keras_mobilebert.convert.hf_config import hf_architectures
from keras_mobilebert.convert.hf_snapshot import find_weights_file
from keras_mobilebert.convert.hf_snapshot import read_hf_config
from keras_mobilebert.convert.hf_snapshot import read_vocabulary
from keras_mobilebert.convert.hf_snapshot import resolve_snapshot
from keras_mobilebert.convert.weight_files import read_weights
from keras_mobilebert.convert.weights import ConversionError
from keras_mobilebert.convert.weights import backbone_entries
from keras_mobilebert.convert.weights import check_and_assign
from keras_mobilebert.convert.weights import classifier_head_entries
from keras_mobilebert.convert.weights import masked_lm_head_entries
from keras_mobilebert.convert.weights import next_sentence_head_entries
from keras_mobilebert.convert.weights import question_answering_head_entries

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


class ConvertedModel:
    """Everything one HF snapshot converts into.

    Attributes:
        backbone: the `MobileBertBackbone` with the checkpoint's weights.
        heads: set of the heads the checkpoint has: `"mlm"`, `"nsp"`,
            `"classifier"`, `"qa"`.
        pretraining_model: a `MobileBertPreTrainingModel` when the snapshot
            has MLM and NSP heads (else None); shares `backbone`.
        masked_lm_head_weights, nsp_weights, classifier_weights,
        qa_weights: the head weights as lists of arrays (Keras layout), or
            None.
        id2label: dict of class index to label name (sequence classifiers).
        vocabulary, lowercase: the tokenizer of the snapshot.
        hf_config: the parsed `config.json`.
        source: what was converted, for messages.
    """


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


_HEAD_PREFIXES = {
    "hf": {
        "mlm": "cls.predictions.",
        "nsp": "cls.seq_relationship.",
        "classifier": "classifier.",
        "qa": "qa_outputs.",
    },
    "gr": {
        "mlm": "cls/predictions/",
        "nsp": "cls/seq_relationship/",
        "classifier": "output_",
        "qa": "cls/squad/",
    },
}


def assemble(
    backbone_config,
    tensors,
    scheme,
    source,
    ignored=(),
    num_labels=2,
    dtype=None,
    progress=None,
    optional=(),
):
    """Build a backbone and the heads `tensors` has, and load every weight.

    Shared by the HF and TF1 converters: the heads present are detected by
    name, every weight is checked (missing, unexpected, shape) before any is
    assigned.

    Args:
        backbone_config: dict of `MobileBertBackbone` arguments.
        tensors: dict of checkpoint name to array.
        scheme: `"hf"` or `"gr"`, the naming of `tensors`.
        source: string for messages.
        ignored: names known to be unused.
        num_labels: classes of a sequence-classification head, if any.
        dtype: optional dtype policy.
        progress: optional callable taking a message.
        optional: names that may be missing (see `check_and_assign`).

    Returns:
        A `ConvertedModel` without tokenizer fields.

    Example:
    ```python
    converted = assemble(config, tensors, "hf", "model.safetensors")
    ```
    """
    import keras

    from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
        MobileBertBackbone,
    )
    from keras_mobilebert.models.mobilebert.mobilebert_masked_lm import (
        MobileBertPreTrainingModel,
    )
    from keras_mobilebert.models.mobilebert.mobilebert_masked_lm_head import (
        MobileBertMaskedLMHead,
    )

    say = progress or (lambda message: logger.info(message))
    say("Building the Keras model")
    backbone = MobileBertBackbone(**backbone_config, dtype=dtype)
    entries = backbone_entries(backbone)
    prefixes = _HEAD_PREFIXES[scheme]
    heads = {
        head
        for head, prefix in prefixes.items()
        if any(name.startswith(prefix) for name in tensors)
    }
    pretraining_model = None
    mlm_head = nsp_dense = classifier_dense = qa_dense = None
    if "mlm" in heads and "nsp" in heads:
        pretraining_model = MobileBertPreTrainingModel(backbone)
        mlm_head = pretraining_model.masked_lm_head
        nsp_dense = pretraining_model.next_sentence_head
    elif "mlm" in heads:
        mlm_head = MobileBertMaskedLMHead(
            vocabulary_size=backbone.vocabulary_size,
            token_embedding=backbone.token_embedding,
            activation=backbone.activation,
            layer_norm_epsilon=backbone.layer_norm_epsilon,
            name="mlm_head",
        )
        mlm_head.build((None, None, backbone.hidden_dim), (None, None))
    elif "nsp" in heads:
        nsp_dense = keras.layers.Dense(2, name="nsp_head")
        nsp_dense.build((None, backbone.hidden_dim))
    if mlm_head is not None:
        entries += masked_lm_head_entries(mlm_head)
    if nsp_dense is not None:
        entries += next_sentence_head_entries(nsp_dense)
    if "classifier" in heads:
        classifier_dense = keras.layers.Dense(num_labels, name="logits")
        classifier_dense.build((None, backbone.hidden_dim))
        entries += classifier_head_entries(classifier_dense)
    if "qa" in heads:
        qa_dense = keras.layers.Dense(2, name="qa_outputs")
        qa_dense.build((None, None, backbone.hidden_dim))
        entries += question_answering_head_entries(qa_dense)

    say(f"Checking and assigning {len(entries)} weights")
    check_and_assign(entries, tensors, source, scheme, ignored, optional)

    converted = ConvertedModel()
    converted.backbone = backbone
    converted.heads = heads
    converted.pretraining_model = pretraining_model
    converted.masked_lm_head_weights = (
        mlm_head.get_weights() if mlm_head is not None else None
    )
    converted.nsp_weights = nsp_dense.get_weights() if nsp_dense else None
    converted.classifier_weights = (
        classifier_dense.get_weights() if classifier_dense else None
    )
    converted.qa_weights = qa_dense.get_weights() if qa_dense else None
    converted.id2label = None
    converted.vocabulary = None
    converted.lowercase = True
    converted.hf_config = {}
    converted.source = source
    return converted


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
    converted.vocabulary, converted.lowercase = read_vocabulary(snapshot)
    converted.hf_config = config
    converted.source = str(src)
    return converted


# === Building the requested objects ===


def _tokenizer(converted):
    from keras_mobilebert.models.mobilebert.mobilebert_tokenizer import (
        MobileBertTokenizer,
    )

    if converted.vocabulary is None:
        raise ConversionError(
            f"{converted.source} has no vocab.txt or tokenizer.json; the "
            "tokenizer cannot be built (the backbone can: use "
            "MobileBertBackbone.from_preset)."
        )
    if len(converted.vocabulary) != converted.backbone.vocabulary_size:
        raise ConversionError(
            f"The vocabulary of {converted.source} has "
            f"{len(converted.vocabulary)} tokens but config.json says "
            f"vocab_size {converted.backbone.vocabulary_size}."
        )
    return MobileBertTokenizer(
        vocabulary=converted.vocabulary, lowercase=converted.lowercase
    )


def _sequence_length(backbone, default=128):
    """The preprocessors' default length, capped by the position table."""
    return min(default, backbone.max_sequence_length)


def build_masked_lm(converted, preprocessor=True, **kwargs):
    """A `MobileBertMaskedLM` from a `ConvertedModel`.

    Raises a `ConversionError` if the checkpoint has no MLM head.
    """
    from keras_mobilebert.models.mobilebert.mobilebert_masked_lm import (
        MobileBertMaskedLM,
    )
    from keras_mobilebert.models.mobilebert.mobilebert_masked_lm_preprocessor import (  # noqa: E501
        MobileBertMaskedLMPreprocessor,
    )

    if preprocessor is True:
        preprocessor = MobileBertMaskedLMPreprocessor(
            _tokenizer(converted),
            sequence_length=_sequence_length(converted.backbone),
        )
    model = MobileBertMaskedLM(
        converted.backbone, preprocessor=preprocessor or None, **kwargs
    )
    if converted.masked_lm_head_weights is None:
        raise ConversionError(
            f"{converted.source} has no masked-LM head (cls.predictions.*); "
            "convert a MobileBertForMaskedLM or MobileBertForPreTraining "
            "checkpoint, or load only the backbone."
        )
    model.masked_lm_head.set_weights(converted.masked_lm_head_weights)
    return model


def build_classifier(converted, num_classes=None, preprocessor=True, **kwargs):
    """A `MobileBertClassifier` from a `ConvertedModel`.

    With a sequence-classification checkpoint and `num_classes` None or equal
    to its label count, the head is HF's (and `pooled_normalization`
    defaults to None and `dropout` to HF's, so logits equal HF's); otherwise
    the head is new and randomly initialized. `model.id2label` holds the
    label names.
    """
    from keras_mobilebert.models.mobilebert.mobilebert_text_classifier import (
        MobileBertClassifier,
    )
    from keras_mobilebert.models.mobilebert.mobilebert_text_classifier_preprocessor import (  # noqa: E501
        MobileBertTextClassifierPreprocessor,
    )

    if preprocessor is True:
        preprocessor = MobileBertTextClassifierPreprocessor(
            _tokenizer(converted),
            sequence_length=_sequence_length(converted.backbone),
        )
    has_head = converted.classifier_weights is not None
    head_classes = None
    if has_head:
        head_classes = converted.classifier_weights[1].shape[0]
    if num_classes is None:
        if not has_head:
            raise ConversionError(
                f"{converted.source} has no classification head; pass "
                "num_classes to put a new one on the backbone."
            )
        num_classes = head_classes
    load_head = has_head and num_classes == head_classes
    if load_head:
        kwargs.setdefault("pooled_normalization", None)
        dropout = converted.hf_config.get("classifier_dropout")
        if dropout is None:
            dropout = converted.hf_config.get("hidden_dropout_prob", 0.0)
        kwargs.setdefault("dropout", dropout)
    elif has_head:
        logger.warning(
            "%s has a %d-class head; num_classes=%d builds a new, randomly "
            "initialized head instead.",
            converted.source,
            head_classes,
            num_classes,
        )
    model = MobileBertClassifier(
        converted.backbone,
        num_classes=num_classes,
        preprocessor=preprocessor or None,
        **kwargs,
    )
    if load_head:
        if model.pooled_norm is not None:
            raise ConversionError(
                "A converted HF classification head needs "
                "pooled_normalization=None: HF has no LayerNorm there."
            )
        model.output_dense.set_weights(converted.classifier_weights)
        model.id2label = converted.id2label
    return model


def build_question_answerer(converted):
    """A `MobileBertQuestionAnswerer` from a `ConvertedModel`."""
    from keras_mobilebert.models.mobilebert.mobilebert_question_answerer import (  # noqa: E501
        MobileBertQuestionAnswerer,
    )

    if converted.qa_weights is None:
        raise ConversionError(
            f"{converted.source} has no question-answering head (qa_outputs.*)."
        )
    model = MobileBertQuestionAnswerer(converted.backbone)
    model.span_head.set_weights(converted.qa_weights)
    return model


def build_pretraining_model(converted):
    """A `MobileBertPreTrainingModel` (MLM + NSP) from a `ConvertedModel`."""
    if converted.pretraining_model is None:
        raise ConversionError(
            f"{converted.source} does not have both pre-training heads "
            "(cls.predictions.* and cls.seq_relationship.*)."
        )
    return converted.pretraining_model


def from_preset(cls, src, load_weights=True, **kwargs):
    """`cls.from_preset` for an HF snapshot directory or `hf://` handle.

    Called by `MobileBertBackbone.from_preset` and the task classes; see
    those. `load_weights=False` builds the architecture of `config.json`
    with random weights.

    Example:
    ```python
    backbone = from_preset(MobileBertBackbone, "hf://google/mobilebert-uncased")
    ```
    """
    from keras_hub.models import Preprocessor

    from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
        MobileBertBackbone,
    )
    from keras_mobilebert.models.mobilebert.mobilebert_masked_lm import (
        MobileBertMaskedLM,
    )
    from keras_mobilebert.models.mobilebert.mobilebert_text_classifier import (
        MobileBertClassifier,
    )
    from keras_mobilebert.models.mobilebert.mobilebert_tokenizer import (
        MobileBertTokenizer,
    )

    kwargs.pop("load_task_weights", None)
    if issubclass(cls, (MobileBertTokenizer, Preprocessor)):
        snapshot = resolve_snapshot(src)
        vocabulary, lowercase = read_vocabulary(snapshot)
        if vocabulary is None:
            raise ConversionError(f"{src} has no vocab.txt or tokenizer.json.")
        if issubclass(cls, MobileBertTokenizer):
            kwargs.setdefault("lowercase", lowercase)
            return cls(vocabulary=vocabulary, **kwargs)
        tokenizer = MobileBertTokenizer(
            vocabulary=vocabulary, lowercase=lowercase
        )
        kwargs.pop("config_file", None)
        config = backbone_config_from_hf(read_hf_config(snapshot))
        kwargs.setdefault(
            "sequence_length", min(128, config["max_sequence_length"])
        )
        return cls(tokenizer=tokenizer, **kwargs)
    if not load_weights:
        snapshot = resolve_snapshot(src)
        config = backbone_config_from_hf(read_hf_config(snapshot))
        if issubclass(cls, MobileBertBackbone):
            config.update(kwargs)
            return cls(**config)
        backbone = MobileBertBackbone(**config, dtype=kwargs.pop("dtype", None))
        kwargs.setdefault("backbone", backbone)
        return cls(**kwargs)
    converted = convert_snapshot(src, dtype=kwargs.pop("dtype", None))
    if issubclass(cls, MobileBertBackbone):
        if kwargs:
            raise ConversionError(
                "Backbone config overrides cannot be applied to converted "
                f"weights: {sorted(kwargs)}."
            )
        return converted.backbone
    if issubclass(cls, MobileBertMaskedLM):
        return build_masked_lm(converted, **kwargs)
    if issubclass(cls, MobileBertClassifier):
        return build_classifier(converted, **kwargs)
    raise ConversionError(
        f"{cls.__name__}.from_preset cannot load a Hugging Face snapshot."
    )


# === Writing presets and HF snapshots ===


def apply_preset_config(converted, config):
    """Rebuild `converted.backbone` with a preset's config, same weights.

    A built-in preset states every field (the QAT preset runs MobileBERT's
    weights with ReLU6 and the -6 mask); the weights must fit it exactly.
    """
    from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
        MobileBertBackbone,
    )

    current = converted.backbone.get_config()
    if all(current.get(k) == v for k, v in config.items()):
        return converted
    backbone = MobileBertBackbone(**config)
    old = {w.path: w for w in converted.backbone.weights}
    new = {w.path: w for w in backbone.weights}
    if sorted(old) != sorted(new):
        raise ConversionError(
            "The preset's config has other weights than the checkpoint: "
            f"{sorted(set(old) ^ set(new))[:10]}"
        )
    for path, variable in new.items():
        if tuple(variable.shape) != tuple(old[path].shape):
            raise ConversionError(
                f"{path}: checkpoint shape {tuple(old[path].shape)}, preset "
                f"expects {tuple(variable.shape)}."
            )
        variable.assign(old[path])
    converted.backbone = backbone
    converted.pretraining_model = None
    return converted


def save_preset(converted, dst, progress=None):
    """Save a `ConvertedModel` as a KerasHub preset directory, atomically.

    The preset holds the backbone and, where the checkpoint has them, the
    task (masked LM, else classifier) with its preprocessor; so
    `MobileBertBackbone.from_preset(dst)` and the matching task's
    `from_preset(dst)` load it offline. A checkpoint's NSP and QA heads have
    no KerasHub task: their weights are saved next to it
    (`nsp_head.weights.npz`, `qa_head.weights.npz`) and the progress output
    says so. `labels.json` holds a classifier's `id2label`.

    Example:
    ```python
    save_preset(convert_snapshot("hf://google/mobilebert-uncased"), "preset")
    ```
    """
    from keras_mobilebert.utils.files import atomic_path

    say = progress or (lambda message: logger.info(message))
    with atomic_path(dst) as tmp:
        if "mlm" in converted.heads and converted.vocabulary is not None:
            task = build_masked_lm(converted)
            say("Saving the masked LM task, backbone and preprocessor")
            task.save_to_preset(str(tmp))
        elif "classifier" in converted.heads and converted.vocabulary:
            task = build_classifier(converted)
            say("Saving the classifier task, backbone and preprocessor")
            task.save_to_preset(str(tmp))
        else:
            say("Saving the backbone")
            converted.backbone.save_to_preset(str(tmp))
            if converted.vocabulary is not None:
                _tokenizer(converted).save_to_preset(str(tmp))
        if converted.nsp_weights is not None:
            np.savez(tmp / "nsp_head.weights.npz", *converted.nsp_weights)
            say("Saved the next-sentence head to nsp_head.weights.npz")
        if converted.qa_weights is not None:
            np.savez(tmp / "qa_head.weights.npz", *converted.qa_weights)
            say("Saved the question-answering head to qa_head.weights.npz")
        if converted.id2label:
            (tmp / "labels.json").write_text(
                json.dumps({str(k): v for k, v in converted.id2label.items()})
            )
    return pathlib.Path(dst)
