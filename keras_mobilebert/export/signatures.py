"""The model side of an export: its kind, its signature, its outputs.

A LiteRT file has one signature with int32 inputs named `ids`, `mask` and
`segment_ids` (what the TFLite Task Library and MediaPipe look for), plus
`mask_positions` for a masked LM; the Keras model takes `token_ids`,
`padding_mask`, `segment_ids`. This module maps one onto the other and
runs the model the way the file will be run.

A classifier file outputs `probabilities`: a softmax over the classes is
part of its graph (MediaPipe's `TextClassifier`, the Task Library and
Model Maker's classifiers report and threshold the output as
probabilities), while the Keras model keeps returning logits, as
KerasHub's classifiers do. A classifier with one output (a regression
head) or with an output activation of its own keeps its raw output,
named `logits`. A question answerer's file outputs `end_logits` and
`start_logits` (the names the Task Library's `BertQuestionAnswerer`
looks for).
"""

import keras
import numpy as np
import tensorflow as tf

from keras_mobilebert.utils.numerics import softmax

INPUT_NAMES = ("ids", "mask", "segment_ids")
# Keras input name of each TFLite input name.
KERAS_INPUTS = {
    "ids": "token_ids",
    "mask": "padding_mask",
    "segment_ids": "segment_ids",
}
# The mask_positions width when the model's preprocessor does not say.
DEFAULT_MASK_POSITIONS = 20
# The output of a classifier file: a softmax over the logits, or the
# model's own output.
PROBABILITIES = "probabilities"
LOGITS = "logits"
# A question answerer's outputs; the file lists them in this (sorted)
# order, which the Task Library assumes when a file has no metadata.
SPAN_OUTPUTS = ("end_logits", "start_logits")


def model_kind(model):
    """`"classifier"`, `"masked_lm"`, `"question_answerer"` or `"backbone"`.

    Args:
        model: a KerasHub text classifier, masked LM or backbone, or a
            `MobileBertQuestionAnswerer`.

    Raises:
        TypeError: any other model.

    Example:
    ```python
    model_kind(classifier)  # "classifier"
    ```
    """
    from keras_hub.models import Backbone
    from keras_hub.models import MaskedLM
    from keras_hub.models import TextClassifier

    from keras_mobilebert.models.mobilebert.mobilebert_question_answerer import (  # noqa: E501
        MobileBertQuestionAnswerer,
    )

    if isinstance(model, MobileBertQuestionAnswerer):
        return "question_answerer"
    if isinstance(model, TextClassifier):
        return "classifier"
    if isinstance(model, MaskedLM):
        return "masked_lm"
    if isinstance(model, Backbone):
        return "backbone"
    raise TypeError(
        "to_litert exports a KerasHub text classifier, masked LM or backbone "
        "taking token_ids, segment_ids and padding_mask, or a "
        f"MobileBertQuestionAnswerer; received {type(model).__name__}."
    )


def backbone_of(model):
    """A task's backbone, or the model itself.

    Example:
    ```python
    backbone_of(classifier) is classifier.backbone  # True
    ```
    """
    return getattr(model, "backbone", model)


def default_sequence_length(model):
    """The preprocessor's length, else 128 (or the backbone's maximum).

    Example:
    ```python
    default_sequence_length(classifier)
    ```
    """
    preprocessor = getattr(model, "preprocessor", None)
    length = getattr(preprocessor, "sequence_length", None)
    if length:
        return int(length)
    limit = getattr(backbone_of(model), "max_sequence_length", None)
    return min(128, int(limit)) if limit else 128


def mask_positions_length(model):
    """The width of a masked LM's `mask_positions` input.

    Example:
    ```python
    mask_positions_length(masked_lm)
    ```
    """
    preprocessor = getattr(model, "preprocessor", None)
    length = getattr(preprocessor, "mask_selection_length", None)
    return int(length) if length else DEFAULT_MASK_POSITIONS


def input_specs(model, kind, sequence_length, dynamic_shape):
    """The `tf.TensorSpec`s of the file's signature, in order.

    Args:
        model: the model (a masked LM's sets the `mask_positions` width).
        kind: string. See `model_kind`.
        sequence_length: int. The fixed length.
        dynamic_shape: bool. `[None, None]` instead of `[1, length]`.

    Example:
    ```python
    input_specs(classifier, "classifier", 128, dynamic_shape=False)
    ```
    """
    shape = [None, None] if dynamic_shape else [1, sequence_length]
    specs = [tf.TensorSpec(shape, tf.int32, name=n) for n in INPUT_NAMES]
    if kind == "masked_lm":
        positions = [None, None]
        if not dynamic_shape:
            positions = [1, mask_positions_length(model)]
        specs.append(tf.TensorSpec(positions, tf.int32, name="mask_positions"))
    return specs


