"""Classifier files give probabilities; the Keras model keeps its logits.

MediaPipe's `TextClassifier`, the Task Library and Model Maker users read
a classifier file's output as probabilities (thresholds, "top score"); the
files gave raw logits ("positive 3.827"). The softmax is now part of the
exported graph, and the verification compares the file's probabilities
with `softmax` of the Keras logits.
"""

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")

from keras_mobilebert import MobileBertClassifier  # noqa: E402
from keras_mobilebert import export  # noqa: E402
from keras_mobilebert.export.signatures import classifier_output  # noqa: E402
from tests.numpy_reference import softmax  # noqa: E402
from tests.quantization import helpers  # noqa: E402

TEXTS = helpers.toy_texts(48, seed=11)[0]


def _export(classifier, path, quantization):
    export.to_litert(
        classifier,
        path,
        quantization=quantization,
        representative_data=helpers.toy_texts(64, seed=7)[0],
        sample_data=TEXTS,
        log=None,
    )
    samples = export.texts_to_inputs(classifier, TEXTS)
    return export.run_tflite(path.read_bytes(), samples)


@pytest.mark.parametrize("quantization", ["float32", "dynamic", "int8"])
def test_classifier_file_gives_softmax_of_the_keras_logits(
    tmp_path, quantization
):
    classifier = helpers.trained_classifier()
    outputs = _export(classifier, tmp_path / "c.tflite", quantization)
    assert sorted(outputs) == ["probabilities"]
    probabilities = outputs["probabilities"]
    logits = classifier.predict(TEXTS, verbose=0)
    # The Keras model still returns logits (KerasHub's convention).
    assert not np.allclose(logits.sum(axis=1), 1.0, atol=1e-2)
    assert np.abs(logits).max() > 1.0
    expected = softmax(np.asarray(logits, "float64"))
    assert np.all(probabilities >= 0) and np.all(probabilities <= 1)
    # The mode's tolerance, on probabilities now (at most 1).
    limits = export.MODES[quantization].tolerance()
    np.testing.assert_allclose(
        probabilities, expected, atol=limits["relative_error"]
    )
    agreement = np.mean(probabilities.argmax(1) == logits.argmax(1))
    assert agreement >= limits["label_agreement"]
    if quantization == "int8":
        # The int8 softmax's output is quantized with scale 1/256 (LiteRT's
        # fixed range [0, 1)): 256 steps, dequantized to float.
        steps = probabilities * 256
        np.testing.assert_allclose(steps, np.round(steps), atol=1e-3)
        np.testing.assert_allclose(probabilities.sum(1), 1.0, atol=2 / 256)
    else:
        np.testing.assert_allclose(probabilities.sum(1), 1.0, atol=1e-5)
    if quantization == "float32":
        np.testing.assert_allclose(probabilities, expected, atol=1e-5)


def test_int8_softmax_output_is_quantized_to_256_steps(tmp_path):
    classifier = helpers.trained_classifier()
    path = tmp_path / "int8.tflite"
    _export(classifier, path, "int8")
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    softmax_ops = [
        op
        for op in interpreter._get_ops_details()
        if op["op_name"] == "SOFTMAX"
    ]
    # The last softmax is the classifier's (the others are attention's).
    output = tensors[int(softmax_ops[-1]["outputs"][0])]
    scale, zero_point = output["quantization"]
    assert output["dtype"] == np.int8
    assert scale == pytest.approx(1 / 256)
    assert zero_point == -128


def test_verification_compares_probabilities(tmp_path):
    classifier = helpers.trained_classifier()
    result = export.to_litert(
        classifier,
        tmp_path / "c.tflite",
        "int8",
        representative_data=helpers.toy_texts(64, seed=7)[0],
        sample_data=TEXTS,
        log=None,
    )
    samples = export.texts_to_inputs(classifier, TEXTS[:32])
    got = export.run_tflite((tmp_path / "c.tflite").read_bytes(), samples)
    logits = classifier.predict(TEXTS[:32], verbose=0)
    expected = softmax(np.asarray(logits, "float64"))
    difference = np.max(np.abs(got["probabilities"] - expected))
    # The reported error is the probability error (not a logit one).
    assert result.max_abs_error == pytest.approx(difference, abs=1e-6)
    assert result.relative_error == pytest.approx(
        difference / expected.max(), abs=1e-6
    )


def test_one_output_head_keeps_its_raw_score(tmp_path):
    classifier = MobileBertClassifier(
        backbone=helpers.untrained_classifier().backbone,
        num_classes=1,
        preprocessor=helpers.toy_preprocessor(),
    )
    assert classifier_output(classifier) == "logits"
    outputs = _export(classifier, tmp_path / "r.tflite", "float32")
    assert sorted(outputs) == ["logits"]
    expected = classifier.predict(TEXTS, verbose=0)
    np.testing.assert_allclose(outputs["logits"], expected, atol=1e-4)


def test_own_activation_is_not_applied_twice(tmp_path):
    classifier = MobileBertClassifier(
        backbone=helpers.untrained_classifier().backbone,
        num_classes=2,
        activation="softmax",
        preprocessor=helpers.toy_preprocessor(),
    )
    assert classifier_output(classifier) == "logits"
    outputs = _export(classifier, tmp_path / "s.tflite", "float32")
    expected = classifier.predict(TEXTS, verbose=0)
    np.testing.assert_allclose(outputs["logits"], expected, atol=1e-5)


def test_heldout_scores_the_probabilities(tmp_path):
    classifier = helpers.trained_classifier()
    texts, labels = helpers.toy_texts(40, seed=12)
    report = export.export_and_verify(
        classifier,
        tmp_path / "c.tflite",
        "float32",
        helpers.toy_texts(32, seed=7)[0],
        texts,
        labels,
        log=None,
    )
    assert report["output"] == "probabilities"
    assert report["heldout_max_abs_error"] < 1e-5
    assert report["tflite_accuracy"] == report["keras_accuracy"]
