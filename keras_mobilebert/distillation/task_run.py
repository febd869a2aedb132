"""Resumable training of a task model: chunks, checkpoints, loss log, plot.

`TaskTrainingRun` fits a `TaskDistiller` (task distillation, or plain
fine-tuning on gold labels) for a number of steps, in chunks of
`checkpoint_every`, as `runner.DistillationRun` does for the layer-wise
schedules. After every chunk it writes, each file atomically:

1. `losses.csv`: one row per chunk, the mean of every metric over it
   (`loss_log`);
2. `checkpoints/progress.npz`: the trainer's state (student, layer-wise
   projections, optimizer slots and step count, dropout seed states) and
   the step (`checkpoints`).

Started again with the same arguments, a run restores `progress.npz`,
drops CSV rows past it and continues at the same step; batches are a pure
function of the step (`task_distiller.task_dataset(start_step=...)`), so
on CPU the resumed run ends bit for bit where an uninterrupted one ends.
At the end it draws `losses.png`; saving the student is the caller's job
(`models.preset_writer.save_preset`).

Under a multi-worker strategy every worker holds the same state and only
the chief writes `output_dir`; the others read the chief's checkpoint and
`losses.csv` when they resume (a shared file system, as Keras's
`BackupAndRestore` and the Model Garden assume) and write nothing, as
`runner.DistillationRun` does.
"""

import json
import pathlib

import keras
import tensorflow as tf

from keras_mobilebert.distillation.checkpoints import CHECKPOINTS
from keras_mobilebert.distillation.checkpoints import PROGRESS
from keras_mobilebert.distillation.checkpoints import assign_all
from keras_mobilebert.distillation.checkpoints import clear_stale_temporaries
from keras_mobilebert.distillation.checkpoints import collect
from keras_mobilebert.distillation.checkpoints import load_npz
from keras_mobilebert.distillation.checkpoints import save_npz
from keras_mobilebert.distillation.fault_injection import with_kill_callback
from keras_mobilebert.distillation.loss_log import POSITION_COLUMNS
from keras_mobilebert.distillation.loss_log import read_loss_rows
from keras_mobilebert.distillation.loss_log import write_loss_rows
from keras_mobilebert.distillation.plotting import TASK_PANELS
from keras_mobilebert.distillation.plotting import plot_losses
from keras_mobilebert.utils.distribute import fit_under_multi_worker
from keras_mobilebert.utils.distribute import is_chief
from keras_mobilebert.utils.errors import ConfigError
from keras_mobilebert.utils.files import atomic_path


