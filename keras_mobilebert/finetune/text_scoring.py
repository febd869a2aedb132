"""Scoring a saved classifier on a labelled file, and predicting with it.

`keras-mobilebert evaluate` and `predict` (and the Python calls below)
take a model that is either a classifier preset folder (its
`labels.json` names the classes) or a `.tflite` file (its metadata packs
the labels and the WordPiece vocabulary; a file without metadata names
the preset whose tokenizer and labels it was exported from). Both load
into a `SavedTextClassifier`, whose `probabilities` is the one scoring
path: texts are packed by the same preprocessor (one text or a pair),
then run in Keras or the LiteRT interpreter; the evaluation report is
`metrics.classification.classification_report` in both cases, so a
preset and its `.tflite` give the same report up to quantization.
"""

import csv
import dataclasses
import json
import pathlib

import numpy as np

from keras_mobilebert.data.labeled_text import LabeledTextFormatError
from keras_mobilebert.data.labeled_text import file_format
from keras_mobilebert.data.labeled_text import read_labeled_text
from keras_mobilebert.data.labeled_text import read_texts
from keras_mobilebert.data.length_buckets import pack_texts
from keras_mobilebert.export.metadata import LABELS_FILE as TFLITE_LABELS
from keras_mobilebert.export.metadata import VOCABULARY_FILE
from keras_mobilebert.export.metadata import read_associated_files
from keras_mobilebert.export.samples import dict_samples
from keras_mobilebert.export.signatures import LOGITS
from keras_mobilebert.export.verification import run_tflite
from keras_mobilebert.finetune.classifier_export import packed_samples
from keras_mobilebert.finetune.task_teacher import preset_label_names
from keras_mobilebert.metrics.classification import classification_report
from keras_mobilebert.utils.files import atomic_path


def _softmax(logits):
    logits = np.asarray(logits, "float64")
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    return shifted / shifted.sum(-1, keepdims=True)


@dataclasses.dataclass
class SavedTextClassifier:
    """A saved classifier, ready to score text.

    Args:
        source: string. The preset folder or `.tflite` file.
        label_names: tuple of strings, one per class id.
        preprocessor: the classifier preprocessor that packs its texts.
        run: callable `(packed) -> (n, classes)` probabilities.
    """

    source: str
    label_names: tuple
    preprocessor: object
    run: object

    def probabilities(self, features):
        """`(n, classes)` probabilities of texts (or a tuple of two lists
        of texts: pairs)."""
        return np.asarray(self.run(pack_texts(self.preprocessor, features)))


def _preset_classifier(path):
    import keras_hub

    from keras_mobilebert.distillation.teacher_logits import compute_logits

    model = keras_hub.models.TextClassifier.from_preset(
        str(path), compile=False
    )
    names = preset_label_names(path)
    if names is None:
        names = [str(i) for i in range(model.num_classes)]
    return SavedTextClassifier(
        str(path),
        tuple(names),
        model.preprocessor,
        lambda packed: _softmax(compute_logits(model, packed)),
    )


def _uncased(vocabulary):
    # Word pieces of a cased vocabulary have capitals; [CLS] etc. do not
    # count.
    return not any(t != t.lower() for t in vocabulary if not t.startswith("["))


def _tflite_classifier(path, tokenizer=None):
    from ai_edge_litert.interpreter import Interpreter

    from keras_mobilebert.models.mobilebert.mobilebert_text_classifier_preprocessor import (  # noqa: E501
        MobileBertTextClassifierPreprocessor,
    )
    from keras_mobilebert.models.mobilebert.mobilebert_tokenizer import (
        MobileBertTokenizer,
    )

    data = pathlib.Path(path).read_bytes()
    runner = Interpreter(model_content=data).get_signature_runner()
    length = int(next(iter(runner.get_input_details().values()))["shape"][1])
    try:
        files = read_associated_files(data)
    except Exception:  # a file without metadata is no zip archive
        files = {}
    if tokenizer is not None:
        import keras_hub

        tokenizer_object = keras_hub.tokenizers.Tokenizer.from_preset(
            str(tokenizer)
        )
        names = preset_label_names(tokenizer)
    elif VOCABULARY_FILE in files:
        vocabulary = files[VOCABULARY_FILE].decode("utf-8").splitlines()
        tokenizer_object = MobileBertTokenizer(
            vocabulary=vocabulary, lowercase=_uncased(vocabulary)
        )
        names = None
    else:
        raise LabeledTextFormatError(
            f"{path} carries no vocabulary in its metadata; name the preset "
            "it was exported from (--tokenizer PRESET_DIR)."
        )
    if TFLITE_LABELS in files:
        names = files[TFLITE_LABELS].decode("utf-8").splitlines()
    preprocessor = MobileBertTextClassifierPreprocessor(
        tokenizer=tokenizer_object, sequence_length=length
    )
    output = runner.get_output_details()

    def run(packed):
        outputs = run_tflite(data, dict_samples(packed_samples(packed), None))
        name = next(iter(outputs))
        scores = outputs[name]
        return _softmax(scores) if name == LOGITS else scores

    if names is None:
        width = int(next(iter(output.values()))["shape"][-1])
        names = [str(i) for i in range(width)]
    return SavedTextClassifier(str(path), tuple(names), preprocessor, run)


