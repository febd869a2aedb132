"""Quantization-aware training in Keras 3 (fake quantization).

`quantize_aware(model)` rebuilds a MobileBERT backbone or classifier with
fake-quantizing leaf layers, copies the weights over and returns a model of
the same API (`fit`, `evaluate`, `predict`, `save_to_preset`,
`from_preset`). What is fake-quantized follows GR's QAT recipe:

- every dense layer: its input and output (8-bit asymmetric, moving-average
  ranges) and its kernel (8-bit symmetric, narrow range, per tensor);
- every NoNorm: its input (which is each residual sum: attention output +
  bottleneck, FFN output + FFN input, bottleneck output + block input, the
  embedding sums) and its output;
- the attention: the masked scores (softmax input) and the probabilities
  (fixed range [0, 1], as LiteRT's int8 softmax has); the context is the
  input of the attention output dense layer.

The attention mask is GR's int8-friendly "fill" mode: masked logits become
exactly -6, computed with a float mask (`scores * mask + (1 - mask) * -6`),
so no quantized Cast appears in the integer graph. ReLU6 is kept wherever
the config asks for it (the `mobilebert_qat_en_uncased` preset does).

`keras.quantizers.fake_quant_with_min_max_vars` lowers to TensorFlow's
FakeQuant ops, which the LiteRT converter turns into int8 kernels with the
learned ranges (`keras_mobilebert.export.to_litert(..., "qat_int8")`).
"""

import functools

import keras
from keras import ops

from keras_mobilebert.layers.attention import mask_attention_scores
from keras_mobilebert.layers.layer_math import MASK_MODES
from keras_mobilebert.layers.no_norm import NoNorm
from keras_mobilebert.layers.substitution import layer_substitution
from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
    MobileBertBackbone,
)
from keras_mobilebert.models.mobilebert.mobilebert_masked_lm import (
    MobileBertMaskedLM,
)
from keras_mobilebert.models.mobilebert.mobilebert_text_classifier import (
    MobileBertClassifier,
)

DEFAULT_EMA_DECAY = 0.999
# GR initializes activation ranges to [-6, 6]; the first training batch
# replaces them with its own range (see `MovingAverageQuantizer`).
INITIAL_RANGE = (-6.0, 6.0)


def fake_quant_weight(kernel, num_bits=8):
    """Symmetric, narrow-range, per-tensor fake quantization of a weight.

    The range is `[-max|w|, max|w|]` with `2^num_bits - 1` levels, zero
    exactly representable; LiteRT's int8 weights are symmetric the same way.
    Gradients pass straight through (the range is not trained).

    Args:
        kernel: float tensor.
        num_bits: int.

    Example:
    ```python
    fake_quant_weight(np.array([0.5, -1.0, 0.25], "float32"))
    ```
    """
    bound = ops.stop_gradient(ops.maximum(ops.max(ops.abs(kernel)), 1e-8))
    return keras.quantizers.fake_quant_with_min_max_vars(
        kernel, -bound, bound, num_bits=num_bits, narrow_range=True
    )


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class MovingAverageQuantizer(keras.layers.Layer):
    """8-bit asymmetric fake quantization with moving-average ranges.

    In training, the range tracks the batch minimum and maximum (always
    including zero) with an exponential moving average of decay `ema_decay`;
    the very first training batch sets the range directly, so a short QAT
    fine-tune does not spend its steps walking away from the initial
    `[-6, 6]`. In inference the stored range is used as is.

    Args:
        num_bits: int. Bit width.
        ema_decay: float. Decay of the moving average.
        fixed_range: optional `(min, max)`. A constant range instead of a
            learned one (e.g. `(0, 1)` for probabilities).
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Example:
    ```python
    quantizer = MovingAverageQuantizer()
    quantizer(np.ones((2, 3), "float32"), training=True)
    ```
    """

    def __init__(
        self,
        num_bits=8,
        ema_decay=DEFAULT_EMA_DECAY,
        fixed_range=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_bits = num_bits
        self.ema_decay = ema_decay
        self.fixed_range = None if fixed_range is None else tuple(fixed_range)

    def build(self, input_shape):
        if self.fixed_range is None:
            self.range_min = self.add_weight(
                name="range_min",
                shape=(),
                initializer=keras.initializers.Constant(INITIAL_RANGE[0]),
                trainable=False,
            )
            self.range_max = self.add_weight(
                name="range_max",
                shape=(),
                initializer=keras.initializers.Constant(INITIAL_RANGE[1]),
                trainable=False,
            )
            self.initialized = self.add_weight(
                name="initialized",
                shape=(),
                initializer="zeros",
                trainable=False,
            )
        self.built = True

    def call(self, inputs, training=None):
        if self.fixed_range is not None:
            low, high = self.fixed_range
        elif training:
            x = ops.stop_gradient(ops.cast(inputs, "float32"))
            batch_min = ops.minimum(ops.min(x), 0.0)
            batch_max = ops.maximum(ops.max(x), 0.0)
            decay = self.ema_decay
            started = ops.cast(self.initialized > 0.5, "float32")
            low = (
                started * (decay * self.range_min + (1.0 - decay) * batch_min)
                + (1.0 - started) * batch_min
            )
            high = (
                started * (decay * self.range_max + (1.0 - decay) * batch_max)
                + (1.0 - started) * batch_max
            )
            self.range_min.assign(low)
            self.range_max.assign(high)
            self.initialized.assign(1.0)
        else:
            low, high = self.range_min, self.range_max
        outputs = keras.quantizers.fake_quant_with_min_max_vars(
            ops.cast(inputs, "float32"),
            low,
            high,
            num_bits=self.num_bits,
            narrow_range=False,
        )
        return ops.cast(outputs, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_bits": self.num_bits,
                "ema_decay": self.ema_decay,
                "fixed_range": self.fixed_range,
            }
        )
        return config


