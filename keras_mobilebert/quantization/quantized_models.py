"""The quantization-aware MobileBERT classes (fake-quantizing leaves).

Each is a registered subclass of a float MobileBERT class whose layers are
built inside `fake_quant_scope`, so it trains, saves and reloads like the
float class (`from_preset` on a QAT preset returns it, ranges included).
`keras_mobilebert.quantization.quantize_aware` makes them from float
models.
"""

import keras

from keras_mobilebert.models.mobilebert import MobileBertBackbone
from keras_mobilebert.models.mobilebert import MobileBertClassifier
from keras_mobilebert.models.mobilebert import MobileBertMaskedLM
from keras_mobilebert.models.mobilebert import MobileBertQuestionAnswerer
from keras_mobilebert.quantization.fake_quant import DEFAULT_EMA_DECAY
from keras_mobilebert.quantization.fake_quant import fake_quant_scope


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class QuantizedMobileBertBackbone(MobileBertBackbone):
    """A `MobileBertBackbone` whose leaf layers fake-quantize (QAT).

    Same arguments and outputs as `MobileBertBackbone`, plus the
    quantization settings; saved and loaded like any backbone preset.
    Usually made with `quantize_aware(backbone)`.

    Args:
        quantization_num_bits: int. Bit width.
        quantization_ema_decay: float. Decay of the activation ranges.
        quantization_symmetric_key_value: bool. Quantize the attention's
            keys and values on symmetric ranges (int8 zero point 0, so
            XNNPACK runs the exported file's attention matmuls; see
            `fake_quant_scope`). `quantize_aware` sets it; False (the
            default here) keeps the asymmetric ranges of presets saved
            before the option existed, which `to_litert` then makes
            symmetric at export (verified against the model).
        **kwargs: `MobileBertBackbone` arguments.

    Example:
    ```python
    backbone = QuantizedMobileBertBackbone(
        vocabulary_size=100, num_layers=2, num_heads=2, hidden_dim=16,
        intermediate_dim=8, embedding_dim=8, bottleneck_dim=8,
        attention_mask_mode="fill",
    )
    ```
    """

    def __init__(
        self,
        *args,
        quantization_num_bits=8,
        quantization_ema_decay=DEFAULT_EMA_DECAY,
        quantization_symmetric_key_value=False,
        **kwargs,
    ):
        with fake_quant_scope(
            quantization_num_bits,
            quantization_ema_decay,
            quantization_symmetric_key_value,
        ):
            super().__init__(*args, **kwargs)
        self.quantization_num_bits = quantization_num_bits
        self.quantization_ema_decay = quantization_ema_decay
        self.quantization_symmetric_key_value = quantization_symmetric_key_value

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "quantization_num_bits": self.quantization_num_bits,
                "quantization_ema_decay": self.quantization_ema_decay,
                "quantization_symmetric_key_value": (
                    self.quantization_symmetric_key_value
                ),
            }
        )
        return config


class QuantizedTaskMixin:
    """Builds a MobileBERT task on a quantization-aware backbone.

    Mixed in before the task class (`class Q(QuantizedTaskMixin, Task)`):
    the task's head layers are created inside `fake_quant_scope`, so its
    dense layers fake-quantize like the backbone's. KerasHub's
    `from_preset` picks the task class by its backbone class
    (`backbone_cls`), so `Task.from_preset` on a QAT preset lands on the
    quantized class.

    Example:
    ```python
    class QuantizedTask(QuantizedTaskMixin, MobileBertClassifier):
        pass
    ```
    """

    backbone_cls = QuantizedMobileBertBackbone

    def __init__(self, backbone, *args, **kwargs):
        if not isinstance(backbone, QuantizedMobileBertBackbone):
            raise TypeError(
                f"{type(self).__name__} needs a QuantizedMobileBertBackbone; "
                "make it with quantize_aware(model)."
            )
        # The head's dense layers are never named key or value: only the
        # bit width and decay matter here.
        with fake_quant_scope(
            backbone.quantization_num_bits, backbone.quantization_ema_decay
        ):
            super().__init__(backbone, *args, **kwargs)


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class QuantizedMobileBertClassifier(QuantizedTaskMixin, MobileBertClassifier):
    """A `MobileBertClassifier` whose head dense layer fake-quantizes too.

    Its backbone is a `QuantizedMobileBertBackbone`. Usually made with
    `quantize_aware(classifier)`; saved and loaded like any classifier
    preset (`MobileBertClassifier.from_preset` finds this class).

    Args:
        backbone: a `QuantizedMobileBertBackbone`.
        **kwargs: `MobileBertClassifier` arguments.

    Example:
    ```python
    qat = QuantizedMobileBertClassifier(backbone=qat_backbone, num_classes=2)
    ```
    """


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class QuantizedMobileBertMaskedLM(QuantizedTaskMixin, MobileBertMaskedLM):
    """A `MobileBertMaskedLM` on a quantization-aware backbone.

    The masked-LM head's transform dense layer fake-quantizes too (it is
    built in the fake-quant scope). The head's LayerNorm and its tied
    output matmul stay float in Keras: the int8 export
    (`to_litert(..., "qat_int8")`) takes their ranges from the
    representative data, as it does for the classifier's LayerNorm.
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


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class QuantizedMobileBertQuestionAnswerer(
    QuantizedTaskMixin, MobileBertQuestionAnswerer
):
    """A `MobileBertQuestionAnswerer` whose span head fake-quantizes too.

    Its backbone is a `QuantizedMobileBertBackbone`; the span head's dense
    layer is built in the fake-quant scope, so its input, kernel and the
    start and end logits are fake-quantized like the encoder's. Usually
    made with `quantize_aware(question_answerer)`; it fits, answers, saves
    and loads like any question-answerer preset
    (`MobileBertQuestionAnswerer.from_preset` finds this class), and
    exports with `to_litert(qat, path, "qat_int8")`.

    Args:
        backbone: a `QuantizedMobileBertBackbone`.
        preprocessor: a `MobileBertQuestionAnswererPreprocessor` or None.
        **kwargs: `MobileBertQuestionAnswerer` arguments.

    Example:
    ```python
    qat = QuantizedMobileBertQuestionAnswerer(backbone=qat_backbone)
    ```
    """


def is_quantize_aware(model):
    """Whether a model (backbone or task) was made by `quantize_aware`.

    Example:
    ```python
    is_quantize_aware(quantize_aware(classifier))  # True
    ```
    """
    backbone = getattr(model, "backbone", model)
    return isinstance(backbone, QuantizedMobileBertBackbone)
