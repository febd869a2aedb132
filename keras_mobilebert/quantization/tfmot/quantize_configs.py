"""TF-MOT `QuantizeConfig`s for the twin's custom layers, and which
layers are annotated with which config.

Dense layers, `ReLU` and `Add` take TF-MOT's default 8-bit config (kernel
symmetric, narrow range, per tensor; output 8-bit asymmetric with
moving-average ranges), which is GR's recipe; the configs here cover the
layers TF-MOT does not know.
"""

from keras_mobilebert.quantization.tfmot.imports import quantize
from keras_mobilebert.quantization.tfmot.imports import serializable
from keras_mobilebert.quantization.tfmot.imports import tf_keras
from keras_mobilebert.quantization.tfmot.twin_layers import TwinAttention
from keras_mobilebert.quantization.tfmot.twin_layers import TwinClsToken
from keras_mobilebert.quantization.tfmot.twin_layers import TwinFloatMask
from keras_mobilebert.quantization.tfmot.twin_layers import TwinNoNorm
from keras_mobilebert.quantization.tfmot.twin_layers import (
    TwinPositionEmbedding,
)
from keras_mobilebert.quantization.tfmot.twin_layers import TwinSpanLogits
from keras_mobilebert.quantization.tfmot.twin_layers import TwinTokenEmbedding
from keras_mobilebert.quantization.tfmot.twin_layers import TwinTokenIds


def weight_quantizer():
    """8-bit symmetric, narrow-range, per-tensor (GR's weights)."""
    return quantize.quantizers.LastValueQuantizer(
        num_bits=8, per_axis=False, symmetric=True, narrow_range=True
    )


def activation_quantizer():
    """8-bit asymmetric, moving-average range from [-6, 6] (GR's
    activations)."""
    return quantize.quantizers.MovingAverageQuantizer(
        num_bits=8, per_axis=False, symmetric=False, narrow_range=False
    )


class _WeightsAndOutputQuantizeConfig(quantize.QuantizeConfig):
    """Quantizes the named weights, and the output if `quantize_output`."""

    weight_names = ()
    quantize_output = True

    def get_weights_and_quantizers(self, layer):
        return [
            (getattr(layer, name), weight_quantizer())
            for name in self.weight_names
        ]

    def set_quantize_weights(self, layer, quantize_weights):
        for name, weight in zip(self.weight_names, quantize_weights):
            setattr(layer, name, weight)

    def get_activations_and_quantizers(self, layer):
        return []

    def set_quantize_activations(self, layer, quantize_activations):
        pass

    def get_output_quantizers(self, layer):
        return [activation_quantizer()] if self.quantize_output else []

    def get_config(self):
        return {}


@serializable
class NoNormQuantizeConfig(_WeightsAndOutputQuantizeConfig):
    """`TwinNoNorm`: gamma quantized like a weight, output quantized.

    The input, a residual sum, is quantized by the `Add` before it. Beta is
    left to the converter, as a dense layer's bias is.

    Example:
    ```python
    quantize_annotate_layer(TwinNoNorm(), NoNormQuantizeConfig())
    ```
    """

    weight_names = ("gamma",)


@serializable
class EmbeddingQuantizeConfig(_WeightsAndOutputQuantizeConfig):
    """`TwinTokenEmbedding`: the word table quantized like a weight.

    A gather and the trigram concatenation do not change values, so the
    output needs no quantizer of its own.

    Example:
    ```python
    quantize_annotate_layer(layer, EmbeddingQuantizeConfig())
    ```
    """

    weight_names = ("embeddings",)
    quantize_output = False


@serializable
class PositionEmbeddingQuantizeConfig(_WeightsAndOutputQuantizeConfig):
    """`TwinPositionEmbedding`: the table quantized, the sum quantized.

    Example:
    ```python
    quantize_annotate_layer(layer, PositionEmbeddingQuantizeConfig())
    ```
    """

    weight_names = ("position_embeddings",)


@serializable
class AttentionQuantizeConfig(quantize.QuantizeConfig):
    """`TwinAttention`: the three kernels, Q/K/V outputs, masked scores,
    probabilities and context.

    The masked scores are quantized as the softmax input (TF-MOT quantizes
    a softmax activation before it), the probabilities after it, the
    context as the layer output.

    Example:
    ```python
    quantize_annotate_layer(TwinAttention(2, 4), AttentionQuantizeConfig())
    ```
    """

    dense_names = ("query_dense", "key_dense", "value_dense")

    def get_weights_and_quantizers(self, layer):
        return [
            (getattr(layer, name).kernel, weight_quantizer())
            for name in self.dense_names
        ]

    def set_quantize_weights(self, layer, quantize_weights):
        for name, kernel in zip(self.dense_names, quantize_weights):
            getattr(layer, name).kernel = kernel

    def get_activations_and_quantizers(self, layer):
        activations = [getattr(layer, n).activation for n in self.dense_names]
        activations += [layer.softmax, layer.probabilities_activation]
        return [(a, activation_quantizer()) for a in activations]

    def set_quantize_activations(self, layer, quantize_activations):
        *dense, softmax, probabilities = quantize_activations
        for name, activation in zip(self.dense_names, dense):
            getattr(layer, name).activation = activation
        layer.softmax = softmax
        layer.probabilities_activation = probabilities

    def get_output_quantizers(self, layer):
        return [activation_quantizer()]

    def get_config(self):
        return {}


CUSTOM_OBJECTS = {
    cls.__name__: cls
    for cls in (
        TwinNoNorm,
        TwinTokenIds,
        TwinTokenEmbedding,
        TwinPositionEmbedding,
        TwinFloatMask,
        TwinAttention,
        TwinClsToken,
        TwinSpanLogits,
        NoNormQuantizeConfig,
        EmbeddingQuantizeConfig,
        PositionEmbeddingQuantizeConfig,
        AttentionQuantizeConfig,
    )
}


def quantize_config(layer):
    """How `quantize_aware_tfmot` annotates a twin layer.

    Args:
        layer: a layer of a twin from `build_tf_keras_twin`.

    Returns:
        `(annotate, config)`: whether to annotate the layer, and its
        `QuantizeConfig` (None means TF-MOT's default for the layer class).

    Example:
    ```python
    quantize_config(TwinNoNorm())  # (True, NoNormQuantizeConfig())
    ```
    """
    configs = {
        TwinNoNorm: NoNormQuantizeConfig,
        TwinTokenEmbedding: EmbeddingQuantizeConfig,
        TwinPositionEmbedding: PositionEmbeddingQuantizeConfig,
        TwinAttention: AttentionQuantizeConfig,
    }
    if type(layer) in configs:
        return True, configs[type(layer)]()
    if isinstance(
        layer,
        (tf_keras.layers.Dense, tf_keras.layers.ReLU, tf_keras.layers.Add),
    ):
        return True, None
    # Inputs, id check, float mask, segment table, dropout, LayerNorm, the
    # [CLS] slice and the span logits' slices stay float here (a slice
    # keeps its input's quantization); the converter calibrates any of
    # their outputs that reach an int8 op.
    return False, None