def _quantizer(layer, name, fixed_range=None):
    quantizer = MovingAverageQuantizer(
        num_bits=layer.num_bits,
        ema_decay=layer.ema_decay,
        fixed_range=fixed_range,
        dtype=layer.dtype_policy,
        name=name,
    )
    quantizer.build(None)
    return quantizer


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class QuantDense(keras.layers.Dense):
    """`keras.layers.Dense` with fake-quantized input, kernel and output.

    Args:
        *args: `keras.layers.Dense` arguments.
        num_bits: int. Bit width.
        ema_decay: float. Decay of the activation ranges' moving average.
        **kwargs: `keras.layers.Dense` keyword arguments.

    Example:
    ```python
    layer = QuantDense(4)
    layer(np.ones((2, 3), "float32"))
    ```
    """

    def __init__(
        self, *args, num_bits=8, ema_decay=DEFAULT_EMA_DECAY, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.num_bits = num_bits
        self.ema_decay = ema_decay

    def build(self, input_shape):
        self.input_quantizer = _quantizer(self, "input_quantizer")
        self.output_quantizer = _quantizer(self, "output_quantizer")
        super().build(input_shape)

    def call(self, inputs, training=None):
        x = self.input_quantizer(inputs, training=training)
        y = ops.matmul(x, fake_quant_weight(self.kernel, self.num_bits))
        if self.bias is not None:
            y = ops.add(y, self.bias)
        if self.activation is not None:
            y = self.activation(y)
        return self.output_quantizer(y, training=training)

    def get_config(self):
        config = super().get_config()
        config.update({"num_bits": self.num_bits, "ema_decay": self.ema_decay})
        return config


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class QuantNoNorm(NoNorm):
    """`NoNorm` with fake-quantized input (the residual sum) and output.

    Args:
        num_bits: int. Bit width.
        ema_decay: float. Decay of the activation ranges' moving average.
        **kwargs: `NoNorm` arguments.

    Example:
    ```python
    QuantNoNorm()(np.ones((1, 2, 4), "float32"))
    ```
    """

    def __init__(self, num_bits=8, ema_decay=DEFAULT_EMA_DECAY, **kwargs):
        super().__init__(**kwargs)
        self.num_bits = num_bits
        self.ema_decay = ema_decay

    def build(self, input_shape):
        self.input_quantizer = _quantizer(self, "input_quantizer")
        self.output_quantizer = _quantizer(self, "output_quantizer")
        super().build(input_shape)

    def call(self, inputs, training=None):
        x = self.input_quantizer(inputs, training=training)
        return self.output_quantizer(super().call(x), training=training)

    def get_config(self):
        config = super().get_config()
        config.update({"num_bits": self.num_bits, "ema_decay": self.ema_decay})
        return config


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class QuantSoftmax(keras.layers.Layer):
    """Softmax over fake-quantized logits, probabilities quantized on [0, 1].

    Stands in for the attention's `keras.layers.Softmax` (same call with
    `inputs` and an optional `mask`). The logits range is learned; the
    probabilities use the fixed range [0, 1], as LiteRT's int8 softmax does.
    A `mask` goes through the attention's own masking function
    (`mask_attention_scores`) before the logits are quantized, so masked
    logits become exactly -6 in the default `"fill"` mode and stay inside
    the quantized range (MobileBERT's attention masks its scores itself and
    passes no mask here).

    Args:
        axis: int. The softmax axis.
        mask_mode: string. `"fill"` (-6, default) or `"additive"`; see
            `keras_mobilebert.layers.attention.mask_attention_scores`.
        num_bits: int. Bit width.
        ema_decay: float. Decay of the logits' moving-average range.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Example:
    ```python
    QuantSoftmax()(np.zeros((1, 1, 2, 2), "float32"))
    ```
    """

    def __init__(
        self,
        axis=-1,
        mask_mode="fill",
        num_bits=8,
        ema_decay=DEFAULT_EMA_DECAY,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if mask_mode not in MASK_MODES:
            raise ValueError(
                f"Unknown mask_mode {mask_mode!r}; expected one of "
                f"{MASK_MODES}."
            )
        self.axis = axis
        self.mask_mode = mask_mode
        self.num_bits = num_bits
        self.ema_decay = ema_decay
        # Created and built here, not in build(): MobileBertAttention
        # computes its output spec without calling the softmax, so build()
        # would only run at the first real call, after the model's weights
        # were listed (and an untrained model would save without them).
        self.input_quantizer = _quantizer(self, "input_quantizer")
        self.output_quantizer = _quantizer(
            self, "output_quantizer", fixed_range=(0.0, 1.0)
        )
        self.built = True

    def call(self, inputs, mask=None, training=None):
        x = inputs
        if mask is not None:
            x = mask_attention_scores(x, mask, self.mask_mode)
        x = self.input_quantizer(x, training=training)
        y = ops.softmax(x, axis=self.axis)
        return self.output_quantizer(y, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "axis": self.axis,
                "mask_mode": self.mask_mode,
                "num_bits": self.num_bits,
                "ema_decay": self.ema_decay,
            }
        )
        return config


def fake_quant_scope(num_bits=8, ema_decay=DEFAULT_EMA_DECAY):
    """A scope in which MobileBERT layers build fake-quantizing leaves.

    Args:
        num_bits: int. Bit width of weights and activations.
        ema_decay: float. Decay of the activation ranges' moving average.

    Example:
    ```python
    with fake_quant_scope():
        backbone = keras_mobilebert.MobileBertBackbone(**config)
    ```
    """
    kwargs = {"num_bits": num_bits, "ema_decay": ema_decay}
    return layer_substitution(
        dense=functools.partial(QuantDense, **kwargs),
        no_norm=functools.partial(QuantNoNorm, **kwargs),
        softmax=functools.partial(QuantSoftmax, **kwargs),
    )


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class QuantizedMobileBertBackbone(MobileBertBackbone):
    """A `MobileBertBackbone` whose leaf layers fake-quantize (QAT).

    Same arguments and outputs as `MobileBertBackbone`, plus the
    quantization settings; saved and loaded like any backbone preset.
    Usually made with `quantize_aware(backbone)`.

    Args:
        quantization_num_bits: int. Bit width.
        quantization_ema_decay: float. Decay of the activation ranges.
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
        **kwargs,
    ):
        with fake_quant_scope(quantization_num_bits, quantization_ema_decay):
            super().__init__(*args, **kwargs)
        self.quantization_num_bits = quantization_num_bits
        self.quantization_ema_decay = quantization_ema_decay

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "quantization_num_bits": self.quantization_num_bits,
                "quantization_ema_decay": self.quantization_ema_decay,
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


def is_quantize_aware(model):
    """Whether a model (backbone or task) was made by `quantize_aware`.

    Example:
    ```python
    is_quantize_aware(quantize_aware(classifier))  # True
    ```
    """
    backbone = getattr(model, "backbone", model)
    return isinstance(backbone, QuantizedMobileBertBackbone)


def _weight_key(variable):
    # Drop the model's own name: the copies may be named differently.
    return variable.path.split("/", 1)[-1]


def copy_matching_weights(source, target):
    """Copy each weight of `source` to the weight of `target` at its path.

    Weights only the target has (the quantization ranges) keep their
    initial values. Returns the number of weights copied.

    Example:
    ```python
    copy_matching_weights(float_classifier, qat_classifier)
    ```
    """
    by_key = {_weight_key(v): v for v in source.weights}
    matched = set()
    for variable in target.weights:
        key = _weight_key(variable)
        match = by_key.get(key)
        if match is None:
            continue
        if tuple(match.shape) != tuple(variable.shape):
            raise ValueError(
                f"Weight {variable.path} has shape {variable.shape} in the "
                f"quantized model but {match.shape} in the source."
            )
        variable.assign(match)
        matched.add(key)
    missing = sorted(set(by_key) - matched)
    if missing:
        raise ValueError(
            f"{len(missing)} weights of the source model have no place in "
            f"the quantized model, e.g. {missing[:3]}."
        )
    copied = len(matched)
    return copied


def quantize_aware(
    model,
    attention_mask_mode="fill",
    activation=None,
    num_bits=8,
    ema_decay=DEFAULT_EMA_DECAY,
):
    """Make a quantization-aware copy of a MobileBERT backbone or classifier.

    The copy has the same architecture and weights, with fake quantization
    on every dense input, kernel and output, on every NoNorm input (the
    residual sums) and output, and on the attention logits and
    probabilities; see the module docstring. Fine-tune it with `fit` (a
    lower learning rate than float fine-tuning), then export it with
    `keras_mobilebert.export.to_litert(model, path, "qat_int8")`. The copy
    saves and reloads like the original (`save_to_preset`, `from_preset`).

    Args:
        model: a `MobileBertClassifier`, `MobileBertMaskedLM` or
            `MobileBertBackbone` (float).
        attention_mask_mode: string or None. The attention mask of the
            copy; `"fill"` (GR's -6, default) keeps masked logits in an
            int8-friendly range. None keeps the model's.
        activation: string or None. Replace the FFN activation (`"relu6"`
            as in GR's QAT config); None keeps the model's. Changing it
            changes the function: fine-tune afterwards.
        num_bits: int. Bit width of weights and activations.
        ema_decay: float. Decay of the activation ranges' moving average.

    Returns:
        A `QuantizedMobileBertClassifier`, `QuantizedMobileBertMaskedLM`
        or `QuantizedMobileBertBackbone`, uncompiled.

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
    if isinstance(model, MobileBertMaskedLM):
        # Imported here: that module builds on this one.
        from keras_mobilebert.quantization.masked_lm import (
            quantize_aware_masked_lm,
        )

        return quantize_aware_masked_lm(
            model,
            attention_mask_mode=attention_mask_mode,
            activation=activation,
            num_bits=num_bits,
            ema_decay=ema_decay,
        )
    if isinstance(model, MobileBertClassifier):
        backbone = model.backbone
    elif isinstance(model, MobileBertBackbone):
        backbone = model
    else:
        raise TypeError(
            "quantize_aware takes a MobileBertClassifier, "
            "MobileBertMaskedLM or MobileBertBackbone; received "
            f"{type(model).__name__}."
        )
    config = backbone.get_config()
    if attention_mask_mode is not None:
        config["attention_mask_mode"] = attention_mask_mode
    if activation is not None:
        config["activation"] = activation
    config["quantization_num_bits"] = num_bits
    config["quantization_ema_decay"] = ema_decay
    qat_backbone = QuantizedMobileBertBackbone.from_config(config)
    if model is backbone:
        copy_matching_weights(backbone, qat_backbone)
        return qat_backbone
    task_config = {
        key: value
        for key, value in model.get_config().items()
        if key in ("num_classes", "activation", "dropout", "name")
        or key == "pooled_normalization"
    }
    qat = QuantizedMobileBertClassifier(
        backbone=qat_backbone, preprocessor=model.preprocessor, **task_config
    )
    copy_matching_weights(model, qat)
    return qat
