import types

import pytest
import tensorflow as tf

pytest.importorskip("ai_edge_litert")

from keras_mobilebert import export  # noqa: E402
from keras_mobilebert.export.conversion import configure_converter  # noqa: E402
from keras_mobilebert.export.string_input import STRING_QUANTIZATIONS  # noqa: E402

BUILTINS = tf.lite.OpsSet.TFLITE_BUILTINS
INT8_BUILTINS = tf.lite.OpsSet.TFLITE_BUILTINS_INT8
DEFAULT = tf.lite.Optimize.DEFAULT


def _converter():
    """What configure_converter touches of a `tf.lite.TFLiteConverter`."""
    return types.SimpleNamespace(
        optimizations=[],
        representative_dataset=None,
        target_spec=types.SimpleNamespace(
            supported_ops=None, supported_types=[]
        ),
    )


def test_one_record_per_mode_and_quantizations_names_them():
    assert export.QUANTIZATIONS == (
        "float32",
        "float16",
        "dynamic",
        "int8",
        "qat_int8",
    )
    for name, mode in export.MODES.items():
        assert mode.name == name
        assert export.export_mode(name) is mode
    with pytest.raises(ValueError, match="Unknown quantization 'int4'"):
        export.export_mode("int4")


# The converter settings each mode had before the table (configure_converter
# branched on the names): (optimizations, ops, types, representative data).
SETTINGS = {
    "float32": ([], [BUILTINS], [], False),
    "float16": ([DEFAULT], [BUILTINS], [tf.float16], False),
    "dynamic": ([DEFAULT], [BUILTINS], [], False),
    "int8": ([DEFAULT], [INT8_BUILTINS], [], True),
    "qat_int8": ([DEFAULT], [INT8_BUILTINS], [], True),
}


@pytest.mark.parametrize("quantization", sorted(SETTINGS))
def test_converter_settings_come_from_the_record(quantization):
    optimizations, ops, types_, calibrates = SETTINGS[quantization]
    converter = _converter()
    samples = [{"ids": [[1]]}]
    configure_converter(converter, quantization, samples)
    assert converter.optimizations == optimizations
    assert converter.target_spec.supported_ops == ops
    assert converter.target_spec.supported_types == types_
    assert (converter.representative_dataset is not None) == calibrates
    if calibrates:
        assert list(converter.representative_dataset()) == samples
        with pytest.raises(ValueError, match="representative data"):
            configure_converter(_converter(), quantization)
    flex = _converter()
    configure_converter(flex, quantization, samples, allow_select_ops=True)
    assert flex.target_spec.supported_ops == ops + [
        tf.lite.OpsSet.SELECT_TF_OPS
    ]


def test_what_differs_by_mode():
    modes = export.MODES
    fill = [name for name, mode in modes.items() if mode.needs_fill_mask]
    assert fill == ["float16", "int8", "qat_int8"]
    assert [n for n, m in modes.items() if m.needs_quantize_aware_model] == [
        "qat_int8"
    ]
    assert [n for n, m in modes.items() if m.checks_float16_range] == [
        "float16"
    ]
    assert STRING_QUANTIZATIONS == ("float32", "dynamic")
    assert modes["float32"].tolerance() == {
        "relative_error": 1e-4,
        "label_agreement": 1.0,
    }
    assert modes["int8"].tolerance({"relative_error": 1.0}) == {
        "relative_error": 1.0,
        "label_agreement": 0.85,
    }
    with pytest.raises(ValueError, match="Unknown tolerance keys"):
        modes["int8"].tolerance({"max_error": 1.0})
