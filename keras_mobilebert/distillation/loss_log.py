"""The loss log of a distillation run: `losses.csv`, one row per chunk.

Every row holds the position (global step, stage, stage step) and the
mean of every loss over the chunk that ended there. The whole file is
rewritten atomically after each chunk, so a killed run never leaves half a
row, and a resumed run drops the rows past its checkpoint.
"""

import csv
import io
import pathlib

from keras_mobilebert.utils.files import atomic_path

POSITION_COLUMNS = ("global_step", "stage", "stage_name", "stage_step")


def loss_columns(stages):
    """The CSV columns of a schedule: position, then every loss it logs.

    Args:
        stages: list of `strategies.Stage`.

    Example:
    ```python
    loss_columns(build_stages("progressive", 2, 10, 10))
    ```
    """
    names = ["loss"]
    layers = sorted({k for s in stages for k in s.transfer_layers})
    if layers:
        names.append("layerwise_loss")
    for k in layers:
        names += [f"fm_l{k}", f"mean_l{k}", f"var_l{k}", f"att_l{k}"]
    if any(s.pretraining for s in stages):
        names += ["mlm_loss", "nsp_loss"]
    return list(POSITION_COLUMNS) + names


def read_loss_rows(path, up_to_step):
    """The rows of `path` up to global step `up_to_step` ([] if absent).

    Example:
    ```python
    rows = read_loss_rows("runs/pkt/losses.csv", up_to_step=600)
    ```
    """
    path = pathlib.Path(path)
    if not path.exists():
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [r for r in rows if int(r["global_step"]) <= up_to_step]


def write_loss_rows(path, columns, rows):
    """Write `rows` (dicts; missing columns empty) to `path` atomically.

    Example:
    ```python
    write_loss_rows(path, columns, [{"global_step": 2, "loss": 1.5}])
    ```
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    with atomic_path(path) as tmp:
        tmp.write_text(buffer.getvalue())
