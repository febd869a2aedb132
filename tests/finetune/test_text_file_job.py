"""Your own labelled file: config, train -> preset -> evaluate on the
preset and on the .tflite (one report), predict, the commands."""

import json
import pathlib

import numpy as np
import pytest

from keras_mobilebert.data import LabeledTextFormatError
from keras_mobilebert.data import read_labeled_text
from keras_mobilebert.export.metadata import read_associated_files
from keras_mobilebert.finetune import evaluate_text_file
from keras_mobilebert.finetune import finetune_text_file
from keras_mobilebert.finetune import predict_texts
from keras_mobilebert.finetune.glue import checkpoint_interval
from keras_mobilebert.finetune.text_file import class_weights
from keras_mobilebert.finetune.your_data import text_file_config
from keras_mobilebert_cli.main import main
from tests.finetune import glue_tiny

FILES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
FILES = FILES / "labeled_text"
LOGIN = 'login, password & "2FA"'
COLUMNS = {"text_column": "message", "label_column": "team"}


def test_the_config_takes_a_file_instead_of_a_task(tmp_path):
    config = text_file_config(FILES / "tickets.csv", **COLUMNS)
    assert config["task"] is None and config["job"] == "glue"
    assert config["text_file"]["validation_fraction"] == 0.2
    distill = text_file_config(
        FILES / "tickets.csv", teacher="minilm_l6", **COLUMNS
    )
    assert distill["job"] == "distill_task" and distill["task"] is None
    with pytest.raises(LabeledTextFormatError, match="validation_fraction"):
        text_file_config(FILES / "tickets.csv", validation_fraction=0)
    with pytest.raises(ValueError, match="class_weight must be one of"):
        text_file_config(FILES / "tickets.csv", class_weight="yes")
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"job": "glue"}))
    from keras_mobilebert.finetune import load_config

    with pytest.raises(ValueError, match="lacks the fields"):
        load_config(path)
    path.write_text(
        json.dumps({"job": "glue", "text_file": {"train": "t.csv"}})
    )
    assert load_config(path)["text_file"]["label_column"] == "label"


def test_a_file_task_checkpoints_and_validates_at_least_once_an_epoch():
    config = {"checkpoint_every": 100, "batch_size": 32}
    # 1,391 examples at batch 32: 43 full batches and a short one.
    assert checkpoint_interval(config, 1391, file_task=True) == 44
    assert checkpoint_interval(config, 1391, file_task=False) == 100
    assert checkpoint_interval(config, 3200, file_task=True) == 100
    assert checkpoint_interval(config, 3201, file_task=True) == 100
    config["checkpoint_every"] = 10
    assert checkpoint_interval(config, 1391, file_task=True) == 10


def test_balanced_class_weights_are_n_over_k_count():
    split = read_labeled_text(FILES / "tickets.csv", **COLUMNS)
    split = split.select([0, 1, 2, 3, 5, 10])  # 4 billing, 1, 1
    weights = class_weights(split, "balanced")
    np.testing.assert_allclose(weights, [6 / 12, 6 / 3, 6 / 3])
    assert class_weights(split, "none") is None


