"""Strategies by name and the worker identity of a multi-worker job."""

import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_mobilebert.utils.distribute import DISTRIBUTE_STRATEGIES
from keras_mobilebert.utils.distribute import ChiefBackupAndRestore
from keras_mobilebert.utils.distribute import job_output_dir
from keras_mobilebert.utils.distribute import make_distribute_strategy
from keras_mobilebert.utils.distribute import worker_id


def _strategy(task_type, task_id, jobs):
    spec = types.SimpleNamespace(jobs=jobs)
    resolver = types.SimpleNamespace(
        task_type=task_type, task_id=task_id, cluster_spec=lambda: spec
    )
    return types.SimpleNamespace(cluster_resolver=resolver)


def test_worker_id_names_every_process_but_the_chief():
    assert worker_id(tf.distribute.get_strategy()) is None
    assert worker_id(_strategy("chief", 0, ["chief", "worker"])) is None
    # Without a chief, worker 0 is the chief.
    assert worker_id(_strategy("worker", 0, ["worker"])) is None
    assert worker_id(_strategy("worker", 0, ["chief", "worker"])) == (
        "worker_0"
    )
    assert worker_id(_strategy("worker", 2, ["worker"])) == "worker_2"
    assert worker_id(_strategy(None, None, [])) is None


def test_make_distribute_strategy_by_name():
    assert DISTRIBUTE_STRATEGIES[0] == "none"
    assert make_distribute_strategy("none") is tf.distribute.get_strategy()
    with pytest.raises(ValueError, match="Unknown distribute strategy 'gpu'"):
        make_distribute_strategy("gpu")


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), loss="mse")
    return model


class _StopAfterEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt  # a kill after the epoch's backup


def test_only_the_chief_writes_the_backup_every_worker_restores_it(
    tmp_path,
):
    x, y = np.ones((4, 3), "float32"), np.ones((4, 1), "float32")
    backup = tmp_path / "backup"
    chief = _strategy("worker", 0, ["worker"])
    other = _strategy("worker", 1, ["worker"])
    # The other worker trains two epochs and writes nothing.
    model = _model()
    model.fit(
        x,
        y,
        epochs=2,
        verbose=0,
        callbacks=[ChiefBackupAndRestore(backup, other)],
    )
    assert not backup.exists()
    # The chief is killed after epoch 2: its backup stays.
    chief_model = _model()
    with pytest.raises(KeyboardInterrupt):
        chief_model.fit(
            x,
            y,
            epochs=4,
            verbose=0,
            callbacks=[ChiefBackupAndRestore(backup, chief), _StopAfterEpoch()],
        )
    saved = sorted(p.name for p in backup.iterdir())
    assert saved == ["latest.weights.h5", "training_metadata.json"]
    # Started again, the other worker restores the chief's state, goes on
    # at epoch 3, and leaves the backup to the chief.
    again = _model()
    history = again.fit(
        x,
        y,
        epochs=4,
        verbose=0,
        callbacks=[ChiefBackupAndRestore(backup, other)],
    )
    assert len(history.history["loss"]) == 2
    assert sorted(p.name for p in backup.iterdir()) == saved
    # The chief ends the run and removes it.
    history = _model().fit(
        x,
        y,
        epochs=4,
        verbose=0,
        callbacks=[ChiefBackupAndRestore(backup, chief)],
    )
    assert len(history.history["loss"]) == 2
    assert not backup.exists()


def test_workers_but_the_chief_write_to_a_folder_removed_at_the_end(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    with job_output_dir(tf.distribute.get_strategy(), tmp_path / "out") as d:
        assert d == tmp_path / "out"
    other = _strategy("worker", 1, ["worker"])
    with pytest.raises(RuntimeError):
        with job_output_dir(other, tmp_path / "out") as d:
            assert d.parent == tmp_path / "tmp" and d.is_dir()
            (d / "results.json").write_text("{}")
            raise RuntimeError("a failed job still cleans up")
    assert list((tmp_path / "tmp").iterdir()) == []
    assert not (tmp_path / "out").exists()
