"""`tf.distribute` strategies by name, and which worker this process is.

Distillation and fine-tuning jobs take a strategy name from the command
line (`--distribute`); `make_distribute_strategy` builds it, and
`worker_id` tells a multi-worker job whether this process is the chief
(which writes the job's outputs) or another worker.
"""

import tensorflow as tf

from keras_mobilebert.utils.errors import ConfigError

# The names `make_distribute_strategy` accepts (the CLI spells them out).
DISTRIBUTE_STRATEGIES = ("none", "mirrored", "multi_worker_mirrored", "tpu")


def make_distribute_strategy(name):
    """The `tf.distribute` strategy called `name`.

    Args:
        name: string. One of `DISTRIBUTE_STRATEGIES`: `"none"` (the default
            strategy of this process), `"mirrored"` (every local device),
            `"multi_worker_mirrored"` (the cluster in `TF_CONFIG`) or
            `"tpu"` (the TPU the environment names).

    Example:
    ```python
    strategy = make_distribute_strategy("mirrored")
    with strategy.scope():
        model = build_model()
    ```
    """
    if name not in DISTRIBUTE_STRATEGIES:
        raise ConfigError(
            f"Unknown distribute strategy {name!r}; known: "
            f"{list(DISTRIBUTE_STRATEGIES)}."
        )
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker_mirrored":
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def worker_id(strategy):
    """None for the chief (or a single process), else `"<type>_<id>"`.

    Args:
        strategy: a `tf.distribute.Strategy`.

    Example:
    ```python
    worker = worker_id(tf.distribute.get_strategy())  # None
    ```
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return None
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return None
    task_type, task_id = resolver.task_type, resolver.task_id or 0
    if task_type == "chief" or (
        task_type == "worker"
        and task_id == 0
        and "chief" not in resolver.cluster_spec().jobs
    ):
        return None
    return f"{task_type}_{task_id}"
