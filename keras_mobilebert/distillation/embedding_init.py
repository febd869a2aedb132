"""Initialize a narrow student word table from a wider teacher's.

MobileBERT's recipe copies the word table from an IB-BERT teacher of the
same embedding width. A teacher of another shape (a KerasHub BERT such as
MiniLM-L6, 384 wide, against a student table 64 or 128 wide) cannot be
copied, and a randomly initialized table of 30522 rows learns slowly: most
rows get a gradient only when their token is in the batch. Distillation then
starts from a student that cannot tell words apart and can only lower the
feature-map loss with the teacher's token-independent component.

`init_student_embeddings_from_teacher` gives the student the best linear
summary of the teacher's table that fits its width: the coordinates of
every teacher word vector on the teacher table's first `embedding_dim`
principal axes (truncated SVD of the centered table). The geometry is the
teacher's (nearest neighbours, the main directions of variation); the
overall scale is, by default, the student's own initialization scale, so
the layers downstream see inputs of the size they were initialized for.
"""

import keras
import numpy as np

from keras_mobilebert.distillation.teachers import MobileBertTaps
from keras_mobilebert.distillation.teachers import as_teacher

METHODS = ("pca", "svd")
# What a run's `init_embeddings` accepts (None means "none"); the command
# line spells these out.
INIT_EMBEDDINGS_CHOICES = ("auto",) + METHODS + ("none",)


def principal_components(table, num_components, center=True):
    """Coordinates of the rows of `table` on its first principal axes.

    The sign of each axis is fixed so that its largest-magnitude entry is
    positive, which makes the result deterministic (an SVD's signs are
    not).

    Args:
        table: array `(rows, width)`.
        num_components: int, at most `width`.
        center: bool. Subtract the mean row first (PCA); without it, the
            plain truncated SVD (the first axis then mostly follows the
            mean row).

    Returns:
        `(coordinates, explained)`: the `(rows, num_components)` array of
        coordinates (float64) and the share of the table's total squared
        norm (after centering) that they keep.

    Example:
    ```python
    coordinates, explained = principal_components(table, 64)
    ```
    """
    table = np.asarray(table, "float64")
    if not 1 <= num_components <= table.shape[1]:
        raise ValueError(
            f"num_components must be in [1, {table.shape[1]}]; received "
            f"{num_components}."
        )
    if center:
        table = table - table.mean(axis=0, keepdims=True)
    # The axes are the eigenvectors of the (width, width) Gram matrix: one
    # BLAS product and a small eigendecomposition, several times faster
    # than a thin SVD of the (rows, width) table, in float64 throughout.
    eigenvalues, eigenvectors = np.linalg.eigh(table.T @ table)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues = np.maximum(eigenvalues[order], 0.0)
    axes = eigenvectors[:, order[:num_components]].T
    flip = np.sign(axes[np.arange(num_components), np.abs(axes).argmax(1)])
    axes = axes * flip[:, None]
    explained = float(eigenvalues[:num_components].sum() / eigenvalues.sum())
    return table @ axes.T, explained


def teacher_word_embeddings(teacher):
    """The teacher's word table as a numpy array `(vocabulary, width)`.

    Args:
        teacher: a `MobileBertBackbone`, `MobileBertPreTrainingModel`, a
            KerasHub `BertBackbone` or a `teachers.as_teacher` wrapper.

    Example:
    ```python
    table = teacher_word_embeddings(keras_hub.models.BertBackbone(...))
    ```
    """
    variable = as_teacher(teacher).backbone.token_embedding.embeddings
    return keras.ops.convert_to_numpy(variable.value)


