import keras
import numpy as np
import pytest

from keras_mobilebert import MobileBertBackbone
from keras_mobilebert import MobileBertClassifier
from keras_mobilebert.quantization.symmetric_attention import (
    SymmetricAttentionMobileBertBackbone,
)
from keras_mobilebert.quantization.symmetric_attention import (
    symmetric_attention_ranges,
)
from tests.models.helpers import SMALL_BACKBONE
from tests.models.helpers import backbone_inputs
from tests.quantization import helpers

CONFIG = {**SMALL_BACKBONE, "attention_mask_mode": "fill"}


def _rows(inputs):
    """One dict per sequence, as calibration data."""
    count = len(inputs["token_ids"])
    return [{k: v[i] for k, v in inputs.items()} for i in range(count)]


def _recorded_peaks(backbone, inputs):
    """max |output| of each key and value dense, seen from outside."""
    peaks = {}
    for i, block in enumerate(backbone.transformer_layers):
        for kind in ("key", "value"):
            layer = getattr(block.attention, f"{kind}_dense")
            original = layer.call

            def call(x, _original=original, _key=(i, kind)):
                y = _original(x)
                peak = float(np.max(np.abs(np.asarray(y))))
                peaks[_key] = max(peaks.get(_key, 0.0), peak)
                return y

            layer.call = call
    try:
        backbone(inputs)
    finally:
        for block in backbone.transformer_layers:
            for kind in ("key", "value"):
                del getattr(block.attention, f"{kind}_dense").call
    return peaks


def _zero_point(tensor):
    return tensor["quantization_parameters"]["zero_points"][0]


def test_bounds_are_the_largest_key_and_value_magnitudes():
    backbone = MobileBertBackbone(**CONFIG)
    inputs = backbone_inputs(batch=4, length=10, seed=3)
    copy = symmetric_attention_ranges(backbone, _rows(inputs), batch_size=3)
    assert isinstance(copy, SymmetricAttentionMobileBertBackbone)
    peaks = _recorded_peaks(backbone, inputs)
    for i, block in enumerate(copy.transformer_layers):
        for kind in ("key", "value"):
            bound = getattr(block.attention, f"{kind}_dense").output_bound
            np.testing.assert_allclose(
                float(bound.numpy()), peaks[(i, kind)], rtol=1e-6
            )


def test_the_copy_only_rounds_keys_and_values():
    backbone = MobileBertBackbone(**CONFIG)
    inputs = backbone_inputs(batch=4, length=10, seed=3)
    copy = symmetric_attention_ranges(backbone, _rows(inputs))
    expected = np.asarray(backbone(inputs)["sequence_output"])
    got = np.asarray(copy(inputs)["sequence_output"])
    difference = np.max(np.abs(got - expected))
    # K and V on 255 levels: small, but not zero (the quantizer is there).
    assert 0.0 < difference < 0.02 * np.max(np.abs(expected))
    # The original keeps plain dense layers.
    block = backbone.transformer_layers[0]
    assert not hasattr(block.attention.key_dense, "output_bound")


def test_a_classifier_copy_calibrates_on_texts():
    classifier = helpers.untrained_classifier()
    texts, _ = helpers.toy_texts(16)
    copy = symmetric_attention_ranges(classifier, texts)
    assert type(copy) is MobileBertClassifier
    block = copy.backbone.transformer_layers[0]
    assert float(block.attention.value_dense.output_bound.numpy()) > 0.0


def test_no_data_is_an_error():
    with pytest.raises(ValueError, match="calibration data"):
        symmetric_attention_ranges(MobileBertBackbone(**CONFIG), [])


def test_int8_file_has_zero_point_zero_matmul_inputs(tmp_path):
    pytest.importorskip("ai_edge_litert")
    from ai_edge_litert.interpreter import Interpreter

    from keras_mobilebert.export import to_litert

    keras.utils.set_random_seed(0)
    backbone = MobileBertBackbone(**CONFIG)
    rows = _rows(backbone_inputs(batch=16, length=12, seed=3))
    zero_points = {}
    for name, model in (
        ("plain", backbone),
        ("symmetric", symmetric_attention_ranges(backbone, rows)),
    ):
        path = tmp_path / f"{name}.tflite"
        to_litert(
            model,
            path,
            quantization="int8",
            sequence_length=12,
            representative_data=rows,
            num_samples=8,
            rewrites=False,  # this test compares the copy with the original
            log=None,
        )
        interpreter = Interpreter(model_path=str(path))
        tensors = {d["index"]: d for d in interpreter.get_tensor_details()}
        zero_points[name] = [
            int(_zero_point(tensors[op["inputs"][1]]))
            for op in interpreter._get_ops_details()
            if op["op_name"] == "BATCH_MATMUL"
        ]
    assert len(zero_points["symmetric"]) == 2 * CONFIG["num_layers"]
    assert set(zero_points["symmetric"]) == {0}
    # Without the copy, asymmetric ranges give other zero points.
    assert set(zero_points["plain"]) != {0}
