"""Read the GLUE benchmark's tasks from their official TSV files.

`load_glue(task, split, source)` reads one split of one task from a local
file, a task folder, a GLUE task `.zip` (as GLUE distributes them), or an
`http(s)://` / `file://` URL of one of those (downloaded once into the
package cache). `load_glue_tfds` reads tensorflow-datasets' `glue/<task>`
instead, for users who have that package. Both return a `GlueSplit`: the
one or two text segments, the labels (class ids, STS-B's float scores, or
None for the unlabelled test files) and the task's label names.

Reading is strict: a wrong header, a row with the wrong number of fields,
a label outside the task's set or an empty sentence is a `GlueFormatError`
naming the file, the line and the field, and nothing is returned.
"""

import dataclasses
import io
import math
import pathlib
import zipfile

import numpy as np

from keras_mobilebert.data.downloads import cached_download
from keras_mobilebert.data.downloads import is_url
from keras_mobilebert.data.glue_tasks import glue_task
from keras_mobilebert.utils.errors import ConfigError
from keras_mobilebert.utils.errors import MissingInputError
from keras_mobilebert.utils.errors import UserInputError

# Column names for messages about CoLA's header-less train and dev files.
_COLA_COLUMNS = ("source", "label", "original_label", "sentence")
STSB_RANGE = (0.0, 5.0)


class GlueFormatError(UserInputError):
    """A GLUE file that does not have its task's format."""


@dataclasses.dataclass(frozen=True)
class GlueSplit:
    """One split of a GLUE task, read and checked.

    Args:
        task: string. The task name (`"sst2"`).
        split: string. `"train"`, `"validation"`, `"test"`, or MNLI's
            `"validation_matched"` etc.
        segments: tuple of one or two lists of strings (sentence, or
            sentence pair).
        labels: numpy array: int32 class ids, float32 scores for STS-B, or
            None for unlabelled (test) splits.
        label_names: tuple of strings (class id order), or None for STS-B.
        ids: list of strings: the file's index column, else line numbers.
        source: string. Where it was read from.
    """

    task: str
    split: str
    segments: tuple
    labels: object
    label_names: tuple
    ids: list
    source: str

    def __len__(self):
        return len(self.segments[0])

    @property
    def features(self):
        """The inputs of a KerasHub classifier or preprocessor.

        A list of strings for one segment; a tuple of two lists for
        sentence pairs, which a preprocessor takes as
        `preprocessor(x=split.features)` and packs as `[CLS] a [SEP] b
        [SEP]`.
        """
        if len(self.segments) == 1:
            return self.segments[0]
        return tuple(self.segments)

    def select(self, indices):
        """A new `GlueSplit` with the examples at `indices`, in that order.

        Example:
        ```python
        first_hundred = split.select(range(100))
        ```
        """
        indices = [int(i) for i in indices]
        return dataclasses.replace(
            self,
            segments=tuple([s[i] for i in indices] for s in self.segments),
            labels=None if self.labels is None else self.labels[indices],
            ids=[self.ids[i] for i in indices],
        )


def _column_names(spec):
    return spec.header or _COLA_COLUMNS


def _parse_label(raw, task, where):
    if task.is_regression:
        try:
            score = float(raw)
        except ValueError:
            score = math.nan
        low, high = STSB_RANGE
        if not low <= score <= high:
            raise GlueFormatError(
                f"{where}: score {raw!r} is not a number in "
                f"[{low:g}, {high:g}]."
            )
        return score
    if raw not in task.label_values:
        raise GlueFormatError(
            f"{where}: label {raw!r} is not one of {list(task.label_values)} "
            f"({task.name} labels)."
        )
    return task.label_values.index(raw)


