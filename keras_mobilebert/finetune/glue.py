"""The GLUE job: fine-tune on any GLUE task, score, save, reload, export.

`keras-mobilebert finetune --config my_glue.json` (or `--task rte --data
glue_data`) runs it: read the task's official TSV files (`data.glue`),
pack every example once with the classifier's preprocessor (sentence
pairs as two segments: `[CLS] a [SEP] b [SEP]`), train in length-bucketed
batches with checkpoints (a killed run started again resumes at its last
checkpoint, `task_training`), score the evaluation split with the task's
official metrics, save a KerasHub preset, reload it, and export a
verified LiteRT file scored the same way. STS-B gets a regression head:
one output (`num_classes=1`) trained with squared error, scored by
Pearson and Spearman correlation.

A config needs only `task`; every other field defaults to the embedded
`configs/finetune_glue_sst2.json` (with `data` null meaning GLUE's own
download of the task, and `eval_split` null the task's first validation
split).
"""

import json
import pathlib

import numpy as np

from keras_mobilebert.data.glue_tasks import glue_task
from keras_mobilebert.data.labeled_text import is_file_task
from keras_mobilebert.finetune.classification import build_classifier
from keras_mobilebert.finetune.classification import check_classifier_dropout
from keras_mobilebert.finetune.classifier_export import check_export_config
from keras_mobilebert.finetune.classifier_export import export_task_classifier
from keras_mobilebert.finetune.glue_data import load_task_data
from keras_mobilebert.finetune.glue_data import pack_task_data
from keras_mobilebert.finetune.phase_timer import PhaseTimer
from keras_mobilebert.finetune.task_training import score_task_model
from keras_mobilebert.finetune.task_training import train_task_model
from keras_mobilebert.finetune.text_file import LABELS_FILE
from keras_mobilebert.finetune.text_file import check_class_weight
from keras_mobilebert.finetune.text_file import check_text_file_config
from keras_mobilebert.finetune.text_file import class_weights
from keras_mobilebert.finetune.text_file import describe_classes
from keras_mobilebert.finetune.text_file import file_task_report
from keras_mobilebert.finetune.text_file import label_file
from keras_mobilebert.finetune.text_file import validation_scorer
from keras_mobilebert.models.mobilebert.mobilebert_text_classifier import (
    MobileBertClassifier,
)
from keras_mobilebert.models.preset_writer import save_preset
from keras_mobilebert.utils.distribute import check_strategy_name
from keras_mobilebert.utils.distribute import config_strategy
from keras_mobilebert.utils.distribute import job_output_dir
from keras_mobilebert.utils.errors import ConfigError
from keras_mobilebert.utils.files import atomic_path

DEFAULT_CONFIG = (
    pathlib.Path(__file__).parent.parent / "configs" / "finetune_glue_sst2.json"
)
# `task`, unless a `text_file` names the user's data (checked in
# `complete_config`, since either one will do).
REQUIRED_FIELDS = ()


def _optional_fields():
    fields = json.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    return tuple(f for f in fields if f not in REQUIRED_FIELDS)


OPTIONAL_FIELDS = _optional_fields()


def num_outputs(task):
    """Outputs of a task's head: 1 for a regression task, else classes.

    Args:
        task: a GLUE task name, or a `GlueTask` (a user's file's).

    Example:
    ```python
    num_outputs("stsb"), num_outputs("mnli")  # (1, 3)
    ```
    """
    task = glue_task(task)
    return 1 if task.is_regression else len(task.label_names)


def complete_config(config, default):
    """Fill the fields a GLUE config left out, then check the values.

    Args:
        config: dict read from a config file, overrides applied (changed in
            place).
        default: dict, the embedded default GLUE config.

    Example:
    ```python
    complete_config({"job": "glue", "task": "rte"}, default)
    ```
    """
    if "task" not in config and not config.get("text_file"):
        raise ConfigError(
            "The config lacks the fields ['task'] (a GLUE task) or "
            "['text_file'] (your labelled file)."
        )
    for key, value in default.items():
        if key != "description":
            config.setdefault(key, value)
    check_class_weight(config["class_weight"])
    check_strategy_name(config["distribute"])
    check_classifier_dropout(config["classifier_dropout"])
    config["text_file"] = check_text_file_config(config["text_file"])
    if config["text_file"]:
        # The user's file is the task: a GLUE task or split means nothing.
        config["task"] = config["eval_split"] = config["data"] = None
    else:
        _complete_glue_task(config)
    if not (config["epochs"] or config["train_steps"]):
        raise ConfigError("Set epochs or train_steps (both are empty).")
    check_export_config(config["export"])


