"""Full-integer LiteRT export of a TF-MOT quantization-aware model.

The consumer of the TF-MOT bridge (`keras_mobilebert.quantization.tfmot`):
the tf_keras model is traced with the file's signature and converted with
the `"qat_int8"` record of `MODES`, then checked and verified like every
other export. The bridge is imported only when a model without explicit
data needs its vocabulary size, so importing `keras_mobilebert.export`
never imports TF-MOT or tf_keras.
"""

import tensorflow as tf

from keras_mobilebert.export.conversion import configure_converter
from keras_mobilebert.export.conversion import convert_builtin
from keras_mobilebert.export.modes import export_mode
from keras_mobilebert.export.op_inspection import list_ops
from keras_mobilebert.export.samples import dict_samples
from keras_mobilebert.export.samples import random_inputs
from keras_mobilebert.export.signatures import input_specs
from keras_mobilebert.export.signatures import keras_outputs
from keras_mobilebert.export.signatures import serving_fn
from keras_mobilebert.export.verification import verify_and_write

QUANTIZATION = "qat_int8"


def _twin_kind(model):
    # A backbone twin outputs a dict, a question answerer twin a dict of its
    # two logits, a classifier twin its logits.
    if not isinstance(model.output, dict):
        return "classifier"
    return "question_answerer" if "start_logits" in model.output else "backbone"


def _twin_samples(model, data, sequence_length, count, seed):
    if data is not None:
        return dict_samples(data, count)
    from keras_mobilebert.quantization.tfmot import twin_vocabulary_size

    return random_inputs(
        twin_vocabulary_size(model), sequence_length, count, seed=seed
    )


def export_tfmot_int8(
    qat_model,
    path,
    sequence_length=128,
    representative_data=None,
    sample_data=None,
    num_samples=32,
    num_representative=100,
    tolerance=None,
    log=print,
):
    """Write a TF-MOT QAT model as a verified full-integer LiteRT file.

    The tf_keras model is traced with int32 inputs named `ids`, `mask` and
    `segment_ids` of shape `[1, sequence_length]` (the layout of
    `to_litert`) and converted with int8 builtin ops; the fake-quant ranges
    learned in QAT become the int8 scales, and `representative_data`
    calibrates the few tensors TF-MOT leaves float (the LayerNorm of a
    classifier head, for instance). The checks are `to_litert`'s: builtin
    ops only (a Flex or custom op raises `UnsupportedOpsError` naming it),
    then the LiteRT interpreter runs the file on `sample_data` and its
    outputs must match the tf_keras QAT model's within the `"qat_int8"`
    tolerance (`MODES["qat_int8"].tolerance()`), else
    `VerificationError`. Only a file that passes is written, atomically.

    Args:
        qat_model: the tf_keras model from
            `keras_mobilebert.quantization.tfmot.quantize_aware_tfmot`
            (after `fit`).
        path: output `.tflite` path.
        sequence_length: int. The fixed input length.
        representative_data: list of input dicts (`token_ids`,
            `padding_mask`, `segment_ids`, or the TFLite names), or None
            for random token sequences.
        sample_data: like `representative_data`, for the verification;
            None reuses `representative_data`.
        num_samples: int. How many samples verify the file.
        num_representative: int. How many samples calibrate.
        tolerance: optional dict overriding `relative_error` and
            `label_agreement`.
        log: callable taking one string, or None.

    Returns:
        An `ExportResult`.

    Example:
    ```python
    from keras_mobilebert.export import export_tfmot_int8

    result = export_tfmot_int8(qat, "model_int8.tflite", sequence_length=128)
    print(result.summary())
    ```
    """
    log = log or (lambda message: None)
    kind = _twin_kind(qat_model)
    limits = export_mode(QUANTIZATION).tolerance(tolerance)
    if sample_data is None:
        sample_data = representative_data
    samples = _twin_samples(
        qat_model, sample_data, sequence_length, num_samples, seed=1
    )
    representative = _twin_samples(
        qat_model,
        representative_data,
        sequence_length,
        num_representative,
        seed=2,
    )
    specs = input_specs(qat_model, kind, sequence_length, False)
    serve = tf.function(serving_fn(qat_model, kind))
    concrete = serve.get_concrete_function(*specs)

    def convert():
        # From the concrete function, with the model: its variables are
        # frozen into the file (no VAR_HANDLE ops).
        converter = tf.lite.TFLiteConverter.from_concrete_functions(
            [concrete], qat_model
        )
        configure_converter(converter, QUANTIZATION, representative)
        return converter.convert()

    tflite_bytes = convert_builtin(convert)
    result = verify_and_write(
        tflite_bytes,
        reference=keras_outputs(qat_model, kind, samples),
        samples=samples,
        kind=kind,
        quantization=QUANTIZATION,
        limits=limits,
        path=path,
        input_shape=(1, sequence_length),
        ops=list_ops(tflite_bytes),
    )
    log(result.summary())
    return result
