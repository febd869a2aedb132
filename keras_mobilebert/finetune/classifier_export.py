"""The export step of a classification job: a verified LiteRT file.

A config's `export` field (`quantization`, `num_representative`,
`metadata`; null skips the step) says how; `export_classifier` writes the
file through `keras_mobilebert.export.export_and_verify` and scores it on
the held-out split; `export_task_classifier` does the same for a GLUE
job (packed sentence pairs, regression heads, the task's official
metrics).
"""

import pathlib

import numpy as np

from keras_mobilebert.data.glue_tasks import glue_task
from keras_mobilebert.data.labeled_text import is_file_task
from keras_mobilebert.data.length_buckets import SEQUENCE_KEYS
from keras_mobilebert.export import MODES
from keras_mobilebert.export import QUANTIZATIONS
from keras_mobilebert.export import export_and_verify
from keras_mobilebert.export import to_litert
from keras_mobilebert.export.heldout import file_report
from keras_mobilebert.export.heldout import heldout_outputs
from keras_mobilebert.export.metadata import metadata_schema
from keras_mobilebert.export.samples import dict_samples
from keras_mobilebert.metrics.classification import classification_report
from keras_mobilebert.metrics.glue import glue_metrics
from keras_mobilebert.utils.errors import ConfigError

EXPORT_FIELDS = ("quantization", "num_representative", "metadata")


def check_export_config(export, fields=EXPORT_FIELDS):
    """Raise a `ValueError` naming what is wrong in an `export` field.

    Args:
        export: dict or None (None: no export).
        fields: tuple of the field names the job's export step reads.

    Example:
    ```python
    check_export_config({"quantization": "int8"})
    ```
    """
    if export is None:
        return
    unknown = set(export) - set(fields)
    if unknown:
        raise ConfigError(
            f"Unknown export fields {sorted(unknown)}; known: "
            f'{list(fields)} (or "export": null to skip it).'
        )
    # A quantization-aware model's modes: recipes/qat_and_export.py.
    modes = [
        q for q in QUANTIZATIONS if not MODES[q].needs_quantize_aware_model
    ]
    if export.get("quantization") not in modes:
        raise ConfigError(
            f"Unknown export quantization {export.get('quantization')!r}; "
            f"expected one of {modes}."
        )


def missing_interpreter():
    """Why a verified export cannot run here, or None if it can.

    Without the LiteRT interpreter a file cannot be verified, and an
    unverified file is never delivered, so the export steps skip.

    Example:
    ```python
    reason = missing_interpreter()  # None with ai-edge-litert installed
    ```
    """
    try:
        import ai_edge_litert  # noqa: F401
    except ImportError:
        return (
            "the export is verified with the LiteRT interpreter: pip install "
            "'keras-mobilebert[litert]' (ai-edge-litert)"
        )
    return None


def export_classifier(
    classifier,
    export,
    train_texts,
    test_texts,
    test_labels,
    label_names,
    output_dir,
    log=print,
):
    """Export a fine-tuned classifier to a verified LiteRT file and score it.

    Writes `output_dir/classifier_<quantization>.tflite` through
    `keras_mobilebert.export.export_and_verify`: full-integer int8 is
    calibrated on the first training texts, the file is compared with the
    Keras model before it is moved into place (outside tolerance it is a
    `VerificationError` and nothing is written), then both run on all
    held-out texts. With `metadata`, the labels and WordPiece vocabulary
    are packed in, so MediaPipe's `TextClassifier` takes raw strings.

    Args:
        classifier: a fine-tuned `MobileBertClassifier`.
        export: dict, the config's `export` field (`quantization`,
            `num_representative`, `metadata`).
        train_texts: list of strings calibrating int8 ranges.
        test_texts: list of held-out strings.
        test_labels: int array of held-out labels.
        label_names: list of class names (the metadata labels).
        output_dir: directory of the `.tflite` file.
        log: callable taking one string.

    Returns:
        The dict of `export_and_verify`, plus `metadata` (bool) and, when
        something was skipped, `skipped` (why).

    Example:
    ```python
    report = export_classifier(
        classifier, {"quantization": "int8"}, train_x, test_x, test_y,
        ["negative", "positive"], "runs/demo",
    )
    ```
    """
    quantization = export["quantization"]
    report, metadata = _prerequisites(export, log)
    if "litert" in report:
        return {"quantization": quantization, "skipped": report["litert"]}
    count = export.get("num_representative", 200)
    report.update(
        export_and_verify(
            classifier,
            pathlib.Path(output_dir) / f"classifier_{quantization}.tflite",
            quantization,
            list(train_texts[:count]),
            list(test_texts),
            test_labels,
            num_representative=count,
            labels=list(label_names) if metadata else None,
            log=log,
        )
    )
    report["metadata"] = metadata
    return report