def load_text_classifier(model, tokenizer=None):
    """A preset folder or `.tflite` file as a `SavedTextClassifier`.

    Args:
        model: path of a classifier preset folder or a `.tflite` file.
        tokenizer: a preset folder or None: for a `.tflite` file without
            metadata, the preset it was exported from (its tokenizer and
            `labels.json`).

    Example:
    ```python
    from keras_mobilebert.finetune import load_text_classifier

    model = load_text_classifier("runs/tickets/classifier_int8.tflite")
    model.probabilities(["my card was charged twice"])
    ```
    """
    path = pathlib.Path(model)
    if path.is_dir():
        return _preset_classifier(path)
    if path.suffix == ".tflite" and path.is_file():
        return _tflite_classifier(path, tokenizer)
    raise LabeledTextFormatError(
        f"{path}: expected a classifier preset folder or a .tflite file."
    )


def _loaded(model, tokenizer):
    if isinstance(model, SavedTextClassifier):
        return model
    return load_text_classifier(model, tokenizer)


def evaluate_text_file(
    model,
    data,
    text_column="text",
    label_column="label",
    second_text_column=None,
    format=None,
    tokenizer=None,
):
    """The report of a saved classifier on a labelled file.

    The file's labels must be classes the model knows (its names, not
    re-sorted from this file), else it is a `LabeledTextFormatError`
    naming the line.

    Args:
        model: a preset folder, a `.tflite` file or a
            `SavedTextClassifier`.
        data: a labelled CSV, TSV or JSON Lines file.
        text_column, label_column, second_text_column, format: as
            `read_labeled_text`.
        tokenizer: as `load_text_classifier`.

    Returns:
        `classification_report`'s dict plus `model` and `data`.

    Example:
    ```python
    from keras_mobilebert.finetune import evaluate_text_file

    report = evaluate_text_file("runs/tickets/preset", "test.csv",
                                "message", "team")
    ```
    """
    model = _loaded(model, tokenizer)
    split = read_labeled_text(
        data,
        text_column,
        label_column,
        second_text_column=second_text_column,
        format=format,
        label_names=model.label_names,
        split="evaluation",
    )
    scores = model.probabilities(split.features)
    report = classification_report(scores, split.labels, model.label_names)
    return {**report, "model": model.source, "data": str(data)}


def predict_texts(model, features, tokenizer=None):
    """Each text's most likely label and its probability.

    Args:
        model: a preset folder, a `.tflite` file or a
            `SavedTextClassifier`.
        features: a list of strings, or a tuple of two lists (pairs).
        tokenizer: as `load_text_classifier`.

    Returns:
        A list of dicts: `label`, `probability`, and `probabilities`
        (`{name: float}`).

    Example:
    ```python
    predict_texts("runs/tickets/preset", ["where is my parcel"])
    # [{'label': 'shipping', 'probability': 0.93, ...}]
    ```
    """
    model = _loaded(model, tokenizer)
    scores = model.probabilities(features)
    names = model.label_names
    return [
        {
            "label": names[int(row.argmax())],
            "probability": float(row.max()),
            "probabilities": {n: float(p) for n, p in zip(names, row)},
        }
        for row in scores
    ]


def write_predictions(path, texts, predictions):
    """Predictions as CSV (`text, label, probability`) or JSON Lines,
    by the extension, atomically."""
    path = pathlib.Path(path)
    kind = file_format(path)
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            if kind == "jsonl":
                for text, row in zip(texts, predictions):
                    f.write(json.dumps({"text": text, **row}) + "\n")
            else:
                writer = csv.writer(f, delimiter="," if kind == "csv" else "\t")
                writer.writerow(["text", "label", "probability"])
                for text, row in zip(texts, predictions):
                    writer.writerow(
                        [text, row["label"], f"{row['probability']:.6f}"]
                    )
    return path


def predict_file(
    model,
    data,
    output=None,
    text_column="text",
    second_text_column=None,
    format=None,
    tokenizer=None,
):
    """Label every text of a file; write `output` (CSV / TSV / JSON Lines).

    Args:
        model: a preset folder, a `.tflite` file or a
            `SavedTextClassifier`.
        data: a CSV, TSV or JSON Lines file with a text column.
        output: the predictions file; None writes
            `<data stem>.predictions.jsonl` beside `data`.
        text_column, second_text_column, format: as `read_texts`.
        tokenizer: as `load_text_classifier`.

    Returns:
        The predictions file's path.

    Example:
    ```python
    predict_file("runs/tickets/preset", "inbox.csv", "labelled.csv",
                 text_column="message")
    ```
    """
    features, _ = read_texts(data, text_column, second_text_column, format)
    predictions = predict_texts(model, features, tokenizer)
    if output is None:
        data = pathlib.Path(data)
        output = data.with_name(f"{data.stem}.predictions.jsonl")
    texts = features if isinstance(features, list) else list(zip(*features))
    return write_predictions(output, texts, predictions)
