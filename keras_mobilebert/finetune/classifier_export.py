"""The export step of a classification job: a verified LiteRT file.

A config's `export` field (`quantization`, `num_representative`,
`metadata`; null skips the step) says how; `export_classifier` writes the
file through `keras_mobilebert.export.export_and_verify` and scores it on
the held-out split.
"""

import pathlib

from keras_mobilebert.export import MODES
from keras_mobilebert.export import QUANTIZATIONS
from keras_mobilebert.export import export_and_verify
from keras_mobilebert.export.metadata import metadata_schema

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
        raise ValueError(
            f"Unknown export fields {sorted(unknown)}; known: "
            f'{list(fields)} (or "export": null to skip it).'
        )
    # A quantization-aware model's modes: recipes/qat_and_export.py.
    modes = [
        q for q in QUANTIZATIONS if not MODES[q].needs_quantize_aware_model
    ]
    if export.get("quantization") not in modes:
        raise ValueError(
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
    reason = missing_interpreter()
    if reason:
        log(f"export skipped: {reason}")
        return {"quantization": quantization, "skipped": reason}
    metadata = bool(export.get("metadata", True))
    report = {}
    if metadata:
        try:
            metadata_schema()
        except ImportError:
            metadata = False
            report["skipped"] = (
                "metadata: writing it needs MediaPipe's schema, pip install "
                "'keras-mobilebert[metadata]'"
            )
            log(f"writing the file without {report['skipped']}")
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
