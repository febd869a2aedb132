"""Back to Keras 3: a TF-MOT model's trained weights and ranges."""

from keras_mobilebert.quantization.tfmot.imports import quantize
from keras_mobilebert.quantization.tfmot.imports import tf_keras
from keras_mobilebert.quantization.tfmot.twin_builder import ATTENTION_DENSES
from keras_mobilebert.quantization.tfmot.twin_builder import SEPARATOR
from keras_mobilebert.quantization.tfmot.twin_builder import TwinGraph
from keras_mobilebert.quantization.tfmot.twin_builder import copy_float_weights
from keras_mobilebert.quantization.tfmot.twin_layers import TwinClsToken
from keras_mobilebert.quantization.tfmot.twin_layers import TwinTokenEmbedding

# Twin layers whose output has the range of their input.
_RANGE_PRESERVING = (tf_keras.layers.Dropout, TwinClsToken)


def _layer_by_name(model, name):
    try:
        return model.get_layer(name)
    except ValueError:
        return None


def _producer(layer, argument=None):
    """The layer that made `layer`'s positional input (or kwarg)."""
    node = layer.inbound_nodes[0]
    tensor = node.call_args[0] if argument is None else None
    if argument is not None:
        tensor = node.call_kwargs.get(argument)
    if tensor is None:
        return None
    return tensor._keras_history.layer


def _output_range(layer, model):
    """The `{"min_var", "max_var"}` of the fake-quant on a layer's output.

    Reads TF-MOT 0.8's wrapper attributes (`_output_quantizer_vars`, the
    activations' `_post_activation_vars`, `_weight_vars`). A lookup layer
    with only a weight quantizer (the word table) passes that range on;
    dropout and the `[CLS]` slice pass their input's on. None where the
    tensor has no fake-quant (a LayerNorm's output).
    """
    if layer is None:
        return None
    # A tensor's history may name the wrapped layer instead of its wrapper.
    layer = _wrapper(model, layer.name) or layer
    if isinstance(layer, quantize.QuantizeWrapperV2):
        if layer._output_quantizers:
            return layer._output_quantizer_vars
        for activation in reversed(layer._quantize_activations):
            if hasattr(activation, "_post_activation_vars"):
                return activation._post_activation_vars
        if isinstance(layer.layer, TwinTokenEmbedding):
            return layer._weight_vars[0][2]
        inner = layer.layer
    else:
        inner = layer
    if isinstance(inner, _RANGE_PRESERVING):
        return _output_range(_producer(layer), model)
    return None


def _set_range(quantizer, quantizer_vars):
    if quantizer is None or quantizer_vars is None:
        return False
    if getattr(quantizer, "fixed_range", None) is not None:
        return False
    quantizer.range_min.assign(float(quantizer_vars["min_var"].numpy()))
    quantizer.range_max.assign(float(quantizer_vars["max_var"].numpy()))
    quantizer.initialized.assign(1.0)
    return True


def _wrapper(model, name):
    return _layer_by_name(model, "quant_" + name) or _layer_by_name(model, name)


def _ranges(name, attribute, source, qat_model):
    """`[(Keras 3 quantizer, TF-MOT range vars)]` for one twin layer."""
    layer = _wrapper(qat_model, name)
    if not isinstance(layer, quantize.QuantizeWrapperV2):
        return []  # A float twin, or a layer TF-MOT left alone.
    if attribute in ATTENTION_DENSES:
        activations = layer._quantize_activations
        index = ATTENTION_DENSES.index(attribute)
        argument = "value" if attribute == "value_dense" else None
        producer = _producer(layer, argument) or _producer(layer)
        return [
            (
                getattr(source, "output_quantizer", None),
                activations[index]._post_activation_vars,
            ),
            (
                getattr(source, "input_quantizer", None),
                _output_range(producer, qat_model),
            ),
        ]
    # A fused ReLU6 owns the range of the dense layer's activated output.
    relu6 = _wrapper(qat_model, name + SEPARATOR + "relu6")
    output = _output_range(relu6 if relu6 is not None else layer, qat_model)
    return [
        (getattr(source, "output_quantizer", None), output),
        (
            getattr(source, "input_quantizer", None),
            _output_range(_producer(layer), qat_model),
        ),
    ]


def copy_weights_back(qat_model, keras3_model):
    """Copy a TF-MOT model's trained weights (and ranges) to a Keras 3 model.

    What is copied:

    - every float weight, where the twin has it: dense kernels and biases,
      NoNorm and LayerNorm gamma and beta, the word, segment and position
      tables (the twin keeps float weights under TF-MOT's fake-quant, so
      these are the trained values);
    - when `keras3_model` was made by
      `keras_mobilebert.quantization.quantize_aware`, the activation ranges
      too: each `MovingAverageQuantizer` takes the range TF-MOT learned for
      the same tensor (a dense layer's output, or after its ReLU6; its
      input, which is the previous layer's output; a NoNorm's input, the
      residual sum; the attention's Q/K/V outputs and masked scores), and
      is marked initialized.

    What is not: TF-MOT's weight ranges (`quantize_aware` recomputes them
    from the weights at every call) and its optimizer step; ranges of
    tensors TF-MOT does not fake-quantize (the classifier head's
    LayerNorm output feeding the logits layer), which keep their value and
    are listed in the result; the optimizer state.

    Args:
        qat_model: the tf_keras model from `quantize_aware_tfmot`, or a
            float twin from `build_tf_keras_twin`.
        keras3_model: a `MobileBertClassifier`, `MobileBertQuestionAnswerer`
            or `MobileBertBackbone` of the same architecture (the float
            original, or its `quantize_aware` copy).

    Returns:
        A dict: `weights` (number of layers copied), `ranges` (number of
        ranges set) and `ranges_not_set` (paths of Keras 3 quantizers left
        as they were).

    Example:
    ```python
    from keras_mobilebert.quantization import quantize_aware
    from keras_mobilebert.quantization import tfmot as qt

    qat = qt.quantize_aware_tfmot(classifier)
    qat.fit(...)
    qt.copy_weights_back(qat, classifier)  # float weights
    native = quantize_aware(classifier)
    qt.copy_weights_back(qat, native)  # weights and ranges
    ```
    """
    # Only the structure and names matter here, not the activation.
    graph = TwinGraph(keras3_model, activation="relu6")
    copied = copy_float_weights(graph.pairs, qat_model, to_twin=False)
    ranges, not_set = 0, []
    for name, attribute, source in graph.pairs:
        if attribute == "position_embeddings":
            continue
        for quantizer, quantizer_vars in _ranges(
            name, attribute, source, qat_model
        ):
            if quantizer is None:
                continue
            if _set_range(quantizer, quantizer_vars):
                ranges += 1
            elif quantizer.fixed_range is None:
                not_set.append(quantizer.path)
    for name, source in graph.attentions:
        softmax = source.softmax
        if not hasattr(softmax, "input_quantizer"):
            continue
        wrapper = _wrapper(qat_model, name)
        if not isinstance(wrapper, quantize.QuantizeWrapperV2):
            continue
        # The masked scores: the softmax activation's input in TF-MOT.
        scores = wrapper._quantize_activations[3]
        if _set_range(softmax.input_quantizer, scores._pre_activation_vars):
            ranges += 1
    return {"weights": copied, "ranges": ranges, "ranges_not_set": not_set}