def read_glue_lines(lines, task, split, source="<lines>"):
    """Parse the lines of one GLUE TSV file into a `GlueSplit`.

    Args:
        lines: iterable of strings, the file's lines (line ends are
            stripped here).
        task: string or `GlueTask`.
        split: string. A split of the task (`task.splits`).
        source: string. Named in errors and kept in the result.

    Example:
    ```python
    split = read_glue_lines(
        ["sentence\\tlabel", "a fine film\\t1"], "sst2", "train"
    )
    ```
    """
    task = glue_task(task) if isinstance(task, str) else task
    if split not in task.files:
        raise ConfigError(
            f"{task.name} has no split {split!r}; it has {list(task.files)}."
        )
    spec = task.files[split]
    names = _column_names(spec)
    labelled = spec.label_column is not None
    segments = tuple([] for _ in spec.text_columns)
    labels, ids = [], []
    for line_number, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if line_number == 1 and line.startswith("\ufeff"):
            line = line[1:]
        fields = line.split("\t")
        if line_number == 1 and spec.header is not None:
            if tuple(fields) != spec.header:
                raise GlueFormatError(
                    f"{source}, line 1: expected the {task.name} {split} "
                    f"header {list(spec.header)}, found {fields}."
                )
            continue
        if len(fields) != spec.num_columns:
            raise GlueFormatError(
                f"{source}, line {line_number}: expected {spec.num_columns} "
                f"tab-separated fields {list(names)}, found {len(fields)}."
            )
        for segment, column in zip(segments, spec.text_columns):
            text = fields[column]
            if not text.strip():
                raise GlueFormatError(
                    f"{source}, line {line_number}, field "
                    f"{names[column]!r}: the sentence is empty."
                )
            segment.append(text)
        if labelled:
            where = (
                f"{source}, line {line_number}, field "
                f"{names[spec.label_column]!r}"
            )
            labels.append(_parse_label(fields[spec.label_column], task, where))
        ids.append(
            str(line_number)
            if spec.id_column is None
            else fields[spec.id_column]
        )
    if not ids:
        raise GlueFormatError(
            f"{source}: no examples (expected the {task.name} {split} file "
            f"{spec.name})."
        )
    return make_split(
        task, split, segments, labels if labelled else None, ids, source
    )


def make_split(task, split, segments, labels, ids, source):
    """A `GlueSplit` of checked values; labels cast to the task's dtype
    (float32 scores for STS-B, int32 class ids otherwise)."""
    if labels is not None:
        dtype = "float32" if task.is_regression else "int32"
        labels = np.asarray(labels, dtype=dtype)
    return GlueSplit(
        task=task.name,
        split=split,
        segments=segments,
        labels=labels,
        label_names=task.label_names,
        ids=ids,
        source=str(source),
    )


def _open_text(binary):
    # Only "\n" ends a row: a stray "\r" inside a field must not split it.
    return io.TextIOWrapper(binary, encoding="utf-8", newline="\n")


def _read_zip(path, task, split):
    member_name = task.files[split].name
    with zipfile.ZipFile(path) as archive:
        members = [
            m
            for m in archive.namelist()
            if m == member_name or m.endswith(f"{task.folder}/{member_name}")
        ]
        if len(members) != 1:
            raise MissingInputError(
                f"{path} holds no single {task.folder}/{member_name} (found "
                f"{members or 'none'}); is it GLUE's {task.folder}.zip?"
            )
        source = f"{path}:{members[0]}"
        try:
            with _open_text(archive.open(members[0])) as f:
                return read_glue_lines(f, task, split, source)
        except UnicodeDecodeError as e:
            raise GlueFormatError(f"{source}: not UTF-8 ({e}).") from None


def _read_file(path, task, split):
    try:
        with _open_text(open(path, "rb")) as f:
            return read_glue_lines(f, task, split, str(path))
    except UnicodeDecodeError as e:
        raise GlueFormatError(f"{path}: not UTF-8 ({e}).") from None


def load_glue(task, split, source):
    """Read one split of a GLUE task from GLUE's own files.

    Args:
        task: string. `"cola"`, `"sst2"`, `"mrpc"`, `"qqp"`, `"stsb"`,
            `"mnli"`, `"qnli"`, `"rte"` or `"wnli"` (GLUE's folder names
            such as `"SST-2"` work too).
        split: string. `"train"`, `"validation"` (GLUE's `dev.tsv`) or
            `"test"`; MNLI has `"validation_matched"`,
            `"validation_mismatched"`, `"test_matched"`, `"test_mismatched"`.
        source: the split's `.tsv` file, a folder holding it (the task
            folder or GLUE's data folder above it), GLUE's task `.zip`, or
            an `http(s)://` / `file://` URL of a `.tsv` or `.zip` (fetched
            once into the package cache).

    Returns:
        A `GlueSplit`.

    Example:
    ```python
    from keras_mobilebert.data.glue import load_glue

    dev = load_glue("sst2", "validation", "glue_data/SST-2")
    classifier.evaluate(x=dev.features, y=dev.labels)
    ```
    """
    task = glue_task(task)
    if split not in task.files:
        raise ConfigError(
            f"{task.name} has no split {split!r}; it has {list(task.files)}."
        )
    if is_url(source):
        source = cached_download(str(source), subdir="glue")
    path = pathlib.Path(source)
    if path.is_dir():
        file_name = task.files[split].name
        for candidate in (path / file_name, path / task.folder / file_name):
            if candidate.is_file():
                return _read_file(candidate, task, split)
        raise MissingInputError(
            f"Neither {path / file_name} nor {path / task.folder / file_name} "
            f"exists: where is {task.name}'s {split} file {file_name}?"
        )
    if not path.is_file():
        raise MissingInputError(f"{path} does not exist.")
    if zipfile.is_zipfile(path):
        return _read_zip(path, task, split)
    return _read_file(path, task, split)