@pytest.mark.large
def test_train_save_evaluate_preset_and_tflite_predict(tmp_path, capsys):
    preset = glue_tiny.student_preset(tmp_path / "student")
    results = finetune_text_file(
        FILES / "tickets.csv",
        tmp_path / "run",
        validation=FILES / "tickets_eval.tsv",
        preset=preset,
        init="random",
        backbone_overrides={},
        sequence_length=16,
        batch_size=4,
        train_steps=8,
        checkpoint_every=100,
        class_weight="balanced",
        **COLUMNS,
    )
    run = tmp_path / "run"
    names = ["billing", LOGIN, "shipping"]
    assert results["label_names"] == names
    assert results["report"]["examples"] == 3
    assert results["class_counts"]["train"] == dict.fromkeys(names, 5)
    assert "tfidf_logistic_regression" in results["baseline"]
    for picture in ("confusion_matrix.png", "training_curves.png"):
        assert (run / picture).read_bytes()[:4] == b"\x89PNG"
    # 15 training rows at batch 4: one validated row an epoch (4 steps),
    # not one at checkpoint_every=100.
    rows = (run / "training" / "losses.csv").read_text().splitlines()
    assert "val_accuracy" in rows[0] and len(rows) == 3
    assert [row.split(",")[0] for row in rows[1:]] == ["4", "8"]
    labels = json.loads((run / "preset" / "labels.json").read_text())
    assert labels == {"0": names[0], "1": names[1], "2": names[2]}
    tflite = pathlib.Path(results["export"]["path"])
    packed = read_associated_files(tflite.read_bytes())
    assert packed["labels.txt"].decode().splitlines() == names

    # One scoring path: the preset and the file give the job's reports.
    data = FILES / "tickets_eval.tsv"
    on_preset = evaluate_text_file(run / "preset", data, **COLUMNS)
    on_file = evaluate_text_file(tflite, data, **COLUMNS)
    for key in ("accuracy", "macro_f1", "per_class", "confusion_matrix"):
        assert on_preset[key] == results["report"][key]
        assert on_file[key] == results["export"]["tflite_report"][key]
    texts = ["where is my parcel", "charged twice"]
    for model in (run / "preset", tflite):
        rows = predict_texts(model, texts)
        assert [r["label"] in names for r in rows] == [True, True]
        for row in rows:
            assert sum(row["probabilities"].values()) == pytest.approx(1, 1e-4)
    keras_rows = predict_texts(run / "preset", texts)
    file_rows = predict_texts(tflite, texts)
    for k, f in zip(keras_rows, file_rows):
        assert f["probability"] == pytest.approx(k["probability"], abs=0.05)
    _check_mediapipe_names_the_labels(tflite, texts, file_rows, names)

    # The commands print the same report and write predictions.
    capsys.readouterr()
    assert (
        main(
            [
                "evaluate",
                str(tflite),
                "--data",
                str(data),
                "--text-column",
                "message",
                "--label-column",
                "team",
                "--output",
                str(tmp_path / "eval.json"),
            ]
        )
        == 0
    )
    assert (
        json.loads((tmp_path / "eval.json").read_text())["accuracy"]
        == (on_file["accuracy"])
    )
    out = tmp_path / "predictions.csv"
    assert (
        main(
            [
                "predict",
                str(run / "preset"),
                "--data",
                str(data),
                "--text-column",
                "message",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    predicted = read_labeled_text(out, label_names=names)
    assert predicted.segments[0][0] == "charged twice this month"
    # A label the model never saw is refused, with its line.
    bad = tmp_path / "bad.csv"
    bad.write_text("message,team\nhi,billing\nho,sales\n")
    with pytest.raises(LabeledTextFormatError, match="bad.csv, line 3"):
        evaluate_text_file(tflite, bad, **COLUMNS)


def _check_mediapipe_names_the_labels(tflite, texts, file_rows, names):
    """MediaPipe's TextClassifier reads the label names from the file's
    metadata and gives the file's probabilities."""
    try:
        from mediapipe.tasks.python import text
        from mediapipe.tasks.python.core import base_options
    except ImportError:
        return  # the metadata extra is absent: nothing to run it with
    options = text.TextClassifierOptions(
        base_options=base_options.BaseOptions(model_asset_path=str(tflite))
    )
    with text.TextClassifier.create_from_options(options) as mediapipe:
        for sentence, row in zip(texts, file_rows):
            categories = mediapipe.classify(sentence).classifications[0]
            by_label = {c.category_name: c.score for c in categories.categories}
            assert set(by_label) == set(names)
            for name in names:
                assert by_label[name] == pytest.approx(
                    row["probabilities"][name], abs=0.02
                )


@pytest.mark.large
def test_distill_task_on_a_file_keeps_the_names_and_validates_each_epoch(
    tmp_path,
):
    student = glue_tiny.student_preset(tmp_path / "student_preset")
    names = ["billing", LOGIN, "shipping"]
    teacher = glue_tiny.teacher_preset(tmp_path / "teacher", 3, labels=names)
    run = tmp_path / "run"
    results = finetune_text_file(
        FILES / "tickets.csv",
        run,
        teacher=teacher,
        log=lambda message: None,
        preset=student,
        init="random",
        backbone_overrides={},
        sequence_length=16,
        batch_size=4,
        train_steps=8,
        checkpoint_every=100,
        learning_rate=1e-3,
        export=None,
        **COLUMNS,
    )
    assert results["label_names"] == names
    assert results["report"]["examples"] == 3
    # 12 training texts at batch 4: an epoch is 3 steps, so the student
    # is validated every 3 steps although checkpoint_every is 100.
    rows = (run / "student_training" / "losses.csv").read_text().splitlines()
    assert "val_accuracy" in rows[0]
    assert [row.split(",")[0] for row in rows[1:]] == ["3", "6", "8"]
    preset = json.loads((run / "student" / "labels.json").read_text())
    assert list(preset.values()) == names