def _prerequisites(export, log, metadata_reason=None):
    """What the environment allows: `(report, metadata)`.

    `report["litert"]` says why nothing can be exported (no LiteRT
    interpreter: an unverified file is never delivered);
    `report["skipped"]` why the file goes without metadata.
    """
    reason = missing_interpreter()
    if reason:
        log(f"export skipped: {reason}")
        return {"litert": reason}, False
    metadata = bool(export.get("metadata", True))
    report = {}
    if metadata and metadata_reason:
        metadata = False
        report["skipped"] = f"metadata: {metadata_reason}"
    elif metadata:
        try:
            metadata_schema()
        except ImportError:
            metadata = False
            report["skipped"] = (
                "metadata: writing it needs MediaPipe's schema, pip install "
                "'keras-mobilebert[metadata]'"
            )
    if "skipped" in report:
        log(f"writing the file without {report['skipped']}")
    return report, metadata


def packed_samples(packed, indices=None):
    """Rows of packed arrays as the export's input dicts (Keras names).

    Example:
    ```python
    samples = packed_samples(pack_texts(preprocessor, dev.features))
    ```
    """
    count = len(packed["token_ids"])
    indices = range(count) if indices is None else indices
    return [{key: packed[key][i] for key in SEQUENCE_KEYS} for i in indices]


def export_task_classifier(
    classifier,
    export,
    train_packed,
    eval_packed,
    evaluation,
    output_dir,
    log=print,
):
    """Export a GLUE classifier to a verified LiteRT file; score it on dev.

    The GLUE counterpart of `export_classifier`: inputs are packed arrays
    (one or two segments, as the model was trained), and the file and the
    Keras model are both scored with the task's official metrics
    (`glue_metrics`), so a regression head (STS-B, one output) is scored
    by Pearson and Spearman correlation. Metadata (labels and vocabulary,
    for MediaPipe's `TextClassifier`, which classifies one string) is
    written for single-sentence classification tasks only.

    Args:
        classifier: the fine-tuned classifier (with its preprocessor).
        export: dict, the config's `export` field.
        train_packed: dict of packed training inputs; the first
            `num_representative` rows calibrate int8 ranges.
        eval_packed: dict of packed evaluation inputs.
        evaluation: the evaluation `GlueSplit`.
        output_dir: directory of the `.tflite` file.
        log: callable taking one string.

    Returns:
        A dict: `path`, `quantization`, `size_bytes`,
        `attention_mask_mode`, `max_abs_error` and `label_agreement` (the
        64 verification samples; None for regression), `keras_metrics`
        and `tflite_metrics` (the task's metrics on `evaluation`),
        `heldout_label_agreement` (None for regression),
        `heldout_max_abs_error`, `test_size`, `metadata`, and `skipped`
        when something was left out.

    Example:
    ```python
    report = export_task_classifier(
        classifier, {"quantization": "int8"}, train_packed, dev_packed,
        dev, "runs/sst2",
    )
    ```
    """
    quantization = export["quantization"]
    task = glue_task(evaluation.task)
    reason = None
    if task.is_regression or task.num_segments > 1:
        reason = (
            "MediaPipe's TextClassifier labels one sentence; "
            f"{task.name} has {'scores' if task.is_regression else 'pairs'}"
        )
    report, metadata = _prerequisites(export, log, reason)
    if "litert" in report:
        return {"quantization": quantization, "skipped": report["litert"]}
    count = min(export.get("num_representative", 200), len(evaluation))
    samples = packed_samples(eval_packed)
    path = pathlib.Path(output_dir) / f"classifier_{quantization}.tflite"
    result = to_litert(
        classifier,
        path,
        quantization=quantization,
        sequence_length=eval_packed["token_ids"].shape[1],
        representative_data=packed_samples(train_packed, range(count)),
        sample_data=samples,
        num_samples=64,
        num_representative=count,
        labels=list(task.label_names) if metadata else None,
        log=log,
    )
    keras_scores, file_scores = heldout_outputs(
        classifier, path, dict_samples(samples, len(samples))
    )
    agreement = None
    if not task.is_regression:
        agreement = float(
            np.mean(keras_scores.argmax(-1) == file_scores.argmax(-1))
        )
    report.update(
        {
            **file_report(result),
            "keras_metrics": glue_metrics(
                task, keras_scores, evaluation.labels
            ),
            "tflite_metrics": glue_metrics(
                task, file_scores, evaluation.labels
            ),
            "heldout_label_agreement": agreement,
            "heldout_max_abs_error": float(
                np.max(np.abs(file_scores - keras_scores))
            ),
            "test_size": len(evaluation),
            "metadata": metadata,
        }
    )
    if is_file_task(task):
        report["tflite_report"] = classification_report(
            file_scores, evaluation.labels, task.label_names
        )
    log(
        f"{quantization}: {task.name} {evaluation.split} Keras "
        f"{report['keras_metrics']}, LiteRT {report['tflite_metrics']}; "
        f"max |output diff| {report['heldout_max_abs_error']:.3g}; "
        f"{result.size_bytes / 2**20:.2f} MiB"
    )
    return report
