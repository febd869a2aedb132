"""The task-distillation job and `distill-task`: a tiny end-to-end run,
teachers that cannot teach the student, user text, and a killed run."""

import argparse
import csv
import json
import os
import pathlib
import signal
import subprocess
import sys

import numpy as np
import pytest

from keras_mobilebert import MobileBertClassifier
from keras_mobilebert.distillation.fault_injection import KILL_ENV
from keras_mobilebert.distillation.teacher_logits import CACHE_FOLDER
from keras_mobilebert.finetune import load_config
from keras_mobilebert.finetune import run_finetune
from keras_mobilebert.finetune.task_distillation import augmentation_sources
from keras_mobilebert.finetune.task_distillation import read_unlabelled
from keras_mobilebert_cli import distill_task as command
from tests.finetune import glue_tiny
from tests.models.helpers import VOCAB

ROOT = pathlib.Path(__file__).resolve().parents[2]


def setup(tmp_path, task="sst2", teacher=None, **fields):
    data = glue_tiny.write_task(tmp_path / task, task)
    preset = glue_tiny.student_preset(tmp_path / "student_preset")
    if teacher is None:
        teacher = glue_tiny.teacher_preset(tmp_path / "teacher_preset")
    return glue_tiny.config_file(
        tmp_path / "config.json",
        job="distill_task",
        task=task,
        data=str(data),
        preset=preset,
        teacher=teacher,
        temperature=2.0,
        **fields,
    )


def test_a_teacher_that_cannot_teach_the_student_is_named(tmp_path):
    other_vocabulary = VOCAB + ["extra"]
    wider = glue_tiny.teacher_preset(tmp_path / "wider", 2, other_vocabulary)
    config = load_config(setup(tmp_path, teacher=wider))
    with pytest.raises(ValueError, match="has 22 tokens and the student's 21"):
        run_finetune(config, tmp_path / "out", log=lambda m: None)
    three = glue_tiny.teacher_preset(tmp_path / "three", 3)
    config["teacher"] = three
    with pytest.raises(ValueError, match="teacher predicts 3 classes and the"):
        run_finetune(config, tmp_path / "out", log=lambda m: None)
    swapped = glue_tiny.teacher_preset(
        tmp_path / "swapped", labels=["positive", "negative"]
    )
    config["teacher"] = swapped
    with pytest.raises(
        ValueError, match=r"\['positive', 'negative'\] differ from the stu"
    ):
        run_finetune(config, tmp_path / "out", log=lambda m: None)
    assert not (tmp_path / "out" / "student").exists()


def test_unlabelled_text_is_read_strictly(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text("a great film\tthe movie\n\nthe fox\n")
    with pytest.raises(ValueError, match="text.txt, line 3: expected 2"):
        read_unlabelled(path, 2)
    assert read_unlabelled(path, 1) == (["a great film\tthe movie", "the fox"],)
    path.write_text("a great film\t \n")
    with pytest.raises(ValueError, match="line 1, field 2: the sentence is"):
        read_unlabelled(path, 2)


def test_augmentation_sources_keep_the_long_texts():
    texts = ["a b c", "a", "a b c d e", "a b", "a b c d"] * 20
    long = [i for i, t in enumerate(texts) if len(t.split()) >= 3]
    np.testing.assert_array_equal(augmentation_sources(texts, 3, None, 0), long)
    np.testing.assert_array_equal(
        augmentation_sources(texts, 0, None, 0), np.arange(len(texts))
    )
    drawn = augmentation_sources(texts, 4, 10, seed=1)
    assert len(drawn) == 10 and len(set(drawn)) == 10
    assert list(drawn) == sorted(drawn)
    assert all(len(texts[i].split()) >= 4 for i in drawn)
    # The seed picks which ones, reproducibly.
    np.testing.assert_array_equal(drawn, augmentation_sources(texts, 4, 10, 1))
    assert set(drawn) != set(augmentation_sources(texts, 4, 10, 2))
    with pytest.raises(ValueError, match="longest training text has 5 words"):
        augmentation_sources(texts, 6, None, 0)
    with pytest.raises(ValueError, match="min_words must be a non-negative"):
        augmentation_sources(texts, -1, None, 0)


def test_a_bad_min_words_is_refused_when_the_config_loads(tmp_path):
    config = setup(tmp_path, augmentation={"copies": 1, "min_words": -3})
    with pytest.raises(ValueError, match="min_words must be a non-negative"):
        load_config(config)


def test_the_command_distils_with_augmented_and_user_text(tmp_path, capsys):
    extra = tmp_path / "unlabelled.txt"
    extra.write_text(
        "the great fox\ta dull movie\nthe film was played\tthe fox\n"
    )
    config = setup(tmp_path, task="rte", train_steps=4)
    parser = argparse.ArgumentParser(prog="keras-mobilebert")
    command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "distill-task",
            "--config",
            config,
            "--output-dir",
            str(tmp_path / "run"),
            "--augment-copies",
            "1",
            "--unlabelled-text",
            str(extra),
            "--hard-label-weight",
            "0.5",
        ]
    )
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    summary = json.loads(printed[printed.rindex("\n{") :])
    assert summary["output_dir"] == str(tmp_path / "run")
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["config"]["augmentation"]["copies"] == 1
    assert results["config"]["hard_label_weight"] == 0.5
    assert results["extra_text"] >= 2 + 40  # user text + augmented copies
    assert list(results["metrics"]) == list(results["teacher_metrics"])
    assert 0.0 <= results["teacher_agreement"] <= 1.0
    # Two logit files: the training text's (shared with runs without
    # augmentation) and the extra text's.
    assert len(list((tmp_path / "run" / CACHE_FOLDER).glob("*.npz"))) == 2
    student = MobileBertClassifier.from_preset(results["preset_dir"])
    assert student.preprocessor.tokenizer.vocabulary_size() == len(VOCAB)
    with open(tmp_path / "run" / "student_training" / "losses.csv") as f:
        rows = list(csv.DictReader(f))
    assert {"kd_loss", "hard_loss", "teacher_agreement"} <= set(rows[-1])
    assert (tmp_path / "run" / "student_training" / "losses.png").is_file()


def distill(config, output_dir, kill_after=None):
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        TF_CPP_MIN_LOG_LEVEL="2",
        CUDA_VISIBLE_DEVICES="",
    )
    env.pop(KILL_ENV, None)
    if kill_after:
        env[KILL_ENV] = str(kill_after)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "keras_mobilebert_cli",
            "distill-task",
            "--config",
            config,
            "--output-dir",
            str(output_dir),
            "--no-export",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def student_weights(output_dir):
    student = MobileBertClassifier.from_preset(str(output_dir / "student"))
    return [np.asarray(w) for w in student.weights]


# Three command processes (start-up, tracing): about two minutes of CPU.
@pytest.mark.large
def test_a_killed_run_resumes_to_the_same_student(tmp_path):
    config = setup(tmp_path, train_steps=6)
    straight = distill(config, tmp_path / "straight")
    assert straight.returncode == 0, straight.stderr[-3000:]
    # Killed after step 3, one step past the checkpoint at step 2.
    killed = distill(config, tmp_path / "resumed", kill_after=3)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert not (tmp_path / "resumed" / "student").exists()
    resumed = distill(config, tmp_path / "resumed")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "teacher logits: reused" in resumed.stdout + resumed.stderr
    results = json.loads((tmp_path / "resumed" / "results.json").read_text())
    assert results["resumed_from"] == 2
    for a, b in zip(
        student_weights(tmp_path / "straight"),
        student_weights(tmp_path / "resumed"),
    ):
        np.testing.assert_array_equal(a, b)
