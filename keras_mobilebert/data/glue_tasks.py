"""The GLUE tasks as data: files, columns, label sets, official metrics.

Each task's TSV files are described exactly as GLUE ships them (the
`download_glue_data.py` layout, which tensorflow-datasets' `glue` builder
reads too): the header row (or none, for CoLA's train and dev files), the
text columns, the label column and the label values. Label ids and names
follow tensorflow-datasets' `glue/<task>` (so both sources give the same
ids): e.g. MNLI is 0 entailment, 1 neutral, 2 contradiction.
"""

import dataclasses

from keras_mobilebert.utils.errors import ConfigError

_MNLI_PREFIX = (
    "index",
    "promptID",
    "pairID",
    "genre",
    "sentence1_binary_parse",
    "sentence2_binary_parse",
    "sentence1_parse",
    "sentence2_parse",
    "sentence1",
    "sentence2",
)
_STSB_PREFIX = (
    "index",
    "genre",
    "filename",
    "year",
    "old_index",
    "source1",
    "source2",
    "sentence1",
    "sentence2",
)
_MRPC_TAIL = ("#1 ID", "#2 ID", "#1 String", "#2 String")


@dataclasses.dataclass(frozen=True)
class GlueFile:
    """One TSV file of a GLUE task.

    Args:
        name: string. File name inside the task's folder.
        header: tuple of strings, the exact header row; None when the file
            has no header (CoLA train and dev).
        num_columns: int. Fields per row.
        text_columns: tuple of int. Column indices of the one or two text
            segments.
        label_column: int or None. Column index of the label; None for the
            test files, which have no labels.
        id_column: int or None. Column of the example id; None means the
            line number.
    """

    name: str
    header: tuple
    num_columns: int
    text_columns: tuple
    label_column: int = None
    id_column: int = None


@dataclasses.dataclass(frozen=True)
class GlueTask:
    """A GLUE task: its folder, split files, labels and official metric.

    Args:
        name: string. The tensorflow-datasets config name (`"sst2"`).
        folder: string. GLUE's folder name (`"SST-2"`).
        files: dict split name -> `GlueFile`.
        label_names: tuple of strings, one per class id; None for the
            regression task STS-B.
        label_values: tuple of strings, the raw label of each class id as
            written in the files (`"0"`, `"entailment"`); None for STS-B.
        metrics: tuple of strings, the official metric names, the headline
            one first.
        segment_names: tuple of strings, tensorflow-datasets' feature names
            of the text segments.
    """

    name: str
    folder: str
    files: dict
    label_names: tuple
    label_values: tuple
    metrics: tuple
    segment_names: tuple

    @property
    def is_regression(self):
        return self.label_names is None

    @property
    def num_segments(self):
        return len(self.segment_names)

    @property
    def splits(self):
        return tuple(self.files)

    def __str__(self):
        return self.name


def _pair_task(name, folder, train_header, text, label, test_header, **kw):
    """A pair task whose train/dev share a header and test drops the label."""
    header = tuple(train_header)
    test_header = tuple(test_header)
    files = {
        "train": GlueFile(
            "train.tsv",
            header,
            len(header),
            tuple(header.index(c) for c in text),
            label_column=header.index(label),
            id_column=kw.pop("id_column", 0),
        ),
    }
    files["validation"] = dataclasses.replace(files["train"], name="dev.tsv")
    files["test"] = GlueFile(
        "test.tsv",
        test_header,
        len(test_header),
        tuple(test_header.index(c) for c in text),
        id_column=0,
    )
    return GlueTask(name=name, folder=folder, files=files, **kw)


