"""Labelled text of a user's own: CSV, TSV and JSON Lines files.

The files a TFLite Model Maker or MediaPipe Model Maker user brings: one
row per example, a text column (and, for sentence-pair tasks, a second
one) and a label column of class names. `read_labeled_text` reads one
into a `GlueSplit` whose task is a `file_task`: the GLUE job and task
distillation then train, score and export it as they do a GLUE task.

Class names are strings (a JSON number is read as its text) ordered as
MediaPipe Model Maker orders them (`Dataset.from_csv`:
`sorted(set(labels))`), so class ids are the sorted names' positions. A
model stores those names (its preset's `labels.json`, its `.tflite`
metadata); an evaluation file is read with them (`label_names=`), and a
label the model never saw is an error, so ids never silently change.

Parsing is Python's `csv` module (RFC 4180: quoted fields may hold the
delimiter, doubled quotes and newlines) and `json`. UTF-8 with or without
a byte-order mark. Every error is a `LabeledTextFormatError` naming the
file, the line and the problem, and nothing is returned.
"""

import csv
import dataclasses
import json
import pathlib

import numpy as np

from keras_mobilebert.data.glue import GlueSplit
from keras_mobilebert.data.glue_tasks import GlueTask
from keras_mobilebert.utils.errors import UserInputError

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}
FILE_TASK_NAME = "text_file"
# Headline first: what a user compares first, then the class-balanced one.
FILE_TASK_METRICS = ("accuracy", "macro_f1")


class LabeledTextFormatError(UserInputError):
    """A labelled text file that cannot be read as the columns say."""


def file_task(label_names, num_segments=1):
    """The `GlueTask` of a user's labelled file: its classes, no files.

    Args:
        label_names: sequence of strings, in class-id order.
        num_segments: int. 1, or 2 for sentence pairs.

    Example:
    ```python
    task = file_task(["billing", "login"])
    task.label_names  # ('billing', 'login')
    ```
    """
    names = tuple(str(n) for n in label_names)
    return GlueTask(
        name=FILE_TASK_NAME,
        folder=None,
        files={},
        label_names=names,
        label_values=names,
        metrics=FILE_TASK_METRICS,
        segment_names=("text", "second_text")[:num_segments],
    )


def is_file_task(task):
    """True for the task of a labelled file (`file_task`)."""
    return getattr(task, "name", task) == FILE_TASK_NAME


def file_format(path, format=None):
    """`"csv"`, `"tsv"` or `"jsonl"`: `format`, else by the extension.

    Example:
    ```python
    file_format("tickets.csv")  # 'csv'
    ```
    """
    if format is not None:
        if format not in set(FORMATS.values()):
            raise LabeledTextFormatError(
                f"Unknown format {format!r}; known: csv, tsv, jsonl."
            )
        return format
    suffix = pathlib.Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise LabeledTextFormatError(
            f"{path}: cannot tell the format from the extension "
            f"{suffix or '(none)'}; name it (csv, tsv or jsonl) or use "
            f"{', '.join(FORMATS)}."
        )
    return FORMATS[suffix]


