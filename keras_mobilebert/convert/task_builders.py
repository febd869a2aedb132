"""Task models from a `ConvertedModel`: masked LM, classifier, QA, pre-training.

Each builder puts the checkpoint's head weights on the converted backbone;
`from_preset` (`hf_preset_source`) and the preset writer
(`converted_preset`) call them.
"""

import logging

from keras_mobilebert.convert.weights import ConversionError
from keras_mobilebert.models.mobilebert.mobilebert_masked_lm import (
    MobileBertMaskedLM,
)
from keras_mobilebert.models.mobilebert.mobilebert_masked_lm_preprocessor import (  # noqa: E501
    MobileBertMaskedLMPreprocessor,
)
from keras_mobilebert.models.mobilebert.mobilebert_question_answerer import (  # noqa: E501
    MobileBertQuestionAnswerer,
)
from keras_mobilebert.models.mobilebert.mobilebert_question_answerer_preprocessor import (  # noqa: E501
    MobileBertQuestionAnswererPreprocessor,
)
from keras_mobilebert.models.mobilebert.mobilebert_text_classifier import (
    MobileBertTextClassifier,
)
from keras_mobilebert.models.mobilebert.mobilebert_text_classifier_preprocessor import (  # noqa: E501
    MobileBertTextClassifierPreprocessor,
)
from keras_mobilebert.models.mobilebert.mobilebert_tokenizer import (
    MobileBertTokenizer,
)

logger = logging.getLogger("keras_mobilebert.convert")


def build_tokenizer(converted):
    """A `MobileBertTokenizer` with the vocabulary of a `ConvertedModel`.

    Raises a `ConversionError` when the snapshot has no vocabulary, or one
    whose size differs from the config's `vocab_size`.

    Args:
        converted: a `ConvertedModel`.

    Example:
    ```python
    tokenizer = build_tokenizer(convert_snapshot("./mobilebert-uncased"))
    ```
    """
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
        vocabulary=converted.vocabulary,
        lowercase=converted.lowercase,
        strip_accents=converted.strip_accents,
    )


def _sequence_length(backbone, default=128):
    """The preprocessors' default length, capped by the position table."""
    return min(default, backbone.max_sequence_length)


# GR run_squad.py's windows: 384 tokens, 64 of them at most the question.
QA_SEQUENCE_LENGTH = 384
QA_QUESTION_SHARE = 6


def question_answerer_preprocessor(tokenizer, max_sequence_length, **kwargs):
    """A `MobileBertQuestionAnswererPreprocessor` for a converted model.

    GR's defaults (384-token windows, questions of up to 64 pieces), the
    window capped by the position table, and the question by a sixth of
    the window (GR's 64 of 384) when the window is shorter.

    Args:
        tokenizer: a `MobileBertTokenizer`.
        max_sequence_length: int. The backbone's position table.
        **kwargs: other preprocessor arguments, which win.

    Example:
    ```python
    question_answerer_preprocessor(tokenizer, backbone.max_sequence_length)
    ```
    """
    length = kwargs.pop(
        "sequence_length", min(QA_SEQUENCE_LENGTH, max_sequence_length)
    )
    kwargs.setdefault(
        "max_question_length",
        min(64, max(1, length // QA_QUESTION_SHARE)),
    )
    return MobileBertQuestionAnswererPreprocessor(
        tokenizer, sequence_length=length, **kwargs
    )


def build_masked_lm(converted, preprocessor=True, **kwargs):
    """A `MobileBertMaskedLM` from a `ConvertedModel`.

    Raises a `ConversionError` if the checkpoint has no MLM head.

    Args:
        converted: a `ConvertedModel`.
        preprocessor: True for a `MobileBertMaskedLMPreprocessor` with the
            snapshot's vocabulary, a preprocessor, or None/False for none.
        **kwargs: other `MobileBertMaskedLM` arguments.

    Example:
    ```python
    masked_lm = build_masked_lm(convert_snapshot("./mobilebert-uncased"))
    ```
    """
    if preprocessor is True:
        preprocessor = MobileBertMaskedLMPreprocessor(
            build_tokenizer(converted),
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
    """A `MobileBertTextClassifier` from a `ConvertedModel`.

    With a sequence-classification checkpoint and `num_classes` None or equal
    to its label count, the head is HF's (and `pooled_normalization`
    defaults to None and `dropout` to HF's, so logits equal HF's); otherwise
    the head is new and randomly initialized. `model.id2label` holds the
    label names.

    Args:
        converted: a `ConvertedModel`.
        num_classes: int or None. None takes the checkpoint head's count.
        preprocessor: True for a `MobileBertTextClassifierPreprocessor`
            with the snapshot's vocabulary, a preprocessor, or None/False.
        **kwargs: other `MobileBertTextClassifier` arguments.

    Example:
    ```python
    classifier = build_classifier(convert_snapshot("./sst2-mobilebert"))
    classifier.id2label  # {0: 'negative', 1: 'positive'}
    ```
    """
    if preprocessor is True:
        preprocessor = MobileBertTextClassifierPreprocessor(
            build_tokenizer(converted),
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
    model = MobileBertTextClassifier(
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


def build_question_answerer(converted, preprocessor=True):
    """A `MobileBertQuestionAnswerer` from a `ConvertedModel`.

    The span head is the checkpoint's (HF `qa_outputs`, GR `cls/squad`),
    so start and end logits equal the source framework's. Raises a
    `ConversionError` if the checkpoint has no span head.

    Args:
        converted: a `ConvertedModel`.
        preprocessor: True for a `MobileBertQuestionAnswererPreprocessor`
            with the snapshot's tokenizer (384-token windows, see
            `question_answerer_preprocessor`) when the snapshot has a
            vocabulary, a preprocessor, or None/False for none.

    Example:
    ```python
    qa = build_question_answerer(convert_snapshot("./squad-mobilebert"))
    qa.answer("Who jumped?", "The quick brown fox jumped.")
    ```
    """
    if converted.qa_weights is None:
        raise ConversionError(
            f"{converted.source} has no question-answering head (qa_outputs.*)."
        )
    if preprocessor is True:
        preprocessor = None
        if converted.vocabulary is not None:
            preprocessor = question_answerer_preprocessor(
                build_tokenizer(converted),
                converted.backbone.max_sequence_length,
            )
    model = MobileBertQuestionAnswerer(
        converted.backbone, preprocessor=preprocessor or None
    )
    model.span_head.set_weights(converted.qa_weights)
    return model


def build_pretraining_model(converted):
    """A `MobileBertPreTrainingModel` (MLM + NSP) from a `ConvertedModel`.

    Args:
        converted: a `ConvertedModel` of a checkpoint with both heads.

    Example:
    ```python
    teacher = build_pretraining_model(convert_tf1_checkpoint("./ib_bert"))
    ```
    """
    if converted.pretraining_model is None:
        raise ConversionError(
            f"{converted.source} does not have both pre-training heads "
            "(cls.predictions.* and cls.seq_relationship.*)."
        )
    return converted.pretraining_model
