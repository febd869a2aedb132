"""Export MobileBERT models to LiteRT (`.tflite`), verified before delivery.

`to_litert` runs every export the same way: a serving function with int32
inputs named `ids`, `mask` and `segment_ids` (`signatures.py`), fixed
shape `[1, sequence_length]` unless a dynamic shape is asked for; the
TFLite converter set up from the mode's record (`modes.py`,
`conversion.py`); the op list checked for anything outside the builtin op
set (`op_inspection.py`); the LiteRT interpreter running the file on
sample inputs (`samples.py`) and its outputs compared with the Keras
model's (`verification.py`). Only a file that passes is moved to the
output path (atomically), so a failed export leaves nothing behind.
"""

from keras_mobilebert.export.attention_mask import attention_mask_mode
from keras_mobilebert.export.conversion import convert
from keras_mobilebert.export.conversion import convert_builtin
from keras_mobilebert.export.errors import Float16RangeError
from keras_mobilebert.export.metadata import add_classifier_metadata
from keras_mobilebert.export.metadata import metadata_schema
from keras_mobilebert.export.modes import export_mode
from keras_mobilebert.export.op_inspection import batch_matmul_rhs_zero_points
from keras_mobilebert.export.op_inspection import check_builtin_ops
from keras_mobilebert.export.op_inspection import list_ops
from keras_mobilebert.export.rewrites import SYMMETRIC_KEY_VALUE
from keras_mobilebert.export.rewrites import conversion_model
from keras_mobilebert.export.samples import to_samples
from keras_mobilebert.export.signatures import default_sequence_length
from keras_mobilebert.export.signatures import keras_outputs
from keras_mobilebert.export.signatures import model_kind
from keras_mobilebert.export.verification import float16_message
from keras_mobilebert.export.verification import float16_range_violations
from keras_mobilebert.export.verification import verify_and_write
from keras_mobilebert.quantization import is_quantize_aware
from keras_mobilebert.utils.errors import ConfigError


