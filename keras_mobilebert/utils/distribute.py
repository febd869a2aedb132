"""`tf.distribute` strategies by name, and which worker this process is.

Distillation and fine-tuning jobs take a strategy name from the command
line (`--distribute`); `make_distribute_strategy` builds it, and
`worker_id` tells a multi-worker job whether this process is the chief
(which writes the job's outputs) or another worker.
"""

import contextlib
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import keras
import tensorflow as tf

from keras_mobilebert.utils.errors import ConfigError
from keras_mobilebert.utils.errors import UserInputError

# The names `make_distribute_strategy` accepts (the CLI spells them out).
DISTRIBUTE_STRATEGIES = ("none", "mirrored", "multi_worker_mirrored", "tpu")


# Seconds a multi-worker job waits for every task to join, and about how
# long it takes to notice a task that died (`--cluster-timeout`).
DEFAULT_CLUSTER_TIMEOUT = 300


class ClusterError(UserInputError):
    """A task of the `TF_CONFIG` cluster did not join, or died.

    Example:
    ```python
    raise ClusterError("worker 1 (127.0.0.1:23457) did not join in 300 s.")
    ```
    """


def check_strategy_name(name):
    """Raise a `ConfigError` unless `name` is in `DISTRIBUTE_STRATEGIES`.

    Example:
    ```python
    check_strategy_name(config["distribute"])
    ```
    """
    if name not in DISTRIBUTE_STRATEGIES:
        raise ConfigError(
            f"Unknown distribute strategy {name!r}; known: "
            f"{list(DISTRIBUTE_STRATEGIES)}."
        )


def make_distribute_strategy(name, cluster_timeout=DEFAULT_CLUSTER_TIMEOUT):
    """The `tf.distribute` strategy called `name`.

    Args:
        name: string. One of `DISTRIBUTE_STRATEGIES`: `"none"` (the default
            strategy of this process), `"mirrored"` (every local device),
            `"multi_worker_mirrored"` (the cluster in `TF_CONFIG`) or
            `"tpu"` (the TPU the environment names).
        cluster_timeout: float. Multi-worker only: seconds to wait for
            every task of the cluster to join (else a `ClusterError`
            naming the missing ones), and about how long a task that dies
            later takes to be noticed (the health checks of
            `MultiWorkerMirroredStrategy` then abort the collectives, and
            `cluster_errors` turns that into a `ClusterError`).

    Example:
    ```python
    strategy = make_distribute_strategy("mirrored")
    with strategy.scope():
        model = build_model()
    ```
    """
    check_strategy_name(name)
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker_mirrored":
        return _multi_worker_strategy(cluster_timeout)
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def config_strategy(config):
    """The strategy a job config's `distribute` field names.

    Args:
        config: dict with `distribute` and, optionally, `cluster_timeout`
            (seconds; the commands' `--cluster-timeout`, default
            `DEFAULT_CLUSTER_TIMEOUT`).

    Example:
    ```python
    strategy = config_strategy({"distribute": "none"})
    ```
    """
    return make_distribute_strategy(
        config["distribute"],
        config.get("cluster_timeout") or DEFAULT_CLUSTER_TIMEOUT,
    )


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


def is_multi_worker(strategy):
    """Whether `strategy` is a `MultiWorkerMirroredStrategy`.

    Example:
    ```python
    is_multi_worker(tf.distribute.get_strategy())  # False
    ```
    """
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def _as_vector(value):
    if isinstance(value, tf.Tensor) and value.shape.rank == 0:
        return tf.reshape(value, [1])
    return value


