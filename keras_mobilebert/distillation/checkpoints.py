"""The checkpoint format of a distillation run: `.npz` files, no pickle.

A checkpoint holds numbered arrays under a prefix per variable list
(`student/00000`, `projection/00000`, `optimizer/00000`, in the order of
the list) and a JSON `__meta__` entry (stage, step, what was copied from
the teacher). A run keeps its latest state in `checkpoints/progress.npz`
and the student after each stage in `checkpoints/stage_XX_<name>.npz`.
"""

import json
import pathlib
import shutil

import keras
import numpy as np

from keras_mobilebert.distillation.teachers import MobileBertTaps
from keras_mobilebert.utils.files import atomic_path

PROGRESS = "progress.npz"
CHECKPOINTS = "checkpoints"


def stage_checkpoint_name(index, stage_name):
    """File name of the student kept after stage `index` (0-based).

    Example:
    ```python
    stage_checkpoint_name(0, "layer_1")  # 'stage_00_layer_1.npz'
    ```
    """
    return f"stage_{index:02d}_{stage_name}.npz"


def stage_checkpoints(output_dir):
    """The per-stage students a run kept, as `{stage name: path}` in order.

    Args:
        output_dir: path. The run's `output_dir`.

    Example:
    ```python
    stages = stage_checkpoints("runs/joint")
    list(stages)  # ['joint_layerwise', 'pretraining_distillation']
    ```
    """
    found = []
    for path in (pathlib.Path(output_dir) / CHECKPOINTS).glob("stage_*.npz"):
        index, name = path.stem[len("stage_") :].split("_", 1)
        found.append((int(index), name, path))
    return {name: path for _, name, path in sorted(found)}


def save_npz(path, arrays, meta):
    """Write `arrays` and a JSON `meta` dict to `path` atomically.

    Example:
    ```python
    save_npz("ckpt.npz", {"student/00000": np.zeros(3)}, {"stage": 0})
    ```
    """
    payload = dict(arrays)
    payload["__meta__"] = np.array(json.dumps(meta))
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **payload)


def load_npz(path):
    """Read what `save_npz` wrote (no pickle): `(arrays, meta)`.

    Example:
    ```python
    arrays, meta = load_npz("runs/pkt/checkpoints/progress.npz")
    ```
    """
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if k != "__meta__"}
        meta = json.loads(str(data["__meta__"]))
    return arrays, meta


def collect(prefix, variables):
    """`{"<prefix>/<index>": array}` of a list of variables, in order.

    Example:
    ```python
    arrays = collect("student", student.variables)
    ```
    """
    return {
        f"{prefix}/{i:05d}": keras.ops.convert_to_numpy(v.value)
        for i, v in enumerate(variables)
    }


def assign_all(prefix, variables, arrays):
    """Assign what `collect(prefix, ...)` gathered back to `variables`.

    Raises a `ValueError` naming the entry and the variable when an entry
    is missing or its shape differs.

    Example:
    ```python
    assign_all("student", student.variables, arrays)
    ```
    """
    for i, variable in enumerate(variables):
        key = f"{prefix}/{i:05d}"
        if key not in arrays:
            raise ValueError(f"Checkpoint lacks {key} ({variable.path}).")
        value = arrays[key]
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(
                f"Checkpoint {key} has shape {value.shape}, variable "
                f"{variable.path} has {tuple(variable.shape)}."
            )
        variable.assign(value)


def load_student_checkpoint(path, student):
    """Load the student weights of a run's checkpoint into `student`.

    A run keeps the student after every stage as
    `checkpoints/stage_XX_<name>.npz` (and its latest state as
    `checkpoints/progress.npz`); this restores one of them, e.g. to
    fine-tune the student as it was before the pre-training distillation
    stage. Projections and optimizer state in the file are ignored.

    Args:
        path: path of the `.npz` checkpoint.
        student: a `keras_mobilebert.MobileBertPreTrainingModel` of the
            configuration the run distilled.

    Returns:
        The checkpoint's metadata dict (`stage`, `stage_step`,
        `global_step`, ...).

    Example:
    ```python
    student = keras_mobilebert.MobileBertPreTrainingModel(backbone)
    load_student_checkpoint(
        "runs/joint/checkpoints/stage_00_joint_layerwise.npz", student
    )
    ```
    """
    arrays, meta = load_npz(path)
    assign_all("student", MobileBertTaps(student).root.variables, arrays)
    return meta


def clear_stale_temporaries(*folders):
    """Delete the temporary directories a killed writer left in `folders`.

    `atomic_path` writes beside its target under a hidden name and moves
    the result into place; a process killed while writing leaves that
    temporary directory behind (never a half-written target).

    Example:
    ```python
    clear_stale_temporaries(run_dir, run_dir / "checkpoints")
    ```
    """
    for folder in map(pathlib.Path, folders):
        if folder.is_dir():
            for stale in folder.glob(".*"):
                if stale.is_dir():
                    shutil.rmtree(stale, ignore_errors=True)
