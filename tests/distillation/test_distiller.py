"""The Distiller: frozen teacher, student-only updates, losses as metrics."""

import csv

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_mobilebert.distillation import losses as L
from keras_mobilebert.distillation.distiller import Distiller
from keras_mobilebert.distillation.optimizers import scaled_optimizer
from keras_mobilebert.distillation.teachers import BertTaps
from keras_mobilebert.distillation.teachers import MobileBertTaps
from tests.distillation import tiny


def dataset(data):
    return tf.data.Dataset.from_tensors(data).repeat()


def test_train_step_updates_student_only_and_reports_losses(tmp_path):
    keras.utils.set_random_seed(1)
    teacher = tiny.teacher()
    student = tiny.student()
    distiller = Distiller(teacher, student, pretraining=True)
    distiller.compile(keras.optimizers.Lamb(1e-2))
    teacher_before = tiny.snapshot(teacher.variables)
    student_before = tiny.snapshot(student.trainable_variables)
    log = tmp_path / "log.csv"
    history = distiller.fit(
        dataset(tiny.batch()),
        steps_per_epoch=2,
        epochs=2,
        verbose=0,
        callbacks=[keras.callbacks.CSVLogger(str(log))],
    )
    for before, after in zip(teacher_before, tiny.snapshot(teacher.variables)):
        np.testing.assert_array_equal(before, after)
    changed = [
        not np.array_equal(b, a)
        for b, a in zip(
            student_before, tiny.snapshot(student.trainable_variables)
        )
    ]
    assert all(changed)
    expected = {"loss", "layerwise_loss", "mlm_loss", "nsp_loss"} | {
        f"{name}_l{k}" for name in ("fm", "mean", "var", "att") for k in (1, 2)
    }
    assert set(history.history) == expected
    with open(log) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and expected <= set(rows[0])
    # The total is the weighted sum the paper gives.
    last = {k: v[-1] for k, v in history.history.items()}
    layerwise = sum(
        100 * last[f"fm_l{k}"]
        + 5000 * last[f"mean_l{k}"]
        + 5 * last[f"var_l{k}"]
        + last[f"att_l{k}"]
        for k in (1, 2)
    )
    np.testing.assert_allclose(last["layerwise_loss"], layerwise, rtol=1e-4)


def test_test_step_matches_direct_loss_computation():
    keras.utils.set_random_seed(2)
    teacher = tiny.teacher(with_heads=False)
    student = tiny.student(with_heads=False)
    data = tiny.batch()
    distiller = Distiller(teacher, student, feature_map_weight=3.0)
    distiller.compile("adam")
    result = distiller.evaluate(
        dataset(data), steps=1, return_dict=True, verbose=0
    )
    inputs = {k: data[k] for k in ("token_ids", "segment_ids", "padding_mask")}
    t = teacher.intermediates_model()(inputs)
    s = student.intermediates_model()(inputs)
    fm2 = L.feature_map_transfer_loss(
        t["hidden_states"][2], s["hidden_states"][2], data["padding_mask"]
    )
    att1 = L.attention_transfer_loss(
        t["attention_scores"][0], s["attention_scores"][0], data["padding_mask"]
    )
    np.testing.assert_allclose(result["fm_l2"], float(fm2), rtol=1e-5)
    np.testing.assert_allclose(
        result["att_l1"], float(att1), rtol=1e-3, atol=1e-8
    )


def test_lower_rate_group_and_frozen_variables():
    keras.utils.set_random_seed(3)
    distiller = Distiller(
        tiny.teacher(),
        tiny.student(with_heads=False),
        num_layers=2,
        transfer_layers=[2],
    )
    taps = distiller.student
    lower = taps.layer_variables(1)
    lower_ids = {id(v) for v in lower}
    frozen_ids = {id(v) for v in taps.embedding_variables()}
    full = [
        v
        for v in distiller.default_trainable_variables()
        if id(v) not in lower_ids | frozen_ids
    ]
    distiller.set_learning_rate_groups(full, [v for v in lower if v.trainable])
    distiller.compile(keras.optimizers.Adam(1e-3))
    assert distiller.lower_optimizer is not None
    np.testing.assert_allclose(
        float(distiller.lower_optimizer.learning_rate), 1e-4, rtol=1e-6
    )
    frozen_before = tiny.snapshot(taps.embedding_variables())
    distiller.fit(dataset(tiny.batch()), steps_per_epoch=1, epochs=1, verbose=0)
    for b, a in zip(frozen_before, tiny.snapshot(taps.embedding_variables())):
        np.testing.assert_array_equal(b, a)
    with pytest.raises(ValueError, match="both rate groups"):
        distiller.set_learning_rate_groups(full, full[:1])