def fit_under_multi_worker(model):
    """Let Keras 3 `fit`/`evaluate` run `model` under a multi-worker strategy.

    Keras 3 (3.13) has two faults under `MultiWorkerMirroredStrategy`
    (tensorflow/tensorflow#72388): its symbolic build before the first
    step calls `strategy.reduce` on a dict of `PerReplica` inputs
    ("unsupported type <class 'dict'>"), and it reduces every step's logs
    with `strategy.reduce("MEAN", value, axis=0)`, which fails on the
    scalar logs every `train_step` returns ("Invalid reduction dimension
    0 for input with 0 dimensions"). On this `model` instance (no class
    is changed) the step's scalar logs become vectors of one element, so
    the cross-worker mean gives the scalar back, and the build uses
    symbolic tensors of the dataset's shapes (`_symbolic_batch`; else
    this worker's local part of one batch), so no batch is drawn before
    training: the first epoch sees the batches one process sees. Under
    any other strategy it does nothing.

    Args:
        model: a compiled `keras.Model` whose `distribute_strategy` is the
            strategy it trains under.

    Returns:
        `model`.

    Example:
    ```python
    with strategy.scope():
        model.compile(optimizer="adam", loss="mse")
    fit_under_multi_worker(model).fit(dataset, epochs=1)
    ```
    """
    strategy = model.distribute_strategy
    if not is_multi_worker(strategy) or getattr(
        model, "_multi_worker_ready", False
    ):
        return model
    train_step, test_step = model.train_step, model.test_step

    def vector_logs(step):
        def wrapped(data):
            return tf.nest.map_structure(_as_vector, step(data))

        return wrapped

    def symbolic_build(iterator=None, data_batch=None):
        if iterator is not None and data_batch is None:
            data_batch = _symbolic_batch(iterator)
        if iterator is not None and data_batch is None:
            for _, _, it in iterator:
                data_batch = tf.nest.map_structure(
                    lambda v: strategy.experimental_local_results(v)[0],
                    next(it),
                )
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    model.train_step = vector_logs(train_step)
    model.test_step = vector_logs(test_step)
    model._maybe_symbolic_build = symbolic_build
    model._multi_worker_ready = True
    model.train_function = model.test_function = None
    return model


def _symbolic_batch(iterator):
    """Symbolic tensors shaped as `iterator`'s batches, or None.

    Keras's own build takes one batch from the epoch iterator, which
    starts an iterator of the dataset: a dataset shuffled anew on every
    iteration (`shuffle(seed=...)`, the classification job's) would then
    give the first epoch the second epoch's order, unlike one process,
    where Keras builds when the step is traced. The build needs shapes
    and dtypes only, so they come from the dataset's `element_spec`.
    """
    adapter = getattr(iterator, "data_adapter", None)
    dataset = adapter.get_tf_dataset() if adapter is not None else None
    spec = getattr(dataset, "element_spec", None)
    leaves = tf.nest.flatten(spec)
    if not leaves or not all(isinstance(s, tf.TensorSpec) for s in leaves):
        return None
    return tf.nest.map_structure(
        lambda s: keras.KerasTensor(tuple(s.shape.as_list()), s.dtype.name),
        spec,
    )


def _task_name(job, index):
    return f"{job} {index}"


