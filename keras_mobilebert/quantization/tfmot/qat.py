"""Quantization-aware training with TF-MOT: annotate, apply, calibrate."""

import numpy as np

from keras_mobilebert.quantization.tfmot.imports import quantize
from keras_mobilebert.quantization.tfmot.imports import tf_keras
from keras_mobilebert.quantization.tfmot.quantize_configs import CUSTOM_OBJECTS
from keras_mobilebert.quantization.tfmot.quantize_configs import quantize_config
from keras_mobilebert.quantization.tfmot.twin_builder import build_tf_keras_twin


def quantize_aware_tfmot(
    model,
    attention_mask_mode="fill",
    activation=None,
    calibration_inputs=None,
):
    """Make a TF-MOT quantization-aware tf_keras copy of a Keras 3 model.

    Builds the tf_keras twin (`build_tf_keras_twin`), annotates every dense
    layer, residual sum, NoNorm, embedding and attention with TF-MOT's
    default or this module's `QuantizeConfig`s inside `quantize_scope`, and
    runs `tfmot.quantization.keras.quantize_apply`. The result is a plain
    tf_keras functional model: `compile` it with a tf_keras optimizer and
    `fit` it on preprocessed inputs (dicts of `token_ids`, `segment_ids`,
    `padding_mask`), then write it with
    `keras_mobilebert.export.export_tfmot_int8` and bring the weights home
    with `copy_weights_back`.

    Args:
        model: a `MobileBertClassifier`, `MobileBertQuestionAnswerer` or
            `MobileBertBackbone` (float). A question answerer's twin
            outputs `{"start_logits", "end_logits"}`: fit it on windows
            (`qa.preprocessor.encode(x, y).inputs()` and `.labels()`).
        attention_mask_mode: string or None. `"fill"` (GR's -6, default)
            keeps masked logits in an int8-friendly range; None keeps the
            model's.
        activation: string or None. `"relu6"` as in GR's QAT config (then
            fine-tune); None keeps the model's (relu or relu6).
        calibration_inputs: optional batch (dict of `token_ids`,
            `segment_ids`, `padding_mask`) to start the activation ranges
            from (`calibrate_ranges`) instead of TF-MOT's [-6, 6].
            Recommended for short fine-tunes.

    Returns:
        A quantization-aware `tf_keras.Model`, uncompiled.

    Example:
    ```python
    import tf_keras
    from keras_mobilebert.export import export_tfmot_int8
    from keras_mobilebert.quantization import tfmot as qt

    x = classifier.preprocessor(["a fine film", "a dull film"])
    qat = qt.quantize_aware_tfmot(classifier, calibration_inputs=x)
    qat.compile(
        optimizer=tf_keras.optimizers.Adam(1e-4),
        loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    qat.fit(x=x, y=[1, 0], batch_size=2)
    export_tfmot_int8(qat, "model_int8.tflite")
    ```
    """
    twin = build_tf_keras_twin(model, attention_mask_mode, activation)

    def annotate(layer):
        clone = layer.__class__.from_config(layer.get_config())
        wanted, config = quantize_config(layer)
        if not wanted:
            return clone
        return quantize.quantize_annotate_layer(clone, config)

    with quantize.quantize_scope(CUSTOM_OBJECTS):
        annotated = tf_keras.models.clone_model(twin, clone_function=annotate)
        annotated.set_weights(twin.get_weights())
        qat = quantize.quantize_apply(annotated)
    if calibration_inputs is not None:
        calibrate_ranges(qat, calibration_inputs)
    return qat


# The decay of TF-MOT 0.8's moving-average ranges (`MovingAvgQuantize`).
TFMOT_EMA_DECAY = 0.999


def _is_activation_range(variable):
    # Output, pre- and post-activation ranges move by EMA; weight ranges
    # (`kernel_min`, `gamma_max`...) are the weights' last values.
    name = variable.name.split("/")[-1].split(":")[0]
    return name.rsplit("_", 1)[0] in (
        "output",
        "pre_activation",
        "post_activation",
    )


def calibrate_ranges(qat_model, inputs):
    """Start every activation range at its value on one batch.

    TF-MOT starts activation ranges at [-6, 6] (GR's initial range) and moves
    them by an exponential moving average of decay 0.999, so a short QAT
    fine-tune ends with ranges still near [-6, 6]: coarse 8-bit steps for
    activations of order 1, and larger differences between the int8 file
    and the QAT model. This runs one forward pass in training mode (no
    weight update) and inverts that one moving-average step, which leaves
    each range at the batch's own minimum and maximum (zero included), as
    `quantize_aware`'s first training batch does.

    Args:
        qat_model: a model from `quantize_aware_tfmot`.
        inputs: a batch, a dict of `token_ids`, `segment_ids`,
            `padding_mask`.

    Returns:
        The number of range variables set.

    Example:
    ```python
    qat = qt.quantize_aware_tfmot(classifier)
    qt.calibrate_ranges(qat, classifier.preprocessor(texts[:64]))
    qat.fit(...)
    ```
    """
    ranges = [v for v in qat_model.weights if _is_activation_range(v)]
    before = [np.float64(v.numpy()) for v in ranges]
    qat_model(inputs, training=True)
    decay = TFMOT_EMA_DECAY
    for variable, old in zip(ranges, before):
        new = np.float64(variable.numpy())
        variable.assign((new - decay * old) / (1.0 - decay))
    return len(ranges)
