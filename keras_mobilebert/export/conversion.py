"""Converting a model to LiteRT bytes, with builtin ops only.

Keras's `ExportArchive` writes a SavedModel with the file's signature
(`keras_mobilebert.export.signatures`); the TFLite converter, set up from
the mode's record (`keras_mobilebert.export.modes`), turns it into a
flatbuffer. A conversion that needs Flex or custom ops is an
`UnsupportedOpsError` naming them.
"""

import pathlib
import re
import tempfile

import keras
import tensorflow as tf

from keras_mobilebert.export.attention_mask import attention_mask_mode
from keras_mobilebert.export.errors import UnsupportedOpsError
from keras_mobilebert.export.modes import export_mode
from keras_mobilebert.export.op_inspection import check_builtin_ops
from keras_mobilebert.export.signatures import default_sequence_length
from keras_mobilebert.export.signatures import input_specs
from keras_mobilebert.export.signatures import model_kind
from keras_mobilebert.export.signatures import serving_fn


def _saved_model_converter(model, kind, specs, work_dir):
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serve", serving_fn(model, kind), input_signature=specs
    )
    saved_model = str(pathlib.Path(work_dir) / "saved_model")
    archive.write_out(saved_model, verbose=False)
    return tf.lite.TFLiteConverter.from_saved_model(saved_model)


def _representative(samples):
    def generator():
        for sample in samples:
            yield dict(sample)

    return generator


def configure_converter(
    converter,
    quantization,
    representative_samples=None,
    allow_select_ops=False,
):
    """Set a `tf.lite.TFLiteConverter` up for one of `QUANTIZATIONS`.

    The settings are the mode's record in `MODES` (optimizations, op set,
    types, representative data); builtin ops only unless
    `allow_select_ops`. Shared by `convert`, the TF-MOT exporter and the
    string-input exporter.

    Args:
        converter: a `tf.lite.TFLiteConverter`.
        quantization: string. One of `QUANTIZATIONS`.
        representative_samples: list of TFLite-named input dicts; required
            by the modes that calibrate (`"int8"`, `"qat_int8"`).
        allow_select_ops: bool. Let the converter emit Flex ops.

    Example:
    ```python
    configure_converter(converter, "qat_int8", samples)
    ```
    """
    mode = export_mode(quantization)
    if mode.needs_representative_data:
        if not representative_samples:
            raise ValueError(
                f"{quantization} export needs representative data."
            )
        converter.representative_dataset = _representative(
            representative_samples
        )
    if mode.optimizations:
        converter.optimizations = list(mode.optimizations)
    if mode.supported_types:
        converter.target_spec.supported_types = list(mode.supported_types)
    ops = list(mode.supported_ops)
    if allow_select_ops:
        ops.append(tf.lite.OpsSet.SELECT_TF_OPS)
    converter.target_spec.supported_ops = ops


def convert(
    model,
    quantization="float32",
    sequence_length=None,
    dynamic_shape=False,
    representative_samples=None,
    allow_select_ops=False,
):
    """Convert a model to TFLite bytes (no checks; see `to_litert`).

    Args:
        model: a KerasHub classifier, masked LM or backbone.
        quantization: one of `QUANTIZATIONS`.
        sequence_length: int. Fixed input length (`[1, sequence_length]`).
        dynamic_shape: bool. Inputs `[None, None]` instead.
        representative_samples: list of TFLite-named input dicts; required
            by the modes that calibrate (`"int8"`, `"qat_int8"`).
        allow_select_ops: bool. Let the converter emit Flex ops (for
            inspection; `to_litert` never delivers such a file).

    Returns:
        bytes.

    Example:
    ```python
    tflite_bytes = convert(classifier, "dynamic", sequence_length=128)
    ```
    """
    mode = export_mode(quantization)
    kind = model_kind(model)
    if mode.needs_fill_mask and attention_mask_mode(model) == "additive":
        # Raised here: the int8 quantizer would abort the process instead,
        # and a float16 file would compute NaN.
        raise ValueError(
            f"{quantization} conversion of a model with the 'additive' "
            "attention mask fails (the int8 quantizer aborts; float16 "
            "turns the mask into -inf and NaN); convert "
            "with_attention_mask_mode(model, 'fill'), or use to_litert, "
            "which does so and verifies against the original."
        )
    sequence_length = sequence_length or default_sequence_length(model)
    specs = input_specs(model, kind, sequence_length, dynamic_shape)
    with tempfile.TemporaryDirectory() as work_dir:
        converter = _saved_model_converter(model, kind, specs, work_dir)
        configure_converter(
            converter, quantization, representative_samples, allow_select_ops
        )
        return converter.convert()


def _unsupported_ops_in_message(message):
    """Op names from the converter's "TF Select ops" / "Custom ops" lines."""
    names = []
    for prefix, kind in (("Flex", "TF Select ops"), ("", "Custom ops")):
        for match in re.finditer(kind + r": ([^\n]+)", message):
            for name in match.group(1).split(","):
                name = name.strip()
                if name and prefix + name not in names:
                    names.append(prefix + name)
    return names


def convert_builtin(convert_fn):
    """Run a conversion; name the ops if it needs anything but builtins.

    Args:
        convert_fn: callable returning the TFLite bytes.

    Returns:
        The bytes, checked with `check_builtin_ops`.

    Raises:
        UnsupportedOpsError: the converter asked for Flex or custom ops, or
            the file holds any.

    Example:
    ```python
    tflite_bytes = convert_builtin(lambda: converter.convert())
    ```
    """
    try:
        tflite_bytes = convert_fn()
    except Exception as error:
        ops_needed = _unsupported_ops_in_message(str(error))
        if not ops_needed:
            raise
        raise UnsupportedOpsError(
            ops_needed,
            "The model cannot be exported with builtin LiteRT ops only; it "
            f"needs {', '.join(ops_needed)} (Flex ops are TensorFlow kernels "
            "LiteRT runs only with the select-TF-ops delegate; custom ops "
            "have no LiteRT kernel at all). Replace the layer that produces "
            "them.",
        ) from None
    check_builtin_ops(tflite_bytes)
    return tflite_bytes
