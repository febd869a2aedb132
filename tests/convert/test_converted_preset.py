"""A converted checkpoint rebuilt with a preset's config, and its preset."""

import numpy as np
import pytest

import keras_mobilebert
from keras_mobilebert.convert.converted_preset import apply_preset_config
from keras_mobilebert.convert.converted_preset import save_preset
from keras_mobilebert.convert.hf_checkpoint import convert_snapshot
from keras_mobilebert.convert.weights import ConversionError

from .parity import FIXTURES
from .parity import inputs
from .parity import load_io

SNAPSHOT = FIXTURES / "mobilebert" / "hf"


def test_a_preset_config_keeps_every_weight():
    converted = convert_snapshot(SNAPSHOT)
    old = converted.backbone
    config = dict(old.get_config())
    # What the QAT preset changes: ReLU6 and GR's -6 mask fill.
    changes = {"activation": "relu6", "attention_mask_mode": "fill"}
    assert apply_preset_config(converted, {**config, **changes}) is converted
    new = converted.backbone
    assert new is not old
    assert (new.activation, new.attention_mask_mode) == ("relu6", "fill")
    assert converted.pretraining_model is None
    old_weights = {w.path: w.numpy() for w in old.weights}
    assert sorted(old_weights) == sorted(w.path for w in new.weights)
    for w in new.weights:
        np.testing.assert_array_equal(w.numpy(), old_weights[w.path])


def test_the_same_config_changes_nothing():
    converted = convert_snapshot(SNAPSHOT)
    backbone = converted.backbone
    apply_preset_config(converted, backbone.get_config())
    assert converted.backbone is backbone
    assert converted.pretraining_model is not None


def test_a_config_the_weights_do_not_fit_names_the_weight():
    converted = convert_snapshot(SNAPSHOT)
    config = {**converted.backbone.get_config(), "intermediate_dim": 48}
    with pytest.raises(
        ConversionError,
        match=r"(?s)does not fit the weights of .*mobilebert.*shape",
    ):
        apply_preset_config(converted, config)
    config = {**converted.backbone.get_config(), "num_layers": 3}
    with pytest.raises(ConversionError, match="have no place|lacks"):
        apply_preset_config(converted, config)


def test_the_preset_holds_the_task_and_the_other_heads(tmp_path):
    converted = convert_snapshot(SNAPSHOT)
    messages = []
    preset = save_preset(converted, tmp_path / "preset", messages.append)
    assert (preset / "task.json").is_file()
    assert (preset / "nsp_head.weights.npz").is_file()
    assert any("nsp_head.weights.npz" in m for m in messages)
    with np.load(preset / "nsp_head.weights.npz") as saved:
        for i, expected in enumerate(converted.nsp_weights):
            np.testing.assert_array_equal(saved[f"arr_{i}"], expected)
    io = load_io("mobilebert")
    backbone = keras_mobilebert.MobileBertBackbone.from_preset(str(preset))
    np.testing.assert_allclose(
        np.asarray(backbone(inputs(io))["sequence_output"]),
        io["hidden_2"],
        atol=1e-5 * np.abs(io["hidden_2"]).max(),
    )


def test_a_failed_conversion_writes_nothing(tmp_path):
    converted = convert_snapshot(SNAPSHOT)
    converted.vocabulary = converted.vocabulary[:-1]
    with pytest.raises(ConversionError, match="vocab_size"):
        save_preset(converted, tmp_path / "preset")
    assert list(tmp_path.iterdir()) == []
