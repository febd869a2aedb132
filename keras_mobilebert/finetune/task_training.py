"""Training and scoring a task classifier on packed text, resumably.

Every GLUE-style training in the package runs through here: the GLUE
job's model, a teacher fine-tuned before task distillation, and the
student of task distillation. The text is packed once
(`data.length_buckets.pack_texts`); batches are length-bucketed
(`distillation.task_dataset`); the model trains inside a `TaskDistiller`
(soft labels, gold labels or both) in a resumable `TaskTrainingRun`; and
scoring runs it over packed inputs, shortest batches first
(`teacher_logits.compute_logits`), with the task's official metrics.
"""

import tensorflow as tf

from keras_mobilebert.distillation.task_distiller import TaskDistiller
from keras_mobilebert.distillation.task_distiller import task_dataset
from keras_mobilebert.distillation.task_run import TaskTrainingRun
from keras_mobilebert.distillation.teacher_logits import compute_logits
from keras_mobilebert.finetune.optimizer import finetuning_optimizer
from keras_mobilebert.metrics.glue import glue_metrics


def train_task_model(
    student,
    packed,
    labels,
    output_dir,
    steps,
    batch_size=32,
    learning_rate=5e-5,
    warmup_fraction=0.1,
    seed=0,
    teacher=None,
    teacher_logits=None,
    temperature=1.0,
    hard_label_weight=1.0,
    layerwise=False,
    layerwise_weight=1.0,
    label_names=None,
    teacher_label_names=None,
    checkpoint_every=100,
    name="finetune",
    config=None,
    distribute_strategy=None,
    class_weights=None,
    validate=None,
    verbose=2,
):
    """Train `student` on packed text for `steps` steps, resumably.

    With `teacher_logits` None this is fine-tuning on the gold labels;
    with them it is task distillation (`TaskDistiller`: soft labels at
    `temperature`, mixed with the gold labels by `hard_label_weight`,
    plus the layer-wise losses with `layerwise`). The run writes
    `losses.csv`, `losses.png` and checkpoints to `output_dir`; started
    again with the same arguments it resumes.

    Args:
        student: the classifier to train (built under
            `distribute_strategy`, if any).
        packed: dict of packed inputs (`pack_texts`).
        labels: gold labels (`task_dataset`: -1 or NaN where none), or
            None for soft labels only.
        output_dir: path of the run.
        steps: int. Training steps.
        batch_size: int. Global batch size.
        learning_rate: float. Peak AdamW rate (`finetuning_optimizer`).
        warmup_fraction: float.
        seed: int. Seed of the batch plans.
        teacher: the teacher classifier or None (checked against the
            student; run every step only with `layerwise`).
        teacher_logits: `(examples, classes)` array or None.
        temperature: float.
        hard_label_weight: float in [0, 1].
        layerwise: bool.
        layerwise_weight: float.
        label_names: the data's class names, or None.
        teacher_label_names: the teacher's class names, or None.
        checkpoint_every: int.
        name: string. The stage name in `losses.csv`.
        config: dict or None. Recorded in `run.json`.
        distribute_strategy: a `tf.distribute.Strategy` or None.
        class_weights: `(classes,)` floats or None: gold-label loss
            weights by class (`task_dataset`).
        validate: callable `(step) -> {metric: float}` or None, run at
            every checkpoint (`TaskTrainingRun`).
        verbose: int. `fit` verbosity.

    Returns:
        The `TaskTrainingRun.run` summary (`rows`, `final`,
        `resumed_from`, `steps`).

    Example:
    ```python
    summary = train_task_model(
        classifier, packed, train.labels, "runs/sst2/train", steps=2000
    )
    ```
    """
    strategy = distribute_strategy or tf.distribute.get_strategy()
    with strategy.scope():
        trainer = TaskDistiller(
            student,
            teacher,
            temperature=temperature,
            hard_label_weight=hard_label_weight,
            layerwise=layerwise,
            layerwise_weight=layerwise_weight,
            teacher_label_names=teacher_label_names,
            label_names=label_names,
        )
        trainer.compile(
            finetuning_optimizer(learning_rate, warmup_fraction, steps)
        )

    def make_dataset(start_step):
        return task_dataset(
            packed,
            teacher_logits,
            labels,
            batch_size=batch_size,
            seed=seed,
            start_step=start_step,
            class_weights=class_weights,
        )

    run = TaskTrainingRun(
        trainer,
        make_dataset,
        steps,
        output_dir,
        checkpoint_every=checkpoint_every,
        name=name,
        config=config,
        distribute_strategy=strategy,
        validate=validate,
        verbose=verbose,
    )
    return run.run()


def score_task_model(model, packed, split, batch_size=64):
    """The task's official metrics of `model` on a packed split.

    Args:
        model: a classifier taking packed inputs.
        packed: dict of packed inputs of `split` (`pack_texts`).
        split: the `GlueSplit` they came from (task and labels).
        batch_size: int.

    Returns:
        `(metrics, logits)`: the `glue_metrics` dict and the
        `(examples, outputs)` array.

    Example:
    ```python
    metrics, logits = score_task_model(classifier, dev_packed, dev)
    ```
    """
    logits = compute_logits(model, packed, batch_size)
    return glue_metrics(split.task, logits, split.labels), logits
