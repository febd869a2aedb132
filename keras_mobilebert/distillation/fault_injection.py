"""Test hook: a run that kills itself with SIGKILL after a chosen step.

The resume test (`tests/distillation/test_resume.py`) sets `KILL_ENV` to a
global step; `DistillationRun` then adds `kill_callback(first_step)` to
each `fit`, and the process dies right after that step, as a lost machine
would, without a chance to write anything more.
"""

import os
import signal

import keras

# Test hook: kill the process with SIGKILL right after this global step.
KILL_ENV = "KERAS_MOBILEBERT_DISTILL_KILL_AFTER_STEP"


class KillAfterStep(keras.callbacks.Callback):
    """SIGKILL this process once global step `kill_step` is done.

    Args:
        first_step: int. Global step of the `fit` call's first batch.
        kill_step: int. Global step after which the process dies.

    Example:
    ```python
    distiller.fit(dataset, callbacks=[KillAfterStep(100, 107)])
    ```
    """

    def __init__(self, first_step, kill_step):
        super().__init__()
        self.first_step = first_step
        self.kill_step = kill_step

    def on_train_batch_end(self, batch, logs=None):
        if self.first_step + batch + 1 >= self.kill_step:
            os.kill(os.getpid(), signal.SIGKILL)


def kill_callback(first_step):
    """A `KillAfterStep` when `KILL_ENV` is set, else None.

    Args:
        first_step: int. Global step of the `fit` call's first batch.

    Example:
    ```python
    callback = kill_callback(first_step=0)  # None unless the env is set
    ```
    """
    kill_step = int(os.environ.get(KILL_ENV, "0") or 0)
    if not kill_step:
        return None
    return KillAfterStep(first_step, kill_step)


def with_kill_callback(callbacks, first_step):
    """`callbacks` plus `kill_callback(first_step)` when the hook is set.

    Example:
    ```python
    model.fit(dataset, callbacks=with_kill_callback(callbacks, 100))
    ```
    """
    kill = kill_callback(first_step)
    return list(callbacks) + ([kill] if kill is not None else [])
