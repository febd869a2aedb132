"""Keras MobileBERT models as Hugging Face snapshots `transformers` loads."""

import json
import os
import pathlib

import numpy as np

from keras_mobilebert.convert.hf_config import hf_config_from_backbone
from keras_mobilebert.convert.weight_files import write_safetensors
from keras_mobilebert.convert.weights import ConversionError
from keras_mobilebert.convert.weights import backbone_entries
from keras_mobilebert.convert.weights import classifier_head_entries
from keras_mobilebert.convert.weights import export_tensors
from keras_mobilebert.convert.weights import masked_lm_head_entries
from keras_mobilebert.convert.weights import next_sentence_head_entries
from keras_mobilebert.convert.weights import question_answering_head_entries
from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
    MobileBertBackbone,
)
from keras_mobilebert.models.mobilebert.mobilebert_masked_lm import (
    MobileBertMaskedLM,
)
from keras_mobilebert.models.mobilebert.mobilebert_pretraining_model import (  # noqa: E501
    MobileBertPreTrainingModel,
)
from keras_mobilebert.models.mobilebert.mobilebert_question_answerer import (  # noqa: E501
    MobileBertQuestionAnswerer,
)
from keras_mobilebert.models.mobilebert.mobilebert_text_classifier import (
    MobileBertTextClassifier,
)
from keras_mobilebert.utils.files import atomic_path


def export_to_huggingface(
    model, dst, vocabulary=None, lowercase=None, strict=True, strip_accents=None
):
    """Save a Keras MobileBERT as an HF snapshot `transformers` can load.

    Writes `config.json`, `model.safetensors` and, when a vocabulary is
    known (the model's preprocessor, or `vocabulary`), `vocab.txt` and
    `tokenizer_config.json`, atomically. The HF class follows the model:
    backbone -> `MobileBertModel`, masked LM -> `MobileBertForMaskedLM`,
    pre-training model -> `MobileBertForPreTraining`, classifier ->
    `MobileBertForSequenceClassification`, question answerer ->
    `MobileBertForQuestionAnswering`.

    Args:
        model: a backbone or one of the task models above.
        dst: output directory.
        vocabulary: optional list of tokens or path to a vocabulary file.
        lowercase: optional bool; defaults to the tokenizer's setting.
        strict: bool. Raise where HF would compute different numbers (see
            `hf_config_from_backbone`).
        strip_accents: optional bool; defaults to the tokenizer's setting
            (with `lowercase` given, to `lowercase`, as HF's `None`).

    Example:
    ```python
    export_to_huggingface(backbone, "hf_snapshot", vocabulary="vocab.txt")
    transformers.MobileBertModel.from_pretrained("hf_snapshot")
    ```
    """
    if isinstance(model, MobileBertBackbone):
        backbone = model
    else:
        backbone = model.backbone
    config = hf_config_from_backbone(backbone, strict=strict)
    entries = backbone_entries(backbone)
    if isinstance(model, MobileBertBackbone):
        architecture = "MobileBertModel"
    elif isinstance(model, MobileBertPreTrainingModel):
        architecture = "MobileBertForPreTraining"
        entries += masked_lm_head_entries(model.masked_lm_head)
        entries += next_sentence_head_entries(model.next_sentence_head)
    elif isinstance(model, MobileBertMaskedLM):
        architecture = "MobileBertForMaskedLM"
        entries += masked_lm_head_entries(model.masked_lm_head)
    elif isinstance(model, MobileBertTextClassifier):
        architecture = "MobileBertForSequenceClassification"
        if model.pooled_norm is not None:
            raise ConversionError(
                "This classifier normalizes the pooled output "
                "(pooled_normalization='layer_norm'), which HF's "
                "MobileBertForSequenceClassification cannot represent."
            )
        if (
            model.activation is not None
            and model.activation.__name__ != "linear"
        ):
            raise ConversionError(
                "HF's sequence classifier outputs logits; this classifier "
                f"applies the activation {model.activation.__name__!r}."
            )
        entries += classifier_head_entries(model.output_dense)
        labels = getattr(model, "id2label", None) or {
            i: f"LABEL_{i}" for i in range(model.num_classes)
        }
        config["id2label"] = {str(k): v for k, v in labels.items()}
        config["label2id"] = {v: int(k) for k, v in labels.items()}
        config["classifier_dropout"] = model.dropout
    elif isinstance(model, MobileBertQuestionAnswerer):
        architecture = "MobileBertForQuestionAnswering"
        entries += question_answering_head_entries(model.span_head)
    else:
        raise ConversionError(
            f"Cannot export a {type(model).__name__} to Hugging Face."
        )
    config["architectures"] = [architecture]
    tensors = {
        name: value.astype(np.float32)
        for name, value in export_tensors(entries, "hf").items()
    }
    if architecture == "MobileBertModel":
        tensors = {
            name[len("mobilebert.") :]: value for name, value in tensors.items()
        }
    preprocessor = getattr(model, "preprocessor", None)
    tokenizer = getattr(preprocessor, "tokenizer", None)
    if vocabulary is None and tokenizer is not None:
        vocabulary = tokenizer.get_vocabulary()
        if lowercase is None:
            lowercase = tokenizer.lowercase
        if strip_accents is None:
            strip_accents = tokenizer.strip_accents
    if isinstance(vocabulary, (str, os.PathLike)):
        vocabulary = (
            pathlib.Path(vocabulary).read_text(encoding="utf-8").splitlines()
        )
    if vocabulary is not None and len(vocabulary) != backbone.vocabulary_size:
        raise ConversionError(
            f"The vocabulary has {len(vocabulary)} tokens but the backbone's "
            f"vocabulary_size is {backbone.vocabulary_size}."
        )
    with atomic_path(dst) as tmp:
        tmp.mkdir()
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        write_safetensors(
            tensors, tmp / "model.safetensors", metadata={"format": "pt"}
        )
        if vocabulary is not None:
            (tmp / "vocab.txt").write_text(
                "\n".join(vocabulary) + "\n", encoding="utf-8"
            )
            (tmp / "tokenizer_config.json").write_text(
                json.dumps(
                    {
                        "tokenizer_class": "MobileBertTokenizer",
                        "do_lower_case": bool(
                            True if lowercase is None else lowercase
                        ),
                        # null: follows do_lower_case, as in HF.
                        "strip_accents": strip_accents,
                        "model_max_length": backbone.max_sequence_length,
                    },
                    indent=2,
                )
                + "\n"
            )
    return pathlib.Path(dst)
