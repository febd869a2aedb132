"""Your own labelled file in three lines of Python.

What `keras-mobilebert finetune --train FILE` and `distill-task --train
FILE` run, as calls: the GLUE job's or task distillation's embedded
default config with a `text_file` field (`text_file.TEXT_FILE_FIELDS`),
any other config field given by keyword.
"""

from keras_mobilebert.finetune.config import load_config
from keras_mobilebert.finetune.glue import DEFAULT_CONFIG as GLUE_CONFIG
from keras_mobilebert.finetune.jobs import run_finetune
from keras_mobilebert.finetune.task_distillation import (
    DEFAULT_CONFIG as DISTILL_CONFIG,
)


def text_file_config(
    train,
    validation=None,
    text_column="text",
    label_column="label",
    second_text_column=None,
    teacher=None,
    validation_fraction=0.2,
    format=None,
    **fields,
):
    """The config of a run on a labelled file (see `finetune_text_file`).

    Example:
    ```python
    config = text_file_config("tickets.csv", label_column="team",
                              train_steps=500)
    ```
    """
    text_file = {
        "train": str(train),
        "validation": None if validation is None else str(validation),
        "validation_fraction": validation_fraction,
        "text_column": text_column,
        "label_column": label_column,
        "second_text_column": second_text_column,
        "format": format,
    }
    if teacher is not None:
        fields["teacher"] = str(teacher)
    path = GLUE_CONFIG if teacher is None else DISTILL_CONFIG
    return load_config(path, text_file=text_file, **fields)


def finetune_text_file(train, output_dir, teacher=None, log=print, **kwargs):
    """Train a classifier on a labelled CSV, TSV or JSON Lines file.

    Fine-tunes (or, with `teacher`, distils from a teacher fine-tuned on
    the file first), scores the validation file or the held-out fraction
    (per-class report, TF-IDF baseline), saves a preset with the label
    names and exports a verified int8 `.tflite` whose metadata carries
    them. A killed run called again resumes.

    Args:
        train: the training file.
        output_dir: the run's folder (`results.json`, `preset/` or
            `student/`, `classifier_int8.tflite`, the plots).
        teacher: None to fine-tune; `"minilm_l6"` (or a backbone or
            classifier preset) for task distillation.
        log: callable taking one string.
        **kwargs: `validation`, `text_column`, `label_column`,
            `second_text_column`, `validation_fraction`, `format`, and any
            config field (`train_steps`, `batch_size`, `class_weight`,
            ...).

    Returns:
        The job's results dict (also `output_dir/results.json`).

    Example:
    ```python
    from keras_mobilebert.finetune import finetune_text_file

    results = finetune_text_file(
        "tickets.csv", "runs/tickets", text_column="message",
        label_column="team",
    )
    print(results["report"]["accuracy"], results["baseline"])
    ```
    """
    config = text_file_config(train, teacher=teacher, **kwargs)
    return run_finetune(config, output_dir, log=log)