def _delimited_rows(f, path, delimiter):
    """`(1, header)`, then `(line, {column: value})` of a CSV/TSV file."""
    reader = csv.reader(f, delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise LabeledTextFormatError(f"{path}: the file is empty.") from None
    except csv.Error as e:
        raise LabeledTextFormatError(f"{path}, line 1: {e}.") from None
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    yield 1, header
    start = reader.line_num + 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise LabeledTextFormatError(
                f"{path}, line {start}: {e} (a quoted field not closed?)."
            ) from None
        if fields:  # csv gives [] for a blank line
            if len(fields) != len(header):
                raise LabeledTextFormatError(
                    f"{path}, line {start}: {len(fields)} fields for the "
                    f"{len(header)} columns of the header {header}."
                )
            yield start, dict(zip(header, fields))
        start = reader.line_num + 1


def _json_rows(f, path):
    """`(None, the first object's keys)`, then `(line, object)` of a JSON
    Lines file."""
    header = None
    for line_number, line in enumerate(f, start=1):
        if line_number == 1 and line.startswith("\ufeff"):
            line = line[1:]
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise LabeledTextFormatError(
                f"{path}, line {line_number}: not JSON ({e.msg})."
            ) from None
        if not isinstance(row, dict):
            raise LabeledTextFormatError(
                f"{path}, line {line_number}: expected a JSON object, found "
                f"{type(row).__name__}."
            )
        if header is None:
            header = list(row)
            yield None, header
        yield line_number, row


def _rows(path, format):
    with open(path, encoding="utf-8-sig", newline="") as f:
        try:
            if format == "jsonl":
                yield from _json_rows(f, path)
            else:
                delimiter = "," if format == "csv" else "\t"
                yield from _delimited_rows(f, path, delimiter)
        except UnicodeDecodeError as e:
            raise LabeledTextFormatError(f"{path}: not UTF-8 ({e}).") from None


def _value(row, column, path, line, kind):
    if column not in row:
        raise LabeledTextFormatError(
            f"{path}, line {line}: no {kind} column {column!r}; the columns "
            f"are {list(row)}."
        )
    value = row[column]
    if value is None or isinstance(value, (dict, list)):
        raise LabeledTextFormatError(
            f"{path}, line {line}, column {column!r}: expected a string, "
            f"found {json.dumps(value)}."
        )
    if isinstance(value, bool):
        value = json.dumps(value)
    return str(value)


def _check_columns(header, columns, path):
    missing = [c for c in columns if c not in header]
    if missing:
        raise LabeledTextFormatError(
            f"{path}: no column {missing[0]!r}; the columns are {header}."
        )


def _read_columns(path, format, text_column, second_text_column, label):
    """`(segments, labels, line numbers)`; labels None without `label`."""
    format = file_format(path, format)
    if not path.is_file():
        raise LabeledTextFormatError(f"{path}: no such file.")
    text_columns = [text_column] + (
        [second_text_column] if second_text_column else []
    )
    segments = tuple([] for _ in text_columns)
    labels, ids = [], []
    rows = _rows(path, format)
    # The first item is the header (CSV's first row, JSON's first keys).
    for _, header in rows:
        _check_columns(header, text_columns + [label] * bool(label), path)
        break
    for line, row in rows:
        for segment, column in zip(segments, text_columns):
            text = _value(row, column, path, line, "text")
            if not text.strip():
                raise LabeledTextFormatError(
                    f"{path}, line {line}, column {column!r}: the text is "
                    "empty."
                )
            segment.append(text)
        if label:
            labels.append(_label(row, label, path, line))
        ids.append(str(line))
    if not ids:
        raise LabeledTextFormatError(f"{path}: no examples.")
    return segments, labels, ids


def _label(row, column, path, line):
    label = _value(row, column, path, line, "label").strip()
    if not label or "\n" in label or "\r" in label:
        raise LabeledTextFormatError(
            f"{path}, line {line}, column {column!r}: a label is one "
            f"non-empty line; found {label!r}."
        )
    return label


def read_texts(path, text_column="text", second_text_column=None, format=None):
    """The texts of a CSV, TSV or JSON Lines file (no labels needed).

    Returns:
        `(features, line numbers)`: a list of strings, or a tuple of two
        lists for pairs, as `GlueSplit.features`.

    Example:
    ```python
    texts, lines = read_texts("inbox.csv", "message")
    ```
    """
    segments, _, ids = _read_columns(
        pathlib.Path(path), format, text_column, second_text_column, None
    )
    return (segments[0] if len(segments) == 1 else segments), ids


def read_labeled_text(
    path,
    text_column="text",
    label_column="label",
    second_text_column=None,
    format=None,
    label_names=None,
    split="train",
):
    """Read a labelled CSV, TSV or JSON Lines file into a `GlueSplit`.

    Args:
        path: the file. CSV and TSV have a header row naming the columns;
            JSON Lines has one object per line.
        text_column: string. The column of the text.
        label_column: string. The column of the class name.
        second_text_column: string or None. The second text of a sentence
            pair (`[CLS] text [SEP] second [SEP]`).
        format: `"csv"`, `"tsv"`, `"jsonl"` or None (by the extension:
            `.csv`, `.tsv`, `.jsonl` / `.json`).
        label_names: sequence of strings or None. The classes of a model
            (an evaluation file): a label outside them is an error. None
            takes the file's labels, sorted (Model Maker's order), and
            needs at least two.
        split: string. The split name kept in the result.

    Returns:
        A `GlueSplit` of `file_task(label_names)`, int32 class ids and the
        file's line numbers as ids.

    Example:
    ```python
    from keras_mobilebert.data import read_labeled_text

    train = read_labeled_text("tickets.csv", "message", "team")
    train.label_names  # ('billing', 'login', 'shipping')
    ```
    """
    path = pathlib.Path(path)
    segments, raw_labels, ids = _read_columns(
        path, format, text_column, second_text_column, label_column
    )
    for line, label in zip(ids, raw_labels):
        if label_names is not None and label not in label_names:
            raise LabeledTextFormatError(
                f"{path}, line {line}, column {label_column!r}: label "
                f"{label!r} is not one the model was trained on "
                f"({list(label_names)})."
            )
    if label_names is None:
        label_names = sorted(set(raw_labels))
        if len(label_names) < 2:
            raise LabeledTextFormatError(
                f"{path}, column {label_column!r}: every example has the "
                f"label {label_names[0]!r}; a classifier needs two classes "
                "or more."
            )
    index = {name: i for i, name in enumerate(label_names)}
    return GlueSplit(
        task=file_task(label_names, len(segments)),
        split=split,
        segments=segments,
        labels=np.asarray([index[n] for n in raw_labels], dtype="int32"),
        label_names=tuple(label_names),
        ids=ids,
        source=str(path),
    )


def class_counts(split):
    """`{class name: examples}` of a labelled split, in class-id order.

    Example:
    ```python
    class_counts(train)  # {'billing': 120, 'login': 80}
    ```
    """
    counts = np.bincount(split.labels, minlength=len(split.label_names))
    return {n: int(c) for n, c in zip(split.label_names, counts)}


def stratified_split(split, fraction, seed=0):
    """`(rest, held_out)`: `fraction` of each class held out, seeded.

    Each class gives `round(fraction * count)` examples (at least one for
    a class of two or more), drawn with `seed`; both parts keep file
    order.

    Args:
        split: a labelled `GlueSplit`.
        fraction: float in (0, 1).
        seed: int.

    Example:
    ```python
    train, validation = stratified_split(read_labeled_text("all.csv"), 0.2)
    ```
    """
    if not 0.0 < fraction < 1.0:
        raise LabeledTextFormatError(
            f"validation fraction must be in (0, 1); received {fraction}."
        )
    rng = np.random.default_rng(seed)
    held = []
    for label in range(len(split.label_names)):
        rows = np.flatnonzero(split.labels == label)
        count = int(round(fraction * len(rows)))
        if len(rows) >= 2:
            count = min(max(count, 1), len(rows) - 1)
        held.extend(rng.choice(rows, count, replace=False).tolist())
    held = np.sort(np.asarray(held, dtype="int64"))
    if not len(held):
        # Every class has one example: nothing can be held out, and an
        # empty validation split would fail deep inside tf.data.
        raise LabeledTextFormatError(
            f"{split.source}: {len(split)} examples leave no validation "
            f"examples at fraction {fraction}: every class has a single "
            "example. Give more examples or a --validation file."
        )
    rest = np.setdiff1d(np.arange(len(split)), held)
    train = split.select(rest)
    evaluation = dataclasses.replace(split.select(held), split="validation")
    return train, evaluation
