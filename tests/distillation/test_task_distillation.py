"""Task distillation: loss mix, checks, cached teacher logits, the trainer."""

import keras
import numpy as np
import pytest

from keras_mobilebert.distillation import losses as L
from keras_mobilebert.distillation import teacher_logits as T
from keras_mobilebert.distillation.task_checks import check_same_labels
from keras_mobilebert.distillation.task_checks import check_same_vocabulary
from keras_mobilebert.distillation.task_distiller import TaskDistiller
from keras_mobilebert.distillation.task_distiller import task_dataset
from tests.distillation import task_tiny
from tests.models.helpers import VOCAB


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def test_soft_and_hard_mix_with_label_weights_by_numpy():
    rng = np.random.RandomState(0)
    student = rng.randn(5, 3).astype("float32")
    teacher = rng.randn(5, 3).astype("float32")
    labels = np.array([0, 2, 1, 1, 0])
    weights = np.array([1, 0, 1, 0, 1], "float32")
    t, temperature, w = 2.0, 2.0, 0.3
    pt = log_softmax(teacher / t)
    kl = (np.exp(pt) * (pt - log_softmax(student / t))).sum(-1)
    ce = -log_softmax(student)[np.arange(5), labels]
    expected = (1 - w) * t**2 * kl.mean() + w * (ce * weights).sum() / 3
    got = L.task_distillation_loss(
        student, teacher, labels, temperature, w, label_weights=weights
    )
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)
    # Without weights every label counts (the earlier behaviour).
    everyone = (1 - w) * t**2 * kl.mean() + w * ce.mean()
    got = L.task_distillation_loss(student, teacher, labels, temperature, w)
    np.testing.assert_allclose(float(got), everyone, rtol=1e-5)


def test_teacher_and_student_must_agree_on_vocabulary_and_labels():
    student = task_tiny.student()
    other = task_tiny.student()
    other.preprocessor = task_tiny.preprocessor(VOCAB + ["extra"])
    with pytest.raises(ValueError, match="has 22 tokens and the student's 21"):
        check_same_vocabulary(other, student)
    swapped = VOCAB[:5] + ["quick", "the"] + VOCAB[7:]
    other.preprocessor = task_tiny.preprocessor(swapped)
    with pytest.raises(ValueError, match="differ at id 5: 'quick' \\(teacher"):
        check_same_vocabulary(other, student)
    other.preprocessor = task_tiny.preprocessor(lowercase=False)
    with pytest.raises(ValueError, match="lowercase=False"):
        check_same_vocabulary(other, student)
    three = task_tiny.student(num_classes=3)
    with pytest.raises(ValueError, match="teacher predicts 3 classes and"):
        check_same_labels(three, student)
    with pytest.raises(ValueError, match="\\['pos', 'neg'\\] differ"):
        check_same_labels(student, student, ("pos", "neg"), ("neg", "pos"))
    with pytest.raises(ValueError, match="predicts 3 classes"):
        TaskDistiller(student, three)
    check_same_vocabulary(task_tiny.bert_teacher(), student)


def test_teacher_logits_are_cached_and_never_reused_wrongly(
    tmp_path, monkeypatch
):
    keras.utils.set_random_seed(0)
    teacher = task_tiny.teacher()
    packed = task_tiny.packed()
    logs = []
    logits = T.cached_teacher_logits(
        teacher, packed, tmp_path, task_tiny.TEXTS, 3, log=logs.append
    )
    # Bucketed, trimmed batches give the full-width logits.
    full = task_tiny.forward(teacher, packed)
    np.testing.assert_allclose(logits, full, rtol=1e-5, atol=1e-5)
    files = list((tmp_path / "teacher_logits").iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz"

    def fail(*args, **kwargs):
        raise AssertionError("the teacher ran again")

    monkeypatch.setattr(T, "compute_logits", fail)
    again = T.cached_teacher_logits(
        teacher, packed, tmp_path, task_tiny.TEXTS, log=logs.append
    )
    np.testing.assert_array_equal(again, logits)
    assert "reused" in logs[-1]
    monkeypatch.undo()
    # Another text set, or another teacher, gets a file of its own.
    fewer = task_tiny.packed(task_tiny.TEXTS[:4])
    T.cached_teacher_logits(teacher, fewer, tmp_path, task_tiny.TEXTS[:4])
    other = task_tiny.teacher()
    T.cached_teacher_logits(other, packed, tmp_path, task_tiny.TEXTS)
    assert len(list((tmp_path / "teacher_logits").iterdir())) == 3
    assert T.model_fingerprint(other) != T.model_fingerprint(teacher)
    # A file whose record disagrees with its name is refused.
    arrays, meta = T.load_npz(files[0])
    T.save_npz(files[0], arrays, dict(meta, texts="0" * 64))
    with pytest.raises(ValueError, match="records texts '0000"):
        T.cached_teacher_logits(teacher, packed, tmp_path, task_tiny.TEXTS)


def test_fingerprints_ignore_layer_names_but_not_weights():
    keras.utils.set_random_seed(3)
    a = task_tiny.teacher()
    keras.utils.set_random_seed(3)
    b = task_tiny.teacher()  # same weights, other auto-generated names
    assert T.model_fingerprint(a) == T.model_fingerprint(b)
    b.weights[0].assign(b.weights[0] + 1.0)
    assert T.model_fingerprint(a) != T.model_fingerprint(b)
    assert T.texts_fingerprint(["a b"]) != T.texts_fingerprint(["a", "b"])
    assert T.texts_fingerprint((["a"], ["b"])) != T.texts_fingerprint(
        ["a", "b"]
    )


def fit(distiller, logits, labels, steps, batch_size=4):
    data = task_dataset(
        task_tiny.packed(), logits, labels, batch_size=batch_size, seed=0
    )
    return distiller.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)