def init_student_embeddings_from_teacher(
    student, teacher, method="pca", scale="student"
):
    """Set the student's word table from the teacher's, reduced in width.

    Row `i` of the student's `(vocabulary, embedding_dim)` table becomes
    the coordinates of the teacher's word vector `i` on the first
    `embedding_dim` principal axes of the teacher's table (`method="pca"`;
    `"svd"` skips the centering). MobileBERT's trigram input and its
    `embedding_transformation` dense layer then map these to the hidden
    width, as usual. Both models must share one vocabulary (same size and,
    for the result to mean anything, the same ids).

    Args:
        student: a `MobileBertBackbone` or `MobileBertPreTrainingModel`
            (the MLM head ties the same table, so it follows).
        teacher: a `MobileBertBackbone`, `MobileBertPreTrainingModel`, a
            KerasHub `BertBackbone` or a `teachers.as_teacher` wrapper.
        method: string. `"pca"` (default) or `"svd"`.
        scale: `"student"` (default): rescale so the table's root mean
            square equals that of the student's current (initialized)
            table, which keeps the activations downstream at the size the
            student's initialization chose; `"teacher"`: keep the
            coordinates in the teacher's units; or a float: the root mean
            square to give the table.

    Returns:
        A dict: `method`, `explained_variance` (share of the teacher
        table's variance the student's width keeps), `scale` (the factor
        applied to the coordinates) and `shape`.

    Example:
    ```python
    import keras_hub
    from keras_mobilebert.distillation.embedding_init import (
        init_student_embeddings_from_teacher,
    )

    teacher = keras_hub.models.BertBackbone.from_preset(snapshot_dir)
    info = init_student_embeddings_from_teacher(student, teacher)
    info["explained_variance"]  # 0.45 for MiniLM-L6 -> 64 dimensions
    ```
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}.")
    variable = MobileBertTaps(student).backbone.token_embedding.embeddings
    table = teacher_word_embeddings(teacher)
    rows, width = tuple(variable.shape)
    if table.shape[0] != rows:
        raise ValueError(
            f"Teacher and student vocabularies differ ({table.shape[0]} vs "
            f"{rows} rows); they must share one."
        )
    if width > table.shape[1]:
        raise ValueError(
            f"The student's table ({width} wide) is wider than the "
            f"teacher's ({table.shape[1]}): copy or pad it instead."
        )
    coordinates, explained = principal_components(
        table, width, center=method == "pca"
    )
    rms = np.sqrt(np.mean(coordinates**2))
    if scale == "student":
        current = keras.ops.convert_to_numpy(variable.value)
        factor = float(np.sqrt(np.mean(np.square(current))) / rms)
    elif scale == "teacher":
        factor = 1.0
    elif isinstance(scale, (int, float)) and not isinstance(scale, bool):
        factor = float(scale) / rms
    else:
        raise ValueError(
            f"scale must be 'student', 'teacher' or a float; got {scale!r}."
        )
    variable.assign((coordinates * factor).astype(variable.dtype))
    return {
        "method": method,
        "explained_variance": explained,
        "scale": factor,
        "shape": [rows, width],
    }


def init_uncopied_word_table(student, teacher, method="auto", copied=()):
    """Start the student's word table from the teacher's, unless copied.

    The `init_embeddings` step of a run: a table the run copied from the
    teacher (in `copied`) is kept; `"auto"` means `"pca"` when the teacher
    has a word table of the same vocabulary at least as wide, else
    nothing; `"none"` keeps the random initialization.

    Args:
        student: a `MobileBertPreTrainingModel` or `MobileBertBackbone`.
        teacher: a teacher model or `teachers.as_teacher` wrapper.
        method: string. One of `INIT_EMBEDDINGS_CHOICES`.
        copied: the student variables copied from the teacher.

    Returns:
        The `init_student_embeddings_from_teacher` info dict, or None when
        the table was left alone.

    Example:
    ```python
    info = init_uncopied_word_table(student, teacher, "auto")
    ```
    """
    if method not in INIT_EMBEDDINGS_CHOICES:
        raise ValueError(
            f"init_embeddings must be one of {INIT_EMBEDDINGS_CHOICES}; "
            f"got {method!r}."
        )
    if method == "none":
        return None
    table = MobileBertTaps(student).backbone.token_embedding.embeddings
    if any(v is table for v in copied):
        return None
    teacher_table = getattr(
        getattr(as_teacher(teacher).backbone, "token_embedding", None),
        "embeddings",
        None,
    )
    if method == "auto":
        fits = teacher_table is not None and (
            teacher_table.shape[0] == table.shape[0]
            and teacher_table.shape[1] >= table.shape[1]
        )
        if not fits:
            return None
        method = "pca"
    return init_student_embeddings_from_teacher(student, teacher, method)
