"""Scoring an exported question answerer on held-out SQuAD examples.

The question-answering counterpart of `heldout.export_and_verify`: write
the file with `to_litert`, then answer every held-out question with the
file (LiteRT, on the preprocessor's windows) and with the Keras model,
decode both with `span_decoding.decode_answers`, and score both with the
official SQuAD metric (v1.1, or v2.0 when the held-out questions include
unanswerable ones; `squad_evaluation.squad_scores`).
"""

import pathlib

import numpy as np

from keras_mobilebert.export.litert import to_litert
from keras_mobilebert.export.samples import with_sequence_length
from keras_mobilebert.export.verification import run_tflite
from keras_mobilebert.models.mobilebert.squad_evaluation import decode_windows
from keras_mobilebert.models.mobilebert.squad_evaluation import headline
from keras_mobilebert.models.mobilebert.squad_evaluation import squad_scores


def run_tflite_on_windows(tflite_bytes, windows, num_threads=1):
    """A question answerer file's logits on every window.

    Args:
        tflite_bytes: bytes of a `[1, length]` question answerer file.
        windows: a `QuestionAnswererWindows` of the same length (from
            the preprocessor's `encode`).
        num_threads: int.

    Returns:
        `{"start_logits", "end_logits"}`, each `(windows, length)`.

    Example:
    ```python
    windows = qa.preprocessor.encode((questions, contexts))
    logits = run_tflite_on_windows(path.read_bytes(), windows)
    ```
    """
    inputs = windows.inputs()
    samples = [
        {
            "ids": inputs["token_ids"][i : i + 1],
            "mask": inputs["padding_mask"][i : i + 1],
            "segment_ids": inputs["segment_ids"][i : i + 1],
        }
        for i in range(len(windows))
    ]
    outputs = run_tflite(tflite_bytes, samples, num_threads=num_threads)
    shape = windows.token_ids.shape
    return {
        name: outputs[name].reshape(shape)
        for name in ("start_logits", "end_logits")
    }


def export_and_verify_question_answerer(
    question_answerer,
    path,
    quantization,
    representative_data,
    test_examples,
    sequence_length=None,
    num_representative=200,
    num_samples=64,
    max_answer_length=30,
    null_threshold=0.0,
    log=print,
):
    """Export a question answerer, verify it, and score it on held-out data.

    Writes the `.tflite` file with `to_litert` (verified against the Keras
    model on the windows of the first `num_samples` `test_examples`; outside
    tolerance nothing is written; TFLite metadata for the Task Library's
    `BertQuestionAnswerer` included), then answers every held-out
    question with the file and with the Keras model and scores both.

    Args:
        question_answerer: a `MobileBertQuestionAnswerer` with a
            preprocessor (float, or made by `quantize_aware` for
            `"qat_int8"`).
        path: output `.tflite` path.
        quantization: string. One of `QUANTIZATIONS`.
        representative_data: training `(questions, contexts)`, pairs,
            SQuAD records or input dicts (windows) calibrating int8 ranges.
        test_examples: held-out SQuAD records with answers
            (`keras_mobilebert.data.squad.read_squad(...)`).
        sequence_length: int or None. None takes the preprocessor's.
        num_representative: int. How many windows calibrate int8.
        num_samples: int. How many held-out windows verify the file
            before it is written.
        max_answer_length: int. Longest answer in word pieces.
        null_threshold: float. SQuAD v2.0 only: the no-answer threshold.
        log: callable taking one string.

    Returns:
        A dict: `path`, `quantization`, `size_bytes`,
        `attention_mask_mode`, `max_abs_error`, `relative_error`,
        `label_agreement` and `num_samples` (the verification windows),
        `squad_version`, `keras_exact_match`, `keras_f1`,
        `tflite_exact_match`, `tflite_f1` (in percent),
        `answer_agreement` (share of questions the file and the Keras
        model answer with the same text), `heldout_max_abs_error`
        (largest logit difference), `test_size`, `windows`.

    Example:
    ```python
    report = export_and_verify_question_answerer(
        qa, "squad_int8.tflite", "int8", train[:400], dev
    )
    ```
    """
    log = log or (lambda message: None)
    test_examples = list(test_examples)
    result = to_litert(
        question_answerer,
        path,
        quantization=quantization,
        sequence_length=sequence_length,
        representative_data=representative_data,
        sample_data=test_examples,
        num_samples=num_samples,
        num_representative=num_representative,
        log=log,
    )
    preprocessor = with_sequence_length(
        question_answerer.preprocessor, result.input_shape[1]
    )
    windows = preprocessor.encode(test_examples)
    keras_logits = question_answerer.predict(
        windows.inputs(), batch_size=16, verbose=0
    )
    file_logits = run_tflite_on_windows(
        pathlib.Path(path).read_bytes(), windows
    )
    scores, texts = {}, {}
    for source, logits in (("keras", keras_logits), ("tflite", file_logits)):
        answers = decode_windows(windows, logits, max_answer_length)
        texts[source] = [a.text for a in answers]
        scores[source] = squad_scores(test_examples, answers, null_threshold)
    (keras_exact, keras_f1), (file_exact, file_f1) = (
        headline(scores["keras"]),
        headline(scores["tflite"]),
    )
    difference = max(
        float(np.max(np.abs(file_logits[k] - keras_logits[k])))
        for k in file_logits
    )
    report = {
        "path": str(result.path),
        "quantization": quantization,
        "size_bytes": result.size_bytes,
        "attention_mask_mode": result.attention_mask_mode,
        "max_abs_error": result.max_abs_error,
        "relative_error": result.relative_error,
        "label_agreement": result.label_agreement,
        "num_samples": result.num_samples,
        "squad_version": scores["keras"]["version"],
        "keras_exact_match": keras_exact,
        "keras_f1": keras_f1,
        "tflite_exact_match": file_exact,
        "tflite_f1": file_f1,
        "answer_agreement": float(
            np.mean([a == b for a, b in zip(texts["keras"], texts["tflite"])])
        ),
        "heldout_max_abs_error": difference,
        "test_size": len(test_examples),
        "windows": len(windows),
    }
    log(
        f"{quantization}: held-out SQuAD EM / F1 Keras "
        f"{report['keras_exact_match']:.2f} / {report['keras_f1']:.2f}, "
        f"LiteRT {report['tflite_exact_match']:.2f} / "
        f"{report['tflite_f1']:.2f} on {len(test_examples)} questions; "
        f"same answer {report['answer_agreement']:.4f}, max |logit diff| "
        f"{difference:.3g}; {result.size_bytes / 2**20:.2f} MiB"
    )
    return report
