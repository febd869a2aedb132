"""Tiny teacher and student classifiers for the task-distillation tests."""

import keras
import keras_hub
import numpy as np

from keras_mobilebert import MobileBertBackbone
from keras_mobilebert import MobileBertClassifier
from keras_mobilebert import MobileBertTextClassifierPreprocessor
from keras_mobilebert import MobileBertTokenizer
from keras_mobilebert.data.length_buckets import pack_texts
from tests.models.helpers import SMALL_BACKBONE
from tests.models.helpers import SMALL_TEACHER
from tests.models.helpers import VOCAB

SEQ = 12
TEXTS = [
    "the quick brown fox jumped",
    "a great film",
    "a dull movie",
    "the film was great !",
    "the movie was dull .",
    "a quick fox",
    "the brown fox played",
    "a great movie was played",
]
LABELS = np.array([1, 1, 0, 1, 0, 1, 1, 1], "int32")


def preprocessor(vocabulary=VOCAB, lowercase=True):
    tokenizer = MobileBertTokenizer(vocabulary=vocabulary, lowercase=lowercase)
    return MobileBertTextClassifierPreprocessor(tokenizer, sequence_length=SEQ)


def student(num_classes=2, **overrides):
    config = {**SMALL_BACKBONE, "dropout": 0.0, "attention_dropout": 0.0}
    backbone = MobileBertBackbone(**{**config, **overrides})
    return MobileBertClassifier(
        backbone, num_classes, preprocessor=preprocessor(), dropout=0.0
    )


def teacher(num_classes=2):
    config = {**SMALL_TEACHER, "dropout": 0.0, "embedding_dropout": 0.0}
    return MobileBertClassifier(
        MobileBertBackbone(**config),
        num_classes,
        preprocessor=preprocessor(),
        dropout=0.0,
    )


def bert_teacher(num_classes=2):
    """A KerasHub BERT classifier, wider than the student (24 vs 16)."""
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(VOCAB),
        num_layers=3,
        num_heads=4,
        hidden_dim=24,
        intermediate_dim=32,
        max_sequence_length=32,
        dropout=0.0,
    )
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=VOCAB, lowercase=True)
    return keras_hub.models.BertTextClassifier(
        backbone,
        num_classes,
        preprocessor=keras_hub.models.BertTextClassifierPreprocessor(
            tokenizer, sequence_length=SEQ
        ),
        dropout=0.0,
    )


def packed(texts=TEXTS):
    return pack_texts(preprocessor(), texts)


def snapshot(variables):
    return [keras.ops.convert_to_numpy(v.value).copy() for v in variables]


def forward(model, packed):
    """Logits on packed inputs (`predict` would run the preprocessor)."""
    return keras.ops.convert_to_numpy(model(packed, training=False))
