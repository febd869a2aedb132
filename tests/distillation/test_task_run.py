"""TaskTrainingRun: interrupted and resumed, it ends where a straight run
ends; its files; plain fine-tuning and regression through TaskDistiller."""

import csv
import json

import keras
import numpy as np
import pytest

from keras_mobilebert.distillation import losses as L
from keras_mobilebert.distillation.task_distiller import TaskDistiller
from keras_mobilebert.distillation.task_distiller import task_dataset
from keras_mobilebert.distillation.task_run import TaskTrainingRun
from tests.distillation import task_tiny


class Interrupt(keras.callbacks.Callback):
    """Raise after `steps` batches of a run (a crash, in-process)."""

    def __init__(self, steps):
        super().__init__()
        self.left = steps

    def on_train_batch_end(self, batch, logs=None):
        self.left -= 1
        if self.left == 0:
            raise KeyboardInterrupt


def make_run(output_dir, callbacks=(), steps=6, config=None):
    keras.utils.set_random_seed(0)
    student = task_tiny.student()
    logits = np.random.RandomState(1).randn(8, 2).astype("float32")
    trainer = TaskDistiller(student, temperature=2.0, hard_label_weight=0.3)
    trainer.compile(keras.optimizers.Adam(1e-2))
    run = TaskTrainingRun(
        trainer,
        lambda step: task_dataset(
            task_tiny.packed(),
            logits,
            task_tiny.LABELS,
            batch_size=3,
            start_step=step,
        ),
        steps=steps,
        output_dir=output_dir,
        checkpoint_every=2,
        config=config or {"seed": 0},
        callbacks=list(callbacks),
        verbose=0,
    )
    return run, student


def test_an_interrupted_run_resumes_to_the_same_weights(tmp_path):
    straight, student = make_run(tmp_path / "straight")
    summary = straight.run()
    expected = task_tiny.snapshot(student.variables)
    assert summary["resumed_from"] is None and summary["steps"] == 6

    interrupted, _ = make_run(tmp_path / "resumed", [Interrupt(3)])
    with pytest.raises(KeyboardInterrupt):
        interrupted.run()  # Dies in step 3, after the step-2 checkpoint.
    resumed, student = make_run(tmp_path / "resumed")
    summary = resumed.run()
    assert summary["resumed_from"] == 2
    for a, b in zip(expected, task_tiny.snapshot(student.variables)):
        np.testing.assert_array_equal(a, b)

    def rows(name):
        with open(tmp_path / name / "losses.csv") as f:
            return list(csv.DictReader(f))

    assert [r["global_step"] for r in rows("resumed")] == ["2", "4", "6"]
    for a, b in zip(rows("straight"), rows("resumed")):
        for key in ("loss", "kd_loss", "hard_loss", "teacher_agreement"):
            np.testing.assert_allclose(float(a[key]), float(b[key]), rtol=1e-6)
    png = tmp_path / "resumed" / "losses.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    record = json.loads((tmp_path / "resumed" / "run.json").read_text())
    assert record["steps"] == 6 and record["config"] == {"seed": 0}


def test_a_run_with_other_settings_is_refused(tmp_path):
    first = make_run(tmp_path / "run", steps=2)[0]
    first.output_dir.mkdir(parents=True)
    first._check_config()
    first._check_config()  # the same settings: accepted
    other = make_run(tmp_path / "run", steps=2, config={"seed": 1})[0]
    with pytest.raises(ValueError, match="holds a run with different"):
        other._check_config()


def test_without_teacher_logits_it_is_fine_tuning_on_gold_labels():
    keras.utils.set_random_seed(0)
    student = task_tiny.student()
    trainer = TaskDistiller(student, hard_label_weight=1.0)
    trainer.compile(keras.optimizers.Adam(1e-2))
    data = task_dataset(task_tiny.packed(), None, task_tiny.LABELS, 8)
    batch = next(iter(data))
    inputs = {k: batch[k] for k in ("token_ids", "segment_ids", "padding_mask")}
    logits = np.asarray(student(inputs, training=False))
    values = trainer.compute_losses(batch, {"logits": logits})
    labels = np.asarray(batch["labels"])
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    expected = -log_probs[np.arange(len(labels)), labels].mean()
    np.testing.assert_allclose(float(values["loss"]), expected, rtol=1e-5)
    assert "kd_loss" not in values and "teacher_agreement" not in values
    mixed = TaskDistiller(student, hard_label_weight=0.5)
    with pytest.raises(ValueError, match="no teacher_logits.*1.0"):
        mixed.compute_losses(batch, {"logits": logits})
    with pytest.raises(ValueError, match="teacher logits, gold labels"):
        task_dataset(task_tiny.packed(), None, None)


def test_regression_losses_by_numpy():
    rng = np.random.RandomState(0)
    student, teacher = rng.randn(6, 1), rng.randn(6, 1)
    labels = rng.uniform(0, 5, 6)
    weights = np.array([1, 1, 0, 1, 0, 1], "float32")
    w = 0.25
    expected = (1 - w) * np.mean((student - teacher) ** 2) + w * np.sum(
        weights * (student[:, 0] - labels) ** 2
    ) / weights.sum()
    got = L.task_regression_loss(student, teacher, labels, w, weights)
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)
    gold_only = L.task_regression_loss(student, labels=labels)
    np.testing.assert_allclose(
        float(gold_only), np.mean((student[:, 0] - labels) ** 2), rtol=1e-5
    )


def test_a_one_output_student_trains_as_regression():
    keras.utils.set_random_seed(0)
    student = task_tiny.student(num_classes=1)
    scores = np.linspace(0, 5, 8).astype("float32")
    labels = scores.copy()
    labels[::3] = np.nan  # augmented text: no gold score
    trainer = TaskDistiller(student, hard_label_weight=0.5)
    assert trainer.regression
    trainer.compile(keras.optimizers.Adam(1e-2))
    data = task_dataset(task_tiny.packed(), scores[:, None], labels, 8)
    # Weights are 1 exactly where a gold score exists (scores are unique,
    # so they identify each example in a bucketed batch).
    batch = next(iter(data))
    index = np.rint(np.asarray(batch["teacher_logits"])[:, 0] * 7 / 5)
    known = ~np.isnan(labels[index.astype(int)])
    np.testing.assert_array_equal(batch["label_weights"], known)
    before = trainer.evaluate(data, steps=1, verbose=0, return_dict=True)
    history = trainer.fit(data, steps_per_epoch=60, epochs=1, verbose=0)
    assert set(history.history) == {"loss", "kd_loss", "hard_loss"}
    after = trainer.evaluate(data, steps=1, verbose=0, return_dict=True)
    assert after["kd_loss"] < before["kd_loss"] / 2
    assert after["kd_loss"] < float(np.var(scores)) / 2
