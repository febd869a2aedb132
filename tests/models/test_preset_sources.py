"""The preset-source registry: how `from_preset` reaches the converter."""

import json

import pytest

import keras_mobilebert
from keras_mobilebert import ConverterNotRegisteredError
from keras_mobilebert import MobileBertBackbone
from keras_mobilebert import MobileBertTextClassifier
from keras_mobilebert import PresetWeightsNotFoundError
from keras_mobilebert.models.mobilebert import preset_sources
from tests.models.helpers import SMALL_BACKBONE


@pytest.fixture
def no_converter(monkeypatch, tmp_path):
    """The registry as it is before `keras_mobilebert.convert` registers."""
    monkeypatch.setattr(preset_sources, "_SOURCES", {})
    monkeypatch.setattr(preset_sources, "_BUILTIN_CONVERTER", {})
    monkeypatch.setenv("KERAS_MOBILEBERT_HOME", str(tmp_path / "home"))


def _hf_snapshot_dir(tmp_path):
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    (snapshot / "config.json").write_text(
        json.dumps({"model_type": "mobilebert"})
    )
    return snapshot


def test_importing_the_package_registers_the_converter(tmp_path):
    snapshot = _hf_snapshot_dir(tmp_path)
    source = preset_sources.find_preset_source(str(snapshot))
    assert source.name == "huggingface"
    assert source.load is keras_mobilebert.convert.hf_preset_source.from_preset
    converter = preset_sources.builtin_converter("mobilebert_en_uncased")
    assert converter is (
        keras_mobilebert.convert.hf_preset_source.convert_builtin_preset
    )
    # A KerasHub preset directory is no Hugging Face snapshot.
    keras_hub_preset = tmp_path / "keras_hub_preset"
    MobileBertBackbone(**SMALL_BACKBONE).save_to_preset(str(keras_hub_preset))
    assert preset_sources.find_preset_source(str(keras_hub_preset)) is None


def test_a_registered_source_loads_what_it_matches(monkeypatch):
    monkeypatch.setattr(preset_sources, "_SOURCES", {})
    calls = []

    def load(cls, handle, *args, **kwargs):
        calls.append((cls, handle, args, kwargs))
        return "loaded"

    preset_sources.register_preset_source(
        "test", lambda handle: handle.startswith("test://"), load
    )
    model = MobileBertBackbone.from_preset("test://x", load_weights=False)
    assert model == "loaded"
    assert calls == [
        (MobileBertBackbone, "test://x", (), {"load_weights": False})
    ]
    # A second registration under the name replaces the first.
    preset_sources.register_preset_source("test", lambda h: False, load)
    assert preset_sources.find_preset_source("test://x") is None
    preset_sources.unregister_preset_source("test")
    assert preset_sources._SOURCES == {}


def test_builtin_conversion_without_a_converter_says_what_to_import(
    no_converter,
):
    with pytest.raises(
        ConverterNotRegisteredError, match="import keras_mobilebert.convert"
    ):
        MobileBertBackbone.from_preset("mobilebert_en_uncased")
    # Presets without a Hugging Face source need no converter.
    with pytest.raises(PresetWeightsNotFoundError, match="No public weights"):
        MobileBertTextClassifier.from_preset(
            "ib_bert_en_uncased", num_classes=2
        )
    # Nor does the architecture alone.
    backbone = MobileBertBackbone.from_preset(
        "mobilebert_tiny_en_uncased", load_weights=False
    )
    assert backbone.num_layers == 24


def test_a_snapshot_without_a_converter_says_what_to_import(
    no_converter, tmp_path
):
    snapshot = _hf_snapshot_dir(tmp_path)
    with pytest.raises(
        ConverterNotRegisteredError,
        match=f"(?s){snapshot}.*import keras_mobilebert.convert",
    ):
        MobileBertBackbone.from_preset(str(snapshot))
    # KerasHub presets still load without any converter.
    preset = tmp_path / "preset"
    MobileBertBackbone(**SMALL_BACKBONE).save_to_preset(str(preset))
    backbone = MobileBertBackbone.from_preset(str(preset))
    assert backbone.hidden_dim == SMALL_BACKBONE["hidden_dim"]


def test_builtin_conversion_goes_through_the_registered_converter(
    no_converter, tmp_path
):
    calls = []

    def convert(source, config, preset_dir):
        calls.append((source, config["num_layers"], preset_dir))
        MobileBertBackbone(**SMALL_BACKBONE).save_to_preset(str(preset_dir))

    preset_sources.register_builtin_converter(convert)
    backbone = MobileBertBackbone.from_preset("mobilebert_en_uncased")
    cached = tmp_path / "home" / "presets" / "mobilebert_en_uncased"
    assert calls == [("hf://google/mobilebert-uncased", 24, cached)]
    assert backbone.num_layers == SMALL_BACKBONE["num_layers"]
    # Converted once: the cached copy serves the next call.
    MobileBertBackbone.from_preset("mobilebert_en_uncased")
    assert len(calls) == 1

    def offline(source, config, preset_dir):
        raise OSError("no network")

    preset_sources.register_builtin_converter(offline)
    with pytest.raises(PresetWeightsNotFoundError, match="no network"):
        MobileBertBackbone.from_preset("mobilebert_qat_en_uncased")
