"""`keras-mobilebert finetune-squad` and `finetune --config <squad config>`."""

import json
import re
import urllib.error

from keras_mobilebert.cli import main
from keras_mobilebert.data import squad as squad_data
from keras_mobilebert.finetune import load_config
from keras_mobilebert.finetune.squad import DEFAULT_CONFIG
from keras_mobilebert_cli.main import build_parser


def test_the_options_become_config_fields(monkeypatch):
    seen = {}
    monkeypatch.setattr(
        "keras_mobilebert.finetune.run_finetune",
        lambda config, output: seen.update(config=config, output=output),
    )
    args = build_parser().parse_args(
        [
            "finetune-squad",
            "--train",
            "t.json",
            "--dev",
            "d.json",
            "--init",
            "random",
            "--num-layers",
            "2",
            "--sequence-length",
            "256",
            "--doc-stride",
            "64",
            "--batch-size",
            "8",
            "--distribute",
            "mirrored",
            "--no-export",
            "--output",
            "runs/x",
        ]
    )
    args.func(args)
    config, expected = seen["config"], load_config(DEFAULT_CONFIG)
    assert seen["output"] == "runs/x"
    assert (config["train"], config["dev"], config["init"]) == (
        "t.json",
        "d.json",
        "random",
    )
    assert config["backbone_overrides"] == {"num_layers": 2}
    assert (config["sequence_length"], config["doc_stride"]) == (256, 64)
    assert config["batch_size"] == 8 and config["distribute"] == "mirrored"
    assert config["export"] is None
    # What was not given keeps the default.
    assert config["epochs"] == expected["epochs"]
    assert config["max_question_length"] == expected["max_question_length"]


def test_a_classification_config_is_refused(tmp_path, capsys):
    path = tmp_path / "classification.json"
    path.write_text(json.dumps(load_config()))
    assert main(["finetune-squad", "--config", str(path)]) == 2
    assert "is a 'classification' config" in capsys.readouterr().err


def test_finetune_runs_the_job_a_config_names(tmp_path, monkeypatch, capsys):
    # The squad job's first step fails offline: proof that it ran.
    def offline(url):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(squad_data, "_open_url", offline)
    monkeypatch.setenv("KERAS_MOBILEBERT_HOME", str(tmp_path / "cache"))
    assert main(["finetune", "--config", str(DEFAULT_CONFIG)]) == 2
    assert re.search(
        "The train file https://.*no network", capsys.readouterr().err
    )
