import json
import sys

import numpy as np
import pytest

from keras_mobilebert.finetune import JOBS
from keras_mobilebert.finetune import export_classifier
from keras_mobilebert.finetune import load_config
from keras_mobilebert.finetune import run_finetune
from keras_mobilebert.finetune.datasets import subsample

# The main job's pipeline on a 2-layer, 16-wide model and 128 sentences.
TINY_BACKBONE = {
    "num_layers": 2,
    "num_heads": 2,
    "hidden_dim": 16,
    "intermediate_dim": 16,
    "embedding_dim": 16,
    "bottleneck_dim": 16,
    "num_feedforward_networks": 1,
}


def test_load_config_export_defaults_and_checks(tmp_path):
    assert load_config()["export"]["quantization"] == "int8"
    # A config written before the export step gets the default export.
    old = json.loads(json.dumps(load_config()))
    del old["export"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    assert load_config(path)["export"] == load_config()["export"]
    assert load_config(export=None)["export"] is not None  # None: no change
    with pytest.raises(ValueError, match="export quantization"):
        load_config(export={"quantization": "int4"})
    with pytest.raises(ValueError, match="export fields"):
        load_config(export={"quantization": "int8", "threads": 2})


def test_the_config_names_its_job(tmp_path):
    assert load_config()["job"] == "classification"
    # Configs written before jobs had names are classification configs.
    old = load_config()
    del old["job"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    assert load_config(path)["job"] == "classification"
    other = dict(old, job="sqaud")
    path.write_text(json.dumps(other))
    with pytest.raises(ValueError, match=r"old.json: Unknown job 'sqaud'"):
        load_config(path)
    with pytest.raises(ValueError, match="Unknown job 'gleu'"):
        run_finetune(dict(old, job="gleu"), tmp_path)
    assert list(tmp_path.iterdir()) == [path]
    # A job's fields are its default config's keys.
    fields = json.loads(JOBS["classification"].default_config.read_text())
    assert set(load_config()) == set(fields)
    with pytest.raises(ValueError, match="Unknown config fields.*'steps'"):
        load_config(steps=3)


def test_distribute_and_classifier_dropout_are_checked_and_defaulted(
    tmp_path,
):
    config = load_config()
    assert config["distribute"] == "none"
    assert config["classifier_dropout"] == 0.1  # the classifier's own
    # A config written before the fields existed gets the defaults.
    old = json.loads(json.dumps(config))
    del old["distribute"], old["classifier_dropout"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    assert load_config(path)["distribute"] == "none"
    with pytest.raises(ValueError, match="Unknown distribute strategy 'gpu'"):
        load_config(distribute="gpu")
    for bad in (1.0, -0.1, "0.1", True):
        with pytest.raises(ValueError, match="classifier_dropout must be"):
            load_config(classifier_dropout=bad)


def test_subsample_keeps_every_class_in_order():
    labels = np.array([0] * 50 + [1] * 50)  # sorted by label, as the data
    texts = [f"t{i}" for i in range(100)]
    got_texts, got_labels = subsample(texts, labels, 10, seed=0)
    keep = np.sort(np.random.RandomState(0).permutation(100)[:10])
    assert got_texts == [f"t{i}" for i in keep]
    np.testing.assert_array_equal(got_labels, labels[keep])
    assert set(got_labels) == {0, 1}


def test_export_is_skipped_without_the_litert_interpreter(
    tmp_path, monkeypatch
):
    # An unverified file is never delivered: no interpreter, no file.
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    lines = []
    report = export_classifier(
        None, {"quantization": "int8"}, [], [], [], [], tmp_path, lines.append
    )
    assert "ai-edge-litert" in report["skipped"]
    assert "export skipped" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_finetune_job_ends_with_a_verified_int8_file(tmp_path):
    pytest.importorskip("ai_edge_litert")
    config = load_config(
        epochs=2,
        sequence_length=16,
        learning_rate=5e-3,
        export={"quantization": "int8", "num_representative": 32},
    )
    config["backbone_overrides"] = TINY_BACKBONE
    config["max_train_examples"] = 128
    lines = []
    results = run_finetune(config, tmp_path, log=lines.append)
    export = results["export"]
    path = tmp_path / "classifier_int8.tflite"
    assert export["path"] == str(path) and path.is_file()
    assert export["size_bytes"] == path.stat().st_size
    assert export["attention_mask_mode"] == "fill"
    assert export["test_size"] == 800
    assert 0.0 <= export["tflite_accuracy"] <= 1.0
    assert export["keras_accuracy"] == pytest.approx(results["accuracy"])
    assert export["heldout_label_agreement"] >= 0.85
    assert export["heldout_max_abs_error"] >= 0.0
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["export"]["path"] == str(path)
    assert set(saved["phase_seconds"]) == {
        "data and model",
        "training",
        "evaluation",
        "save and reload",
        "export",
    }
    assert any("[export:" in line for line in lines)
    # Only the job's outputs are left: no temporary file beside them.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "classifier_int8.tflite",
        "preset",
        "results.json",
    ]
