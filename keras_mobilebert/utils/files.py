"""Atomic file writes and the package cache directory."""

import contextlib
import os
import pathlib
import shutil
import tempfile


def cache_dir(*parts):
    """The keras_mobilebert cache directory, created on demand.

    `$KERAS_MOBILEBERT_HOME` if set, else `~/.cache/keras_mobilebert`.

    Args:
        *parts: path components below the cache root.

    Example:
    ```python
    cache_dir("data")  # PosixPath('/home/me/.cache/keras_mobilebert/data')
    ```
    """
    root = os.environ.get("KERAS_MOBILEBERT_HOME")
    if not root:
        root = pathlib.Path.home() / ".cache" / "keras_mobilebert"
    path = pathlib.Path(root, *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to `path`; move it into place on success.

    Whatever is written to the yielded path (a file or a directory) replaces
    `path` only if the block finishes without an exception, so a crash or a
    failed check never leaves a half-written result behind.

    Args:
        path: the final file or directory path.

    Example:
    ```python
    with atomic_path("out/model.txt") as tmp:
        tmp.write_text("done")
    ```
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = pathlib.Path(
        tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent)
    )
    tmp = tmp_dir / path.name
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"Nothing was written to {tmp}.")
        if path.is_dir() and tmp.is_dir():
            # os.replace cannot replace a non-empty directory: move the old
            # one aside first, and delete it only once the new one is in.
            old = tmp_dir / (path.name + ".old")
            os.replace(path, old)
            os.replace(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
