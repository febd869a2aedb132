"""Start a `TF_CONFIG` cluster of real processes on loopback, and reap it.

The multi-worker tests (`tests/distillation/test_multi_worker.py`,
`tests/finetune/test_multi_worker.py`) run the CLI in N processes, one per
task. Every process gets its own session, so `reap` kills it and anything
it started; every wait is bounded.
"""

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]


def free_ports(count):
    """`count` loopback ports free now (bound to port 0, then released)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def worker_env(ports, index, extra=None):
    """The environment of task `index` of a cluster on `ports`."""
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        TF_CPP_MIN_LOG_LEVEL="2",
        CUDA_VISIBLE_DEVICES="",
        # Two processes share a small machine: one thread each.
        TF_NUM_INTRAOP_THREADS="1",
        TF_NUM_INTEROP_THREADS="1",
    )
    env.pop("KERAS_MOBILEBERT_DISTILL_KILL_AFTER_STEP", None)
    if ports is not None:
        env["TF_CONFIG"] = json.dumps(
            {
                "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                "task": {"type": "worker", "index": index},
            }
        )
    else:
        env.pop("TF_CONFIG", None)
    env.update(extra or {})
    return env


def start(argv, env, log_path):
    """Start the CLI with `argv` in a session of its own."""
    log = open(log_path, "w")
    return subprocess.Popen(
        [sys.executable, "-m", "keras_mobilebert_cli", *argv],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def reap(processes):
    """Kill every process group still running (never raises)."""
    for process in processes:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait()


def wait_all(processes, timeout):
    """Wait for every process up to `timeout` s in all; their exit codes.

    A process still running at the deadline is killed and reported as
    None.
    """
    deadline = time.monotonic() + timeout
    codes = []
    for process in processes:
        try:
            codes.append(process.wait(max(0.1, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            codes.append(None)
    reap(processes)
    return codes


def run_cluster(argv, workers, tmp_path, name, timeout=600, extra_env=None):
    """Run `argv` as a cluster of `workers` tasks (0: one plain process).

    Args:
        argv: the CLI arguments, the same for every task.
        workers: int. Tasks of the cluster; 0 runs one process without
            `TF_CONFIG`.
        tmp_path: folder for the logs.
        name: prefix of the log files.
        timeout: seconds for the whole cluster.
        extra_env: dict `{task index: {variable: value}}`.

    Returns:
        `(exit codes, logs)`, one of each per task.
    """
    ports = free_ports(workers) if workers else None
    count = max(1, workers)
    paths = [tmp_path / f"{name}_{i}.log" for i in range(count)]
    processes = []
    try:
        for i in range(count):
            env = worker_env(ports, i, (extra_env or {}).get(i))
            processes.append(start(argv, env, paths[i]))
        codes = wait_all(processes, timeout)
    finally:
        reap(processes)
    return codes, [p.read_text() for p in paths]


def assert_weights_match(a, b, rate, steps, share):
    """Two runs' weights agree as one process and N workers should.

    Both runs take the same steps on the same global batches, but the
    workers' gradients are summed by an all-reduce in another order than
    one process sums its batch. Adam's first updates are about
    `lr * sign(gradient)`, so a gradient within rounding of zero can move
    its weight by up to about `2 * lr` a step the other way: every weight
    must be within `2 * rate * steps`, and 99% of them within
    `share * rate` (a batch split wrongly or skipped moves far more).

    Args:
        a: flat float array (or `{key: array}` dict) of one run's weights.
        b: the other run's, in the same order (or with the same keys).
        rate: float. The peak learning rate.
        steps: int. Training steps of both runs.
        share: float. How far, in learning rates, 99% of weights may be.

    Returns:
        `(largest difference, 99% quantile)`, in units of weights.
    """
    if isinstance(a, dict):
        diff = weight_differences(a, b)
    else:
        diff = np.abs(np.asarray(a) - np.asarray(b))
    q99 = float(np.quantile(diff, 0.99))
    message = (
        f"max {diff.max():.3g} ({diff.max() / rate:.3g} lr), 99% within "
        f"{q99:.3g} ({q99 / rate:.3g} lr)"
    )
    assert diff.max() <= 2 * rate * steps, message
    assert q99 <= share * rate, message
    return float(diff.max()), q99


def weight_differences(a, b):
    """Absolute differences of every entry of two `{key: array}` dicts."""
    assert a.keys() == b.keys()
    return np.concatenate([np.abs(a[k] - b[k]).ravel() for k in sorted(a)])


def written_files(folder):
    """Every file under `folder`, as sorted relative paths."""
    return sorted(
        str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()
    )
