import json

import pytest

from keras_mobilebert.cli import main


def test_info_lists_versions_and_presets(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "tensorflow " in out and "keras-hub" in out
    for name in (
        "mobilebert_en_uncased",
        "mobilebert_tiny_en_uncased",
        "mobilebert_multi_cased",
        "ib_bert_en_uncased",
        "mobilebert_qat_en_uncased",
    ):
        assert name in out
    assert "24,581,888" in out


def test_finetune_rejects_unknown_config_fields(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"dataset": "rotten_tomatoes"}))
    with pytest.raises(ValueError, match="lacks the fields.*'epochs'"):
        main(["finetune", "--config", str(config), "--output", str(tmp_path)])


@pytest.mark.large
def test_finetune_smoke_run(tmp_path, capsys):
    """The main job end to end on a sliver of the data: train, evaluate,
    predict, save a preset, reload it."""
    output = tmp_path / "run"
    main(
        [
            "finetune",
            "--epochs",
            "1",
            "--num-layers",
            "1",
            "--max-train-examples",
            "64",
            "--sequence-length",
            "32",
            "--output",
            str(output),
        ]
    )
    results = json.loads((output / "results.json").read_text())
    assert 0.0 <= results["accuracy"] <= 1.0
    assert results["test_size"] == 800
    assert len(results["predictions"]) == 4
    assert (output / "preset" / "task.weights.h5").is_file()
    out = capsys.readouterr().out
    assert "held-out accuracy" in out and "reloaded" in out
