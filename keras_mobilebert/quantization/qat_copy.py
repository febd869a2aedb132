"""`quantize_aware`: the quantization-aware copy of a float MobileBERT.

The copy is the float model rebuilt from its whole config as the
quantization-aware class of its kind (`QUANTIZE_AWARE_CLASSES`), with every
weight copied to the same path (`keras_mobilebert.models.rebuild`); only the
quantizers' ranges are new. It keeps the model's API (`fit`, `evaluate`,
`predict`, `save_to_preset`, `from_preset`).

The attention mask of the copy is GR's int8-friendly "fill" mode by
default: masked logits become exactly -6, computed with a float mask
(`scores * mask + (1 - mask) * -6`), so no quantized Cast appears in the
integer graph. ReLU6 is kept wherever the config asks for it (the
`mobilebert_qat_en_uncased` preset does).
"""

from keras_mobilebert.models.mobilebert import MobileBertBackbone
from keras_mobilebert.models.mobilebert import MobileBertClassifier
from keras_mobilebert.models.mobilebert import MobileBertMaskedLM
from keras_mobilebert.models.mobilebert import MobileBertQuestionAnswerer
from keras_mobilebert.models.rebuild import rebuild_with_config
from keras_mobilebert.quantization.fake_quant import DEFAULT_EMA_DECAY
from keras_mobilebert.quantization.quantized_models import (
    QuantizedMobileBertBackbone,
)
from keras_mobilebert.quantization.quantized_models import (
    QuantizedMobileBertClassifier,
)
from keras_mobilebert.quantization.quantized_models import (
    QuantizedMobileBertMaskedLM,
)
from keras_mobilebert.quantization.quantized_models import (
    QuantizedMobileBertQuestionAnswerer,
)
from keras_mobilebert.quantization.quantized_models import is_quantize_aware

# Float class -> its quantization-aware class. A model is rebuilt as the
# class of the first entry it is an instance of; a task's backbone always
# becomes a `QuantizedMobileBertBackbone`.
QUANTIZE_AWARE_CLASSES = (
    (MobileBertClassifier, QuantizedMobileBertClassifier),
    (MobileBertMaskedLM, QuantizedMobileBertMaskedLM),
    (MobileBertQuestionAnswerer, QuantizedMobileBertQuestionAnswerer),
    (MobileBertBackbone, QuantizedMobileBertBackbone),
)


def quantize_aware_class(model):
    """The quantization-aware class `quantize_aware` rebuilds `model` as.

    Args:
        model: a float MobileBERT backbone or task.

    Raises:
        TypeError: no entry of `QUANTIZE_AWARE_CLASSES` takes the model.

    Example:
    ```python
    quantize_aware_class(classifier)  # QuantizedMobileBertClassifier
    ```
    """
    for float_cls, quantized_cls in QUANTIZE_AWARE_CLASSES:
        if isinstance(model, float_cls):
            return quantized_cls
    names = ", ".join(cls.__name__ for cls, _ in QUANTIZE_AWARE_CLASSES)
    raise TypeError(
        f"quantize_aware takes one of {names}; received {type(model).__name__}."
    )


def quantize_aware(
    model,
    attention_mask_mode="fill",
    activation=None,
    num_bits=8,
    ema_decay=DEFAULT_EMA_DECAY,
    symmetric_key_value=True,
):
    """Make a quantization-aware copy of a MobileBERT backbone or task.

    The copy has the same architecture and weights, with fake quantization
    on every dense input, kernel and output, on every NoNorm input (the
    residual sums) and output, and on the attention logits and
    probabilities (see `keras_mobilebert.quantization.fake_quant`); a
    masked LM's head transform and a question answerer's span head
    fake-quantize too. Fine-tune it with `fit` (a lower learning rate than
    float fine-tuning), then export it with
    `keras_mobilebert.export.to_litert(model, path, "qat_int8")`. The copy
    saves and reloads like the original (`save_to_preset`, `from_preset`).

    Args:
        model: a `MobileBertClassifier`, `MobileBertMaskedLM`,
            `MobileBertQuestionAnswerer` or `MobileBertBackbone` (float).
        attention_mask_mode: string or None. The attention mask of the
            copy; `"fill"` (GR's -6, default) keeps masked logits in an
            int8-friendly range. None keeps the model's.
        activation: string or None. Replace the FFN activation (`"relu6"`
            as in GR's QAT config); None keeps the model's. Changing it
            changes the function: fine-tune afterwards.
        num_bits: int. Bit width of weights and activations.
        ema_decay: float. Decay of the activation ranges' moving average.
        symmetric_key_value: bool. Quantize the attention's keys and values
            on symmetric ranges (int8 zero point 0): XNNPACK then runs every
            attention matmul of the `"qat_int8"` file (with asymmetric
            ranges they fall back to LiteRT's slower builtin kernels).

    Returns:
        A `QuantizedMobileBertClassifier`, `QuantizedMobileBertMaskedLM`,
        `QuantizedMobileBertQuestionAnswerer` or
        `QuantizedMobileBertBackbone`, uncompiled.

    Example:
    ```python
    import keras_mobilebert
    from keras_mobilebert.quantization import quantize_aware

    classifier = keras_mobilebert.MobileBertClassifier.from_preset(
        "my_classifier"
    )
    qat = quantize_aware(classifier)
    qat.compile(optimizer=keras.optimizers.Adam(1e-5))
    qat.fit(x=["a fine film", "a dull film"], y=[1, 0], batch_size=2)
    ```
    """
    if is_quantize_aware(model):
        raise ValueError("The model is already quantization-aware.")
    quantized_cls = quantize_aware_class(model)
    changes = {
        "quantization_num_bits": num_bits,
        "quantization_ema_decay": ema_decay,
        "quantization_symmetric_key_value": symmetric_key_value,
    }
    if attention_mask_mode is not None:
        changes["attention_mask_mode"] = attention_mask_mode
    if activation is not None:
        changes["activation"] = activation
    return rebuild_with_config(
        model,
        backbone_changes=changes,
        backbone_cls=QuantizedMobileBertBackbone,
        task_cls=quantized_cls,
        # The quantizers' ranges are the only new weights.
        allow_new_weights=True,
    )
