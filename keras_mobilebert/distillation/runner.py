"""Run a distillation schedule with checkpoints, resume, a loss CSV and plot.

`DistillationRun` trains one `Distiller` per stage of a schedule
(`strategies.build_stages`) with `fit`, in chunks of `checkpoint_every`
steps. After every chunk it writes, each file atomically (a temporary file
moved into place, so a crash or `kill -9` never leaves half a file):

1. `losses.csv`: one row per chunk, the mean of every loss over it;
2. `checkpoints/progress.npz`: student and projection weights, the stage's
   optimizer state and the position (stage, step);

and at each stage boundary `checkpoints/stage_XX_<name>.npz` (the student
after that stage, kept). Started again with the same arguments, a run
restores `progress.npz`, drops CSV rows past it, and continues at the same
step: batches are a pure function of the step (`data.pretraining_dataset`),
and all state that influences training (weights, optimizer slots and step
count, dropout seed states) is in the checkpoint, so the resumed run ends
with the same weights as an uninterrupted one (on CPU, bit for bit; see
`tests/distillation/test_resume.py`).

The output directory ends up with `student/` (a KerasHub preset of the
student backbone), `student_pretraining.weights.h5`, `losses.csv`,
`losses.png` and `run.json`. This module is the stage loop; the files it
writes have their own modules: `checkpoints` (the `.npz` format),
`loss_log` (`losses.csv`) and `plotting` (`losses.png`).
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
from keras_mobilebert.distillation.checkpoints import stage_checkpoint_name
from keras_mobilebert.distillation.distiller import Distiller
from keras_mobilebert.distillation.embedding_init import INIT_EMBEDDINGS_CHOICES
from keras_mobilebert.distillation.embedding_init import METHODS
from keras_mobilebert.distillation.embedding_init import (
    init_uncopied_word_table,
)
from keras_mobilebert.distillation.fault_injection import with_kill_callback
from keras_mobilebert.distillation.loss_log import loss_columns
from keras_mobilebert.distillation.loss_log import read_loss_rows
from keras_mobilebert.distillation.loss_log import write_loss_rows
from keras_mobilebert.distillation.optimizers import optimizer_factory
from keras_mobilebert.distillation.plotting import plot_losses
from keras_mobilebert.distillation.strategies import build_stages
from keras_mobilebert.distillation.strategies import copy_from_teacher
from keras_mobilebert.distillation.strategies import rate_groups
from keras_mobilebert.distillation.teachers import MobileBertTaps
from keras_mobilebert.distillation.teachers import as_teacher
from keras_mobilebert.models.preset_writer import save_preset
from keras_mobilebert.utils.distribute import fit_under_multi_worker
from keras_mobilebert.utils.distribute import is_multi_worker
from keras_mobilebert.utils.distribute import worker_id
from keras_mobilebert.utils.errors import ConfigError
from keras_mobilebert.utils.files import atomic_path


class DistillationRun:
    """A resumable distillation run of one schedule.

    Args:
        teacher: a teacher model (see `teachers.as_teacher`), built under
            `distribute_strategy` if one is given.
        student: a `keras_mobilebert.MobileBertPreTrainingModel` (its
            backbone is the student; its heads serve pre-training
            distillation), built under `distribute_strategy`.
        strategy: string. `"auxiliary"`, `"joint"` or `"progressive"`.
        output_dir: path. Checkpoints, CSV, plot and the final student.
        make_dataset: callable `(start_step) -> tf.data.Dataset` of global
            batches for global step `start_step` onwards (e.g. a partial of
            `data.pretraining_dataset`).
        layer_steps: int. Steps per layer of the layer-wise part.
        pretraining_steps: int. Steps of pre-training distillation.
        make_optimizer: callable `(stage) -> keras optimizer`, called once
            per stage (a fresh optimizer per stage). Default LAMB at
            `learning_rate`.
        learning_rate: float or schedule for the default optimizer.
        checkpoint_every: int. Steps between checkpoints / CSV rows.
        layer_map: dict student block -> teacher block, or None (uniform).
        copy_parts: tuple. What to copy from the teacher by name.
        init_embeddings: string or None. How to initialize the student's
            word table when it cannot be copied from the teacher (another
            width): `"auto"` (default) means `"pca"` when the teacher has
            a word table of the same vocabulary at least as wide, else
            nothing; `"pca"` or `"svd"` (see
            `embedding_init.init_student_embeddings_from_teacher`); None
            or `"none"` keeps the random initialization. A copied table is
            never replaced.
        distiller_kwargs: dict. More `Distiller` arguments (loss weights,
            `attention_head_mode`, `lower_learning_rate_multiplier`, ...).
        distribute_strategy: a `tf.distribute.Strategy` or None.
        callbacks: list of Keras callbacks for every `fit` call (a
            `CSVLogger` should use `append=True`).
        verbose: int. `fit` verbosity.
        config: dict or None. Recorded in `run.json`; a resumed run must
            pass the same one.
        steps_per_execution: int. Training steps per call of the compiled
            step (Keras `compile`): on a TPU, several steps per host round
            trip. The step is TPU-ready (static batch shapes, no Python
            side effects; `tests/distillation/test_xla_step.py`).

    Example:
    ```python
    run = DistillationRun(teacher, student, "progressive", "runs/pkt",
                          make_dataset=lambda s: pretraining_dataset(
                              docs, tokenizer, 64, start_step=s),
                          layer_steps=1000, pretraining_steps=5000)
    summary = run.run()
    ```
    """

    def __init__(
        self,
        teacher,
        student,
        strategy,
        output_dir,
        make_dataset,
        layer_steps,
        pretraining_steps,
        make_optimizer=None,
        learning_rate=1.5e-3,
        checkpoint_every=100,
        layer_map=None,
        copy_parts=("embeddings", "heads"),
        init_embeddings="auto",
        distiller_kwargs=None,
        distribute_strategy=None,
        callbacks=None,
        verbose="auto",
        config=None,
        steps_per_execution=1,
    ):
        self.teacher = as_teacher(teacher)
        self.student = MobileBertTaps(student)
        if not self.student.has_pretraining_heads:
            raise ValueError("`student` must be a MobileBertPreTrainingModel.")
        self.strategy = strategy
        self.output_dir = pathlib.Path(output_dir)
        self.make_dataset = make_dataset
        self.stages = build_stages(
            strategy, self.student.num_layers, layer_steps, pretraining_steps
        )
        self.learning_rate = learning_rate
        self.make_optimizer = make_optimizer or optimizer_factory(
            "lamb", learning_rate
        )
        if checkpoint_every < 1:
            raise ConfigError("checkpoint_every must be at least 1.")
        self.checkpoint_every = int(checkpoint_every)
        self.layer_map = layer_map
        self.copy_parts = tuple(copy_parts)
        if init_embeddings not in (None,) + INIT_EMBEDDINGS_CHOICES:
            raise ConfigError(
                f"init_embeddings must be 'auto', 'none', None or one of "
                f"{METHODS}; got {init_embeddings!r}."
            )
        self.init_embeddings = init_embeddings or "none"
        self.embedding_init = None
        self.distiller_kwargs = dict(distiller_kwargs or {})
        self.distribute_strategy = (
            distribute_strategy or tf.distribute.get_strategy()
        )
        self.callbacks = list(callbacks or [])
        self.verbose = verbose
        self.config = dict(config or {})
        self.steps_per_execution = int(steps_per_execution)
        # Multi-worker: every worker holds the same state, and only the
        # chief writes; the others read the chief's checkpoint when they
        # resume (a shared file system, as Keras's BackupAndRestore and the
        # Model Garden assume), so no two processes write the same file.
        self.is_chief = worker_id(self.distribute_strategy) is None
        self.checkpoint_dir = self.output_dir / CHECKPOINTS
        self.csv_path = self.output_dir / "losses.csv"
        self.columns = loss_columns(self.stages)
        self.projections = self._make_projections()
        self.copied = []
        self.skipped = []

    # --- setup -------------------------------------------------------------

    def _make_projections(self):
        if self.student.hidden_dim == self.teacher.hidden_dim:
            return {}
        projections = {}
        with self.distribute_strategy.scope():
            for k in range(1, self.student.num_layers + 1):
                layer = keras.layers.Dense(
                    self.teacher.hidden_dim,
                    use_bias=False,
                    name=f"projection_layer_{k}",
                )
                layer.build((None, None, self.student.hidden_dim))
                projections[k] = layer
        return projections

    def _projection_variables(self):
        return [
            v
            for k in sorted(self.projections)
            for v in self.projections[k].variables
        ]

    def _student_variables(self):
        return list(self.student.root.variables)

    def build_distiller(self, stage):
        """The `Distiller` of `stage`, with its rate groups, not compiled."""
        with self.distribute_strategy.scope():
            distiller = Distiller(
                self.teacher,
                self.student.root,
                num_layers=stage.num_layers,
                layerwise=stage.layerwise,
                pretraining=stage.pretraining,
                transfer_layers=stage.transfer_layers,
                layer_map=self.layer_map,
                projections=self.projections,
                name=f"distiller_{stage.name}",
                **self.distiller_kwargs,
            )
        full, lower = rate_groups(distiller, stage, self.copied)
        distiller.set_learning_rate_groups(full, lower)
        return distiller

    # --- state -------------------------------------------------------------

    def _stage_offsets(self):
        offsets, total = [], 0
        for stage in self.stages:
            offsets.append(total)
            total += stage.steps
        return offsets, total

    def _check_config(self):
        path = self.output_dir / "run.json"
        record = {
            "strategy": self.strategy,
            "stages": [[s.name, s.steps] for s in self.stages],
            "checkpoint_every": self.checkpoint_every,
            "init_embeddings": self.init_embeddings,
            "config": self.config,
        }
        if path.exists() or not self.is_chief:
            if not path.exists():
                return
            previous = json.loads(path.read_text())
            if previous != json.loads(json.dumps(record)):
                raise ConfigError(
                    f"{self.output_dir} holds a run with different settings "
                    f"({previous}); use another output directory."
                )
        else:
            with atomic_path(path) as tmp:
                tmp.write_text(json.dumps(record, indent=2))

    def _save(self, path, stage_index, stage_step, global_step, distiller):
        if not self.is_chief:
            return
        arrays = collect("student", self._student_variables())
        arrays.update(collect("projection", self._projection_variables()))
        if distiller is not None:
            arrays.update(collect("optimizer", distiller.optimizer_variables()))
        meta = {
            "stage": stage_index,
            "stage_step": stage_step,
            "global_step": global_step,
            "copied": [v.path for v in self.copied],
            "embedding_init": self.embedding_init,
        }
        save_npz(path, arrays, meta)

    def _init_word_table(self):
        """Initialize an uncopied student word table from the teacher's.

        Returns the `init_student_embeddings_from_teacher` info, or None.
        The table is not added to `self.copied`: it is a starting point,
        not the teacher's own weights, so it trains in every stage (the
        same rate groups as a randomly initialized table).
        """
        if "embeddings" not in self.copy_parts:
            return None
        return init_uncopied_word_table(
            self.student.root, self.teacher, self.init_embeddings, self.copied
        )

    def _restore_weights(self, arrays):
        assign_all("student", self._student_variables(), arrays)
        assign_all("projection", self._projection_variables(), arrays)

    # --- run ---------------------------------------------------------------

    def run(self):
        """Run (or resume) every stage; return a summary dict.

        The summary has `"final_losses"` (the last CSV row of each stage),
        `"copied"` and `"skipped"` (teacher variables copied by name),
        `"embedding_init"` (how the word table was initialized from the
        teacher's, or None) and `"resumed_from"` (global step, or None).
        """
        if self.is_chief:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            clear_stale_temporaries(self.output_dir, self.checkpoint_dir)
        self._check_config()
        offsets, total = self._stage_offsets()
        progress = self.checkpoint_dir / PROGRESS
        start_stage, start_step, resumed_from = 0, 0, None
        arrays = None
        if progress.exists():
            arrays, meta = load_npz(progress)
            start_stage, start_step = meta["stage"], meta["stage_step"]
            resumed_from = meta["global_step"]
            self._restore_weights(arrays)
            copied_paths = set(meta["copied"])
            self.copied = [
                v for v in self._student_variables() if v.path in copied_paths
            ]
            self.embedding_init = meta.get("embedding_init")
        else:
            self.copied, self.skipped = copy_from_teacher(
                self.teacher, self.student, self.copy_parts
            )
            self.embedding_init = self._init_word_table()
        rows = read_loss_rows(self.csv_path, resumed_from or 0)
        for index, stage in enumerate(self.stages):
            if index < start_stage:
                continue
            distiller = self.build_distiller(stage)
            with self.distribute_strategy.scope():
                distiller.compile(
                    optimizer=self.make_optimizer(stage),
                    steps_per_execution=self.steps_per_execution,
                )
            fit_under_multi_worker(distiller)
            done = start_step if index == start_stage else 0
            if done > 0:
                assign_all("optimizer", distiller.optimizer_variables(), arrays)
            while done < stage.steps:
                chunk = min(self.checkpoint_every, stage.steps - done)
                first = offsets[index] + done
                dataset = self._chunk_dataset(first, chunk)
                callbacks = with_kill_callback(self.callbacks, first)
                epoch = done // self.checkpoint_every
                history = distiller.fit(
                    dataset,
                    epochs=epoch + 1,
                    initial_epoch=epoch,
                    callbacks=callbacks,
                    verbose=self.verbose,
                )
                done += chunk
                row = {
                    "global_step": first + chunk,
                    "stage": index,
                    "stage_name": stage.name,
                    "stage_step": done,
                }
                row.update(
                    {k: float(v[-1]) for k, v in history.history.items()}
                )
                rows.append(row)
                if self.is_chief:
                    write_loss_rows(self.csv_path, self.columns, rows)
                if done < stage.steps:
                    self._save(progress, index, done, first + chunk, distiller)
            # Stage boundary: keep this stage's student, then move on.
            end = offsets[index] + stage.steps
            boundary = self.checkpoint_dir / stage_checkpoint_name(
                index, stage.name
            )
            self._save(boundary, index, stage.steps, end, None)
            self._save(progress, index + 1, 0, end, None)
        if self.is_chief:
            self._finish(rows)
        # The last row of each stage (rows are in step order).
        final_losses = {row["stage_name"]: row for row in rows}
        return {
            "final_losses": final_losses,
            "copied": [v.path for v in self.copied],
            "skipped": list(self.skipped),
            "embedding_init": self.embedding_init,
            "resumed_from": resumed_from,
            "total_steps": total,
        }

    def _chunk_dataset(self, first, chunk):
        """Steps `first` to `first + chunk` of the stream.

        A `make_dataset` marked `per_input_pipeline` (a streamed corpus)
        builds each worker's own dataset from its input context under a
        multi-worker strategy, so every worker reads its own shards.
        """
        if not (
            getattr(self.make_dataset, "per_input_pipeline", False)
            and is_multi_worker(self.distribute_strategy)
        ):
            return self.make_dataset(first).take(chunk)

        def per_worker(input_context):
            # One per-replica batch per element: a step takes one for
            # each of the worker's replicas.
            local = (
                input_context.num_replicas_in_sync
                // input_context.num_input_pipelines
            )
            return self.make_dataset(first, input_context).take(chunk * local)

        return self.distribute_strategy.distribute_datasets_from_function(
            per_worker
        )

    def _finish(self, rows):
        backbone = self.student.backbone
        save_preset(backbone, self.output_dir / "student")
        with atomic_path(
            self.output_dir / "student_pretraining.weights.h5"
        ) as tmp:
            self.student.root.save_weights(str(tmp))
        plot_losses(rows, self.output_dir / "losses.png", self.stages)
