"""The labelled text a fine-tuning job reads, as `tf.data` pipelines.

`DATASETS` names the datasets a config's `dataset` field may pick: each is
a loader `(split, test_fraction, seed) -> (texts, labels)` and its label
names.
"""

import numpy as np
import tensorflow as tf

from keras_mobilebert.data.rotten_tomatoes import LABEL_NAMES
from keras_mobilebert.data.rotten_tomatoes import load_rotten_tomatoes

DATASETS = {"rotten_tomatoes": (load_rotten_tomatoes, LABEL_NAMES)}


def load_data(config):
    """`((train_texts, train_labels), (test_texts, test_labels), names)`.

    Args:
        config: dict with `dataset`, `test_fraction` and `split_seed`.

    Example:
    ```python
    (train_x, train_y), (test_x, test_y), names = load_data(load_config())
    ```
    """
    loader, label_names = DATASETS[config["dataset"]]
    kwargs = {
        "test_fraction": config["test_fraction"],
        "seed": config["split_seed"],
    }
    return loader("train", **kwargs), loader("test", **kwargs), label_names


def subsample(texts, labels, limit, seed):
    """`limit` examples drawn across the split, in their original order.

    A split sorted by label keeps every class this way (the first `limit`
    examples might hold one class only).

    Args:
        texts: list of strings.
        labels: int array.
        limit: int. How many to keep.
        seed: int.

    Example:
    ```python
    texts, labels = subsample(texts, labels, limit=64, seed=0)
    ```
    """
    keep = np.random.RandomState(seed).permutation(len(texts))
    keep = np.sort(keep[:limit])
    return [texts[i] for i in keep], np.asarray(labels)[keep]


def text_dataset(texts, labels, batch_size, shuffle_seed=None):
    """A batched `tf.data.Dataset` of `(text, label)`, reshuffled per epoch.

    Args:
        texts: list of strings.
        labels: int array.
        batch_size: int.
        shuffle_seed: int or None. None keeps the order (evaluation).

    Example:
    ```python
    train = text_dataset(train_x, train_y, 32, shuffle_seed=0)
    ```
    """
    ds = tf.data.Dataset.from_tensor_slices((list(texts), np.asarray(labels)))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(texts), seed=shuffle_seed)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
