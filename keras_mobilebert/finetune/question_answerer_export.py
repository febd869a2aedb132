"""The export step of a SQuAD job: a verified LiteRT file, scored on dev.

A config's `export` field (`quantization`, `num_representative`,
`num_evaluation`; null skips the step) says how. `export_question_answerer`
writes the file with `keras_mobilebert.export.to_litert` (full-integer int8
calibrated on training windows, verified against the Keras model before it
is moved into place), then runs the file and the Keras model on the
windows of the first `num_evaluation` dev questions and scores both with
the official metric.
"""

import pathlib

import numpy as np

from keras_mobilebert.export import run_tflite
from keras_mobilebert.export import to_litert
from keras_mobilebert.export.samples import dict_samples
from keras_mobilebert.export.signatures import model_kind
from keras_mobilebert.finetune.classifier_export import check_export_config
from keras_mobilebert.finetune.classifier_export import missing_interpreter
from keras_mobilebert.finetune.squad_evaluation import decode_windows
from keras_mobilebert.finetune.squad_evaluation import headline
from keras_mobilebert.finetune.squad_evaluation import squad_scores

EXPORT_FIELDS = ("quantization", "num_representative", "num_evaluation")
OUTPUTS = ("start_logits", "end_logits")


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
        raise ValueError(
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
    log=print,
):
    """Export a fine-tuned question answerer to a verified file; score it.

    Writes `output_dir/question_answerer_<quantization>.tflite` through
    `to_litert` (int8 ranges calibrated on `num_representative` training
    windows; the file is compared with the Keras model before it is moved
    into place, and nothing is written outside tolerance), then runs the
    file and the Keras model on every window of the first `num_evaluation`
    dev questions and scores both with the official SQuAD metric.

    Args:
        qa: a fine-tuned `MobileBertQuestionAnswerer` with a preprocessor.
        export: dict, the config's `export` field.
        train_windows: the training `QuestionAnswererWindows`.
        dev_examples: list of `SquadExample` (dev).
        output_dir: directory of the `.tflite` file.
        max_answer_length: int. Longest answer decoded, in word pieces.
        log: callable taking one string.

    Returns:
        A dict: `path`, `quantization`, `size_bytes`, `max_abs_error`,
        `relative_error`, `num_samples` (the verification), then on the
        `heldout_questions` evaluated: `keras_exact_match`, `keras_f1`,
        `tflite_exact_match`, `tflite_f1`, `answer_agreement` (share of
        questions where the file and Keras give the same text) and
        `heldout_max_abs_error` (largest logit difference); or
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
    dev_windows = qa.preprocessor.encode(evaluated)
    samples = window_samples(dev_windows, np.arange(len(dev_windows)))
    path = pathlib.Path(output_dir) / f"question_answerer_{quantization}.tflite"
    result = to_litert(
        qa,
        path,
        quantization,
        sequence_length=qa.preprocessor.sequence_length,
        representative_data=window_samples(
            train_windows, representative_rows(len(train_windows), count)
        ),
        sample_data=samples,
        num_representative=count,
        log=log,
    )
    file_logits = run_tflite(path.read_bytes(), samples)
    missing = [name for name in OUTPUTS if name not in file_logits]
    if missing:
        raise RuntimeError(
            f"{path} has the outputs {sorted(file_logits)}, not {missing}."
        )
    keras_logits = qa.predict(dev_windows.inputs(), verbose=0)
    keras_answers = decode_windows(dev_windows, keras_logits, max_answer_length)
    file_answers = decode_windows(dev_windows, file_logits, max_answer_length)
    keras_exact, keras_f1 = headline(squad_scores(evaluated, keras_answers))
    file_exact, file_f1 = headline(squad_scores(evaluated, file_answers))
    agreement = np.mean(
        [a.text == b.text for a, b in zip(keras_answers, file_answers)]
    )
    report = {
        "path": str(path),
        "quantization": quantization,
        "size_bytes": result.size_bytes,
        "max_abs_error": result.max_abs_error,
        "relative_error": result.relative_error,
        "num_samples": result.num_samples,
        "heldout_questions": len(evaluated),
        "heldout_windows": len(dev_windows),
        "keras_exact_match": keras_exact,
        "keras_f1": keras_f1,
        "tflite_exact_match": file_exact,
        "tflite_f1": file_f1,
        "answer_agreement": float(agreement),
        "heldout_max_abs_error": float(
            max(
                np.max(np.abs(file_logits[name] - keras_logits[name]))
                for name in OUTPUTS
            )
        ),
    }
    log(
        f"{quantization} LiteRT on {len(evaluated)} dev questions: EM "
        f"{file_exact:.2f} / F1 {file_f1:.2f} (Keras {keras_exact:.2f} / "
        f"{keras_f1:.2f}), same answer on {agreement:.2%}"
    )
    return report