def test_student_learns_the_teacher_and_only_the_student_trains():
    keras.utils.set_random_seed(1)
    teacher = task_tiny.teacher()
    student = task_tiny.student()
    logits = 3.0 * np.random.RandomState(0).randn(8, 2).astype("float32")
    labels = logits.argmax(-1)
    labels[::2] = -1  # augmented text: no gold label
    distiller = TaskDistiller(
        student, teacher, temperature=2.0, hard_label_weight=0.5
    )
    distiller.compile(keras.optimizers.Adam(3e-3))
    teacher_before = task_tiny.snapshot(teacher.variables)
    first = fit(distiller, logits, labels, 1, batch_size=8).history
    fit(distiller, logits, labels, 120, batch_size=8)
    history = fit(distiller, logits, labels, 1, batch_size=8).history
    for a, b in zip(teacher_before, task_tiny.snapshot(teacher.variables)):
        np.testing.assert_array_equal(a, b)
    assert set(history) == {
        "loss",
        "kd_loss",
        "hard_loss",
        "accuracy",
        "teacher_agreement",
    }
    assert history["kd_loss"][0] < first["kd_loss"][0] / 2
    agreement = history["teacher_agreement"][0]
    assert agreement >= 0.75 and agreement > first["teacher_agreement"][0]
    predicted = task_tiny.forward(student, task_tiny.packed()).argmax(-1)
    assert np.mean(predicted == logits.argmax(-1)) == agreement


@pytest.mark.parametrize("make_teacher", ["mobilebert", "bert"])
def test_layerwise_losses_join_the_task_loss(make_teacher):
    keras.utils.set_random_seed(2)
    teacher = (
        task_tiny.teacher()
        if make_teacher == "mobilebert"
        else task_tiny.bert_teacher()
    )
    student = task_tiny.student()
    logits = task_tiny.forward(teacher, task_tiny.packed())
    distiller = TaskDistiller(
        student, teacher, layerwise=True, layerwise_weight=0.01
    )
    distiller.compile(keras.optimizers.Adam(1e-3))
    before = task_tiny.snapshot(distiller.student_variables())
    history = fit(distiller, logits, task_tiny.LABELS, 2).history
    assert {"layerwise_loss", "fm_l1", "att_l2"} <= set(history)
    last = {k: v[-1] for k, v in history.items()}
    assert np.isfinite(list(last.values())).all()
    after = task_tiny.snapshot(distiller.student_variables())
    changed = [not np.array_equal(a, b) for a, b in zip(before, after)]
    # Not all: at this tiny random init the attention logits are ~1e-8, so
    # the query/key path's gradients (~1e-11) are below Adam's epsilon
    # and its first updates vanish in float32 rounding.
    assert np.mean(changed) > 0.9
    # Projections exist only when the widths differ (BERT's 24 vs 16).
    projections = distiller.layer_distiller.projection_variables()
    assert bool(projections) == (make_teacher == "bert")


def test_layerwise_needs_a_teacher_and_a_mobilebert_student():
    with pytest.raises(ValueError, match="needs the teacher"):
        TaskDistiller(task_tiny.student(), layerwise=True)
    with pytest.raises(TypeError, match="MobileBertClassifier student"):
        TaskDistiller(
            task_tiny.bert_teacher(), task_tiny.student(), layerwise=True
        )
