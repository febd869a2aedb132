"""Schedules: stage structure, progressive stage rules, copy by name."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_mobilebert.distillation.distiller import Distiller
from keras_mobilebert.distillation.strategies import build_stages
from keras_mobilebert.distillation.strategies import copy_from_teacher
from keras_mobilebert.distillation.strategies import rate_groups
from keras_mobilebert.distillation.teachers import MobileBertTaps
from keras_mobilebert.distillation.teachers import as_teacher
from tests.distillation import tiny


def test_stage_structure_of_each_strategy():
    progressive = build_stages("progressive", 3, 5, 7)
    assert [s.name for s in progressive] == [
        "layer_1",
        "layer_2",
        "layer_3",
        "pretraining_distillation",
    ]
    assert [s.num_layers for s in progressive] == [1, 2, 3, 3]
    assert progressive[2].transfer_layers == (3,)
    assert progressive[2].lower_rate_layers == (1, 2)
    assert all(s.freeze_copied for s in progressive[:3])
    assert progressive[3].pretraining and not progressive[3].layerwise
    assert not progressive[3].freeze_copied

    joint = build_stages("joint", 3, 5, 7)
    assert [(s.name, s.steps) for s in joint] == [
        ("joint_layerwise", 15),
        ("pretraining_distillation", 7),
    ]
    assert joint[0].transfer_layers == (1, 2, 3) and not joint[0].pretraining

    auxiliary = build_stages("auxiliary", 3, 5, 7)
    assert len(auxiliary) == 1
    assert auxiliary[0].steps == 22
    assert auxiliary[0].layerwise and auxiliary[0].pretraining
    # Equal budgets across strategies.
    for stages in (progressive, joint, auxiliary):
        assert sum(s.steps for s in stages) == 22
    assert [s.name for s in build_stages("progressive", 2, 3, 0)] == [
        "layer_1",
        "layer_2",
    ]
    with pytest.raises(ValueError, match="Unknown strategy"):
        build_stages("sequential", 3, 1, 1)


def distinct_norm_teacher():
    teacher = tiny.teacher(num_layers=3)
    # Make gamma and beta distinguishable, so a swap would show.
    norm = teacher.backbone.embeddings.norm
    norm.gamma.assign(np.linspace(0.5, 1.5, norm.gamma.shape[0]))
    norm.beta.assign(np.linspace(-0.3, 0.3, norm.beta.shape[0]))
    return teacher


def test_copy_from_teacher_is_by_name_not_position():
    keras.utils.set_random_seed(7)
    teacher = distinct_norm_teacher()
    student = tiny.student(num_layers=3)
    copied, skipped = copy_from_teacher(
        as_teacher(teacher), MobileBertTaps(student)
    )
    assert not skipped
    t_vars = {v.path: v for v in teacher.variables}
    for v in copied:
        np.testing.assert_array_equal(v.numpy(), t_vars[v.path].numpy())
    paths = {v.path for v in copied}
    assert "embeddings/norm/gamma" in paths
    assert "mlm_head/output_bias" in paths and "nsp_head/kernel" in paths
    np.testing.assert_array_equal(
        student.backbone.embeddings.norm.gamma.numpy(),
        teacher.backbone.embeddings.norm.gamma.numpy(),
    )
    # A student of another shape: mismatches are reported, not forced.
    small = tiny.student(embedding_dim=4)
    _, skipped = copy_from_teacher(as_teacher(teacher), MobileBertTaps(small))
    assert any("token_embedding" in s and "shape" in s for s in skipped)


def mean_abs_change(before, variables):
    after = tiny.snapshot(variables)
    return np.mean(
        np.concatenate([np.abs(a - b).ravel() for a, b in zip(after, before)])
    )


def test_progressive_stage_rules():
    keras.utils.set_random_seed(8)
    teacher = distinct_norm_teacher()
    student = tiny.student(num_layers=3)
    taps = MobileBertTaps(student)
    copied, _ = copy_from_teacher(as_teacher(teacher), taps)
    stage = build_stages("progressive", 3, 1, 1)[1]  # layer_2
    distiller = Distiller(
        teacher,
        student,
        num_layers=stage.num_layers,
        transfer_layers=stage.transfer_layers,
    )
    # The stage's graphs stop at block 2 (student) and its pair (teacher).
    assert len(distiller.student_model.output["hidden_states"]) == 3
    assert len(distiller.teacher_model.output["hidden_states"]) == 3
    full, lower = rate_groups(distiller, stage, copied)
    distiller.set_learning_rate_groups(full, lower)
    # Adam's first step moves every weight by about lr * sign(grad): the
    # same scale for every layer, so the rate factor shows directly.
    distiller.compile(keras.optimizers.Adam(1e-3))
    layer = {
        k: [v for v in taps.layer_variables(k) if v.trainable]
        for k in (1, 2, 3)
    }
    before = {k: tiny.snapshot(layer[k]) for k in (1, 2, 3)}
    frozen = taps.embedding_variables() + taps.head_variables()
    frozen_before = tiny.snapshot(frozen)
    distiller.fit(
        tf.data.Dataset.from_tensors(tiny.batch()).repeat(),
        steps_per_epoch=1,
        epochs=1,
        verbose=0,
    )
    # Above k: unchanged.
    for b, a in zip(before[3], tiny.snapshot(layer[3])):
        np.testing.assert_array_equal(b, a)
    # Embeddings and heads: unchanged and equal to the teacher's.
    for b, a in zip(frozen_before, tiny.snapshot(frozen)):
        np.testing.assert_array_equal(b, a)
    t_vars = {v.path: v for v in teacher.variables}
    for v in frozen:
        if v.trainable:
            np.testing.assert_array_equal(v.numpy(), t_vars[v.path].numpy())
    # Below k: moved, at about a tenth of layer k's step.
    moved_1 = mean_abs_change(before[1], layer[1])
    moved_2 = mean_abs_change(before[2], layer[2])
    assert moved_1 > 0
    assert 0.05 < moved_1 / moved_2 < 0.15, (moved_1, moved_2)
