"""The GLUE text a job trains and evaluates on, read and subsampled.

A GLUE job's config names the task, where its files are (`data`: a task
folder, GLUE's data folder, a task `.zip` or a URL; null for the task's
official GLUE download), the evaluation split, and optionally a seeded
subset of the training examples.
"""

import dataclasses

import numpy as np

from keras_mobilebert.data.glue import load_glue
from keras_mobilebert.data.glue_tasks import glue_task
from keras_mobilebert.data.length_buckets import pack_texts
from keras_mobilebert.finetune.text_file import load_text_file_data
from keras_mobilebert.utils.errors import ConfigError

# The task zips GLUE's own `download_glue_data.py` fetches. MRPC has none
# (GLUE builds it from Microsoft's files): give its folder instead.
GLUE_DOWNLOADS = {
    "cola": "https://dl.fbaipublicfiles.com/glue/data/CoLA.zip",
    "sst2": "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip",
    "qqp": "https://dl.fbaipublicfiles.com/glue/data/QQP-clean.zip",
    "stsb": "https://dl.fbaipublicfiles.com/glue/data/STS-B.zip",
    "mnli": "https://dl.fbaipublicfiles.com/glue/data/MNLI.zip",
    "qnli": "https://dl.fbaipublicfiles.com/glue/data/QNLIv2.zip",
    "rte": "https://dl.fbaipublicfiles.com/glue/data/RTE.zip",
    "wnli": "https://dl.fbaipublicfiles.com/glue/data/WNLI.zip",
}


def glue_source(task, data=None):
    """Where a task's files are read from: `data`, else GLUE's download.

    Example:
    ```python
    glue_source("sst2")  # 'https://dl.fbaipublicfiles.com/glue/data/SST-2.zip'
    ```
    """
    if data:
        return data
    name = glue_task(task).name
    if name not in GLUE_DOWNLOADS:
        raise ConfigError(
            f"GLUE has no download of {name}'s files; set the config's "
            "data field to the folder that holds its train.tsv and dev.tsv."
        )
    return GLUE_DOWNLOADS[name]


def seeded_indices(count, limit, seed):
    """`limit` of `range(count)` drawn with `seed`, sorted (all if None).

    Example:
    ```python
    seeded_indices(10, 3, seed=0)  # e.g. array([1, 4, 8])
    ```
    """
    if not limit or limit >= count:
        return np.arange(count)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(count, limit, replace=False))


def seeded_subset(split, limit, seed):
    """`limit` examples of a `GlueSplit` drawn with `seed`, in file order.

    Example:
    ```python
    train = seeded_subset(train, 8000, seed=0)
    ```
    """
    if not limit or limit >= len(split):
        return split
    return split.select(seeded_indices(len(split), limit, seed))


@dataclasses.dataclass
class TaskData:
    """A job's splits and their packed inputs (`pack_task_data`).

    Args:
        train: the training `GlueSplit`.
        evaluation: the evaluation `GlueSplit`.
        train_packed: dict of packed training inputs.
        eval_packed: dict of packed evaluation inputs.
    """

    train: object
    evaluation: object
    train_packed: dict
    eval_packed: dict


def pack_task_data(preprocessor, train, evaluation):
    """Pack both splits once with a classifier's preprocessor.

    Example:
    ```python
    data = pack_task_data(classifier.preprocessor, train, dev)
    ```
    """
    return TaskData(
        train,
        evaluation,
        pack_texts(preprocessor, train.features),
        pack_texts(preprocessor, evaluation.features),
    )


def load_task_data(config):
    """`(train, evaluation)` `GlueSplit`s of a GLUE job's config.

    A config with a `text_file` reads the user's labelled file(s) instead
    (`text_file.load_text_file_data`).

    Args:
        config: dict with `task`, `data`, `eval_split`,
            `max_train_examples` and `seed`, or with `text_file`.

    Example:
    ```python
    train, dev = load_task_data(load_config("glue_sst2.json"))
    ```
    """
    if config.get("text_file"):
        train, evaluation = load_text_file_data(
            config["text_file"], config["seed"]
        )
        return _subset(train, config), evaluation
    source = glue_source(config["task"], config.get("data"))
    train = load_glue(config["task"], "train", source)
    evaluation = load_glue(config["task"], config["eval_split"], source)
    if evaluation.labels is None:
        raise ConfigError(
            f"eval_split {config['eval_split']!r} of {evaluation.task} has no "
            "labels (GLUE's test files are scored by its server); use a "
            "validation split."
        )
    return _subset(train, config), evaluation


def _subset(train, config):
    return seeded_subset(
        train, config.get("max_train_examples"), config["seed"]
    )
