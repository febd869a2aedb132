"""A user's labelled file as the task of the GLUE job and task distillation.

A config's `text_file` field (null for a GLUE task) names the training
file, the validation file or the fraction of the training file held out
(stratified, seeded), and the columns. The file becomes a `GlueSplit` of
a `labeled_text.file_task` whose classes are the training file's sorted
labels, so the GLUE job (`finetune --train`) and task distillation
(`distill-task --train`) train, score and export it unchanged; this
module adds what a user's own classes need: the class counts before
training, `"balanced"` class weights, the per-class report, the
confusion-matrix and training-curve plots, and the TF-IDF baseline row.
"""

import json

import numpy as np

from keras_mobilebert.data.labeled_text import LabeledTextFormatError
from keras_mobilebert.data.labeled_text import class_counts
from keras_mobilebert.data.labeled_text import is_file_task
from keras_mobilebert.data.labeled_text import read_labeled_text
from keras_mobilebert.data.labeled_text import stratified_split
from keras_mobilebert.distillation.plotting import TASK_PANELS
from keras_mobilebert.distillation.plotting import plot_confusion_matrix
from keras_mobilebert.distillation.plotting import plot_losses
from keras_mobilebert.metrics.classification import classification_report
from keras_mobilebert.metrics.classification import format_report
from keras_mobilebert.metrics.classification import tfidf_baseline
from keras_mobilebert.utils.errors import ConfigError

TEXT_FILE_FIELDS = {
    "train": None,
    "validation": None,
    "validation_fraction": 0.2,
    "text_column": "text",
    "label_column": "label",
    "second_text_column": None,
    "format": None,
}
CLASS_WEIGHTS = ("none", "balanced")
# A preset's class names, `{"0": name, ...}` (as the converter writes it).
LABELS_FILE = "labels.json"


def check_text_file_config(text_file):
    """Fill a `text_file` field's defaults and check it (None stays None).

    Example:
    ```python
    check_text_file_config({"train": "tickets.csv", "label_column": "team"})
    ```
    """
    if text_file is None:
        return None
    if isinstance(text_file, str):
        text_file = {"train": text_file}
    unknown = set(text_file) - set(TEXT_FILE_FIELDS)
    if unknown:
        raise LabeledTextFormatError(
            f"Unknown text_file fields {sorted(unknown)}; known: "
            f"{sorted(TEXT_FILE_FIELDS)}."
        )
    text_file = {**TEXT_FILE_FIELDS, **text_file}
    if not text_file["train"]:
        raise LabeledTextFormatError("text_file needs a train file.")
    if not text_file["validation"]:
        fraction = text_file["validation_fraction"]
        if not fraction or not 0.0 < fraction < 1.0:
            raise LabeledTextFormatError(
                "Give a validation file, or a validation_fraction in (0, 1) "
                f"of the training file; received {fraction}."
            )
    return text_file


def _read(text_file, path, label_names=None, split="train"):
    return read_labeled_text(
        path,
        text_file["text_column"],
        text_file["label_column"],
        second_text_column=text_file["second_text_column"],
        format=text_file["format"],
        label_names=label_names,
        split=split,
    )


def load_text_file_data(text_file, seed=0):
    """`(train, evaluation)` `GlueSplit`s of a `text_file` field.

    The classes are the training file's labels, sorted. A validation file
    is read with those classes (a label training never saw is an error);
    without one, `validation_fraction` of each class of the training
    file is held out with `seed`.

    Example:
    ```python
    train, dev = load_text_file_data({"train": "tickets.csv", ...})
    ```
    """
    text_file = check_text_file_config(text_file)
    train = _read(text_file, text_file["train"])
    if text_file["validation"]:
        evaluation = _read(
            text_file,
            text_file["validation"],
            label_names=train.label_names,
            split="validation",
        )
        return train, evaluation
    return stratified_split(train, text_file["validation_fraction"], seed)


def check_class_weight(kind):
    """`kind` if it is one of `CLASS_WEIGHTS`, else a `ConfigError`.

    Example:
    ```python
    check_class_weight("balanced")
    ```
    """
    if kind not in CLASS_WEIGHTS:
        raise ConfigError(
            f"class_weight must be one of {list(CLASS_WEIGHTS)}; received "
            f"{kind!r}."
        )
    return kind


def class_weights(train, kind):
    """Loss weight per class: None for `"none"`, `n / (k * count)` for
    `"balanced"` (scikit-learn's `compute_class_weight`)."""
    if check_class_weight(kind) == "none":
        return None
    from sklearn.utils.class_weight import compute_class_weight

    classes = np.arange(len(train.label_names))
    present = np.unique(train.labels)
    weights = np.ones(len(classes), "float32")
    weights[present] = compute_class_weight(
        "balanced", classes=present, y=train.labels
    )
    return weights


def describe_classes(train, evaluation, log):
    """Log the examples per class of both splits, before training."""
    counts = class_counts(train)
    held = class_counts(evaluation)
    log(
        f"classes ({len(counts)}, Model Maker's order): "
        + ", ".join(f"{n!r} {counts[n]} train / {held[n]} eval" for n in counts)
    )


def validation_scorer(score, packed, evaluation):
    """A `validate` callable for `train_task_model` on a file task (None
    for a GLUE task, whose curves stay the training losses)."""
    if not is_file_task(evaluation.task):
        return None

    def validate(step):
        metrics, _ = score(packed, evaluation)
        return metrics

    return validate


def file_task_report(
    output_dir, eval_scores, train, evaluation, training_rows, log
):
    """The per-class report, plots and baseline of a file task's run.

    Writes `confusion_matrix.png` and `training_curves.png` to
    `output_dir`, logs the per-class table and the TF-IDF baseline beside
    the model's accuracy.

    Returns:
        A dict for `results.json`: `report` (`classification_report`),
        `class_counts` and `baseline` (None when it failed to fit).
    """
    names = evaluation.label_names
    report = classification_report(eval_scores, evaluation.labels, names)
    log(format_report(report, f"model on {len(evaluation)} held-out:"))
    plot_confusion_matrix(
        report["confusion_matrix"],
        names,
        output_dir / "confusion_matrix.png",
        title=f"held-out, accuracy {report['accuracy']:.3f}",
    )
    plot_losses(
        training_rows,
        output_dir / "training_curves.png",
        panels=TASK_PANELS[:2],
    )
    baseline = tfidf_baseline(
        train.features, train.labels, evaluation.features, evaluation.labels
    )
    log(
        f"accuracy on the same split: model {report['accuracy']:.4f}, "
        f"TF-IDF 1-2 grams + logistic regression {baseline['accuracy']:.4f}"
    )
    return {
        "report": report,
        "class_counts": {
            "train": class_counts(train),
            "evaluation": class_counts(evaluation),
        },
        "baseline": {"tfidf_logistic_regression": baseline},
        "label_names": list(names),
    }


def label_file(label_names):
    """The `labels.json` bytes of a preset: `{"0": name, ...}`."""
    return json.dumps({str(i): n for i, n in enumerate(label_names)}).encode()
