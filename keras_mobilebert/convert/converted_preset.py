"""A `ConvertedModel` into a KerasHub preset directory.

The preset is written by `keras_mobilebert.models.preset_writer.save_preset`
(atomic, no optimizer state); this module decides what goes in it: the task
the checkpoint's heads make, and the heads no KerasHub task holds.
"""

import io
import json
import logging
import pathlib

import numpy as np

from keras_mobilebert.convert.task_builders import build_classifier
from keras_mobilebert.convert.task_builders import build_masked_lm
from keras_mobilebert.convert.task_builders import build_question_answerer
from keras_mobilebert.convert.task_builders import build_tokenizer
from keras_mobilebert.convert.weights import ConversionError
from keras_mobilebert.models.mobilebert.mobilebert_question_answerer import (  # noqa: E501
    MobileBertQuestionAnswerer,
)
from keras_mobilebert.models.preset_writer import save_preset as write_preset
from keras_mobilebert.models.rebuild import rebuild_with_config

logger = logging.getLogger("keras_mobilebert.convert")


def apply_preset_config(converted, config):
    """Rebuild `converted.backbone` with a preset's config, same weights.

    A built-in preset states every field (the QAT preset runs MobileBERT's
    weights with ReLU6 and the -6 mask); the weights must fit it exactly.
    The pre-training model, built around the old backbone, is dropped.

    Args:
        converted: a `ConvertedModel`; changed in place.
        config: dict. `MobileBertBackbone` arguments.

    Returns:
        `converted`.

    Raises:
        ConversionError: the config cannot be built, or its weights differ
            from the checkpoint's (a name or a shape).

    Example:
    ```python
    converted = convert_snapshot("hf://google/mobilebert-uncased")
    apply_preset_config(
        converted, backbone_presets["mobilebert_qat_en_uncased"]["config"]
    )
    ```
    """
    current = converted.backbone.get_config()
    if all(current.get(k) == v for k, v in config.items()):
        return converted
    try:
        backbone = rebuild_with_config(
            converted.backbone, backbone_changes=config
        )
    except (TypeError, ValueError) as e:
        raise ConversionError(
            f"The preset's config does not fit the weights of "
            f"{converted.source}: {e}"
        ) from e
    converted.backbone = backbone
    converted.pretraining_model = None
    return converted


def _npz_bytes(arrays):
    buffer = io.BytesIO()
    np.savez(buffer, *arrays)
    return buffer.getvalue()


def save_preset(converted, dst, progress=None):
    """Save a `ConvertedModel` as a KerasHub preset directory, atomically.

    The preset holds the backbone and, where the checkpoint has them, the
    task (masked LM, else classifier, else question answerer) with its
    preprocessor; so `MobileBertBackbone.from_preset(dst)` and the matching
    task's `from_preset(dst)` load it offline. A SQuAD checkpoint (HF
    `MobileBertForQuestionAnswering`) becomes a `MobileBertQuestionAnswerer`
    preset with 384-token windows. A checkpoint's NSP head has no KerasHub
    task: its weights are saved next to it (`nsp_head.weights.npz`), as is
    a span head beside another task (`qa_head.weights.npz`), and the
    progress output says so. `labels.json` holds a classifier's
    `id2label`.

    Args:
        converted: a `ConvertedModel`.
        dst: str or path. The preset directory to write.
        progress: optional callable taking a message string.

    Returns:
        `dst` as a `pathlib.Path`.

    Example:
    ```python
    save_preset(convert_snapshot("hf://google/mobilebert-uncased"), "preset")
    ```
    """
    say = progress or (lambda message: logger.info(message))
    tokenizer = None
    if "mlm" in converted.heads and converted.vocabulary is not None:
        model = build_masked_lm(converted)
        say("Saving the masked LM task, backbone and preprocessor")
    elif "classifier" in converted.heads and converted.vocabulary:
        model = build_classifier(converted)
        say("Saving the classifier task, backbone and preprocessor")
    elif "qa" in converted.heads and converted.vocabulary:
        model = build_question_answerer(converted)
        say("Saving the question-answering task, backbone and preprocessor")
    else:
        model = converted.backbone
        if converted.vocabulary is not None:
            tokenizer = build_tokenizer(converted)
        say("Saving the backbone")
    extra_files = {}
    if converted.nsp_weights is not None:
        extra_files["nsp_head.weights.npz"] = _npz_bytes(converted.nsp_weights)
    qa_head_aside = converted.qa_weights is not None and not isinstance(
        model, MobileBertQuestionAnswerer
    )
    if qa_head_aside:
        extra_files["qa_head.weights.npz"] = _npz_bytes(converted.qa_weights)
    if converted.id2label:
        labels = {str(k): v for k, v in converted.id2label.items()}
        extra_files["labels.json"] = json.dumps(labels).encode()
    write_preset(model, dst, tokenizer=tokenizer, extra_files=extra_files)
    if converted.nsp_weights is not None:
        say("Saved the next-sentence head to nsp_head.weights.npz")
    if qa_head_aside:
        say("Saved the question-answering head to qa_head.weights.npz")
    return pathlib.Path(dst)
