"""A classifier `.tflite` that takes raw strings: the tokenizer in the graph.

The WordPiece tokenizer is tensorflow-text's `FastBertTokenizer` built from
the classifier's own vocabulary (lower-casing and accent stripping as the
uncased tokenizer does); packing (`[CLS] tokens [SEP]`, truncation, padding
to the fixed length, the mask) is plain TensorFlow that converts to builtin
LiteRT ops. The tokenizer becomes tensorflow-text custom ops
(`FastBertNormalize`, `FastWordpieceTokenize`, ...): an app registers them
(`tensorflow_text.tflite_registrar.SELECT_TFTEXT_OPS` in Python); any other
non-builtin op is an error, as in `to_litert`. Like `to_litert`'s
classifier files, it outputs `probabilities` (a softmax in the graph)
unless the classifier has one output or an activation of its own.
"""

import pathlib
import tempfile

import keras
import numpy as np
import tensorflow as tf

from keras_mobilebert.export.conversion import configure_converter
from keras_mobilebert.export.errors import LiteRTExportError
from keras_mobilebert.export.errors import UnsupportedOpsError
from keras_mobilebert.export.errors import VerificationError
from keras_mobilebert.export.modes import MODES
from keras_mobilebert.export.op_inspection import check_builtin_ops
from keras_mobilebert.export.signatures import PROBABILITIES
from keras_mobilebert.export.signatures import classifier_output
from keras_mobilebert.export.signatures import classifier_scores
from keras_mobilebert.export.signatures import output_dict
from keras_mobilebert.export.verification import compare_outputs
from keras_mobilebert.utils.files import atomic_path
from keras_mobilebert.utils.numerics import softmax

# Custom ops of tensorflow-text's FastBertTokenizer in LiteRT.
TEXT_OPS = (
    "FastBertNormalize",
    "FastWordpieceTokenize",
    "FastWordpieceTokenizeWithOffsets",
    "RaggedTensorToTensor",
)
STRING_QUANTIZATIONS = tuple(
    name for name, mode in MODES.items() if mode.tokenizer_in_graph
)


def _string_interpreter(tflite_bytes):
    import tensorflow_text
    from ai_edge_litert.interpreter import InterpreterWithCustomOps

    return InterpreterWithCustomOps(
        custom_op_registerers=tensorflow_text.tflite_registrar.SELECT_TFTEXT_OPS,
        model_content=tflite_bytes,
    )


def run_string_model(tflite_bytes, texts):
    """The output of a string-input `.tflite` file for each text.

    Returns:
        A NumPy array, one row per text: the probabilities (or, for a
        file without a softmax, the logits).

    Example:
    ```python
    run_string_model(path.read_bytes(), ["a fine film"])
    ```
    """
    runner = _string_interpreter(tflite_bytes).get_signature_runner()
    return np.concatenate(
        [
            classifier_scores(runner(text=np.array([t], dtype=object)))
            for t in texts
        ]
    )


def to_litert_with_tokenizer(
    classifier,
    path,
    sample_texts,
    quantization="float32",
    sequence_length=None,
    relative_error=1e-4,
    log=print,
):
    """Export a classifier that takes one raw string (`text`, shape `[1]`).

    The file is verified like `to_litert`'s: LiteRT runs it (with the
    tensorflow-text ops registered) on `sample_texts` and its output is
    compared with the Keras classifier's `predict` on the same strings
    (its probabilities with `softmax` of the Keras logits).

    Args:
        classifier: a `MobileBertClassifier` whose preprocessor has a
            WordPiece tokenizer.
        path: output `.tflite` path.
        sample_texts: list of strings to verify with.
        quantization: string. One of `STRING_QUANTIZATIONS` (the modes
            whose record has `tokenizer_in_graph`: float32, dynamic).
        sequence_length: int or None. None takes the preprocessor's.
        relative_error: float. Largest accepted error relative to the
            largest value of the output (probabilities, or logits for a
            file without a softmax).
        log: callable taking one string, or None.

    Returns:
        The path.

    Example:
    ```python
    to_litert_with_tokenizer(classifier, "strings.tflite", ["a fine film"])
    ```
    """
    import tensorflow_text

    log = log or (lambda message: None)
    if quantization not in STRING_QUANTIZATIONS:
        raise ValueError(
            f"String-input export supports {STRING_QUANTIZATIONS}; received "
            f"{quantization!r}."
        )
    preprocessor = classifier.preprocessor
    tokenizer = preprocessor.tokenizer
    length = sequence_length or preprocessor.sequence_length
    vocabulary = tokenizer.get_vocabulary()
    fast = tensorflow_text.FastBertTokenizer(
        vocab=vocabulary,
        token_out_type=tf.int32,
        unknown_token="[UNK]",
        lower_case_nfd_strip_accents=bool(getattr(tokenizer, "lowercase", 1)),
    )
    cls_id = vocabulary.index("[CLS]")
    sep_id = vocabulary.index("[SEP]")
    output = classifier_output(classifier)

    def serve(text):
        pieces = fast.tokenize(text).flat_values[: length - 2]
        ids = tf.concat([[cls_id], pieces, [sep_id]], axis=0)
        count = tf.shape(ids)[0]
        ids = tf.reshape(tf.pad(ids, [[0, length - count]]), (1, length))
        mask = tf.cast(tf.range(length) < count, tf.int32)[None]
        inputs = {
            "token_ids": ids,
            "padding_mask": mask,
            "segment_ids": tf.zeros_like(ids),
        }
        logits = classifier(inputs, training=False)
        return output_dict("classifier", logits, output)

    with tempfile.TemporaryDirectory() as work_dir:
        archive = keras.export.ExportArchive()
        archive.track(classifier)
        archive._tracked.append(fast)  # Keep the tokenizer's resources.
        archive.add_endpoint(
            "serve",
            serve,
            input_signature=[tf.TensorSpec([1], tf.string, name="text")],
        )
        saved_model = str(pathlib.Path(work_dir) / "saved_model")
        archive.write_out(saved_model, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
        configure_converter(converter, quantization)
        converter.allow_custom_ops = True  # The tensorflow-text ops.
        try:
            tflite_bytes = converter.convert()
        except Exception as error:
            raise LiteRTExportError(
                f"The string-input model did not convert: {error}"
            ) from error
    try:
        check_builtin_ops(tflite_bytes, allowed_custom_ops=TEXT_OPS)
    except UnsupportedOpsError as error:
        raise UnsupportedOpsError(
            error.ops, f"{error} (tensorflow-text ops allowed: {TEXT_OPS})"
        ) from None

    got = run_string_model(tflite_bytes, sample_texts)
    ref = keras.ops.convert_to_numpy(
        classifier.predict(list(sample_texts), verbose=0)
    )
    if output == PROBABILITIES:
        ref = softmax(ref)
    max_abs, relative, agreement = compare_outputs(
        "classifier", {output: ref}, {output: got}
    )
    if relative > relative_error or agreement < 1.0:
        raise VerificationError(
            f"The string-input export does not match the Keras classifier on "
            f"{len(sample_texts)} texts: relative error {relative:.3g} "
            f"(limit {relative_error}), label agreement {agreement:.3f}. "
            f"Nothing was written to {path}."
        )
    path = pathlib.Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(tflite_bytes)
    size_mib = path.stat().st_size / 2**20
    log(
        f"{path}: string input, {quantization}, {output}, {size_mib:.2f} "
        f"MiB, max abs error {max_abs:.3g} (relative {relative:.3g}), "
        f"label agreement {agreement:.3f} on {len(sample_texts)} texts"
    )
    return path