class TaskTrainingRun:
    """A resumable run of a compiled `TaskDistiller` for `steps` steps.

    Args:
        trainer: a compiled `keras_mobilebert.distillation.TaskDistiller`
            (built under `distribute_strategy` if one is given).
        make_dataset: callable `(start_step) -> tf.data.Dataset` of global
            batches from global step `start_step` on (e.g. a partial of
            `task_dataset`).
        steps: int. Training steps in all.
        output_dir: path. `losses.csv`, `losses.png`, `checkpoints/`,
            `run.json` (written by the chief only; see the module
            docstring).
        checkpoint_every: int. Steps between checkpoints and CSV rows.
        name: string. The stage name in `losses.csv`.
        config: dict or None. Recorded in `run.json`; a resumed run must
            pass the same one.
        distribute_strategy: a `tf.distribute.Strategy` or None.
        callbacks: list of Keras callbacks for every `fit` call.
        validate: callable `(step) -> {metric: float}` or None. Run after
            every chunk; its values go into the chunk's `losses.csv` row
            as `val_<metric>` (the validation curve of the plot).
        verbose: int or "auto". `fit` verbosity.

    Example:
    ```python
    distiller = TaskDistiller(student, teacher, temperature=2.0)
    distiller.compile(keras.optimizers.AdamW(1e-4))
    run = TaskTrainingRun(
        distiller,
        lambda step: task_dataset(packed, logits, labels, start_step=step),
        steps=2000,
        output_dir="runs/sst2_student",
    )
    summary = run.run()
    ```
    """

    def __init__(
        self,
        trainer,
        make_dataset,
        steps,
        output_dir,
        checkpoint_every=100,
        name="task_distillation",
        config=None,
        distribute_strategy=None,
        callbacks=None,
        validate=None,
        verbose="auto",
    ):
        if steps < 1:
            raise ConfigError(f"steps must be at least 1; received {steps}.")
        if checkpoint_every < 1:
            raise ConfigError("checkpoint_every must be at least 1.")
        self.trainer = trainer
        self.make_dataset = make_dataset
        self.steps = int(steps)
        self.checkpoint_every = int(checkpoint_every)
        self.name = name
        self.config = dict(config or {})
        self.callbacks = list(callbacks or [])
        self.validate = validate
        self.verbose = verbose
        strategy = distribute_strategy or tf.distribute.get_strategy()
        self.is_chief = is_chief(strategy)
        self.output_dir = pathlib.Path(output_dir)
        self.checkpoint_dir = self.output_dir / CHECKPOINTS
        self.csv_path = self.output_dir / "losses.csv"

    def state_variables(self):
        """Everything that decides the next step: model and optimizer."""
        model = list(self.trainer.student.variables)
        distiller = self.trainer.layer_distiller
        if distiller is not None:
            model += distiller.projection_variables()
        return model, list(self.trainer.optimizer.variables)

    def _check_config(self):
        path = self.output_dir / "run.json"
        record = {
            "name": self.name,
            "steps": self.steps,
            "checkpoint_every": self.checkpoint_every,
            "config": self.config,
        }
        record = json.loads(json.dumps(record))
        if path.exists():
            previous = json.loads(path.read_text())
            if previous != record:
                raise ConfigError(
                    f"{self.output_dir} holds a run with different settings "
                    f"({previous}); use another output directory."
                )
        elif self.is_chief:
            with atomic_path(path) as tmp:
                tmp.write_text(json.dumps(record, indent=2))

    def _save(self, step):
        model, optimizer = self.state_variables()
        arrays = collect("student", model)
        arrays.update(collect("optimizer", optimizer))
        meta = {"stage": 0, "stage_step": step, "global_step": step}
        save_npz(self.checkpoint_dir / PROGRESS, arrays, meta)

    def _restore(self):
        """Load `progress.npz` if there is one; return its step or None."""
        path = self.checkpoint_dir / PROGRESS
        if not path.exists():
            return None
        arrays, meta = load_npz(path)
        model, optimizer = self.state_variables()
        assign_all("student", model, arrays)
        assign_all("optimizer", optimizer, arrays)
        return int(meta["global_step"])

    def run(self):
        """Train (or resume) to `steps`; return a summary dict.

        The summary has `rows` (the `losses.csv` rows), `final` (the last
        row), `resumed_from` (a step, or None) and `steps`.
        """
        if self.is_chief:
            self.output_dir.mkdir(parents=True, exist_ok=True)
        self._check_config()
        if self.is_chief:
            clear_stale_temporaries(self.output_dir, self.checkpoint_dir)
        resumed_from = self._restore()
        done = resumed_from or 0
        rows = read_loss_rows(self.csv_path, done)
        fit_under_multi_worker(self.trainer)
        columns = list(POSITION_COLUMNS)
        for row in rows:
            columns += [k for k in row if k not in columns]
        while done < self.steps:
            chunk = min(self.checkpoint_every, self.steps - done)
            dataset = self.make_dataset(done).take(chunk)
            callbacks = with_kill_callback(self.callbacks, done)
            epoch = done // self.checkpoint_every
            history = keras.Model.fit(
                self.trainer,
                dataset,
                epochs=epoch + 1,
                initial_epoch=epoch,
                callbacks=callbacks,
                verbose=self.verbose,
            )
            done += chunk
            row = {
                "global_step": done,
                "stage": 0,
                "stage_name": self.name,
                "stage_step": done,
            }
            row.update({k: float(v[-1]) for k, v in history.history.items()})
            if self.validate is not None:
                row.update(
                    {
                        f"val_{k}": float(v)
                        for k, v in self.validate(done).items()
                    }
                )
            columns += [k for k in row if k not in columns]
            rows.append(row)
            if self.is_chief:
                write_loss_rows(self.csv_path, columns, rows)
                self._save(done)
        if self.is_chief:
            plot_losses(
                rows, self.output_dir / "losses.png", panels=TASK_PANELS
            )
        return {
            "rows": rows,
            "final": rows[-1] if rows else {},
            "resumed_from": resumed_from,
            "steps": self.steps,
        }