def _multi_worker_strategy(timeout):
    # The strategy's start-up barrier and its health checks are class
    # settings of its `extended` part with no public API; TensorFlow's own
    # multi-worker tests set them the same way. The start-up barrier waits
    # `timeout` s; a dead task is noticed after at most `interval` s plus
    # three checks of `check` s each, about `timeout` s in all.
    from tensorflow.python.distribute import collective_all_reduce_strategy

    extended = collective_all_reduce_strategy.CollectiveAllReduceExtended
    timeout = max(1, int(timeout))
    extended._check_health_initial_timeout = timeout
    extended._check_health_interval = max(1, min(30, timeout // 4))
    extended._check_health_timeout = max(1, min(10, timeout // 4))
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    if not resolver.cluster_spec().jobs:
        raise ClusterError(
            "--distribute multi_worker_mirrored needs a TF_CONFIG naming the "
            f"cluster and this task; TF_CONFIG is "
            f"{os.environ.get('TF_CONFIG')!r}."
        )
    # A task that never comes up leaves the others waiting inside
    # TensorFlow, in a call that holds the interpreter (no Python thread
    # or signal handler runs): a watchdog process ends this one with one
    # line naming the missing tasks.
    watchdog = _start_watchdog(resolver, timeout)
    try:
        return tf.distribute.MultiWorkerMirroredStrategy(
            cluster_resolver=resolver
        )
    finally:
        watchdog.kill()
        watchdog.wait()


_WATCHDOG = """
import os, signal, socket, sys, time
parent, timeout, tasks = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
time.sleep(timeout)
missing = []
for task in tasks:
    name, address = task.split("=")
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), 2).close()
    except OSError:
        missing.append(f"{name} ({address})")
sys.stderr.write(
    f"ClusterError: {', '.join(missing) or 'another task'} did not join "
    f"the cluster within {timeout:g} s (--cluster-timeout).\\n"
)
sys.stderr.flush()
os.kill(parent, signal.SIGKILL)
"""


def _start_watchdog(resolver, timeout):
    spec = resolver.cluster_spec()
    tasks = [
        f"{_task_name(job, index)}={spec.task_address(job, index)}"
        for job in spec.jobs
        for index in spec.task_indices(job)
        if (job, index) != (resolver.task_type, resolver.task_id)
    ]
    return subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(timeout)]
        + tasks
    )


_DOWN = re.compile(
    r"(?:is down|unhealthy|heartbeat)[^/]*?/job:(\w+)/replica:\d+/task:(\d+)"
    r"|/job:(\w+)/replica:\d+/task:(\d+) is down",
    re.DOTALL,
)


@contextlib.contextmanager
def cluster_errors():
    """Turn "a peer is down" errors of a multi-worker job into `ClusterError`.

    When a task of a `MultiWorkerMirroredStrategy` cluster dies, the
    strategy's health check aborts every collective with a long
    `UnavailableError`; this names the task in one line. Other errors
    pass unchanged.

    Example:
    ```python
    with cluster_errors():
        model.fit(dataset)
    ```
    """
    try:
        yield
    except (
        tf.errors.UnavailableError,
        tf.errors.CancelledError,
        tf.errors.DeadlineExceededError,
        tf.errors.InternalError,
    ) as error:
        found = _DOWN.search(str(error))
        if not found and "check alive failed" not in str(error):
            raise
        task = "a task"
        if found:
            job, index = [g for g in found.groups() if g is not None]
            task = _task_name(job, index)
        raise ClusterError(
            f"{task} of the cluster in TF_CONFIG stopped responding; start "
            "every task again with the same command to resume from the "
            "last checkpoint."
        ) from None


def is_chief(strategy):
    """Whether this process writes the job's outputs (see `worker_id`).

    Example:
    ```python
    is_chief(tf.distribute.get_strategy())  # True
    ```
    """
    return worker_id(strategy) is None


@contextlib.contextmanager
def job_output_dir(strategy, output_dir):
    """The folder this process writes a job's outputs to.

    The chief (or a single process) writes `output_dir`. Every other
    worker of a multi-worker job runs the same steps, since the
    collectives need all of them, and writes its (identical) outputs to a
    temporary folder of its own, removed when the block ends, so only the
    chief's outputs reach `output_dir`. Checkpoints are another matter:
    every worker resumes from the chief's, in `output_dir`.

    Args:
        strategy: a `tf.distribute.Strategy`.
        output_dir: path of the job's outputs.

    Example:
    ```python
    with job_output_dir(strategy, "runs/sst2") as own_dir:
        write_results(own_dir, results)
    ```
    """
    output_dir = pathlib.Path(output_dir)
    if is_chief(strategy):
        yield output_dir
        return
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="keras_mobilebert_"))
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class ChiefBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` that only the chief of a cluster writes.

    Keras 3's callback knows nothing of workers: under
    `MultiWorkerMirroredStrategy` every worker would write the same
    `latest.weights.h5` (not atomically) and each would delete the
    folder at the end. Here every worker restores the backup when `fit`
    begins (the chief's, on a shared file system), and only the chief
    writes it each epoch and removes it at the end.

    Args:
        backup_dir: path of the backup folder.
        strategy: the `tf.distribute.Strategy` the model trains under.

    Example:
    ```python
    backup = ChiefBackupAndRestore("runs/demo/backup", strategy)
    model.fit(dataset, epochs=4, callbacks=[backup])
    ```
    """

    def __init__(self, backup_dir, strategy):
        super().__init__(str(backup_dir))
        self.writes = is_chief(strategy)

    def _save_model(self):
        if self.writes:
            super()._save_model()

    def on_train_end(self, logs=None):
        if self.writes:
            super().on_train_end(logs)
