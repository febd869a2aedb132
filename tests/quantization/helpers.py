"""A small classifier trained on a toy sentiment task, shared by the tests.

Sentences are random words of the test vocabulary with "great" (label 1) or
"dull" (label 0) in them. The model is small (2 blocks, 16 wide) with the
QAT settings (ReLU6, -6 attention fill) and a larger initializer range so a
few epochs learn the task.
"""

import functools

import keras
import numpy as np
import tensorflow as tf

from keras_mobilebert import MobileBertBackbone
from keras_mobilebert import MobileBertClassifier
from keras_mobilebert import MobileBertTextClassifierPreprocessor
from keras_mobilebert import MobileBertTokenizer
from tests.models.helpers import SMALL_BACKBONE
from tests.models.helpers import VOCAB

SEQUENCE_LENGTH = 8
FILLER = ["the", "quick", "brown", "fox", "jumped", "a", "film", "movie"]
TOY_BACKBONE = {
    **SMALL_BACKBONE,
    "initializer_range": 0.2,
    "attention_mask_mode": "fill",
    "activation": "relu6",
}


def toy_texts(count, seed=0):
    """`(texts, labels)`: sentences with "great" (1) or "dull" (0)."""
    rng = np.random.RandomState(seed)
    texts, labels = [], []
    for _ in range(count):
        label = int(rng.randint(2))
        words = list(rng.choice(FILLER, rng.randint(2, 6)))
        words.insert(rng.randint(len(words) + 1), ["dull", "great"][label])
        texts.append(" ".join(words))
        labels.append(label)
    return texts, np.array(labels)


def toy_preprocessor():
    return MobileBertTextClassifierPreprocessor(
        MobileBertTokenizer(vocabulary=VOCAB, lowercase=True),
        sequence_length=SEQUENCE_LENGTH,
    )


def dataset(texts, labels, batch_size=32):
    return tf.data.Dataset.from_tensor_slices(
        (list(texts), np.asarray(labels))
    ).batch(batch_size)


def compile_classifier(classifier, learning_rate):
    classifier.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )


def untrained_classifier(seed=0, **backbone_overrides):
    keras.utils.set_random_seed(seed)
    backbone = MobileBertBackbone(**{**TOY_BACKBONE, **backbone_overrides})
    return MobileBertClassifier(
        backbone=backbone, num_classes=2, preprocessor=toy_preprocessor()
    )


@functools.lru_cache(maxsize=1)
def trained_classifier():
    """The toy classifier after 6 epochs (built once per test session)."""
    classifier = untrained_classifier()
    texts, labels = toy_texts(256)
    compile_classifier(classifier, 3e-3)
    classifier.fit(dataset(texts, labels), epochs=6, verbose=0)
    return classifier
