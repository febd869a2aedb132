"""The real benchmark data beside the checkout (`../shared/data`).

A user's clone does not have that folder, so the tests that read it skip
with a reason. `KERAS_MOBILEBERT_SHARED_DATA` points elsewhere.
"""

import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED_DATA = pathlib.Path(
    os.environ.get("KERAS_MOBILEBERT_SHARED_DATA")
    or ROOT.parent / "shared" / "data"
)


def shared_data_file(relative):
    """The path of `relative` under the shared data folder, or a skip.

    Args:
        relative: string. E.g. `"squad/dev-v1.1.json"`.

    Example:
    ```python
    path = shared_data_file("sst2/dev.tsv")
    ```
    """
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(
            f"{path} is absent: the real benchmark data lives beside the "
            "project's checkout (../shared/data), not in a clone; set "
            "KERAS_MOBILEBERT_SHARED_DATA to its folder"
        )
    return path
