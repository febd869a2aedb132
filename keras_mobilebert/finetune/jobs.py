"""The fine-tuning jobs by name, and `run_finetune`, which runs one.

A config's `job` field names its job (configs without one are
classification configs). Each job brings its embedded default config
(whose keys are the job's fields), the fields a config may leave out, a
`complete_config(config, default)` that fills and checks them, and a
`run(config, output_dir, log)` that returns the results. A new job (GLUE,
SQuAD) is a module with those four things and one entry in `JOBS`.
"""

import dataclasses
import pathlib
import typing

from keras_mobilebert.finetune import classification
from keras_mobilebert.finetune import glue
from keras_mobilebert.finetune import squad
from keras_mobilebert.finetune import task_distillation
from keras_mobilebert.utils.errors import ConfigError

DEFAULT_JOB = "classification"


@dataclasses.dataclass(frozen=True)
class FinetuneJob:
    """One fine-tuning job.

    Args:
        default_config: path of the embedded default config (JSON).
        optional_fields: tuple of fields a config may leave out.
        complete_config: callable `(config, default) -> None` filling the
            optional fields in place and raising `ValueError` on bad values.
        run: callable `(config, output_dir, log) -> dict` of results.
    """

    default_config: pathlib.Path
    optional_fields: tuple
    complete_config: typing.Callable
    run: typing.Callable


JOBS = {
    "classification": FinetuneJob(
        default_config=classification.DEFAULT_CONFIG,
        optional_fields=classification.OPTIONAL_FIELDS,
        complete_config=classification.complete_config,
        run=classification.run_classification,
    ),
    "squad": FinetuneJob(
        default_config=squad.DEFAULT_CONFIG,
        optional_fields=squad.OPTIONAL_FIELDS,
        complete_config=squad.complete_config,
        run=squad.run_squad,
    ),
    "glue": FinetuneJob(
        default_config=glue.DEFAULT_CONFIG,
        optional_fields=glue.OPTIONAL_FIELDS,
        complete_config=glue.complete_config,
        run=glue.run_glue,
    ),
    "distill_task": FinetuneJob(
        default_config=task_distillation.DEFAULT_CONFIG,
        optional_fields=task_distillation.OPTIONAL_FIELDS,
        complete_config=task_distillation.complete_config,
        run=task_distillation.run_distill_task,
    ),
}


def finetune_job(name):
    """The `FinetuneJob` called `name`, or a `ValueError` listing the known.

    Example:
    ```python
    finetune_job("classification").default_config
    ```
    """
    if name not in JOBS:
        raise ConfigError(f"Unknown job {name!r}; known: {sorted(JOBS)}.")
    return JOBS[name]


def run_finetune(config, output_dir, log=print):
    """Run the job a config names and return its results.

    For the classification job (every config without a `job` field) see
    `classification.run_classification`: fine-tune, evaluate, save a
    preset to `output_dir/preset`, reload it, export a verified `.tflite`;
    a killed run started again resumes from its last finished epoch.

    Args:
        config: dict from `load_config`.
        output_dir: directory of the job's outputs and `results.json`.
        log: callable taking one string.

    Example:
    ```python
    results = run_finetune(load_config(epochs=1), "runs/demo")
    ```
    """
    job = finetune_job(config.get("job", DEFAULT_JOB))
    return job.run(config, output_dir, log=log)
