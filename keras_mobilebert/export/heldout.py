"""Scoring an exported classifier file on held-out texts.

The last step of the fine-tuning job and of the QAT recipe: write the file
with `to_litert`, then run it and the Keras model on every held-out text
and compare them (accuracy of each, label agreement, largest difference
of the file's output: probabilities, against `softmax` of the Keras
logits, for a classifier file that ends in a softmax).
"""

import pathlib

import numpy as np

from keras_mobilebert.export.litert import to_litert
from keras_mobilebert.export.samples import texts_to_inputs
from keras_mobilebert.export.signatures import classifier_output
from keras_mobilebert.export.signatures import classifier_scores
from keras_mobilebert.export.signatures import keras_outputs
from keras_mobilebert.export.verification import run_tflite


def tflite_accuracy(tflite_bytes, samples, labels, num_threads=1):
    """Accuracy of a classifier `.tflite` on tokenized samples.

    Args:
        tflite_bytes: bytes of a classifier `.tflite` file.
        samples: list of input dicts (see `texts_to_inputs`).
        labels: int array of true labels.
        num_threads: int.

    Example:
    ```python
    tflite_accuracy(tflite_bytes, texts_to_inputs(clf, texts), labels)
    ```
    """
    outputs = run_tflite(tflite_bytes, samples, num_threads=num_threads)
    predictions = classifier_scores(outputs).argmax(-1)
    return float(np.mean(predictions == np.asarray(labels)))


def file_report(result):
    """A verified file's figures (`to_litert`'s `ExportResult`) as a dict.

    Example:
    ```python
    file_report(to_litert(classifier, "model.tflite", "int8"))["size_bytes"]
    ```
    """
    return {
        "path": str(result.path),
        "quantization": result.quantization,
        "size_bytes": result.size_bytes,
        "attention_mask_mode": result.attention_mask_mode,
        "max_abs_error": result.max_abs_error,
        "label_agreement": result.label_agreement,
        "rewrites": list(result.rewrites),
    }


def heldout_outputs(classifier, path, samples):
    """The Keras classifier's and its LiteRT file's outputs on samples.

    Both on the file's own quantity (`signatures.classifier_output`):
    probabilities (the file's softmax, NumPy's softmax of the Keras
    logits) for a classifier of several classes, else the raw output.

    Args:
        classifier: the Keras classifier the file was exported from.
        path: the `.tflite` file.
        samples: list of TFLite-named input dicts (`samples.to_samples`).

    Returns:
        `(keras_scores, file_scores)`, two arrays of the same shape.

    Example:
    ```python
    keras_scores, file_scores = heldout_outputs(classifier, path, samples)
    ```
    """
    tflite_bytes = pathlib.Path(path).read_bytes()
    output = classifier_output(classifier)
    file_scores = run_tflite(tflite_bytes, samples)[output]
    keras_scores = keras_outputs(classifier, "classifier", samples)[output]
    return keras_scores, file_scores.reshape(keras_scores.shape)


def export_and_verify(
    classifier,
    path,
    quantization,
    representative_texts,
    test_texts,
    test_labels,
    sequence_length=None,
    num_representative=200,
    labels=None,
    rewrites=True,
    log=print,
):
    """Export a classifier, verify it, and measure it on held-out texts.

    The last step of the fine-tuning job: write the `.tflite` file with
    `to_litert` (verified against the Keras model on the first 64
    `test_texts`; outside tolerance nothing is written), then run the file
    and the Keras model on all held-out texts and compare them.

    Args:
        classifier: a `MobileBertClassifier` with a preprocessor.
        path: output `.tflite` path.
        quantization: string. One of `QUANTIZATIONS`.
        representative_texts: list of strings (training texts) calibrating
            int8 ranges.
        test_texts: list of strings (held-out).
        test_labels: int array-like.
        sequence_length: int or None. None takes the preprocessor's.
        num_representative: int. How many representative texts calibrate
            int8.
        labels: optional list of class names: packs TFLite metadata (see
            `to_litert`).
        rewrites: bool. `to_litert`'s speed-ups (NoNorm folding,
            symmetric key/value ranges); False exports the model as is.
        log: callable taking one string, or None for silence.

    Returns:
        A dict: `path`, `quantization`, `size_bytes`, `attention_mask_mode`,
        `output` (`"probabilities"` or `"logits"`, what the file gives),
        `max_abs_error` and `label_agreement` (the 64 verification
        samples), `keras_accuracy` and `tflite_accuracy` (held-out),
        `heldout_label_agreement` (share of held-out texts where the file
        and the Keras model predict the same label),
        `heldout_max_abs_error` (largest difference of the file's output
        from the Keras model's, as probabilities for a file that gives
        them), `test_size`.

    Example:
    ```python
    results = export_and_verify(
        classifier, "model_int8.tflite", "int8", train_x, test_x, test_y
    )
    ```
    """
    log = log or (lambda message: None)
    result = to_litert(
        classifier,
        path,
        quantization=quantization,
        sequence_length=sequence_length,
        representative_data=list(representative_texts),
        sample_data=list(test_texts),
        num_samples=64,
        num_representative=num_representative,
        labels=labels,
        rewrites=rewrites,
        log=log,
    )
    length = result.input_shape[1]
    samples = texts_to_inputs(classifier, list(test_texts), length)
    truth = np.asarray(test_labels)
    keras_scores, file_scores = heldout_outputs(classifier, path, samples)
    report = {
        **file_report(result),
        "output": classifier_output(classifier),
        "keras_accuracy": float(np.mean(keras_scores.argmax(-1) == truth)),
        "tflite_accuracy": float(np.mean(file_scores.argmax(-1) == truth)),
        "heldout_label_agreement": float(
            np.mean(file_scores.argmax(-1) == keras_scores.argmax(-1))
        ),
        "heldout_max_abs_error": float(
            np.max(np.abs(file_scores - keras_scores))
        ),
        "test_size": len(truth),
    }
    log(
        f"{quantization}: held-out accuracy Keras "
        f"{report['keras_accuracy']:.4f}, LiteRT "
        f"{report['tflite_accuracy']:.4f} on {len(truth)} texts; same "
        f"label {report['heldout_label_agreement']:.4f}, max "
        f"|{report['output']} diff| {report['heldout_max_abs_error']:.3g}; "
        f"{result.size_bytes / 2**20:.2f} MiB"
    )
    return report