def to_litert(
    model,
    path,
    quantization="float32",
    sequence_length=None,
    dynamic_shape=False,
    representative_data=None,
    sample_data=None,
    num_samples=32,
    num_representative=200,
    tolerance=None,
    labels=None,
    rewrites=True,
    log=print,
    metadata=None,
):
    """Export a MobileBERT model to a verified LiteRT (`.tflite`) file.

    The file has one signature whose int32 inputs are `ids`, `mask` and
    `segment_ids` (plus `mask_positions` for a masked LM), of fixed shape
    `[1, sequence_length]` by default. A `MobileBertQuestionAnswerer`'s
    file outputs `end_logits` and `start_logits`, each `[1,
    sequence_length]` (its preprocessor's 384 by default), and by default
    carries the metadata of the TFLite Task Library's
    `BertQuestionAnswerer`. Only builtin LiteRT ops are allowed:
    a model that would need Flex (select TF) or custom ops fails with the
    ops named. Before the file is delivered, the LiteRT interpreter runs it
    on sample inputs and the result is compared with the Keras model; an
    error above the tolerance raises `VerificationError`. A failed export
    leaves nothing at `path`.

    Quantization modes (one record each in
    `keras_mobilebert.export.MODES`):
    - `"float32"`: no quantization.
    - `"float16"`: float16 weights. First checks, on a float32 conversion
      run on the sample inputs, that no tensor exceeds float16's range
      (65504): float16 kernels (GPU delegates) would overflow. The released
      MobileBERT weights put values near 2.5e7 in the encoder (HF issue
      11327); such a model is refused with `Float16RangeError` naming the
      tensors. A model with the `"additive"` mask is converted as a
      `"fill"` copy, as for int8 (the mask would become -inf and NaN).
    - `"dynamic"`: int8 weights, float activations (no data needed).
    - `"int8"`: full-integer post-training quantization, activation ranges
      calibrated on `representative_data` (your texts).
      A model with the `"additive"` attention mask is converted as a
      `"fill"` copy (see `with_attention_mask_mode`; the additive mask
      aborts the quantizer) and verified against the original.
    - `"qat_int8"`: full-integer export of a model made with
      `keras_mobilebert.quantization.quantize_aware` (its learned ranges are
      used; `representative_data` fills the rest).

    Speed-ups (`rewrites=True`, the default; each verified like any file,
    against the model given here, and skipped where it does not apply):
    - float32 and dynamic: a NoNorm MobileBERT is converted with its
      NoNorms folded into the dense layers (`fold_norms`: exact up to float
      rounding, 12 fewer element-wise ops per block).
    - int8: keys and values get symmetric ranges calibrated on the
      representative data (`symmetric_attention_ranges`), so every
      attention matmul of the file has a zero-point-0 right-hand input and
      runs in XNNPACK (int8 time x0.46 on MobileBERT).
    - qat_int8: the same for a quantization-aware model trained with
      asymmetric key/value ranges (presets saved before `quantize_aware`
      made them symmetric): its learned ranges `[min, max]` are used as
      `[-b, b]`, `b = max(-min, max)`.

    Args:
        model: a `MobileBertClassifier`, `MobileBertMaskedLM`,
            `MobileBertQuestionAnswerer`, `MobileBertBackbone` (or another
            KerasHub classifier, masked LM or backbone with the same
            inputs, such as `BertBackbone`).
        path: output `.tflite` path.
        quantization: string. One of `QUANTIZATIONS`.
        sequence_length: int or None. Fixed input length; None takes the
            preprocessor's, else 128 (or the backbone's maximum if lower).
        dynamic_shape: bool. Inputs of shape `[None, None]` instead.
        representative_data: list of strings (tokenized with the model's
            preprocessor) or of input dicts; for a question answerer
            `(questions, contexts)`, `(question, context)` pairs or SQuAD
            records, each window of the preprocessor one sample; None
            draws random token sequences (fine for timing, poor for
            accuracy).
        sample_data: like `representative_data`, for the verification.
            None reuses the representative data, else random sequences.
        num_samples: int. How many samples verify the file.
        num_representative: int. How many representative samples calibrate
            int8.
        tolerance: optional dict overriding the mode's default
            (`MODES[quantization].tolerance()`: `relative_error`,
            `label_agreement`).
        labels: optional list of class names (classifiers only). Packs
            TFLite metadata into the file: input names, the WordPiece
            vocabulary of the classifier's tokenizer and the labels, as
            associated files; MediaPipe's `TextClassifier` and the Task
            Library's `BertNLClassifier` then take raw strings. Needs
            the `metadata` extra (MediaPipe's metadata schema).
        rewrites: bool. Apply the mode's speed-ups (see above); False
            converts the model as it is.
        log: callable taking one string, or None for silence.
        metadata: bool or None. A question answerer's TFLite metadata:
            input names, the WordPiece vocabulary of its tokenizer and the
            output names, which the Task Library's `BertQuestionAnswerer`
            needs to take raw strings (it runs `[1, 384]` files). None:
            packed when the model has a preprocessor. Needs the `metadata`
            extra (MediaPipe's metadata schema). Classifiers get
            metadata from `labels`.

    Returns:
        An `ExportResult`.

    Example:
    ```python
    import keras_mobilebert
    from keras_mobilebert.export import to_litert

    classifier = keras_mobilebert.MobileBertClassifier.from_preset(
        "my_classifier"
    )
    result = to_litert(
        classifier,
        "classifier_int8.tflite",
        quantization="int8",
        representative_data=["a fine film", "a dull film"],
    )
    print(result.summary())
    ```
    """
    log = log or (lambda message: None)
    mode = export_mode(quantization)
    kind = model_kind(model)
    if mode.needs_quantize_aware_model and not is_quantize_aware(model):
        raise ConfigError(
            f"quantization={quantization!r} needs a model made with "
            "keras_mobilebert.quantization.quantize_aware; use 'int8' for "
            "post-training quantization of a float model."
        )
    limits = mode.tolerance(tolerance)
    if labels is not None:
        # Before the slow conversion: the labels, and the metadata extra.
        _check_labels(model, kind, labels)
        metadata_schema()
    span_metadata = _wants_span_metadata(model, kind, metadata)
    sequence_length = sequence_length or default_sequence_length(model)
    samples = to_samples(
        model,
        kind,
        sample_data if sample_data is not None else representative_data,
        sequence_length,
        num_samples,
        seed=1,
    )
    representative = None
    if mode.needs_representative_data:
        if representative_data is None:
            log(
                "no representative data: calibrating int8 ranges on random "
                "token sequences (pass your own texts for accuracy)"
            )
        representative = to_samples(
            model,
            kind,
            representative_data,
            sequence_length,
            num_representative,
            seed=2,
        )
    export_model, applied = conversion_model(
        model, mode, representative, rewrites, log
    )
    convert_kwargs = {
        "sequence_length": sequence_length,
        "dynamic_shape": dynamic_shape,
        "representative_samples": representative,
    }
    if mode.checks_float16_range:
        float32_bytes = convert(export_model, "float32", **convert_kwargs)
        check_builtin_ops(float32_bytes)
        bad = float16_range_violations(float32_bytes, samples)
        if bad:
            raise Float16RangeError(bad, float16_message(bad))
    tflite_bytes = convert_builtin(
        lambda: convert(export_model, quantization, **convert_kwargs)
    )
    ops = list_ops(tflite_bytes)
    _log_attention_matmuls(tflite_bytes, applied, log)
    if labels is not None:
        tflite_bytes = _with_metadata(model, kind, tflite_bytes, labels)
    if span_metadata:
        tflite_bytes = _with_span_metadata(model, tflite_bytes)
    result = verify_and_write(
        tflite_bytes,
        reference=keras_outputs(model, kind, samples),
        samples=samples,
        kind=kind,
        quantization=quantization,
        limits=limits,
        path=path,
        input_shape=(-1, -1) if dynamic_shape else (1, sequence_length),
        ops=ops,
        attention_mask_mode=attention_mask_mode(export_model),
    )
    result.rewrites = applied
    log(result.summary())
    return result


