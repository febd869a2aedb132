"""The paper's three knowledge-transfer schedules as lists of stages.

- `"auxiliary"`: one stage; the layer-wise losses of every layer are added
  to the pre-training distillation loss and everything trains together.
- `"joint"`: the layer-wise losses of every layer first (embeddings and
  heads copied from the teacher and frozen), then pre-training
  distillation with everything trainable.
- `"progressive"`: one stage per layer, then pre-training distillation. In
  stage `k` the student model stops at block `k` (the stage costs `k`
  blocks), block `k` trains at the full rate, blocks below at
  `lower_learning_rate_multiplier` (0.1x) of it, blocks above take no part;
  the embeddings (and heads) are copied from the teacher by variable name
  and frozen. Each stage gets a fresh optimizer.

Where the teacher's embeddings cannot be copied (a teacher of another
architecture, such as a KerasHub BERT), they are trained with the student:
at the full rate in progressive stage 1 (where they are learned first) and
at the lower rate in later layer stages, like a block below `k`.

Budget: the layer-wise part costs `num_layers * layer_steps` steps in every
strategy, plus `pretraining_steps`, so the three schedules can be compared
at an equal number of steps (auxiliary runs them all in one stage).
"""

import dataclasses

from keras_mobilebert.utils.errors import ConfigError

STRATEGIES = ("auxiliary", "joint", "progressive")


@dataclasses.dataclass(frozen=True)
class Stage:
    """One stage of a distillation schedule.

    Args:
        name: string. Used in checkpoint names and the loss CSV.
        steps: int. Optimizer steps of the stage.
        num_layers: int. Student blocks in play (the model stops there).
        layerwise: bool. Layer-wise transfer losses on.
        pretraining: bool. Pre-training distillation loss on.
        transfer_layers: tuple of ints. Student blocks whose layer-wise
            losses count.
        lower_rate_layers: tuple of ints. Blocks trained at the lower rate.
        freeze_copied: bool. Keep the variables copied from the teacher
            (embeddings, heads) frozen.
    """

    name: str
    steps: int
    num_layers: int
    layerwise: bool
    pretraining: bool
    transfer_layers: tuple
    lower_rate_layers: tuple = ()
    freeze_copied: bool = False


def build_stages(strategy, num_layers, layer_steps, pretraining_steps):
    """The stages of `strategy` for a student with `num_layers` blocks.

    Args:
        strategy: string. `"auxiliary"`, `"joint"` or `"progressive"`.
        num_layers: int. Student blocks.
        layer_steps: int. Steps per layer of the layer-wise part.
        pretraining_steps: int. Steps of pre-training distillation (0 to
            skip it; "auxiliary" then trains layer-wise losses only).

    Example:
    ```python
    stages = build_stages("progressive", 24, 10_000, 500_000)
    [s.name for s in stages][:2]  # ['layer_1', 'layer_2']
    ```
    """
    if strategy not in STRATEGIES:
        raise ConfigError(
            f"Unknown strategy {strategy!r}; expected one of {STRATEGIES}."
        )
    if layer_steps < 0 or pretraining_steps < 0:
        raise ConfigError("Step counts must be non-negative.")
    every = tuple(range(1, num_layers + 1))
    stages = []
    if strategy == "auxiliary":
        stages.append(
            Stage(
                name="auxiliary",
                steps=num_layers * layer_steps + pretraining_steps,
                num_layers=num_layers,
                layerwise=True,
                pretraining=pretraining_steps > 0,
                transfer_layers=every,
            )
        )
        return [s for s in stages if s.steps > 0]
    if strategy == "joint":
        stages.append(
            Stage(
                name="joint_layerwise",
                steps=num_layers * layer_steps,
                num_layers=num_layers,
                layerwise=True,
                pretraining=False,
                transfer_layers=every,
                freeze_copied=True,
            )
        )
    else:
        for k in every:
            stages.append(
                Stage(
                    name=f"layer_{k}",
                    steps=layer_steps,
                    num_layers=k,
                    layerwise=True,
                    pretraining=False,
                    transfer_layers=(k,),
                    lower_rate_layers=tuple(range(1, k)),
                    freeze_copied=True,
                )
            )
    stages.append(
        Stage(
            name="pretraining_distillation",
            steps=pretraining_steps,
            num_layers=num_layers,
            layerwise=False,
            pretraining=True,
            transfer_layers=(),
        )
    )
    return [s for s in stages if s.steps > 0]


def copy_from_teacher(teacher, student, parts=("embeddings", "heads")):
    """Copy embedding and head weights from teacher to student, by name.

    Variables are matched by their path (`embeddings/norm/gamma`,
    `mlm_head/output_bias`, ...), never by position: copying by position
    swaps a NoNorm's gamma and beta (a TF Model Garden pitfall). A variable
    is copied when both sides have it with the same shape; the rest are
    listed as skipped.

    Args:
        teacher: a teacher wrapper from `teachers.as_teacher`.
        student: a `teachers.MobileBertTaps`.
        parts: which parts to copy.

    Returns:
        `(copied, skipped)`: the student variables copied, and
        `"path: reason"` strings for the ones that were not.

    Example:
    ```python
    copied, skipped = copy_from_teacher(as_teacher(t), MobileBertTaps(s))
    ```
    """
    teacher_vars, student_vars = [], []
    if "embeddings" in parts:
        teacher_vars += teacher.embedding_variables()
        student_vars += student.embedding_variables()
    if "heads" in parts:
        teacher_vars += teacher.head_variables()
        student_vars += student.head_variables()
    # The MLM head ties the word table: drop repeated objects first.
    teacher_vars = list({id(v): v for v in teacher_vars}.values())
    student_vars = list({id(v): v for v in student_vars}.values())
    by_path = {v.path: v for v in teacher_vars}
    if len(by_path) != len(teacher_vars):
        raise ConfigError("Teacher variable paths are not unique.")
    copied, skipped = [], []
    for variable in student_vars:
        if not variable.trainable:
            continue
        source = by_path.get(variable.path)
        if source is None:
            skipped.append(f"{variable.path}: not in the teacher")
        elif tuple(source.shape) != tuple(variable.shape):
            skipped.append(
                f"{variable.path}: shape {tuple(variable.shape)} vs the "
                f"teacher's {tuple(source.shape)}"
            )
        else:
            variable.assign(source.value)
            copied.append(variable)
    return copied, skipped


def rate_groups(distiller, stage, frozen=()):
    """Split the distiller's variables into (full rate, lower rate).

    Block `k` in `stage.lower_rate_layers` goes to the lower rate, other
    blocks in play to the full rate; projections train at the full rate;
    embeddings not frozen train at the lower rate in progressive layer
    stages (as a block below) and at the full rate otherwise; variables in
    `frozen` (those copied from the teacher, when `stage.freeze_copied`)
    are left out.

    Args:
        distiller: a `Distiller` built for `stage`.
        stage: a `Stage`.
        frozen: variables copied from the teacher.

    Example:
    ```python
    full, lower = rate_groups(distiller, stage, copied)
    distiller.set_learning_rate_groups(full, lower)
    ```
    """
    student = distiller.student
    frozen_ids = {id(v) for v in frozen} if stage.freeze_copied else set()
    lower_ids = set()
    for k in stage.lower_rate_layers:
        lower_ids |= {id(v) for v in student.layer_variables(k)}
    if stage.lower_rate_layers:
        lower_ids |= {id(v) for v in student.embedding_variables()}
    full, lower = [], []
    for variable in distiller.default_trainable_variables():
        if id(variable) in frozen_ids:
            continue
        (lower if id(variable) in lower_ids else full).append(variable)
    return full, lower