def _complete_glue_task(config):
    task = glue_task(config["task"])
    config["task"] = task.name
    if config["eval_split"] is None:
        config["eval_split"] = next(
            s for s in task.splits if s.startswith("validation")
        )
    if config["eval_split"] not in task.splits:
        raise ConfigError(
            f"eval_split {config['eval_split']!r} is not a split of "
            f"{task.name}: {list(task.splits)}."
        )


def training_steps(config, num_examples):
    """`train_steps`, else `epochs` passes over `num_examples`.

    Example:
    ```python
    training_steps({"train_steps": None, "epochs": 2, "batch_size": 32}, 64)
    ```
    """
    if config.get("train_steps"):
        return int(config["train_steps"])
    return int(config["epochs"]) * _steps_per_epoch(config, num_examples)


def _steps_per_epoch(config, num_examples):
    # One pass of `bucketed_dataset`: the last batch of an epoch may be
    # short, so an epoch is the rounded-up number of batches.
    return -(-num_examples // config["batch_size"])


def checkpoint_interval(config, num_examples, file_task):
    """Steps between checkpoints: a file task's are at most an epoch.

    A file task is scored on its validation data at every checkpoint,
    and `training_curves.png` plots those points; a small file (1,391
    examples at batch 32: 44 steps an epoch) would otherwise be scored
    once every few epochs. A GLUE task keeps `checkpoint_every`.

    Example:
    ```python
    config = {"checkpoint_every": 100, "batch_size": 32}
    checkpoint_interval(config, 1391, file_task=True)  # 44
    ```
    """
    every = int(config["checkpoint_every"])
    if file_task:
        every = min(every, _steps_per_epoch(config, num_examples))
    return every


def _check_reloaded(classifier, reloaded, packed, preset_dir, rows=256):
    batch = {key: value[:rows] for key, value in packed.items()}
    expected = np.asarray(classifier(batch, training=False))
    got = np.asarray(reloaded(batch, training=False))
    max_diff = float(np.max(np.abs(got - expected)))
    if max_diff > 1e-5:
        raise RuntimeError(
            f"The reloaded preset predicts differently (max |diff| "
            f"{max_diff:.3g}); the saved preset in {preset_dir} is not usable."
        )
    return max_diff


def save_reload_export(classifier, config, data, preset_dir, timer, log):
    """Save a trained classifier, reload it, check it, export the reload.

    The reloaded preset is what a user exports later, so the LiteRT file
    (the config's `export`; None skips it) is made from it and scored on
    the evaluation split with the task's metrics
    (`classifier_export.export_task_classifier`), beside `preset_dir`.

    Args:
        classifier: the trained `MobileBertClassifier`.
        config: the job's config dict.
        data: the job's `glue_data.TaskData`.
        preset_dir: path of the preset to write.
        timer: the job's `PhaseTimer`.
        log: callable taking one string.

    Returns:
        `(preset_dir, export report or None)`.
    """
    names = data.train.label_names
    preset_dir = save_preset(
        classifier,
        preset_dir,
        extra_files={LABELS_FILE: label_file(names)} if names else None,
    )
    reloaded = MobileBertClassifier.from_preset(str(preset_dir), compile=False)
    max_diff = _check_reloaded(
        classifier, reloaded, data.eval_packed, preset_dir
    )
    log(f"saved preset to {preset_dir}; reloaded, max |diff| {max_diff:.2g}")
    timer.done("save and reload")
    if not config["export"]:
        return preset_dir, None
    export = export_task_classifier(
        reloaded,
        config["export"],
        data.train_packed,
        data.eval_packed,
        data.evaluation,
        preset_dir.parent,
        log=log,
    )
    timer.done("export")
    return preset_dir, export


def write_results(output_dir, results):
    """`output_dir/results.json`, atomically."""
    with atomic_path(pathlib.Path(output_dir) / "results.json") as tmp:
        tmp.write_text(json.dumps(results, indent=2, default=float))


# Fields that leave training unchanged: a resumed run may change them.
NOT_TRAINING = ("description", "export", "distribute", "cluster_timeout")


def training_config(config, left_out=NOT_TRAINING):
    """The fields that decide training (recorded in a run's `run.json`).

    A resumed run may differ in the others (another export, say) and still
    continue its checkpoints.
    """
    return {k: v for k, v in config.items() if k not in left_out}


def run_glue(config, output_dir, log=print):
    """Run the GLUE job and return its results (also `results.json`).

    Args:
        config: dict from `load_config` (a config whose `job` is `"glue"`).
        output_dir: directory for `training/` (checkpoints, `losses.csv`,
            `losses.png`), `preset/`, the `.tflite` file and
            `results.json`. Under a multi-worker strategy (the config's
            `distribute`) only the chief writes it; the other workers
            resume from its checkpoints and write their (identical)
            outputs to a temporary folder, removed at the end
            (`utils.distribute.job_output_dir`).
        log: callable taking one string.

    Returns:
        A dict: the task's metrics on the evaluation split, the export's
        figures, timings per phase, sizes and the config.

    Example:
    ```python
    results = run_glue(
        load_config("glue.json", train_steps=200), "runs/glue_rte"
    )
    ```
    """
    strategy = config_strategy(config)
    with job_output_dir(strategy, output_dir) as own_dir:
        return _run_glue(
            config, strategy, pathlib.Path(output_dir), own_dir, log
        )


def _run_glue(config, strategy, shared_dir, output_dir, log):
    timer = PhaseTimer(log)
    train, evaluation = load_task_data(config)
    task = glue_task(train.task)
    log(
        f"data: {task.name}, {len(train)} train / {len(evaluation)} "
        f"{evaluation.split} examples from {train.source}"
    )
    if is_file_task(task):
        describe_classes(train, evaluation, log)
    with strategy.scope():
        classifier = build_classifier(config, num_outputs(task))
    data = pack_task_data(classifier.preprocessor, train, evaluation)
    steps = training_steps(config, len(train))
    log(
        f"model: {config['preset']} with {config['backbone_overrides']}, "
        f"{classifier.backbone.count_params():,} backbone parameters, init "
        f"{config['init']}; {steps} steps of batch {config['batch_size']}"
    )
    timer.done("data and model")
    training = train_task_model(
        classifier,
        data.train_packed,
        train.labels,
        shared_dir / "training",
        steps,
        batch_size=config["batch_size"],
        learning_rate=config["learning_rate"],
        warmup_fraction=config["warmup_fraction"],
        seed=config["seed"],
        label_names=task.label_names,
        checkpoint_every=checkpoint_interval(
            config, len(train), is_file_task(task)
        ),
        config=training_config(config),
        distribute_strategy=strategy,
        class_weights=class_weights(train, config["class_weight"]),
        validate=validation_scorer(
            lambda p, s: score_task_model(classifier, p, s),
            data.eval_packed,
            evaluation,
        ),
    )
    timer.done("training")
    metrics, eval_scores = score_task_model(
        classifier, data.eval_packed, evaluation
    )
    log(f"{task.name} {evaluation.split}: {metrics}")
    file_results = {}
    if is_file_task(task):
        file_results = file_task_report(
            output_dir, eval_scores, train, evaluation, training["rows"], log
        )
    timer.done("evaluation")
    preset_dir, export = save_reload_export(
        classifier, config, data, output_dir / "preset", timer, log
    )
    results = {
        **file_results,
        "task": task.name,
        "eval_split": evaluation.split,
        "metrics": metrics,
        "train_size": len(train),
        "eval_size": len(evaluation),
        "steps": steps,
        "final_training_row": training["final"],
        "resumed_from": training["resumed_from"],
        "export": export,
        "train_seconds": timer.phases["training"],
        "total_seconds": timer.total(),
        "phase_seconds": timer.phases,
        "preset_dir": str(preset_dir),
        "config": config,
    }
    write_results(output_dir, results)
    log(
        f"{task.name}: {metrics}; total time {results['total_seconds']} s "
        f"(training {results['train_seconds']} s)"
    )
    return results
