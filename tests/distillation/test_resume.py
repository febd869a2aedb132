"""The recipe: killed with SIGKILL mid-stage and restarted, it ends exactly
where an uninterrupted run ends; and the `distill` subcommand wiring."""

import argparse
import csv
import json
import os
import pathlib
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_mobilebert.distillation.checkpoints import load_npz
from keras_mobilebert.distillation.checkpoints import load_student_checkpoint
from keras_mobilebert.distillation.checkpoints import stage_checkpoints
from keras_mobilebert.distillation.embedding_init import INIT_EMBEDDINGS_CHOICES
from keras_mobilebert.distillation.fault_injection import KILL_ENV
from keras_mobilebert.distillation.runner import DistillationRun
from keras_mobilebert_cli import distill as command
from tests.distillation import tiny

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEACHER = {
    "num_layers": 2,
    "hidden_dim": 16,
    "intermediate_dim": 32,
    "embedding_dim": 8,
    "bottleneck_dim": 24,
    "num_heads": 2,
    "max_sequence_length": 16,
}
STUDENT = {
    "num_layers": 2,
    "hidden_dim": 16,
    "intermediate_dim": 16,
    "embedding_dim": 8,
    "bottleneck_dim": 8,
    "num_heads": 2,
    "num_feedforward_networks": 2,
    "max_sequence_length": 16,
}


def recipe(output_dir, text, kill_after=None):
    args = [
        sys.executable,
        str(ROOT / "recipes" / "distill_mobilebert.py"),
        "--teacher",
        "ib_bert_en_uncased",
        "--teacher-overrides",
        json.dumps(TEACHER),
        "--student-overrides",
        json.dumps(STUDENT),
        "--strategy",
        "progressive",
        # Stages: layer_1 steps 0-4, layer_2 4-8, pre-training 8-12;
        # checkpoints every 2 steps.
        "--layer-steps",
        "4",
        "--pretraining-steps",
        "4",
        "--checkpoint-every",
        "2",
        "--batch-size",
        "4",
        "--sequence-length",
        "16",
        "--max-predictions",
        "3",
        "--text",
        str(text),
        "--output-dir",
        str(output_dir),
        "--verbose",
        "0",
    ]
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
        args, env=env, capture_output=True, text=True, timeout=900
    )


def assert_same_loss_log(rows_a, rows_b):
    """The same rows and columns, with equal losses.

    The weights are compared bit for bit above. A logged total is a float sum
    of the components, and its last bit can differ between processes
    (seen once in a full CI run: 10.973155975 vs 10.973156929 with identical
    components and weights), so losses compare to float32 precision.
    """
    assert [list(r) for r in rows_a] == [list(r) for r in rows_b]
    for a, b in zip(rows_a, rows_b):
        for column, value in a.items():
            if column in ("global_step", "stage", "stage_name", "stage_step"):
                assert value == b[column], column
            elif value == "" or b[column] == "":
                assert value == b[column], column
            else:
                np.testing.assert_allclose(
                    float(value), float(b[column]), rtol=1e-6, err_msg=column
                )


def final_student(output_dir):
    path = output_dir / "checkpoints" / "stage_02_pretraining_distillation.npz"
    arrays, meta = load_npz(path)
    return {k: v for k, v in arrays.items() if k.startswith("student/")}, meta


# Three recipe processes (TensorFlow start-up and tracing each): about 90 s
# of CPU, 3.5 min wall on the shared 2-core machine. Run with --run_large.
@pytest.mark.large
def test_killed_and_resumed_run_matches_uninterrupted_run(tmp_path):
    text = tmp_path / "corpus.txt"
    text.write_text(
        "the film is a joy .\nit moves along briskly .\n\n"
        "a dull , lifeless script .\nnothing works here .\n\n"
        "great acting from everyone .\nthe ending is perfect .\n"
    )
    straight = tmp_path / "straight"
    result = recipe(straight, text)
    assert result.returncode == 0, result.stderr[-3000:]

    interrupted = tmp_path / "interrupted"
    # Killed after global step 7: mid layer_2, one step past the
    # checkpoint at step 6, so that step is lost and redone.
    killed = recipe(interrupted, text, kill_after=7)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    progress, meta = load_npz(interrupted / "checkpoints" / "progress.npz")
    assert (meta["stage"], meta["stage_step"], meta["global_step"]) == (1, 2, 6)
    assert not (interrupted / "student").exists()
    resumed = recipe(interrupted, text)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert '"resumed_from": 6' in resumed.stdout

    expected, _ = final_student(straight)
    got, _ = final_student(interrupted)
    assert expected.keys() == got.keys() and len(expected) > 50
    for key in expected:
        np.testing.assert_array_equal(expected[key], got[key], err_msg=key)

    with open(straight / "losses.csv") as f:
        rows_a = list(csv.DictReader(f))
    with open(interrupted / "losses.csv") as f:
        rows_b = list(csv.DictReader(f))
    assert [r["global_step"] for r in rows_b] == [
        "2",
        "4",
        "6",
        "8",
        "10",
        "12",
    ]
    assert_same_loss_log(rows_a, rows_b)
    assert {"fm_l1", "att_l2", "mlm_loss", "nsp_loss"} <= set(rows_a[0])
    for name in (
        "losses.png",
        "student/config.json",
        "student_pretraining.weights.h5",
        "checkpoints/stage_00_layer_1.npz",
        "checkpoints/stage_01_layer_2.npz",
    ):
        assert (interrupted / name).exists(), name
    assert (interrupted / "losses.png").read_bytes()[:4] == b"\x89PNG"
    # Nothing half-written is left beside the checkpoints.
    assert not [
        p
        for p in (interrupted / "checkpoints").iterdir()
        if p.name.startswith(".")
    ]