def _build_tasks():
    tasks = {}
    sst2 = GlueFile("train.tsv", ("sentence", "label"), 2, (0,), 1)
    tasks["sst2"] = GlueTask(
        name="sst2",
        folder="SST-2",
        files={
            "train": sst2,
            "validation": dataclasses.replace(sst2, name="dev.tsv"),
            "test": GlueFile(
                "test.tsv", ("index", "sentence"), 2, (1,), id_column=0
            ),
        },
        label_names=("negative", "positive"),
        label_values=("0", "1"),
        metrics=("accuracy",),
        segment_names=("sentence",),
    )
    # CoLA train/dev: no header; source code, label, original mark, sentence.
    cola = GlueFile("train.tsv", None, 4, (3,), label_column=1)
    tasks["cola"] = GlueTask(
        name="cola",
        folder="CoLA",
        files={
            "train": cola,
            "validation": dataclasses.replace(cola, name="dev.tsv"),
            "test": GlueFile(
                "test.tsv", ("index", "sentence"), 2, (1,), id_column=0
            ),
        },
        label_names=("unacceptable", "acceptable"),
        label_values=("0", "1"),
        metrics=("matthews_correlation",),
        segment_names=("sentence",),
    )
    tasks["mrpc"] = _pair_task(
        "mrpc",
        "MRPC",
        ("Quality",) + _MRPC_TAIL,
        ("#1 String", "#2 String"),
        "Quality",
        ("index",) + _MRPC_TAIL,
        id_column=None,
        label_names=("not_equivalent", "equivalent"),
        label_values=("0", "1"),
        metrics=("f1", "accuracy"),
        segment_names=("sentence1", "sentence2"),
    )
    tasks["qqp"] = _pair_task(
        "qqp",
        "QQP",
        ("id", "qid1", "qid2", "question1", "question2", "is_duplicate"),
        ("question1", "question2"),
        "is_duplicate",
        ("id", "question1", "question2"),
        label_names=("not_duplicate", "duplicate"),
        label_values=("0", "1"),
        metrics=("f1", "accuracy"),
        segment_names=("question1", "question2"),
    )
    tasks["stsb"] = _pair_task(
        "stsb",
        "STS-B",
        _STSB_PREFIX + ("score",),
        ("sentence1", "sentence2"),
        "score",
        _STSB_PREFIX,
        label_names=None,
        label_values=None,
        metrics=("pearson", "spearman"),
        segment_names=("sentence1", "sentence2"),
    )
    for name, folder, text, labels, values, names in (
        (
            "qnli",
            "QNLI",
            ("question", "sentence"),
            ("entailment", "not_entailment"),
            ("entailment", "not_entailment"),
            ("question", "sentence"),
        ),
        (
            "rte",
            "RTE",
            ("sentence1", "sentence2"),
            ("entailment", "not_entailment"),
            ("entailment", "not_entailment"),
            ("sentence1", "sentence2"),
        ),
        (
            "wnli",
            "WNLI",
            ("sentence1", "sentence2"),
            ("not_entailment", "entailment"),
            ("0", "1"),
            ("sentence1", "sentence2"),
        ),
    ):
        tasks[name] = _pair_task(
            name,
            folder,
            ("index",) + text + ("label",),
            text,
            "label",
            ("index",) + text,
            label_names=labels,
            label_values=values,
            metrics=("accuracy",),
            segment_names=names,
        )
    mnli_labels = ("entailment", "neutral", "contradiction")
    mnli_train = _MNLI_PREFIX + ("label1", "gold_label")
    mnli_dev = _MNLI_PREFIX + tuple(f"label{i}" for i in range(1, 6))
    mnli_dev += ("gold_label",)
    text = (8, 9)

    def mnli_file(file_name, header, labelled=True):
        return GlueFile(
            file_name,
            header,
            len(header),
            text,
            label_column=len(header) - 1 if labelled else None,
            id_column=0,
        )

    tasks["mnli"] = GlueTask(
        name="mnli",
        folder="MNLI",
        files={
            "train": mnli_file("train.tsv", mnli_train),
            "validation_matched": mnli_file("dev_matched.tsv", mnli_dev),
            "validation_mismatched": mnli_file("dev_mismatched.tsv", mnli_dev),
            "test_matched": mnli_file(
                "test_matched.tsv", _MNLI_PREFIX, labelled=False
            ),
            "test_mismatched": mnli_file(
                "test_mismatched.tsv", _MNLI_PREFIX, labelled=False
            ),
        },
        label_names=mnli_labels,
        label_values=mnli_labels,
        metrics=("accuracy",),
        segment_names=("premise", "hypothesis"),
    )
    return tasks


TASKS = _build_tasks()


def glue_task(name):
    """The `GlueTask` called `name` (`"sst2"`, `"SST-2"`, `"sts-b"`, ...).

    Args:
        name: string. A task name; case, `-` and `_` are ignored. A
            `GlueTask` is returned as it is.

    Example:
    ```python
    task = glue_task("SST-2")
    task.label_names  # ('negative', 'positive')
    ```
    """
    if isinstance(name, GlueTask):
        # A task built elsewhere (a user's labelled file, `labeled_text`).
        return name
    key = str(name).lower().replace("-", "").replace("_", "")
    if key not in TASKS:
        raise ConfigError(
            f"Unknown GLUE task {name!r}; known: {sorted(TASKS)}."
        )
    return TASKS[key]
