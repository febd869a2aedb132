import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")
pytest.importorskip("tensorflow_text")

from keras_mobilebert import export  # noqa: E402
from keras_mobilebert.export.string_input import run_string_model  # noqa: E402
from keras_mobilebert.export.string_input import to_litert_with_tokenizer  # noqa: E402
from tests.numpy_reference import softmax  # noqa: E402
from tests.quantization import helpers  # noqa: E402

TEXTS = [
    "the film was great",
    "The QUICK brown fox was Dull!",  # case and punctuation
    "zebra crossing",  # out-of-vocabulary words
    "a great " * 20,  # longer than the sequence: truncated
]


def test_string_model_gives_softmax_of_the_keras_logits(tmp_path):
    classifier = helpers.trained_classifier()
    path = to_litert_with_tokenizer(
        classifier, tmp_path / "strings.tflite", TEXTS, log=None
    )
    tflite_bytes = path.read_bytes()
    ops = {op["op"] for op in export.list_ops(tflite_bytes)}
    assert "FastWordpieceTokenizeWithOffsets" in ops
    assert not [op for op in ops if op.startswith("Flex")]
    got = run_string_model(tflite_bytes, TEXTS)
    # The Keras model returns logits; the file their softmax, as
    # to_litert's classifier files.
    logits = classifier.predict(TEXTS, verbose=0)
    expected = softmax(np.asarray(logits, "float64"))
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)


def test_string_model_rejects_int8(tmp_path):
    classifier = helpers.untrained_classifier()
    with pytest.raises(ValueError, match="supports"):
        to_litert_with_tokenizer(
            classifier, tmp_path / "s.tflite", TEXTS, "int8", log=None
        )
    assert not list(tmp_path.iterdir())
