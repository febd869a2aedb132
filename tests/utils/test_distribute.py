"""Strategies by name and the worker identity of a multi-worker job."""

import types

import pytest
import tensorflow as tf

from keras_mobilebert.utils.distribute import DISTRIBUTE_STRATEGIES
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