def test_distill_subcommand_registration():
    parser = argparse.ArgumentParser(prog="keras-mobilebert")
    subparsers = parser.add_subparsers(dest="command")
    command.register(subparsers)
    args = parser.parse_args(
        [
            "distill",
            "--output-dir",
            "runs/x",
            "--strategy",
            "joint",
            "--layer-map",
            "1:2,2:4",
            "--student-overrides",
            '{"num_layers": 2}',
        ]
    )
    assert args.func is command.run
    assert args.strategy == "joint"
    assert args.student_overrides == {"num_layers": 2}
    assert command.parse_layer_map(args.layer_map) == {1: 2, 2: 4}
    assert args.optimizer == "lamb" and args.lower_rate == 0.1
    assert args.init_embeddings == "auto"
    # The parser spells the choices out (it must not import TensorFlow);
    # they must stay the ones the run accepts.
    distill = subparsers.choices["distill"]
    (action,) = [a for a in distill._actions if a.dest == "init_embeddings"]
    assert tuple(action.choices) == INIT_EMBEDDINGS_CHOICES


def test_stage_checkpoints_are_listed_and_restored(tmp_path):
    def distil(output_dir, pretraining_steps):
        keras.utils.set_random_seed(4)
        teacher, student = tiny.teacher(), tiny.student()
        DistillationRun(
            teacher,
            student,
            "joint",
            output_dir,
            make_dataset=lambda step: tf.data.Dataset.from_tensors(
                tiny.batch()
            ).repeat(),
            layer_steps=2,
            pretraining_steps=pretraining_steps,
            learning_rate=1e-2,
            checkpoint_every=2,
            verbose=0,
        ).run()
        return [v.numpy() for v in student.weights]

    full = distil(tmp_path / "full", pretraining_steps=3)
    # The same run stopped after its layer-wise stage: what stage 0 of the
    # full run must hold.
    layerwise_only = distil(tmp_path / "layerwise", pretraining_steps=0)

    stages = stage_checkpoints(tmp_path / "full")
    checkpoints = tmp_path / "full" / "checkpoints"
    assert stages == {
        "joint_layerwise": checkpoints / "stage_00_joint_layerwise.npz",
        "pretraining_distillation": (
            checkpoints / "stage_01_pretraining_distillation.npz"
        ),
    }
    assert list(stages) == ["joint_layerwise", "pretraining_distillation"]

    def loaded(name):
        keras.utils.set_random_seed(5)  # a different start, overwritten
        student = tiny.student()
        meta = load_student_checkpoint(stages[name], student)
        return [v.numpy() for v in student.weights], meta

    final, meta = loaded("pretraining_distillation")
    assert meta["stage"] == 1
    for a, b in zip(final, full):
        np.testing.assert_array_equal(a, b)
    stage0, meta = loaded("joint_layerwise")
    assert meta["stage"] == 0 and meta["global_step"] == 4
    for a, b in zip(stage0, layerwise_only):
        np.testing.assert_array_equal(a, b)
    # The pre-training stage moved the student: stage 0 is not the end.
    assert any(not np.array_equal(a, b) for a, b in zip(stage0, full))

    wider = tiny.student(hidden_dim=24)
    with pytest.raises(ValueError, match="has shape"):
        load_student_checkpoint(stages["joint_layerwise"], wider)
