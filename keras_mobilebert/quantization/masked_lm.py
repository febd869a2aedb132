"""Quantization-aware training of the MobileBERT masked language model.

`quantize_aware(masked_lm)` lands here. The backbone is made
quantization-aware as for a classifier; the masked-LM head's transform
dense layer fake-quantizes too (it is built in the fake-quant scope). The
head's LayerNorm and its tied output matmul stay float in Keras: the
int8 export (`to_litert(..., "qat_int8")`) takes their ranges from the
representative data, as it does for the classifier's LayerNorm.
"""

import keras

from keras_mobilebert.models.mobilebert.mobilebert_masked_lm import (
    MobileBertMaskedLM,
)
from keras_mobilebert.quantization.fake_quant import QuantizedTaskMixin
from keras_mobilebert.quantization.fake_quant import copy_matching_weights
from keras_mobilebert.quantization.fake_quant import quantize_aware


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class QuantizedMobileBertMaskedLM(QuantizedTaskMixin, MobileBertMaskedLM):
    """A `MobileBertMaskedLM` on a quantization-aware backbone.

    Usually made with `quantize_aware(masked_lm)`; saved and loaded like
    any masked-LM preset (`MobileBertMaskedLM.from_preset` finds this
    class).

    Args:
        backbone: a `QuantizedMobileBertBackbone`.
        preprocessor: a `MobileBertMaskedLMPreprocessor` or None.
        **kwargs: `MobileBertMaskedLM` arguments.

    Example:
    ```python
    qat = QuantizedMobileBertMaskedLM(backbone=qat_backbone)
    ```
    """


def quantize_aware_masked_lm(masked_lm, **backbone_options):
    """A quantization-aware copy of a `MobileBertMaskedLM`.

    Called by `quantize_aware`, which documents the options.

    Args:
        masked_lm: a float `MobileBertMaskedLM`.
        **backbone_options: `quantize_aware` options for the backbone
            (`attention_mask_mode`, `activation`, `num_bits`, `ema_decay`).

    Returns:
        A `QuantizedMobileBertMaskedLM`, uncompiled, with the weights of
        `masked_lm` (the tied word table included).

    Example:
    ```python
    qat = quantize_aware_masked_lm(masked_lm, attention_mask_mode="fill")
    ```
    """
    qat = QuantizedMobileBertMaskedLM(
        backbone=quantize_aware(masked_lm.backbone, **backbone_options),
        preprocessor=masked_lm.preprocessor,
        name=masked_lm.name,
    )
    copy_matching_weights(masked_lm, qat)
    return qat
