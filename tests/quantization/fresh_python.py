"""Run a script in a fresh interpreter, as a user's process would start."""

import os
import subprocess
import sys


def run_python(script):
    """Run `script` with this interpreter and the checkout on the path.

    `TF_USE_LEGACY_KERAS` is removed from the environment, so the script
    sees what importing the package (or TF-MOT) does to it. Returns stdout.
    """
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-c", script],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
