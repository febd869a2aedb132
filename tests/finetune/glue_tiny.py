"""Tiny GLUE files, a tiny preset and configs for the GLUE job tests."""

import json

import numpy as np

from keras_mobilebert import MobileBertBackbone
from keras_mobilebert import MobileBertClassifier
from keras_mobilebert import MobileBertTextClassifierPreprocessor
from keras_mobilebert import MobileBertTokenizer
from keras_mobilebert.data.glue_tasks import glue_task
from keras_mobilebert.models.preset_writer import save_preset
from tests.models.helpers import SMALL_BACKBONE
from tests.models.helpers import SMALL_TEACHER
from tests.models.helpers import VOCAB

WORDS = ["the", "quick", "brown", "fox", "a", "great", "dull", "film"]
WORDS += ["movie", "was", "play", "jumped"]


def sentences(count, seed):
    rng = np.random.RandomState(seed)
    return [
        " ".join(rng.choice(WORDS, rng.randint(2, 7))) for _ in range(count)
    ]


def task_rows(task, count, seed):
    """`(texts per segment, raw labels)` with labels the text decides."""
    task = glue_task(task) if isinstance(task, str) else task
    segments = [sentences(count, seed + i) for i in range(task.num_segments)]
    raw = []
    for i in range(count):
        great = "great" in segments[0][i]
        if task.is_regression:
            raw.append(f"{4.0 if great else 1.0 + (i % 3) / 2:.2f}")
        else:
            raw.append(task.label_values[int(great)])
    return segments, raw


def write_split(folder, task, split, count, seed=0, rows=None):
    """Write a split in GLUE's format (header, columns); return its path."""
    task = glue_task(task)
    spec = task.files[split]
    segments, raw = rows or task_rows(task, count, seed)
    lines = [] if spec.header is None else ["\t".join(spec.header)]
    for i in range(len(segments[0])):
        fields = [str(i)] * spec.num_columns
        for column, segment in zip(spec.text_columns, segments):
            fields[column] = segment[i]
        if spec.label_column is not None:
            fields[spec.label_column] = raw[i]
        lines.append("\t".join(fields))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / spec.name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_task(folder, task, train=48, dev=16):
    write_split(folder, task, "train", train, seed=0)
    write_split(folder, task, "validation", dev, seed=100)
    return folder


def tokenizer(vocabulary=VOCAB):
    return MobileBertTokenizer(vocabulary=vocabulary, lowercase=True)


def student_preset(path, vocabulary=VOCAB):
    """A tiny MobileBERT backbone preset with its tokenizer."""
    config = {**SMALL_BACKBONE, "vocabulary_size": len(vocabulary)}
    backbone = MobileBertBackbone(**config)
    return str(save_preset(backbone, path, tokenizer(vocabulary)))


def teacher_preset(path, num_classes=2, vocabulary=VOCAB, labels=None):
    """A tiny (untrained) MobileBERT classifier preset: a given teacher."""
    config = {**SMALL_TEACHER, "vocabulary_size": len(vocabulary)}
    preprocessor = MobileBertTextClassifierPreprocessor(
        tokenizer(vocabulary), sequence_length=16
    )
    teacher = MobileBertClassifier(
        MobileBertBackbone(**config), num_classes, preprocessor=preprocessor
    )
    extra = None
    if labels is not None:
        names = {str(i): n for i, n in enumerate(labels)}
        extra = {"labels.json": json.dumps(names).encode()}
    return str(save_preset(teacher, path, extra_files=extra))


def config_file(path, **fields):
    """A job config of `fields` on the tiny preset, fast settings."""
    config = {
        "init": "random",
        "backbone_overrides": {},
        "sequence_length": 16,
        "batch_size": 8,
        "epochs": None,
        "train_steps": 4,
        "checkpoint_every": 2,
        "learning_rate": 1e-3,
        "export": None,
    }
    config.update(fields)
    path.write_text(json.dumps(config))
    return str(path)
