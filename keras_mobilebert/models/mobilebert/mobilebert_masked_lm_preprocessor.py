"""Preprocessing for MobileBERT masked language modeling."""

import keras
from keras_hub.models import MaskedLMPreprocessor

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
class MobileBertMaskedLMPreprocessor(
    BuiltinPreprocessorMixin, MaskedLMPreprocessor
):
    """Tokenize, pack and dynamically mask text for `MobileBertMaskedLM`.

    Yields `(x, y, sample_weight)` with `x = {token_ids, padding_mask,
    segment_ids, mask_positions}`, `y` the original ids at the masked
    positions and `sample_weight` 1 for real masks, 0 for padding. BERT's
    masking: 15% of tokens selected, of which 80% become `[MASK]`, 10% a
    random token and 10% stay. An empty or whitespace-only text (nothing
    to mask) is an error.

    Args:
        tokenizer: a `keras_mobilebert.MobileBertTokenizer`.
        sequence_length: int. Length of the packed inputs.
        truncate: string. `"round_robin"` or `"waterfall"`.
        mask_selection_rate: float. Share of tokens selected for masking.
        mask_selection_length: int. Maximum masks per sequence.
        mask_token_rate: float. Share of selected tokens set to `[MASK]`.
        random_token_rate: float. Share set to a random token.

    Example:
    ```python
    import keras_mobilebert

    preprocessor = keras_mobilebert.MobileBertMaskedLMPreprocessor.from_preset(
        "mobilebert_en_uncased", sequence_length=32
    )
    x, y, sample_weight = preprocessor(["The quick brown fox jumped."])
    ```
    """

    backbone_cls = MobileBertBackbone
    tokenizer_cls = MobileBertTokenizer

    def __init__(
        self,
        tokenizer,
        sequence_length=128,
        truncate="round_robin",
        mask_selection_rate=0.15,
        mask_selection_length=20,
        mask_token_rate=0.8,
        random_token_rate=0.1,
        **kwargs,
    ):
        super().__init__(
            tokenizer=tokenizer,
            sequence_length=sequence_length,
            truncate=truncate,
            mask_selection_rate=mask_selection_rate,
            mask_selection_length=mask_selection_length,
            mask_token_rate=mask_token_rate,
            random_token_rate=random_token_rate,
            **kwargs,
        )

    def call(self, x, y=None, sample_weight=None):
        return super().call(check_not_empty(x), y, sample_weight)
