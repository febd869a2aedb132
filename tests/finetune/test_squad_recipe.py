"""`recipes/finetune_squad.py` runs its steps in the smoke configuration."""

import importlib.util
import pathlib

from tests.finetune.squad_tiny import write_squad

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load_recipe():
    path = ROOT / "recipes" / "finetune_squad.py"
    spec = importlib.util.spec_from_file_location("finetune_squad", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_recipe_runs_every_step(tmp_path, capsys):
    train = write_squad(tmp_path / "train.json")
    dev = write_squad(tmp_path / "dev.json", unanswerable=["Who wrote it?"])
    result = load_recipe().main(
        [
            "--train",
            str(train),
            "--dev",
            str(dev),
            "--smoke",
            "--output",
            str(tmp_path / "out"),
        ]
    )
    # The dev file has unanswerable questions: the v2.0 metric.
    assert result["scores"]["total"] == 12
    assert result["scores"]["NoAns_total"] == 3
    assert result["reloaded_same"] is True
    assert isinstance(result["answer"], str) and result["answer"]
    assert (tmp_path / "out" / "preset" / "task.weights.h5").is_file()
    out = capsys.readouterr().out
    assert "9 training and 12 dev questions" in out
