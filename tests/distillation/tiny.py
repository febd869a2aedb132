"""Tiny teachers, students and batches shared by the distillation tests."""

import keras
import keras_hub
import numpy as np

import keras_mobilebert
from keras_mobilebert.distillation.teachers import ib_bert_teacher

VOCAB = 40
SEQ = 8
MASKS = 3

TEACHER_CONFIG = dict(
    vocabulary_size=VOCAB,
    num_layers=2,
    num_heads=2,
    hidden_dim=16,
    intermediate_dim=32,
    embedding_dim=8,
    bottleneck_dim=24,
    max_sequence_length=16,
    dropout=0.0,
    embedding_dropout=0.0,
    attention_dropout=0.0,
)
STUDENT_CONFIG = dict(
    vocabulary_size=VOCAB,
    num_layers=2,
    num_heads=2,
    hidden_dim=16,
    intermediate_dim=16,
    embedding_dim=8,
    bottleneck_dim=8,
    num_feedforward_networks=2,
    max_sequence_length=16,
    attention_dropout=0.0,
)


def teacher(with_heads=True, **overrides):
    return ib_bert_teacher(
        with_heads=with_heads, **{**TEACHER_CONFIG, **overrides}
    )


def student(with_heads=True, **overrides):
    backbone = keras_mobilebert.MobileBertBackbone(
        **{**STUDENT_CONFIG, **overrides}
    )
    if with_heads:
        return keras_mobilebert.MobileBertPreTrainingModel(backbone)
    return backbone


def bert(num_heads=4, hidden_dim=24, num_layers=3, **overrides):
    """A tiny KerasHub `BertBackbone` teacher (another architecture)."""
    config = dict(
        vocabulary_size=VOCAB,
        num_layers=num_layers,
        num_heads=num_heads,
        hidden_dim=hidden_dim,
        intermediate_dim=32,
        max_sequence_length=16,
        dropout=0.0,
    )
    config.update(overrides)
    return keras_hub.models.BertBackbone(**config)


def batch(batch_size=4, seed=0):
    rng = np.random.RandomState(seed)
    mask = np.ones((batch_size, SEQ), "int32")
    mask[1, 5:] = 0
    if batch_size > 3:
        mask[3, 3:] = 0
    return {
        "token_ids": (rng.randint(5, VOCAB, (batch_size, SEQ)) * mask).astype(
            "int32"
        ),
        "segment_ids": np.zeros((batch_size, SEQ), "int32"),
        "padding_mask": mask,
        "mask_positions": rng.randint(1, 3, (batch_size, MASKS)).astype(
            "int32"
        ),
        "mask_ids": rng.randint(5, VOCAB, (batch_size, MASKS)).astype("int32"),
        "mask_weights": np.ones((batch_size, MASKS), "float32"),
        "next_sentence_labels": rng.randint(0, 2, (batch_size,)).astype(
            "int32"
        ),
    }


def snapshot(variables):
    return [keras.ops.convert_to_numpy(v.value).copy() for v in variables]
