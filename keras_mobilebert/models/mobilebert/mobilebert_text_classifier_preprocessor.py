"""Packs text into MobileBERT classifier inputs."""

import keras
from keras_hub.models import TextClassifierPreprocessor

from keras_mobilebert.models.mobilebert.builtin_preprocessors import (
    BuiltinPreprocessorMixin,
)
from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
    MobileBertBackbone,
)
from keras_mobilebert.models.mobilebert.mobilebert_tokenizer import (
    MobileBertTokenizer,
)
from keras_mobilebert.models.mobilebert.text_checks import check_not_empty


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class MobileBertTextClassifierPreprocessor(
    BuiltinPreprocessorMixin, TextClassifierPreprocessor
):
    """Tokenize and pack one or two segments as `[CLS] a [SEP] b [SEP]`.

    Outputs `{"token_ids", "padding_mask", "segment_ids"}` padded or
    truncated to `sequence_length`, ready for `MobileBertBackbone`. An empty
    or whitespace-only string is an error.

    Args:
        tokenizer: a `keras_mobilebert.MobileBertTokenizer`.
        sequence_length: int. Length of the packed inputs. Defaults to 128,
            the length MobileBERT is usually fine-tuned and deployed at.
        truncate: string. `"round_robin"` or `"waterfall"`, how to truncate
            several segments to fit.

    Examples:
    ```python
    import tensorflow as tf
    import keras_mobilebert

    preprocessor = (
        keras_mobilebert.MobileBertTextClassifierPreprocessor.from_preset(
            "mobilebert_en_uncased", sequence_length=16
        )
    )
    preprocessor(["The quick brown fox jumped.", "Call me Ishmael."])
    first = tf.constant(["The quick brown fox jumped."])
    second = tf.constant(["The fox tripped."])
    preprocessor(x=(first, second))
    ```
    """

    backbone_cls = MobileBertBackbone
    tokenizer_cls = MobileBertTokenizer

    def __init__(
        self,
        tokenizer,
        sequence_length=128,
        truncate="round_robin",
        **kwargs,
    ):
        super().__init__(
            tokenizer=tokenizer,
            sequence_length=sequence_length,
            truncate=truncate,
            **kwargs,
        )

    def call(self, x, y=None, sample_weight=None):
        return super().call(check_not_empty(x), y, sample_weight)
