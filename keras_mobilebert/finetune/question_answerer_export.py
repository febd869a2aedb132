"""The export step of a SQuAD job: a verified LiteRT file, scored on dev.

A config's `export` field (`quantization`, `num_representative`,
`num_evaluation`; null skips the step) says how. `export_question_answerer`
writes the file with `keras_mobilebert.export.
export_and_verify_question_answerer` (full-integer int8 calibrated on
training windows, verified against the Keras model before it is moved
into place), which runs the file and the Keras model on the windows of
the first `num_evaluation` dev questions and scores both with the official
metric.
"""

import pathlib

import numpy as np

from keras_mobilebert.export import export_and_verify_question_answerer
from keras_mobilebert.export.samples import dict_samples
from keras_mobilebert.export.signatures import model_kind
from keras_mobilebert.finetune.classifier_export import check_export_config
from keras_mobilebert.finetune.classifier_export import missing_interpreter
from keras_mobilebert.utils.errors import ConfigError

EXPORT_FIELDS = ("quantization", "num_representative", "num_evaluation")


def check_question_answerer_export(export, model=None):
    """Raise a `ValueError` naming what is wrong with an `export` field.

    Args:
        export: dict or None (None: no export).
        model: a `MobileBertQuestionAnswerer` or None. When given, also
            checks that `to_litert` takes this kind of model, so a job
            fails before training rather than after it.

    Example:
    ```python
    check_question_answerer_export({"quantization": "int8"}, qa)
    ```
    """
    check_export_config(export, EXPORT_FIELDS)
    if export is None or model is None:
        return
    try:
        model_kind(model)
    except TypeError as e:
        raise ConfigError(
            f"The export step cannot run: {e} Set the config's "
            '"export" to null to fine-tune without exporting.'
        ) from None


def window_samples(windows, rows):
    """TFLite-named input dicts, `(1, sequence_length)`, of some windows.

    Args:
        windows: a `QuestionAnswererWindows`.
        rows: int array of window indexes.

    Example:
    ```python
    samples = window_samples(windows, np.arange(8))
    ```
    """
    inputs = windows.inputs()
    return dict_samples(
        [{name: value[row] for name, value in inputs.items()} for row in rows],
        len(rows),
    )


def representative_rows(num_windows, count):
    """`count` window indexes spread evenly over the training windows.

    Training windows come article by article; spreading the calibration
    windows covers every part of the file.

    Example:
    ```python
    representative_rows(1000, 4)  # array([  0, 333, 666, 999])
    ```
    """
    count = max(1, min(count, num_windows))
    return np.unique(np.linspace(0, num_windows - 1, count).astype(int))


def export_question_answerer(
    qa,
    export,
    train_windows,
    dev_examples,
    output_dir,
    max_answer_length=30,
    null_threshold=0.0,
    log=print,
):
    """The job's export step: a verified file, scored on dev questions.

    `export.export_and_verify_question_answerer` with the job's choices:
    the file is `output_dir/question_answerer_<quantization>.tflite`, int8
    ranges are calibrated on `num_representative` training windows spread
    over the training file, and the held-out questions are the first
    `num_evaluation` dev questions (the windows of the first of them
    verify the file before it is written; outside tolerance nothing is
    written).

    Args:
        qa: a fine-tuned `MobileBertQuestionAnswerer` with a preprocessor.
        export: dict, the config's `export` field.
        train_windows: the training `QuestionAnswererWindows`.
        dev_examples: list of `SquadExample` (dev).
        output_dir: directory of the `.tflite` file.
        max_answer_length: int. Longest answer decoded, in word pieces.
        null_threshold: float. SQuAD v2.0's no-answer threshold.
        log: callable taking one string.

    Returns:
        `export_and_verify_question_answerer`'s dict, or
        `{"quantization", "skipped"}` without the LiteRT interpreter.

    Example:
    ```python
    report = export_question_answerer(
        qa, {"quantization": "int8"}, train_windows, dev, "runs/squad"
    )
    ```
    """
    quantization = export["quantization"]
    reason = missing_interpreter()
    if reason:
        log(f"export skipped: {reason}")
        return {"quantization": quantization, "skipped": reason}
    check_question_answerer_export(export, qa)
    count = int(export.get("num_representative", 200))
    evaluated = list(dev_examples[: int(export.get("num_evaluation", 1000))])
    path = pathlib.Path(output_dir) / f"question_answerer_{quantization}.tflite"
    return export_and_verify_question_answerer(
        qa,
        path,
        quantization,
        representative_data=window_samples(
            train_windows, representative_rows(len(train_windows), count)
        ),
        test_examples=evaluated,
        sequence_length=qa.preprocessor.sequence_length,
        num_representative=count,
        max_answer_length=max_answer_length,
        null_threshold=null_threshold,
        log=log,
    )