def test_scaled_optimizer_scales_schedules():
    schedule = keras.optimizers.schedules.ExponentialDecay(1.0, 10, 0.5)
    lower = scaled_optimizer(keras.optimizers.Lamb(schedule), 0.1)
    np.testing.assert_allclose(float(lower.learning_rate), 0.1, rtol=1e-6)


def test_bert_teacher_taps_match_keras_hub():
    keras.utils.set_random_seed(4)
    bert = tiny.bert()
    data = tiny.batch()
    inputs = {k: data[k] for k in ("token_ids", "segment_ids", "padding_mask")}
    taps = BertTaps(bert).intermediates_model()(inputs)
    np.testing.assert_allclose(
        taps["hidden_states"][-1], bert(inputs)["sequence_output"], atol=1e-5
    )
    # softmax(recomputed logits) == the probabilities Keras MHA returns.
    layer = bert.transformer_layers[1]
    mask = data["padding_mask"]
    attention_mask = (mask[:, None, :] * mask[:, :, None]).astype(bool)
    _, probs = layer._self_attention_layer(
        taps["hidden_states"][1],
        taps["hidden_states"][1],
        attention_mask=attention_mask,
        return_attention_scores=True,
    )
    ours = keras.ops.softmax(taps["attention_scores"][1], axis=-1)
    real = mask.astype(bool)
    for b in range(mask.shape[0]):
        q = np.flatnonzero(real[b])
        np.testing.assert_allclose(
            np.asarray(ours)[b][:, q][:, :, q],
            np.asarray(probs)[b][:, q][:, :, q],
            atol=1e-5,
        )


def test_bert_teacher_with_other_width_depth_and_heads():
    keras.utils.set_random_seed(5)
    bert = tiny.bert(num_heads=4, hidden_dim=24, num_layers=3)
    student = tiny.student(with_heads=False)  # width 16, 2 heads, 2 layers
    distiller = Distiller(bert, student)
    assert distiller.layer_map == {1: 2, 2: 3}
    assert set(distiller.projections) == {"1", "2"}
    distiller.compile(keras.optimizers.Adam(1e-2))
    projections_before = tiny.snapshot(distiller.projection_variables())
    bert_before = tiny.snapshot(bert.variables)
    data = dataset(tiny.batch())
    first = distiller.evaluate(data, steps=1, return_dict=True, verbose=0)
    distiller.fit(data, steps_per_epoch=20, epochs=1, verbose=0)
    last = distiller.evaluate(data, steps=1, return_dict=True, verbose=0)
    assert last["loss"] < first["loss"]
    for b, a in zip(bert_before, tiny.snapshot(bert.variables)):
        np.testing.assert_array_equal(b, a)
    for b, a in zip(
        projections_before, tiny.snapshot(distiller.projection_variables())
    ):
        assert not np.array_equal(b, a)
    # The projections are the distiller's, not part of the student.
    student_ids = {id(v) for v in student.variables}
    assert not student_ids & {id(v) for v in distiller.projection_variables()}


def test_pretraining_with_a_headless_teacher_uses_hard_labels():
    keras.utils.set_random_seed(6)
    student = tiny.student()
    distiller = Distiller(
        tiny.bert(), student, layerwise=False, pretraining=True
    )
    distiller.compile("adam")
    data = tiny.batch()
    result = distiller.evaluate(
        dataset(data), steps=1, return_dict=True, verbose=0
    )
    outputs = MobileBertTaps(student).intermediates_model(with_heads=True)(
        {
            k: data[k]
            for k in (
                "token_ids",
                "segment_ids",
                "padding_mask",
                "mask_positions",
            )
        }
    )
    hard, _ = L.pretraining_distillation_loss(
        outputs["mlm_logits"], data["mask_ids"], data["mask_weights"]
    )
    np.testing.assert_allclose(result["mlm_loss"], float(hard), rtol=1e-5)


def test_attention_transfer_alone_trains_the_student_attention():
    keras.utils.set_random_seed(9)
    teacher = tiny.teacher(with_heads=False)
    # Sharpen the teacher's attention so that there is a pattern to copy.
    for v in teacher.variables:
        if v.path.endswith(("attention/query/kernel", "attention/key/kernel")):
            v.assign(v * 12.0)
    distiller = Distiller(
        teacher,
        tiny.student(with_heads=False),
        feature_map_weight=0.0,
        mean_weight=0.0,
        variance_weight=0.0,
        attention_weight=1.0,
    )
    distiller.compile(keras.optimizers.Adam(1e-2))
    data = dataset(tiny.batch())
    before = distiller.evaluate(data, steps=1, return_dict=True, verbose=0)
    distiller.fit(data, steps_per_epoch=60, epochs=1, verbose=0)
    after = distiller.evaluate(data, steps=1, return_dict=True, verbose=0)
    for k in (1, 2):
        assert after[f"att_l{k}"] < 0.8 * before[f"att_l{k}"]
