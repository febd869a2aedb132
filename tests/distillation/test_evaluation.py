"""Scoring a student: packing, pooled features, the probe, LP-FT."""

import keras
import numpy as np
import pytest

from keras_mobilebert import MobileBertTokenizer
from keras_mobilebert.distillation.evaluation import encode_texts
from keras_mobilebert.distillation.evaluation import fine_tune_classifier
from keras_mobilebert.distillation.evaluation import linear_probe_accuracy
from keras_mobilebert.distillation.evaluation import mean_pooled_features
from tests.distillation import tiny

WORDS = [f"w{i}" for i in range(tiny.VOCAB - 5)]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS


@pytest.fixture(scope="module")
def tokenizer():
    return MobileBertTokenizer(vocabulary=VOCAB, lowercase=True)


def test_encode_texts_packs_cls_tokens_sep_and_padding(tokenizer):
    inputs = encode_texts(tokenizer, ["w1 w2", "w3 w4 w5 w6 w7 w8 w9"], 6)
    # By hand: [CLS]=2, [SEP]=3, [PAD]=0, wK = K + 5; the long text is cut.
    np.testing.assert_array_equal(
        inputs["token_ids"], [[2, 6, 7, 3, 0, 0], [2, 8, 9, 10, 11, 3]]
    )
    np.testing.assert_array_equal(
        inputs["padding_mask"], [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]]
    )
    np.testing.assert_array_equal(inputs["segment_ids"], np.zeros((2, 6)))
    assert all(v.dtype == np.int32 for v in inputs.values())


def test_mean_pooled_features_average_real_tokens_only():
    keras.utils.set_random_seed(0)
    backbone = tiny.student(with_heads=False)
    batch = tiny.batch(5)
    inputs = {k: batch[k] for k in ("token_ids", "segment_ids", "padding_mask")}
    # Batches of 2 must give what one pass and a NumPy mean give.
    features = mean_pooled_features(backbone, inputs, batch_size=2)
    sequence = np.asarray(backbone(inputs)["sequence_output"])
    mask = inputs["padding_mask"].astype(bool)
    expected = np.stack([s[m].mean(0) for s, m in zip(sequence, mask)])
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-6)


def test_linear_probe_separates_a_separable_task_only():
    rng = np.random.RandomState(0)
    labels = rng.randint(0, 2, 200)
    signal = rng.randn(200, 8) + 3.0 * labels[:, None]
    accuracy = linear_probe_accuracy(
        signal[:150], labels[:150], signal[150:], labels[150:]
    )
    assert accuracy >= 0.95
    noise = rng.randn(200, 8)
    chance = linear_probe_accuracy(
        noise[:150], labels[:150], noise[150:], labels[150:]
    )
    assert chance <= 0.75


def test_lp_ft_head_phase_leaves_the_backbone_alone():
    keras.utils.set_random_seed(1)
    backbone = tiny.student(with_heads=False)
    batch = tiny.batch(8)
    x = {k: batch[k] for k in ("token_ids", "segment_ids", "padding_mask")}
    y = np.array([0, 1] * 4)
    before = tiny.snapshot(backbone.weights)
    # Full fine-tuning at rate 0: only the head phase could move anything.
    scores = fine_tune_classifier(
        backbone,
        (x, y),
        (x, y),
        steps=2,
        batch_size=4,
        learning_rate=0.0,
        seed=0,
        head_steps=3,
    )
    for a, b in zip(before, tiny.snapshot(backbone.weights)):
        np.testing.assert_array_equal(a, b)
    assert backbone.trainable
    assert set(scores) == {"accuracy", "train_accuracy"}
    assert 0.0 <= scores["accuracy"] <= 1.0
    # At a real rate the backbone does move.
    fine_tune_classifier(
        backbone, (x, y), (x, y), 2, 4, learning_rate=1e-2, seed=0
    )
    moved = tiny.snapshot(backbone.weights)
    assert any(not np.array_equal(a, b) for a, b in zip(before, moved))
