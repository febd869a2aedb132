"""TensorFlow started without its start-up noise on the terminal.

Importing TensorFlow 2.21 writes about eight lines to stderr before its
logging is set up ("WARNING: All log messages before
absl::InitializeLog() ...", oneDNN, `cudart_stub`, `cpu_feature_guard`),
KerasHub's import adds an absl warning about the JAX profiler, and the
first device query a cuInit error on machines without a GPU. Measured:
`TF_CPP_MIN_LOG_LEVEL` 2 or 3 leaves the first lines (they are printed
before absl reads it), and so do `GLOG_minloglevel`,
`ABSL_MIN_LOG_LEVEL` and `GLOG_stderrthreshold`; `TF_ENABLE_ONEDNN_OPTS`
would change numerics.

So `quiet_tensorflow_startup` sends file descriptor 2 through a filter
while TensorFlow starts: lines matching `NOISE` are dropped, every other
line passes, in order. The filter is a separate small process, so even a
crash inside an import (an abort in a shared library) leaves its message
on the terminal. A user who sets `TF_CPP_MIN_LOG_LEVEL` chose what to see:
then nothing is filtered.
"""

import contextlib
import os
import re
import subprocess
import sys

LOG_LEVEL_ENV = "TF_CPP_MIN_LOG_LEVEL"
# absl's C++ log prefix: severity, date, time, thread id.
_ABSL = rb"[IWE]\d{4} [\d:.]+ +\d+ "
# Known start-up lines, matched from the start of a line. Anything else
# (a real error, a Python warning) is passed through.
NOISE = (
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called "
    rb"are written to STDERR$",
    _ABSL + rb"port\.cc:\d+\] oneDNN custom operations are on\.",
    _ABSL + rb"cudart_stub\.cc:\d+\] Could not find cuda drivers on your "
    rb"machine, GPU will not be used\.$",
    _ABSL + rb"cpu_feature_guard\.cc:\d+\] This TensorFlow binary is "
    rb"optimized to use available CPU instructions",
    rb"To enable the following instructions: [A-Z0-9_ ]+, in other "
    rb"operations, rebuild TensorFlow with the appropriate compiler flags\.$",
    _ABSL + rb"cuda_platform\.cc:\d+\] failed call to cuInit: ",
    rb"WARNING:absl:Failed to load jax profiler: ",
)
# Runs in the filter process: stdin is the pipe, stdout the real stderr.
_FILTER = """
import re, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
noise = re.compile({pattern!r})
for line in sys.stdin.buffer:
    if not noise.match(line.rstrip(b"\\r\\n")):
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()
"""


def is_noise(line):
    """Whether one line of stderr (bytes or str) is known start-up noise.

    Example:
    ```python
    is_noise("WARNING:absl:Failed to load jax profiler: No module ...")
    ```
    """
    if isinstance(line, str):
        line = line.encode("utf-8", "replace")
    return bool(_noise_pattern().match(line.rstrip(b"\r\n")))


def _noise_pattern():
    return re.compile(b"|".join(b"(?:" + p + b")" for p in NOISE))


@contextlib.contextmanager
def filtered_stderr():
    """Send file descriptor 2 through the noise filter inside the block.

    Falls back to the plain stderr when no filter process can start.

    Example:
    ```python
    with filtered_stderr():
        import tensorflow
    ```
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    code = _FILTER.format(pattern=_noise_pattern().pattern)
    try:
        process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", code],
            stdin=subprocess.PIPE,
            stdout=saved,
            stderr=saved,
        )
    except OSError:
        os.close(saved)
        yield
        return
    os.dup2(process.stdin.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        process.stdin.close()
        try:
            # The filter ends at end of input; a child process started
            # inside the block may still hold the pipe: then stop waiting.
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


@contextlib.contextmanager
def quiet_tensorflow_startup():
    """Start TensorFlow inside the block without its start-up noise.

    Unless the user set `TF_CPP_MIN_LOG_LEVEL` (then nothing changes), it
    is set to 2 for the rest of the process (TensorFlow's C++ info and
    warning lines stay off; errors show) and stderr is filtered while the
    block runs.

    Example:
    ```python
    with quiet_tensorflow_startup():
        import keras_mobilebert
    ```
    """
    if LOG_LEVEL_ENV in os.environ:
        yield
        return
    os.environ[LOG_LEVEL_ENV] = "2"
    with filtered_stderr():
        yield


def start_library():
    """Import TensorFlow and `keras_mobilebert` quietly (see module doc).

    The device query runs here too: on a machine without a GPU it is what
    prints the cuInit error, and it leaves logical devices configurable.

    Example:
    ```python
    start_library()
    import keras_mobilebert  # already imported, no noise
    ```
    """
    with quiet_tensorflow_startup():
        import tensorflow as tf

        tf.config.list_physical_devices()
        import keras_mobilebert  # noqa: F401
