"""What a run writes beside its loop: loss log, fault hook, optimizers,
the dataset factory."""

import keras
import numpy as np
import pytest

from keras_mobilebert import MobileBertTokenizer
from keras_mobilebert.distillation.data import pretraining_dataset
from keras_mobilebert.distillation.data import pretraining_dataset_factory
from keras_mobilebert.distillation.fault_injection import KILL_ENV
from keras_mobilebert.distillation.fault_injection import KillAfterStep
from keras_mobilebert.distillation.fault_injection import kill_callback
from keras_mobilebert.distillation.loss_log import loss_columns
from keras_mobilebert.distillation.loss_log import read_loss_rows
from keras_mobilebert.distillation.loss_log import write_loss_rows
from keras_mobilebert.distillation.optimizers import optimizer_factory
from keras_mobilebert.distillation.optimizers import stage_learning_rate
from keras_mobilebert.distillation.strategies import Stage
from keras_mobilebert.distillation.strategies import build_stages


def test_loss_columns_of_each_schedule():
    position = ["global_step", "stage", "stage_name", "stage_step"]
    per_layer = ["fm_l{k}", "mean_l{k}", "var_l{k}", "att_l{k}"]
    layers = [c.format(k=k) for k in (1, 2) for c in per_layer]
    assert loss_columns(build_stages("progressive", 2, 5, 5)) == (
        position
        + ["loss", "layerwise_loss"]
        + layers
        + ["mlm_loss", "nsp_loss"]
    )
    assert loss_columns(build_stages("joint", 2, 5, 0)) == (
        position + ["loss", "layerwise_loss"] + layers
    )


def test_loss_rows_round_trip_and_drop_rows_past_a_step(tmp_path):
    path = tmp_path / "losses.csv"
    assert read_loss_rows(path, 10) == []
    columns = ["global_step", "stage", "stage_name", "stage_step", "loss"]
    rows = [
        {
            "global_step": 2,
            "stage": 0,
            "stage_name": "a",
            "stage_step": 2,
            "loss": 1.5,
        },
        {"global_step": 4, "stage": 0, "stage_name": "a", "stage_step": 4},
    ]
    write_loss_rows(path, columns, rows)
    assert path.read_text().splitlines() == [
        ",".join(columns),
        "2,0,a,2,1.5",
        "4,0,a,4,",
    ]
    assert [r["global_step"] for r in read_loss_rows(path, 3)] == ["2"]
    assert len(read_loss_rows(str(path), 4)) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["losses.csv"]


def test_kill_callback_only_when_the_environment_asks(monkeypatch):
    monkeypatch.delenv(KILL_ENV, raising=False)
    assert kill_callback(0) is None
    monkeypatch.setenv(KILL_ENV, "7")
    callback = kill_callback(4)
    assert isinstance(callback, KillAfterStep)
    assert (callback.first_step, callback.kill_step) == (4, 7)


def test_stage_learning_rates_by_hand():
    stage = Stage("s", 100, 1, True, False, (1,))
    assert stage_learning_rate(stage, "constant", 0.5) == 0.5
    warmup = stage_learning_rate(stage, "warmup_linear", 1.0)
    # 10 warm-up steps to 1.0, then linear to 0 at step 100.
    for step, expected in [(0, 0.0), (5, 0.5), (10, 1.0), (55, 0.5), (100, 0)]:
        assert float(warmup(step)) == pytest.approx(expected)
    cosine = stage_learning_rate(stage, "cosine", 1.0)
    assert float(cosine(50)) == pytest.approx(0.5 * (1 + np.cos(np.pi / 2)))
    with pytest.raises(ValueError, match="Unknown learning-rate schedule"):
        stage_learning_rate(stage, "step", 1.0)


def test_optimizer_factory_makes_a_fresh_optimizer_per_stage():
    make = optimizer_factory("adamw", 1e-3, "constant")
    stage = Stage("s", 10, 1, True, False, (1,))
    first, second = make(stage), make(stage)
    assert isinstance(first, keras.optimizers.AdamW) and first is not second
    assert float(first.learning_rate) == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="Unknown optimizer 'sgd'"):
        optimizer_factory("sgd")


def test_dataset_factory_resumes_the_same_stream():
    words = [f"w{i}" for i in range(30)]
    tokenizer = MobileBertTokenizer(
        vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words,
        lowercase=True,
    )
    documents = [
        [" ".join(words[i : i + 4]), " ".join(words[i + 4 : i + 8])]
        for i in range(0, 20, 5)
    ]
    kwargs = dict(sequence_length=12, max_predictions=2, seed=5)
    make = pretraining_dataset_factory(documents, tokenizer, 3, **kwargs)
    direct = pretraining_dataset(
        documents, tokenizer, 3, start_step=4, **kwargs
    )
    for got, expected in zip(make(4).take(2), direct.take(2)):
        for key in expected:
            np.testing.assert_array_equal(got[key], expected[key])
    # Batch 4 of a stream started at 0 is the first of one started at 4.
    from_start = list(make(0).take(5))[4]
    for key, value in next(iter(make(4))).items():
        np.testing.assert_array_equal(value, from_start[key])