def _log_attention_matmuls(tflite_bytes, applied, log):
    if SYMMETRIC_KEY_VALUE not in applied:
        return
    zero_points = batch_matmul_rhs_zero_points(tflite_bytes)
    delegated = sum(1 for z in zero_points if z == 0)
    log(
        f"attention matmuls with zero-point-0 right-hand inputs (run by "
        f"XNNPACK): {delegated} of {len(zero_points)}"
    )


def _with_metadata(model, kind, tflite_bytes, labels):

    _check_labels(model, kind, labels)
    labels = [str(label) for label in labels]
    vocabulary = model.preprocessor.tokenizer.get_vocabulary()
    return add_classifier_metadata(tflite_bytes, vocabulary, labels)


def _wants_span_metadata(model, kind, metadata):
    """Whether a question answerer's metadata is packed; checks it can be."""
    if kind != "question_answerer":
        if metadata:
            raise ConfigError(
                "metadata=True applies to question answerers; a classifier "
                "gets its metadata from labels=."
            )
        return False
    has_tokenizer = getattr(model, "preprocessor", None) is not None
    if metadata and not has_tokenizer:
        raise ConfigError(
            "Metadata needs the question answerer's tokenizer vocabulary; "
            "the model has no preprocessor."
        )
    if metadata is None:
        metadata = has_tokenizer
    if metadata:
        metadata_schema()  # Before the slow conversion: is MediaPipe here?
    return bool(metadata)


def _with_span_metadata(model, tflite_bytes):
    from keras_mobilebert.export.metadata import add_question_answerer_metadata

    vocabulary = model.preprocessor.tokenizer.get_vocabulary()
    return add_question_answerer_metadata(tflite_bytes, vocabulary)


def _check_labels(model, kind, labels):
    if kind != "classifier":
        raise ConfigError("labels (metadata) apply to classifiers only.")
    if len(labels) != model.num_classes:
        raise ConfigError(
            f"{len(labels)} labels given for {model.num_classes} classes."
        )
    if getattr(model, "preprocessor", None) is None:
        raise ConfigError(
            "Metadata needs the classifier's tokenizer vocabulary; the "
            "classifier has no preprocessor."
        )
