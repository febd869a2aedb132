"""Fine-tuning that survives a kill and resumes where it stopped.

`fit_resumably` trains a compiled model on NumPy arrays in chunks of
`checkpoint_every` steps. Batches are a pure function of the global step:
epoch `e` visits the rows in the order of a permutation drawn from
`(seed, e)`, cut into `len // batch_size` full batches (the remainder,
fewer than a batch, is left out of that epoch), and the pipeline is
`Dataset.range(first_step, ...)` mapped to those rows. After each chunk the
model's variables (weights and dropout seed states), the optimizer's
variables (slots and step count, which drives the learning-rate schedule)
and the position go to `<backup_dir>/progress.npz`, atomically, in the
distillation checkpoint format (`distillation.checkpoints`, no pickle).
Started again with the same arguments, the run restores that file and
continues at the same step with the batches an uninterrupted run would
have seen, so it ends with the same weights (on CPU, bit for bit; see
`tests/finetune/test_resumable_fit.py`). The environment variable that
`distillation.fault_injection` reads kills the process after a global
step, for that test.

The classification job resumes with `keras.callbacks.BackupAndRestore`
instead, which restores at epoch boundaries: a SQuAD epoch is long, and
`BackupAndRestore` restarts an interrupted epoch from its first batch with
fresh shuffling, so a run killed mid-epoch would not end where an
uninterrupted one does.

Under a `tf.distribute` strategy `batch_size` is the global batch, split
evenly across replicas; Keras scales each replica's mean loss by the number
of replicas, so one step equals a single-device step on the same batch.
"""

import hashlib
import json
import pathlib
import time

import numpy as np
import tensorflow as tf

from keras_mobilebert.distillation.checkpoints import assign_all
from keras_mobilebert.distillation.checkpoints import collect
from keras_mobilebert.distillation.checkpoints import load_npz
from keras_mobilebert.distillation.checkpoints import save_npz
from keras_mobilebert.distillation.fault_injection import kill_callback
from keras_mobilebert.utils.errors import ConfigError

PROGRESS = "progress.npz"


def batch_order(num_rows, batch_size, epochs, seed):
    """The rows of every training step: `(steps, batch_size)` int32.

    Args:
        num_rows: int. Rows of the training arrays.
        batch_size: int. Global batch size.
        epochs: int.
        seed: int. Epoch `e` is the permutation of `np.random.default_rng(
            [seed, e])`.

    Example:
    ```python
    order = batch_order(10, 4, epochs=2, seed=0)  # shape (4, 4)
    ```
    """
    steps_per_epoch = num_rows // batch_size
    if steps_per_epoch == 0:
        raise ConfigError(
            f"The training data has {num_rows} rows, fewer than one batch "
            f"of {batch_size}; lower batch_size or add data."
        )
    epochs_order = []
    for epoch in range(epochs):
        permutation = np.random.default_rng([seed, epoch]).permutation(num_rows)
        epochs_order.append(
            permutation[: steps_per_epoch * batch_size].reshape(
                steps_per_epoch, batch_size
            )
        )
    return np.concatenate(epochs_order).astype("int32")


def step_dataset(tensors, order, first_step, last_step):
    """The batches of global steps `[first_step, last_step)`.

    Args:
        tensors: nested structure (e.g. `(inputs, labels)` dicts) of
            tensors with one row per training example.
        order: int array from `batch_order`.
        first_step: int.
        last_step: int.

    Example:
    ```python
    dataset = step_dataset((x, y), batch_order(len(y), 8, 2, 0), 0, 10)
    ```
    """
    table = tf.constant(order)

    def batch(step):
        rows = tf.gather(table, step)
        return tf.nest.map_structure(lambda t: tf.gather(t, rows), tensors)

    return (
        tf.data.Dataset.range(int(first_step), int(last_step))
        .map(batch)
        .prefetch(2)
    )


