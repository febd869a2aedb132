"""Quantization-aware training of a question answerer (native Keras 3)."""

import keras
import numpy as np
import pytest

from keras_mobilebert import MobileBertQuestionAnswerer
from keras_mobilebert.quantization import QuantDense
from keras_mobilebert.quantization import QuantizedMobileBertBackbone
from keras_mobilebert.quantization import QuantizedMobileBertQuestionAnswerer
from keras_mobilebert.quantization import is_quantize_aware
from keras_mobilebert.quantization import quantize_aware
from keras_mobilebert.quantization.qat_copy import QUANTIZE_AWARE_CLASSES
from tests.quantization import qa_helpers


def test_quantize_aware_question_answerer_keeps_the_weights():
    assert (
        MobileBertQuestionAnswerer,
        QuantizedMobileBertQuestionAnswerer,
    ) in QUANTIZE_AWARE_CLASSES
    qa = qa_helpers.untrained_question_answerer()
    qat = quantize_aware(qa)
    assert isinstance(qat, QuantizedMobileBertQuestionAnswerer)
    assert isinstance(qat.backbone, QuantizedMobileBertBackbone)
    assert is_quantize_aware(qat)
    assert type(qat.span_head) is QuantDense
    assert qat.preprocessor is qa.preprocessor
    np.testing.assert_array_equal(
        qat.span_head.kernel.numpy(), qa.span_head.kernel.numpy()
    )
    with pytest.raises(TypeError, match="QuantizedMobileBertBackbone"):
        QuantizedMobileBertQuestionAnswerer(backbone=qa.backbone)


def test_qat_question_answerer_trains_answers_reloads_and_exports(tmp_path):
    pytest.importorskip("ai_edge_litert")
    from keras_mobilebert import export

    qat = quantize_aware(qa_helpers.trained_question_answerer())
    questions, contexts, answers, starts = qa_helpers.toy_pairs(128, seed=3)
    qat.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = qat.fit(
        x=(questions, contexts),
        y=(answers, starts),
        batch_size=32,
        epochs=3,
        verbose=0,
    )
    assert np.isfinite(history.history["loss"]).all()
    test = qa_helpers.toy_pairs(32, seed=4)
    found = qat.answer(test[0], test[1])
    # The float toy answers all of them; fake quantization keeps that.
    assert sum(a.text == t for a, t in zip(found, test[2])) >= 30

    qat.save_to_preset(str(tmp_path / "qat"))
    restored = MobileBertQuestionAnswerer.from_preset(str(tmp_path / "qat"))
    assert isinstance(restored, QuantizedMobileBertQuestionAnswerer)
    loaded = {v.path: v.numpy() for v in restored.weights}
    assert len(loaded) == len({v.path for v in qat.weights})
    for variable in qat.weights:  # Ranges included.
        np.testing.assert_array_equal(variable.numpy(), loaded[variable.path])
    assert [a.text for a in restored.answer(test[0], test[1])] == [
        a.text for a in found
    ]

    path = tmp_path / "qa.tflite"
    result = export.to_litert(
        restored,
        path,
        "qat_int8",
        representative_data=(questions, contexts),
        sample_data=(test[0], test[1]),
        metadata=False,
        log=None,
    )
    assert export.float_ops_on_main_path(path.read_bytes()) == []
    assert result.relative_error < 0.1
    assert result.label_agreement >= 0.85
