"""Resumable fine-tuning: batches by step, exact resume, the SQuAD job's
resume after SIGKILL and its MirroredStrategy run."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from keras_mobilebert import MobileBertQuestionAnswerer
from keras_mobilebert.data.squad import read_squad
from keras_mobilebert.distillation.checkpoints import load_npz
from keras_mobilebert.distillation.fault_injection import KILL_ENV
from keras_mobilebert.finetune import finetuning_optimizer
from keras_mobilebert.finetune import resumable_fit
from keras_mobilebert.finetune.resumable_fit import batch_order
from keras_mobilebert.finetune.resumable_fit import fit_resumably
from keras_mobilebert.finetune.squad import build_question_answerer
from tests.finetune.squad_tiny import tiny_config

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_batch_order_is_a_fresh_permutation_per_epoch():
    order = batch_order(10, 4, epochs=3, seed=7)
    assert order.shape == (6, 4) and order.dtype == np.int32
    for epoch in range(3):
        rows = order[2 * epoch : 2 * epoch + 2].ravel()
        expected = np.random.default_rng([7, epoch]).permutation(10)[:8]
        np.testing.assert_array_equal(rows, expected)
        assert len(set(rows)) == 8  # No row twice within an epoch.
    assert not np.array_equal(order[:2], order[2:4])
    np.testing.assert_array_equal(order, batch_order(10, 4, 3, seed=7))
    with pytest.raises(ValueError, match="3 rows, fewer than one batch of 4"):
        batch_order(3, 4, epochs=1, seed=0)


def tiny_qa(config, steps):
    qa = build_question_answerer(config)
    qa.compile(optimizer=finetuning_optimizer(5e-3, 0.1, steps))
    return qa


def weights(model):
    return [np.array(v.numpy()) for v in model.variables]


class Interrupt(Exception):
    pass


class InterruptAfterStep(keras.callbacks.Callback):
    def __init__(self, first_step, stop_step):
        super().__init__()
        self.first_step, self.stop_step = first_step, stop_step

    def on_train_batch_end(self, batch, logs=None):
        if self.first_step + batch + 1 >= self.stop_step:
            raise Interrupt()


def test_an_interrupted_fit_resumes_at_its_checkpoint(tmp_path, monkeypatch):
    config = tiny_config(tmp_path)
    windows = build_question_answerer(config).preprocessor.encode(
        read_squad(config["train"])
    )
    x, y = windows.inputs(), windows.labels()
    kwargs = dict(batch_size=4, epochs=3, seed=0, checkpoint_every=3)
    steps = 3 * (len(windows) // 4)
    assert steps >= 9

    straight = tiny_qa(config, steps)
    summary = fit_resumably(
        straight,
        x,
        y,
        backup_dir=tmp_path / "a",
        log=lambda line: None,
        **kwargs,
    )
    assert summary["resumed_from"] is None and summary["steps"] == steps

    # Stopped during step 5 (0-based 4): the checkpoint of step 3 is kept.
    monkeypatch.setattr(
        resumable_fit,
        "kill_callback",
        lambda first: InterruptAfterStep(first, 5),
    )
    with pytest.raises(Interrupt):
        fit_resumably(
            tiny_qa(config, steps),
            x,
            y,
            backup_dir=tmp_path / "b",
            log=lambda line: None,
            **kwargs,
        )
    _, meta = load_npz(tmp_path / "b" / "progress.npz")
    assert meta["step"] == 3
    monkeypatch.setattr(resumable_fit, "kill_callback", lambda first: None)
    # A fresh process would build a fresh model: its weights are the seed's
    # initial ones, replaced by the checkpoint's.
    resumed_model = tiny_qa(config, steps)
    lines = []
    resumed = fit_resumably(
        resumed_model,
        x,
        y,
        backup_dir=tmp_path / "b",
        log=lines.append,
        **kwargs,
    )
    assert resumed["resumed_from"] == 3
    assert lines[0].startswith("resumed from step 3")
    assert [r["step"] for r in resumed["history"]] == [
        r["step"] for r in summary["history"]
    ]
    # Bit for bit: weights, optimizer slots and the dropout seed states.
    for a, b in zip(weights(straight), weights(resumed_model)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(
        straight.optimizer.variables, resumed_model.optimizer.variables
    ):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # A checkpoint of other settings is refused.
    with pytest.raises(ValueError, match="other data or settings"):
        fit_resumably(
            tiny_qa(config, steps),
            x,
            y,
            backup_dir=tmp_path / "b",
            batch_size=4,
            epochs=2,
            seed=0,
            checkpoint_every=3,
        )


def job_command(config_path, output, kill_after=None):
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
            "finetune-squad",
            "--config",
            str(config_path),
            "--output",
            str(output),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def preset_weights(preset_dir):
    """The saved weights; dropout seed states are drawn anew on loading."""
    qa = MobileBertQuestionAnswerer.from_preset(str(preset_dir), compile=False)
    return [
        np.array(v.numpy())
        for v in qa.variables
        if "seed_generator" not in v.path
    ]


# Three job processes (TensorFlow start-up and tracing each): about 1 CPU
# minute, 3 to 5 minutes of wall time on the shared 2-core machine.
@pytest.mark.large
def test_a_killed_job_resumes_with_the_same_command(tmp_path):
    config = tiny_config(tmp_path, epochs=3)
    config["example_questions"] = []
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(config))
    straight = job_command(path, tmp_path / "straight")
    assert straight.returncode == 0, straight.stderr[-3000:]

    # Killed after global step 5, mid epoch 2 (4 steps per epoch), two
    # steps past the checkpoint at step 3: those steps are redone.
    killed = job_command(path, tmp_path / "run", kill_after=5)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    _, meta = load_npz(tmp_path / "run" / "backup" / "progress.npz")
    assert meta["step"] == 3
    assert not (tmp_path / "run" / "results.json").exists()
    resumed = job_command(path, tmp_path / "run")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from step 3 of 12" in resumed.stdout

    a = json.loads((tmp_path / "straight" / "results.json").read_text())
    b = json.loads((tmp_path / "run" / "results.json").read_text())
    assert b["training"]["resumed_from"] == 3
    assert a["training"]["history"] == b["training"]["history"]
    assert a["f1"] == b["f1"] and a["exact_match"] == b["exact_match"]
    for x, y in zip(
        preset_weights(tmp_path / "straight" / "preset"),
        preset_weights(tmp_path / "run" / "preset"),
    ):
        np.testing.assert_array_equal(x, y)
    assert not (tmp_path / "run" / "backup").exists()


MIRRORED = textwrap.dedent(
    """
    import json, pathlib, sys

    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import numpy as np

    from keras_mobilebert import MobileBertQuestionAnswerer
    from keras_mobilebert.finetune import run_finetune

    config = json.loads(pathlib.Path(sys.argv[1]).read_text())
    out = pathlib.Path(sys.argv[2])
    results = {}
    for name in ("none", "mirrored"):
        config["distribute"] = name
        run = run_finetune(config, out / name, log=lambda line: None)
        qa = MobileBertQuestionAnswerer.from_preset(
            str(out / name / "preset"), compile=False)
        results[name] = {
            "replicas": run["replicas"],
            "losses": [r["loss"] for r in run["training"]["history"]],
            "weights": [v.numpy() for v in qa.weights],
        }
    single, mirrored = results["none"], results["mirrored"]
    diff = max(float(np.max(np.abs(a - b)))
               for a, b in zip(single["weights"], mirrored["weights"]))
    moved = max(float(np.max(np.abs(a))) for a in single["weights"])
    print("RESULT " + json.dumps({
        "replicas": [single["replicas"], mirrored["replicas"]],
        "losses": [single["losses"], mirrored["losses"]],
        "diff": diff,
        "moved": moved,
    }))
    """
)


def test_the_job_under_mirrored_strategy_equals_one_device(tmp_path):
    # Global batch 4 on two logical CPUs: 2 windows per replica. Without
    # dropout both runs compute the same global-batch updates.
    config = tiny_config(tmp_path, epochs=1)
    config["backbone_overrides"]["attention_dropout"] = 0.0
    config["example_questions"] = []
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(config))
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED, str(path), str(tmp_path / "out")],
        cwd=ROOT,
        env=dict(
            os.environ,
            PYTHONPATH=str(ROOT),
            TF_CPP_MIN_LOG_LEVEL="2",
            CUDA_VISIBLE_DEVICES="",
        ),
        capture_output=True,
        text=True,
        timeout=900,
    )
    lines = [
        ln for ln in result.stdout.splitlines() if ln.startswith("RESULT ")
    ]
    assert result.returncode == 0 and lines, result.stderr[-3000:]
    report = json.loads(lines[0][len("RESULT ") :])
    assert report["replicas"] == [1, 2]
    single, mirrored = report["losses"]
    np.testing.assert_allclose(mirrored, single, rtol=1e-5)
    # The replicas' gradients are summed in another order, and Adam's first
    # steps turn a gradient's sign, not its size, into the update: a
    # gradient within rounding of zero may move a weight by a fraction of
    # the learning rate differently (measured: 2.3e-5 with lr 5e-3). A
    # wrong batch split would differ in the losses above.
    assert report["diff"] < 0.01 * config["learning_rate"], report