def fingerprint(arrays):
    """SHA-256 of nested NumPy arrays (keys, shapes, dtypes and bytes).

    Example:
    ```python
    fingerprint({"token_ids": ids})
    ```
    """
    digest = hashlib.sha256()
    for path, value in sorted(_flatten(arrays)):
        value = np.ascontiguousarray(value)
        digest.update(f"{path}:{value.dtype}:{value.shape};".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def _flatten(structure, prefix=""):
    if isinstance(structure, dict):
        for key, value in structure.items():
            yield from _flatten(value, f"{prefix}/{key}")
    elif isinstance(structure, (list, tuple)):
        for index, value in enumerate(structure):
            yield from _flatten(value, f"{prefix}/{index}")
    else:
        yield prefix, structure


def fit_resumably(
    model,
    x,
    y,
    batch_size,
    epochs,
    seed,
    backup_dir,
    checkpoint_every=500,
    settings=None,
    log=print,
    write_backup=True,
):
    """Fit `model` on `(x, y)`, checkpointing; resume from `backup_dir`.

    Args:
        model: a compiled Keras model (built under the strategy it trains
            with).
        x: dict of NumPy arrays, one row per example.
        y: NumPy array or dict of them (labels).
        batch_size: int. Global batch size; a multiple of the strategy's
            replica count.
        epochs: int.
        seed: int. The batch order (see `batch_order`).
        backup_dir: path. Where `progress.npz` lives; a run whose data or
            `settings` differ from the saved ones is refused.
        checkpoint_every: int. Steps between checkpoints (and log lines).
        settings: JSON-serializable dict recorded with the checkpoint (e.g.
            the job's config); resuming requires the same.
        log: callable taking one string.
        write_backup: bool. False on the workers of a multi-worker job
            other than the chief: they resume from the chief's checkpoint
            and write none.

    Returns:
        A dict: `steps`, `steps_per_epoch`, `resumed_from` (global step or
        None) and `history` (one row per chunk: `step`, `epoch` and the
        fit's last metric values).

    Example:
    ```python
    summary = fit_resumably(
        qa, windows.inputs(), windows.labels(), batch_size=32, epochs=2,
        seed=0, backup_dir="runs/squad/backup",
    )
    ```
    """
    if checkpoint_every < 1:
        raise ConfigError(
            f"checkpoint_every must be >= 1, got {checkpoint_every}."
        )
    strategy = model.distribute_strategy
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise ConfigError(
            f"batch_size {batch_size} (the global batch) does not split "
            f"evenly across {replicas} replicas."
        )
    arrays = (x, y)
    num_rows = len(next(iter(_flatten(arrays)))[1])
    order = batch_order(num_rows, batch_size, epochs, seed)
    total = len(order)
    steps_per_epoch = total // epochs
    record = json.loads(
        json.dumps(
            {
                "data": fingerprint(arrays),
                "batch_size": batch_size,
                "epochs": epochs,
                "seed": seed,
                "checkpoint_every": checkpoint_every,
                "settings": settings,
            }
        )
    )
    progress = pathlib.Path(backup_dir) / PROGRESS
    done, resumed_from, history = 0, None, []
    if progress.exists():
        saved, meta = load_npz(progress)
        if meta["record"] != record:
            raise ConfigError(
                f"{progress} is the checkpoint of a run with other data or "
                "settings; delete it or use another output directory."
            )
        with strategy.scope():
            model.optimizer.build(model.trainable_variables)
        assign_all("model", model.variables, saved)
        assign_all("optimizer", model.optimizer.variables, saved)
        done = resumed_from = meta["step"]
        history = meta["history"]
        log(f"resumed from step {done} of {total} ({progress})")
    tensors = tf.nest.map_structure(tf.constant, arrays)
    while done < total:
        chunk = min(checkpoint_every, total - done)
        callbacks = [c for c in [kill_callback(done)] if c is not None]
        start = time.perf_counter()
        fitted = model.fit(
            step_dataset(tensors, order, done, done + chunk),
            epochs=1,
            callbacks=callbacks,
            shuffle=False,  # The order is `order`'s.
            verbose=0,
        )
        done += chunk
        row = {"step": done, "epoch": round(done / steps_per_epoch, 3)}
        row.update({k: float(v[-1]) for k, v in fitted.history.items()})
        history.append(row)
        log(
            f"step {done}/{total} (epoch {row['epoch']:.2f} of {epochs}): "
            f"loss {row.get('loss', float('nan')):.4f}, "
            f"{time.perf_counter() - start:.0f} s"
        )
        if not write_backup:
            continue
        state = collect("model", model.variables)
        state.update(collect("optimizer", model.optimizer.variables))
        save_npz(
            progress,
            state,
            {"step": done, "record": record, "history": history},
        )
    return {
        "steps": total,
        "steps_per_epoch": steps_per_epoch,
        "resumed_from": resumed_from,
        "history": history,
    }
