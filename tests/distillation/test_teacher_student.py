"""Teachers by name, students from presets or configs, shared vocabulary."""

import keras
import numpy as np
import pytest

import keras_mobilebert
from keras_mobilebert.distillation.teacher_student import build_student
from keras_mobilebert.distillation.teacher_student import (
    check_shared_vocabulary,
)
from keras_mobilebert.distillation.teacher_student import load_teacher
from keras_mobilebert.models.mobilebert import backbone_presets
from tests.distillation import tiny


def test_build_student_from_a_preset_name_with_overrides():
    student = build_student(
        "mobilebert_en_uncased",
        {
            "num_layers": 2,
            "vocabulary_size": tiny.VOCAB,
            "hidden_dim": 16,
            "intermediate_dim": 16,
            "embedding_dim": 8,
            "bottleneck_dim": 8,
            "num_heads": 2,
        },
    )
    assert isinstance(student, keras_mobilebert.MobileBertPreTrainingModel)
    config = student.backbone.get_config()
    preset = backbone_presets["mobilebert_en_uncased"]["config"]
    assert config["num_layers"] == 2 and config["hidden_dim"] == 16
    # Fields not overridden are the preset's.
    assert config["normalization"] == preset["normalization"]
    assert (
        config["num_feedforward_networks"]
        == (preset["num_feedforward_networks"])
    )
    with pytest.raises(ValueError, match="Unknown student fields.*'depth'"):
        build_student("mobilebert_en_uncased", {"depth": 2})


def test_build_student_from_a_config_is_the_seeded_backbone():
    keras.utils.set_random_seed(3)
    student = build_student(tiny.STUDENT_CONFIG)
    keras.utils.set_random_seed(3)
    reference = tiny.student()
    for a, b in zip(student.weights, reference.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_build_student_from_a_preset_directory(tmp_path):
    tiny.student(with_heads=False).save_to_preset(str(tmp_path / "p"))
    student = build_student(str(tmp_path / "p"))
    assert student.backbone.vocabulary_size == tiny.VOCAB
    with pytest.raises(ValueError, match="preset directory"):
        build_student(str(tmp_path / "p"), {"num_layers": 1})


def test_load_teacher_by_name_and_directory(tmp_path):
    overrides = {**tiny.TEACHER_CONFIG, "num_layers": 1}
    teacher = load_teacher("ib_bert_en_uncased", overrides=overrides)
    assert isinstance(teacher, keras_mobilebert.MobileBertPreTrainingModel)
    assert teacher.backbone.num_layers == 1
    # Weights saved from it come back into a teacher from a directory.
    teacher.backbone.save_to_preset(str(tmp_path / "t"))
    teacher.save_weights(str(tmp_path / "t.weights.h5"))
    loaded = load_teacher(str(tmp_path / "t"), str(tmp_path / "t.weights.h5"))
    for a, b in zip(teacher.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    bare = load_teacher(str(tmp_path / "t"))
    assert isinstance(bare, keras_mobilebert.MobileBertBackbone)
    with pytest.raises(ValueError, match="neither 'minilm_l6'"):
        load_teacher(str(tmp_path / "missing"))


def test_check_shared_vocabulary():
    check_shared_vocabulary(tiny.teacher(), tiny.student())
    check_shared_vocabulary(tiny.bert(), tiny.student(with_heads=False))
    with pytest.raises(ValueError, match=r"differ \(40 vs 41\)"):
        check_shared_vocabulary(
            tiny.teacher(), tiny.student(vocabulary_size=41)
        )
