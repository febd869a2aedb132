"""Read GLUE through tensorflow-datasets' `glue/<task>`, when it is installed.

tensorflow-datasets is optional: the package never depends on it. Its
`glue` builder downloads GLUE's files itself and stores them in its own
format; the examples come back with the same label ids as `load_glue`
(both follow the builder's label order), and the same checks apply.
"""

import numpy as np

from keras_mobilebert.data.glue import STSB_RANGE
from keras_mobilebert.data.glue import GlueFormatError
from keras_mobilebert.data.glue import make_split
from keras_mobilebert.data.glue_tasks import glue_task
from keras_mobilebert.utils.errors import MissingDependencyError


def _import_tfds():
    try:
        import tensorflow_datasets
    except ImportError:
        raise MissingDependencyError(
            "load_glue_tfds needs tensorflow-datasets, which keras-mobilebert "
            "does not install: pip install tensorflow-datasets, or read GLUE's "
            "own files with keras_mobilebert.data.glue.load_glue."
        ) from None
    return tensorflow_datasets


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def load_glue_tfds(task, split, data_dir=None):
    """Read one split of a GLUE task from tensorflow-datasets.

    Args:
        task: string. A GLUE task name (see `load_glue`).
        split: string. A split name of tensorflow-datasets' `glue/<task>`
            (the same names `load_glue` uses).
        data_dir: string or None. tensorflow-datasets' data directory.

    Returns:
        A `GlueSplit`; test splits (label -1 in tensorflow-datasets) have
        `labels=None`.

    Example:
    ```python
    from keras_mobilebert.data.glue_tfds import load_glue_tfds

    dev = load_glue_tfds("mrpc", "validation")
    dev.features  # (sentences1, sentences2)
    ```
    """
    task = glue_task(task)
    if split not in task.files:
        raise ValueError(
            f"{task.name} has no split {split!r}; it has {list(task.files)}."
        )
    tfds = _import_tfds()
    name = f"glue/{task.name}"
    dataset, info = tfds.load(
        name, split=split, data_dir=data_dir, with_info=True
    )
    label_feature = info.features["label"]
    if not task.is_regression:
        names = tuple(label_feature.names)
        if names != task.label_names:
            raise GlueFormatError(
                f"tensorflow-datasets' {name} labels are {list(names)}, "
                f"expected {list(task.label_names)}."
            )
    segments = tuple([] for _ in task.segment_names)
    labels, ids = [], []
    for number, example in enumerate(tfds.as_numpy(dataset)):
        where = f"{name} {split}, example {number} (idx {example['idx']})"
        for segment, feature in zip(segments, task.segment_names):
            text = _text(example[feature])
            if not text.strip():
                raise GlueFormatError(
                    f"{where}, field {feature!r}: the sentence is empty."
                )
            segment.append(text)
        labels.append(example["label"])
        ids.append(str(int(example["idx"])))
    if not ids:
        raise GlueFormatError(f"{name} {split}: no examples.")
    labels = np.asarray(labels)
    unlabelled = bool(np.all(labels == -1))
    if task.is_regression:
        low, high = STSB_RANGE
        bad = np.flatnonzero((labels < low) | (labels > high))
    else:
        bad = np.flatnonzero((labels < 0) | (labels >= len(task.label_names)))
    if unlabelled:
        labels = None
    elif bad.size:
        raise GlueFormatError(
            f"{name} {split}, example {bad[0]}, field 'label': "
            f"{labels[bad[0]]!r} is outside the task's labels."
        )
    return make_split(
        task,
        split,
        segments,
        labels,
        ids,
        f"tensorflow_datasets:{name}/{split}",
    )
