"""Optimizers and learning-rate schedules of distillation stages.

Every stage of a run gets a fresh optimizer from an optimizer factory
(`optimizer_factory`): one of `OPTIMIZERS` at a learning rate shaped per
stage by one of `LEARNING_RATE_SCHEDULES`. The `Distiller` trains the
layers below the current one with a copy of that optimizer at a fraction
of the rate (`scaled_optimizer`).
"""

import keras

from keras_mobilebert.utils.errors import ConfigError

OPTIMIZERS = {
    "lamb": keras.optimizers.Lamb,
    "adamw": keras.optimizers.AdamW,
    "adam": keras.optimizers.Adam,
}
# Per stage: constant (the paper), cosine decay, or 10% linear warm-up then
# linear decay.
LEARNING_RATE_SCHEDULES = ("constant", "cosine", "warmup_linear")


class LearningRateScale(keras.optimizers.schedules.LearningRateSchedule):
    """A learning rate (constant or schedule) times a constant factor.

    Args:
        learning_rate: float or `LearningRateSchedule`.
        factor: float.

    Example:
    ```python
    lower = LearningRateScale(keras.optimizers.schedules.CosineDecay(
        1e-3, 1000), 0.1)
    ```
    """

    def __init__(self, learning_rate, factor):
        self.learning_rate = learning_rate
        self.factor = factor

    def __call__(self, step):
        rate = self.learning_rate
        if callable(rate):
            rate = rate(step)
        return rate * self.factor

    def get_config(self):
        rate = self.learning_rate
        if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
            rate = keras.saving.serialize_keras_object(rate)
        return {"learning_rate": rate, "factor": self.factor}

    @classmethod
    def from_config(cls, config):
        rate = config["learning_rate"]
        if isinstance(rate, dict):
            rate = keras.saving.deserialize_keras_object(rate)
        return cls(rate, config["factor"])


class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to `rate` over `warmup` steps, then linear decay to 0.

    Args:
        rate: float. Peak learning rate.
        warmup: int. Warm-up steps.
        total: int. Step at which the rate reaches 0.

    Example:
    ```python
    schedule = WarmupLinearDecay(1e-4, warmup=100, total=1000)
    ```
    """

    def __init__(self, rate, warmup, total):
        self.rate = rate
        self.warmup = warmup
        self.total = total

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        up = step / max(1, self.warmup)
        down = (self.total - step) / max(1, self.total - self.warmup)
        return self.rate * keras.ops.maximum(keras.ops.minimum(up, down), 0.0)

    def get_config(self):
        return {"rate": self.rate, "warmup": self.warmup, "total": self.total}


def scaled_optimizer(optimizer, factor, name=None):
    """A fresh copy of `optimizer` whose learning rate is `factor` times.

    Args:
        optimizer: a `keras.optimizers.Optimizer` (not yet built or built;
            only its config is used).
        factor: float.
        name: string or None.

    Example:
    ```python
    lower = scaled_optimizer(keras.optimizers.Lamb(1.5e-3), 0.1)
    ```
    """
    config = optimizer.get_config()
    rate = optimizer._learning_rate
    if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
        config["learning_rate"] = LearningRateScale(rate, factor)
    else:
        config["learning_rate"] = float(config["learning_rate"]) * factor
    if name:
        config["name"] = name
    return optimizer.__class__.from_config(config)


def stage_learning_rate(stage, schedule, rate):
    """The learning rate (or schedule) of one stage.

    Args:
        stage: a `strategies.Stage` (its `steps` set the schedule's length).
        schedule: string. One of `LEARNING_RATE_SCHEDULES`.
        rate: float. Peak learning rate.

    Example:
    ```python
    stage_learning_rate(stage, "cosine", 1e-3)
    ```
    """
    if schedule not in LEARNING_RATE_SCHEDULES:
        raise ConfigError(
            f"Unknown learning-rate schedule {schedule!r}; known: "
            f"{list(LEARNING_RATE_SCHEDULES)}."
        )
    if schedule == "constant":
        return rate
    if schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(rate, stage.steps)
    return WarmupLinearDecay(rate, max(1, stage.steps // 10), stage.steps)


def optimizer_factory(name="lamb", learning_rate=1.5e-3, schedule="constant"):
    """`(stage) -> optimizer`: a fresh optimizer for every stage.

    Args:
        name: string. One of `OPTIMIZERS`.
        learning_rate: float. Peak learning rate of every stage.
        schedule: string. One of `LEARNING_RATE_SCHEDULES`.

    Example:
    ```python
    make_optimizer = optimizer_factory("adamw", 1e-3, "warmup_linear")
    run = DistillationRun(..., make_optimizer=make_optimizer)
    ```
    """
    if name not in OPTIMIZERS:
        raise ConfigError(
            f"Unknown optimizer {name!r}; known: {sorted(OPTIMIZERS)}."
        )
    optimizer_class = OPTIMIZERS[name]

    def make(stage):
        rate = stage_learning_rate(stage, schedule, learning_rate)
        return optimizer_class(learning_rate=rate)

    return make
