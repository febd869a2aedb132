"""Int8 keys and values with zero point 0, so XNNPACK runs the attention.

In a full-integer LiteRT file the two attention matmuls (`Q K^T` and
`P V`) are int8 BATCH_MATMULs. The XNNPACK delegate takes an int8
BATCH_MATMUL only when its right-hand input (K, V) has zero point 0
("non-zero zero point of input 1 is not supported"); post-training
quantization gives every activation an asymmetric range, hence a zero
point that is almost never 0, and the matmuls fall back to LiteRT's builtin
kernels. On MobileBERT (24 blocks, sequence 128, 2 threads) those 46
fallbacks take 39% of the int8 file's time, which is why it was barely
faster than float32.

`symmetric_attention_ranges(model, data)` returns a copy whose key and value
projections end in a fake quantizer with a symmetric range `[-b, b]`
(narrow range, so zero is exactly representable and the int8 zero point is
0), `b` being the largest magnitude seen on `data`. The converter keeps
these ranges and calibrates every other tensor on the representative data
as usual; the file's K and V then have zero point 0 and the delegate takes
every matmul. The float copy differs from the original only by rounding K
and V to 255 levels.
"""

import keras
import numpy as np
from keras import ops

from keras_mobilebert.layers.substitution import layer_substitution
from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
    MobileBertBackbone,
)
from keras_mobilebert.models.rebuild import rebuild_with_config
from keras_mobilebert.quantization.fake_quant import KEY_VALUE_DENSE_NAMES


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class SymmetricRangeDense(keras.layers.Dense):
    """A `Dense` whose output is fake-quantized to a symmetric int8 range.

    The range is `[-output_bound, output_bound]` with 255 levels
    (narrow range): int8 zero point 0. `output_bound` is a non-trainable
    weight set by calibration (`calibrating = True` makes calls record the
    largest output magnitude instead of quantizing).

    Args:
        *args, **kwargs: those of `keras.layers.Dense`.

    Example:
    ```python
    layer = SymmetricRangeDense(8, name="key")
    ```
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calibrating = False

    def build(self, input_shape):
        super().build(input_shape)
        self.output_bound = self.add_weight(
            name="output_bound",
            shape=(),
            initializer="zeros",
            trainable=False,
        )

    def call(self, inputs, training=None):
        outputs = super().call(inputs)
        if self.calibrating:
            peak = ops.max(ops.abs(ops.cast(outputs, "float32")))
            self.output_bound.assign(ops.maximum(self.output_bound, peak))
            return outputs
        bound = ops.maximum(self.output_bound, 1e-8)
        return keras.quantizers.fake_quant_with_min_max_vars(
            outputs, -bound, bound, num_bits=8, narrow_range=True
        )


def _dense_class(*args, name=None, **kwargs):
    symmetric = name in KEY_VALUE_DENSE_NAMES
    cls = SymmetricRangeDense if symmetric else keras.layers.Dense
    return cls(*args, name=name, **kwargs)


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class SymmetricAttentionMobileBertBackbone(MobileBertBackbone):
    """A `MobileBertBackbone` whose keys and values use `SymmetricRangeDense`.

    Same config and weights as the backbone it copies, plus one
    `output_bound` per key and value projection. Build it with
    `symmetric_attention_ranges`, which also calibrates the bounds.

    Args:
        **kwargs: the `MobileBertBackbone` config.

    Example:
    ```python
    copy = symmetric_attention_ranges(classifier, texts)
    ```
    """

    def __init__(self, **kwargs):
        with layer_substitution(dense=_dense_class):
            super().__init__(**kwargs)


def _batches(model, data, batch_size):
    data = list(data)
    if not data:
        raise ValueError("symmetric_attention_ranges needs calibration data.")
    if isinstance(data[0], str):
        preprocessor = getattr(model, "preprocessor", None)
        if preprocessor is None:
            raise ValueError(
                "Texts were given but the model has no preprocessor; pass "
                "dicts of token_ids, padding_mask and segment_ids."
            )
        for start in range(0, len(data), batch_size):
            x = preprocessor(data[start : start + batch_size])
            yield x[0] if isinstance(x, tuple) else x
        return
    for start in range(0, len(data), batch_size):
        chunk = data[start : start + batch_size]
        yield {
            key: np.concatenate([np.reshape(d[key], (1, -1)) for d in chunk])
            for key in ("token_ids", "padding_mask", "segment_ids")
        }


def symmetric_attention_ranges(model, data, batch_size=16):
    """A copy of `model` whose int8 keys and values get zero point 0.

    Export the copy with `to_litert(copy, path, quantization="int8",
    representative_data=...)`: XNNPACK then runs every attention matmul of
    the file instead of LiteRT's builtin int8 kernels.

    Args:
        model: a `MobileBertBackbone` or a task built on one.
        data: calibration data: a list of strings (tokenized with the
            model's preprocessor) or of dicts with `token_ids`,
            `padding_mask` and `segment_ids` (one sequence each). Use the
            representative data of the int8 export.
        batch_size: int.

    Returns:
        The calibrated copy (same class of task, backbone a
        `SymmetricAttentionMobileBertBackbone`).

    Example:
    ```python
    copy = symmetric_attention_ranges(classifier, train_texts[:200])
    to_litert(copy, "model.tflite", quantization="int8",
              representative_data=train_texts[:200])
    ```
    """
    copy = rebuild_with_config(
        model,
        backbone_cls=SymmetricAttentionMobileBertBackbone,
        allow_new_weights=True,
    )
    backbone = getattr(copy, "backbone", copy)
    layers = [
        dense
        for block in backbone.transformer_layers
        for dense in (block.attention.key_dense, block.attention.value_dense)
    ]
    for layer in layers:
        layer.calibrating = True
    try:
        for batch in _batches(model, data, batch_size):
            backbone(batch, training=False)
    finally:
        for layer in layers:
            layer.calibrating = False
    return copy