def classifier_output(model):
    """The output of a classifier's file: `"probabilities"` or `"logits"`.

    `"probabilities"` (the file adds a softmax) for more than one class and
    no output activation of the model's own; else `"logits"`, the model's
    output as it is (a one-output regression head, or a classifier that
    applies its own activation).

    Args:
        model: a KerasHub classifier, or the tf_keras twin of one (no
            `activation` attribute: it outputs logits).

    Example:
    ```python
    classifier_output(classifier)  # "probabilities"
    ```
    """
    classes = getattr(model, "num_classes", None)
    if classes is None:
        classes = model.output.shape[-1]
    activation = getattr(model, "activation", None)
    name = getattr(activation, "__name__", None)
    if int(classes) > 1 and name in (None, "linear"):
        return PROBABILITIES
    return LOGITS


def classifier_scores(outputs):
    """A classifier file's one output, whichever its name.

    Example:
    ```python
    classifier_scores(run_tflite(tflite_bytes, samples)).argmax(-1)
    ```
    """
    for name in (PROBABILITIES, LOGITS):
        if name in outputs:
            return outputs[name]
    raise KeyError(
        f"A classifier file outputs {PROBABILITIES!r} or {LOGITS!r}; this "
        f"one has {sorted(outputs)}."
    )


def keras_inputs(arrays):
    """TFLite-named arrays to the Keras model's input dict.

    Example:
    ```python
    keras_inputs({"ids": ids, "mask": mask, "segment_ids": segments})
    ```
    """
    return {KERAS_INPUTS.get(k, k): v for k, v in arrays.items()}


def output_dict(kind, outputs, classifier_output_name=LOGITS):
    """The model's outputs as the file's named outputs.

    Args:
        kind: string. See `model_kind`.
        outputs: the model's outputs (tensors).
        classifier_output_name: `"probabilities"` (a softmax over the
            logits in the graph) or `"logits"`; see `classifier_output`.

    Example:
    ```python
    output_dict("classifier", logits, "probabilities")
    ```
    """
    if kind == "classifier" and classifier_output_name == PROBABILITIES:
        return {PROBABILITIES: tf.nn.softmax(outputs, axis=-1)}
    if kind in ("classifier", "masked_lm"):
        return {LOGITS: outputs}
    if kind == "question_answerer":
        return {k: outputs[k] for k in SPAN_OUTPUTS}
    return {k: outputs[k] for k in ("sequence_output", "pooled_output")}


def serving_fn(model, kind):
    """The function the file computes: TFLite-named tensors to outputs.

    A classifier's logits go through a softmax when `classifier_output`
    says `"probabilities"`.

    Args:
        model: a Keras 3 or tf_keras model taking the Keras inputs.
        kind: string. See `model_kind`.

    Example:
    ```python
    serve = tf.function(serving_fn(classifier, "classifier"))
    ```
    """
    scores = classifier_output(model) if kind == "classifier" else LOGITS

    def serve(*tensors):
        names = list(INPUT_NAMES)
        if kind == "masked_lm":
            names.append("mask_positions")
        inputs = keras_inputs(dict(zip(names, tensors)))
        return output_dict(kind, model(inputs, training=False), scores)

    return serve


def keras_outputs(model, kind, samples):
    """Run the Keras model on a list of TFLite-named input dicts.

    Args:
        model: the model.
        kind: string. See `model_kind`.
        samples: list of dicts of int32 arrays `(1, sequence)`.

    Returns:
        A dict of output name to NumPy arrays, the samples concatenated,
        named as the file's outputs: for a classifier file that outputs
        probabilities, `softmax` (NumPy, float64) of the Keras logits, the
        reference the file's own softmax is checked against.

    Example:
    ```python
    keras_outputs(classifier, "classifier", samples)["probabilities"]
    ```
    """
    batch = {
        k: np.concatenate([s[k] for s in samples], axis=0) for k in samples[0]
    }
    outputs = model(keras_inputs(batch), training=False)
    outputs = {
        k: keras.ops.convert_to_numpy(v)
        for k, v in output_dict(kind, outputs).items()
    }
    if kind == "classifier" and classifier_output(model) == PROBABILITIES:
        return {PROBABILITIES: softmax(outputs[LOGITS])}
    return outputs
