"""Fake-quantizing layers for quantization-aware training in Keras 3.

The quantizer (`MovingAverageQuantizer`, `fake_quant_weight`) and the
leaf layers that use it (`QuantDense`, `QuantNoNorm`, `QuantSoftmax`);
`fake_quant_scope` makes MobileBERT's layers build these leaves instead
of their float ones. What is fake-quantized follows GR's QAT recipe:

- every dense layer: its input and output (8-bit asymmetric, moving-average
  ranges) and its kernel (8-bit symmetric, narrow range, per tensor);
- every NoNorm: its input (which is each residual sum: attention output +
  bottleneck, FFN output + FFN input, bottleneck output + block input, the
  embedding sums) and its output;
- the attention: the masked scores (softmax input) and the probabilities
  (fixed range [0, 1], as LiteRT's int8 softmax has); the context is the
  input of the attention output dense layer.

One departure from GR (`fake_quant_scope`'s `symmetric_key_value`, which
`quantize_aware` turns on): the outputs of the key and value projections, the
right-hand inputs of the two attention matmuls, get a symmetric
narrow-range quantizer (zero point 0). LiteRT's XNNPACK delegate runs an
int8 BATCH_MATMUL only when that input's zero point is 0; with GR's
asymmetric ranges every attention matmul of the file falls back to
LiteRT's builtin kernel (docs/performance.md: int8 time x0.46 on 24
blocks).

`keras.quantizers.fake_quant_with_min_max_vars` lowers to TensorFlow's
FakeQuant ops, which the LiteRT converter turns into int8 kernels with the
learned ranges. The model classes built from these layers are in
`quantized_models.py`; `quantize_aware` (in `qat_copy.py`) makes them.
"""

import functools

import keras
from keras import ops

from keras_mobilebert.layers.attention import mask_attention_scores
from keras_mobilebert.layers.layer_math import MASK_MODES
from keras_mobilebert.layers.no_norm import NoNorm
from keras_mobilebert.layers.substitution import layer_substitution

DEFAULT_EMA_DECAY = 0.999
# What `MobileBertAttention` names the dense layers whose outputs are the
# right-hand inputs of the attention matmuls (`Q K^T`, `P V`).
KEY_VALUE_DENSE_NAMES = ("key", "value")
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
    """8-bit fake quantization with moving-average ranges.

    In training, the range tracks the batch minimum and maximum (always
    including zero) with an exponential moving average of decay `ema_decay`;
    the very first training batch sets the range directly, so a short QAT
    fine-tune does not spend its steps walking away from the initial
    `[-6, 6]`. In inference the stored range is used as is.

    Asymmetric by default (`[min, max]`, 256 levels). With
    `symmetric=True` the same tracked range is used as `[-b, b]`,
    `b = max(-min, max)`, with 255 levels (narrow range): zero is exactly
    representable and the int8 zero point is 0. The stored weights are the
    same in both cases.

    Args:
        num_bits: int. Bit width.
        ema_decay: float. Decay of the moving average.
        fixed_range: optional `(min, max)`. A constant range instead of a
            learned one (e.g. `(0, 1)` for probabilities).
        symmetric: bool. Quantize on `[-b, b]`, narrow range.
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
        symmetric=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_bits = num_bits
        self.ema_decay = ema_decay
        self.fixed_range = None if fixed_range is None else tuple(fixed_range)
        self.symmetric = symmetric

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
        if self.symmetric:
            bound = ops.maximum(ops.maximum(-low, high), 1e-8)
            low, high = -bound, bound
        outputs = keras.quantizers.fake_quant_with_min_max_vars(
            ops.cast(inputs, "float32"),
            low,
            high,
            num_bits=self.num_bits,
            narrow_range=self.symmetric,
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
                "symmetric": self.symmetric,
            }
        )
        return config


def _quantizer(layer, name, fixed_range=None, symmetric=False):
    quantizer = MovingAverageQuantizer(
        num_bits=layer.num_bits,
        ema_decay=layer.ema_decay,
        fixed_range=fixed_range,
        symmetric=symmetric,
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
        symmetric_output: bool. Quantize the output on a symmetric range
            (int8 zero point 0; see `MovingAverageQuantizer`).
        **kwargs: `keras.layers.Dense` keyword arguments.

    Example:
    ```python
    layer = QuantDense(4)
    layer(np.ones((2, 3), "float32"))
    ```
    """

    def __init__(
        self,
        *args,
        num_bits=8,
        ema_decay=DEFAULT_EMA_DECAY,
        symmetric_output=False,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.num_bits = num_bits
        self.ema_decay = ema_decay
        self.symmetric_output = symmetric_output

    def build(self, input_shape):
        self.input_quantizer = _quantizer(self, "input_quantizer")
        self.output_quantizer = _quantizer(
            self, "output_quantizer", symmetric=self.symmetric_output
        )
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
        config.update(
            {
                "num_bits": self.num_bits,
                "ema_decay": self.ema_decay,
                "symmetric_output": self.symmetric_output,
            }
        )
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


def _quant_dense(*args, symmetric_key_value, name=None, **kwargs):
    symmetric = symmetric_key_value and name in KEY_VALUE_DENSE_NAMES
    return QuantDense(*args, name=name, symmetric_output=symmetric, **kwargs)


def fake_quant_scope(
    num_bits=8, ema_decay=DEFAULT_EMA_DECAY, symmetric_key_value=False
):
    """A scope in which MobileBERT layers build fake-quantizing leaves.

    Args:
        num_bits: int. Bit width of weights and activations.
        ema_decay: float. Decay of the activation ranges' moving average.
        symmetric_key_value: bool. The attention's key and value dense
            layers quantize their outputs on symmetric ranges (int8 zero
            point 0, so XNNPACK runs the file's attention matmuls).

    Example:
    ```python
    with fake_quant_scope(symmetric_key_value=True):
        backbone = keras_mobilebert.MobileBertBackbone(**config)
    ```
    """
    kwargs = {"num_bits": num_bits, "ema_decay": ema_decay}
    return layer_substitution(
        dense=functools.partial(
            _quant_dense, symmetric_key_value=symmetric_key_value, **kwargs
        ),
        no_norm=functools.partial(QuantNoNorm, **kwargs),
        softmax=functools.partial(QuantSoftmax, **kwargs),
    )
