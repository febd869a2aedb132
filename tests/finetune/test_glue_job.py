"""The GLUE job: any task by config, pairs, a regression head, bad input."""

import csv
import json

import numpy as np
import pytest

from keras_mobilebert import MobileBertClassifier
from keras_mobilebert.data.glue import GlueFormatError
from keras_mobilebert.data.length_buckets import pack_texts
from keras_mobilebert.finetune import load_config
from keras_mobilebert.finetune import run_finetune
from keras_mobilebert.finetune.glue import num_outputs
from keras_mobilebert.finetune.glue import training_steps
from keras_mobilebert.finetune.glue_data import glue_source
from keras_mobilebert.finetune.glue_data import load_task_data
from keras_mobilebert.metrics import glue_metrics
from tests.finetune import glue_tiny


def job(tmp_path, task, **fields):
    data = glue_tiny.write_task(tmp_path / task, task)
    preset = glue_tiny.student_preset(tmp_path / "preset")
    path = glue_tiny.config_file(
        tmp_path / f"{task}.json",
        job="glue",
        task=task,
        data=str(data),
        preset=preset,
        **fields,
    )
    return load_config(path)


def test_a_config_needs_only_the_task_and_fills_the_rest(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"job": "glue", "task": "MNLI"}))
    config = load_config(str(path))
    assert config["task"] == "mnli"
    assert config["eval_split"] == "validation_matched"
    assert config["init"] == "teacher_word_table"
    assert glue_source("mnli").endswith("/MNLI.zip")
    with pytest.raises(ValueError, match="MRPC|mrpc"):
        glue_source("mrpc")
    path.write_text(
        json.dumps({"job": "glue", "task": "rte", "eval_split": "dev"})
    )
    with pytest.raises(ValueError, match="'dev' is not a split of rte"):
        load_config(str(path))
    path.write_text(json.dumps({"job": "glue"}))
    with pytest.raises(ValueError, match="lacks the fields \\['task'\\]"):
        load_config(str(path))
    assert (num_outputs("stsb"), num_outputs("mnli")) == (1, 3)
    assert (
        training_steps({"train_steps": None, "epochs": 2, "batch_size": 8}, 20)
        == 6
    )


def test_sentence_pairs_train_as_two_segments_and_score_officially(tmp_path):
    config = job(tmp_path, "rte")
    train, dev = load_task_data(config)
    results = run_finetune(config, tmp_path / "out", log=lambda m: None)
    assert list(results["metrics"]) == ["accuracy"]
    assert results["steps"] == 4 and results["train_size"] == 48
    # The preset reloads and scores what the job reported, on pairs
    # packed as [CLS] a [SEP] b [SEP] (segment ids 0, then 1).
    reloaded = MobileBertClassifier.from_preset(results["preset_dir"])
    packed = pack_texts(reloaded.preprocessor, dev.features)
    first = packed["segment_ids"][0][packed["padding_mask"][0] == 1]
    assert first[0] == 0 and first[-1] == 1
    logits = np.asarray(reloaded(packed, training=False))
    assert glue_metrics("rte", logits, dev.labels) == results["metrics"]
    with open(tmp_path / "out" / "training" / "losses.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["global_step"] for r in rows] == ["2", "4"]
    assert {"loss", "accuracy"} <= set(rows[0])
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["metrics"] == results["metrics"]


# An int8 conversion and two LiteRT runs: about a minute of CPU.
@pytest.mark.large
def test_stsb_gets_a_regression_head_and_its_file_is_verified(tmp_path):
    # Export on: the int8 file's verification and scoring must work for a
    # one-output head (no argmax agreement; Pearson and Spearman).
    config = job(
        tmp_path,
        "stsb",
        train_steps=6,
        export={"quantization": "int8", "num_representative": 16},
    )
    results = run_finetune(config, tmp_path / "out", log=lambda m: None)
    assert list(results["metrics"]) == ["pearson", "spearman"]
    reloaded = MobileBertClassifier.from_preset(results["preset_dir"])
    assert reloaded.num_classes == 1
    export = results["export"]
    assert export["label_agreement"] is None
    assert export["heldout_label_agreement"] is None
    assert export["metadata"] is False and "pairs" not in export["skipped"]
    assert list(export["tflite_metrics"]) == ["pearson", "spearman"]
    assert (
        abs(
            export["tflite_metrics"]["pearson"]
            - export["keras_metrics"]["pearson"]
        )
        < 0.1
    )
    assert (tmp_path / "out" / "classifier_int8.tflite").is_file()
    with open(tmp_path / "out" / "training" / "losses.csv") as f:
        columns = next(csv.reader(f))
    assert "hard_loss" in columns and "accuracy" not in columns


@pytest.mark.parametrize(
    "line, message",
    [
        ("a great film\t1\textra", r"train.tsv, line 3: expected 2 tab"),
        ("a great film\t7", r"train.tsv, line 3, field 'label': label '7'"),
        (" \t1", r"train.tsv, line 3, field 'sentence': the sentence is empty"),
    ],
)
def test_bad_glue_files_fail_naming_file_line_field_and_write_nothing(
    tmp_path, line, message
):
    config = job(tmp_path, "sst2")
    train = tmp_path / "sst2" / "train.tsv"
    lines = train.read_text().splitlines()
    lines[2] = line
    train.write_text("\n".join(lines) + "\n")
    with pytest.raises(GlueFormatError, match=message):
        run_finetune(config, tmp_path / "out", log=lambda m: None)
    assert not (tmp_path / "out").exists()


def test_a_wrong_header_names_the_expected_columns(tmp_path):
    config = job(tmp_path, "sst2")
    train = tmp_path / "sst2" / "train.tsv"
    train.write_text("text\tlabel\n" + train.read_text().split("\n", 1)[1])
    with pytest.raises(GlueFormatError, match="line 1: expected the sst2"):
        run_finetune(config, tmp_path / "out", log=lambda m: None)
