import keras
import numpy as np
import pytest
import tensorflow as tf

pytest.importorskip("ai_edge_litert")

from keras_hub.models import Backbone  # noqa: E402

from keras_mobilebert import MobileBertBackbone  # noqa: E402
from keras_mobilebert import export  # noqa: E402
from keras_mobilebert.quantization import quantize_aware  # noqa: E402
from tests.models.helpers import SMALL_BACKBONE  # noqa: E402
from tests.quantization import helpers  # noqa: E402

LENGTH = helpers.SEQUENCE_LENGTH


def _texts():
    return helpers.toy_texts(64, seed=7)[0]


def _signature(path):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner()
    return {
        name: (tuple(detail["shape"]), detail["dtype"])
        for name, detail in runner.get_input_details().items()
    }


def _leftovers(directory):
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("quantization", ["float32", "dynamic", "int8"])
def test_classifier_modes_are_verified(tmp_path, quantization):
    classifier = helpers.trained_classifier()
    path = tmp_path / f"{quantization}.tflite"
    result = export.to_litert(
        classifier,
        path,
        quantization=quantization,
        representative_data=_texts(),
        log=None,
    )
    assert path.exists() and result.size_bytes == path.stat().st_size
    assert _leftovers(tmp_path) == [path.name]
    assert _signature(path) == {
        name: ((1, LENGTH), np.int32) for name in export.INPUT_NAMES
    }
    limits = export.MODES[quantization].tolerance()
    assert result.relative_error <= limits["relative_error"]
    assert result.label_agreement >= limits["label_agreement"]
    assert not [op for op in result.ops if op.startswith("Flex")]
    tflite_bytes = path.read_bytes()
    if quantization == "float32":
        assert result.max_abs_error < 1e-4
    if quantization == "int8":
        # Full integer: the encoder's main path computes in int8.
        assert export.float_ops_on_main_path(tflite_bytes) == []
        ops = export.list_ops(tflite_bytes)
        fully_connected = [op for op in ops if op["op"] == "FULLY_CONNECTED"]
        assert fully_connected
        assert all(
            op["inputs"][:2] == ["int8", "int8"] for op in fully_connected
        )


def test_backbone_float32_dynamic_shape(tmp_path):
    backbone = MobileBertBackbone(**SMALL_BACKBONE)
    path = tmp_path / "backbone.tflite"
    result = export.to_litert(
        backbone, path, sequence_length=12, dynamic_shape=True, log=None
    )
    assert result.input_shape == (-1, -1)
    assert result.label_agreement is None
    assert result.relative_error < 1e-4
    shapes = {name: shape for name, (shape, _) in _signature(path).items()}
    assert set(shapes) == set(export.INPUT_NAMES)
    # Another length than the export's runs too.
    sample = export.random_inputs(backbone.vocabulary_size, 5, 1)
    outputs = export.run_tflite(path.read_bytes(), sample)
    assert outputs["sequence_output"].shape == (1, 5, 16)


def test_float16_export_of_a_small_range_model(tmp_path):
    classifier = helpers.untrained_classifier()
    path = tmp_path / "fp16.tflite"
    result = export.to_litert(classifier, path, "float16", log=None)
    assert path.exists()
    assert result.relative_error < 1e-2
    assert result.size_bytes > 0


def _scaled_backbone(scale):
    backbone = MobileBertBackbone(
        **{**SMALL_BACKBONE, "attention_mask_mode": "fill"}
    )
    norm = backbone.embeddings.norm
    norm.gamma.assign(np.full(norm.gamma.shape, scale, "float32"))
    return backbone


def test_float16_refuses_activations_beyond_its_range(tmp_path):
    # The released MobileBERT weights put about 1e7 in the encoder.
    path = tmp_path / "fp16.tflite"
    with pytest.raises(export.Float16RangeError, match="65504") as info:
        export.to_litert(_scaled_backbone(1e7), path, "float16", log=None)
    activations = [t for t in info.value.tensors if t[1] == "activation"]
    assert activations and all(t[2] > 65504 for t in activations)
    assert info.value.tensors[0][0] in str(info.value)
    assert "activation" in str(info.value)
    assert _leftovers(tmp_path) == []
    # The same model at a small scale exports.
    export.to_litert(_scaled_backbone(1.0), path, "float16", log=None)
    assert path.exists()


def test_float16_of_an_additive_mask_model_converts_a_fill_copy(tmp_path):
    backbone = MobileBertBackbone(**SMALL_BACKBONE)  # additive mask
    with pytest.raises(ValueError, match="additive"):
        export.convert(backbone, "float16", sequence_length=8)
    path = tmp_path / "m.tflite"
    result = export.to_litert(backbone, path, "float16", log=None)
    # Verified against the additive original, padded samples included.
    assert result.attention_mask_mode == "fill"
    assert result.relative_error < 1e-2
    assert path.exists()


class _Determinant(keras.layers.Layer):
    def call(self, x):
        return tf.linalg.det(tf.reshape(x, (-1, 4, 2, 2)))


def _flex_backbone():
    # A backbone whose output needs a determinant: no LiteRT builtin.
    inputs = {
        name: keras.Input(shape=(None,), dtype="int32", name=name)
        for name in ("token_ids", "segment_ids", "padding_mask")
    }
    embedded = keras.layers.Embedding(10, 4)(inputs["token_ids"])
    sequence = _Determinant()(embedded)
    backbone = Backbone(
        inputs=inputs,
        outputs={"sequence_output": sequence, "pooled_output": sequence},
    )
    backbone.vocabulary_size = 10
    return backbone


def test_flex_op_is_named_and_nothing_is_written(tmp_path):
    path = tmp_path / "flex.tflite"
    with pytest.raises(
        export.UnsupportedOpsError, match="FlexMatrixDeterminant"
    ) as info:
        export.to_litert(_flex_backbone(), path, sequence_length=4, log=None)
    assert "FlexMatrixDeterminant" in info.value.ops
    assert _leftovers(tmp_path) == []


def test_failed_verification_leaves_no_file(tmp_path):
    classifier = helpers.trained_classifier()
    path = tmp_path / "int8.tflite"
    path.write_bytes(b"an older file")
    with pytest.raises(export.VerificationError, match="relative error"):
        export.to_litert(
            classifier,
            path,
            "int8",
            representative_data=_texts(),
            tolerance={"relative_error": 1e-9},
            log=None,
        )
    # The old file is untouched and no temporary file is left.
    assert path.read_bytes() == b"an older file"
    assert _leftovers(tmp_path) == [path.name]


def test_bad_arguments():
    classifier = helpers.untrained_classifier()
    with pytest.raises(ValueError, match="Unknown quantization"):
        export.to_litert(classifier, "x.tflite", "int4", log=None)
    with pytest.raises(ValueError, match="quantize_aware"):
        export.to_litert(classifier, "x.tflite", "qat_int8", log=None)
    with pytest.raises(TypeError, match="KerasHub"):
        export.to_litert(keras.Sequential(), "x.tflite", log=None)


def test_qat_int8_matches_the_qat_model(tmp_path):
    classifier = helpers.trained_classifier()
    qat = quantize_aware(classifier)
    texts, labels = helpers.toy_texts(128, seed=3)
    helpers.compile_classifier(qat, 1e-3)
    qat.fit(helpers.dataset(texts, labels), epochs=1, verbose=0)
    path = tmp_path / "qat.tflite"
    result = export.to_litert(
        qat, path, "qat_int8", representative_data=texts, log=None
    )
    tflite_bytes = path.read_bytes()
    assert export.float_ops_on_main_path(tflite_bytes) == []
    # Within int8 tolerance of the QAT Keras model it was trained as.
    assert result.relative_error < 0.1
    assert result.label_agreement >= 0.95


def test_int8_of_an_additive_mask_model_converts_with_fill(tmp_path):
    # The additive mask's -3.4e38 aborts the int8 quantizer (SIGABRT): the
    # exporter converts a "fill" copy and verifies it against the original.
    additive = export.with_attention_mask_mode(
        helpers.trained_classifier(), "additive"
    )
    assert additive.backbone.attention_mask_mode == "additive"
    assert export.with_attention_mask_mode(additive, "additive") is additive
    with pytest.raises(ValueError, match="'additive'"):
        export.convert(additive, "int8", representative_samples=[{}])
    path = tmp_path / "int8.tflite"
    result = export.to_litert(
        additive, path, "int8", representative_data=_texts(), log=None
    )
    assert result.attention_mask_mode == "fill"
    assert path.exists()
    assert result.label_agreement >= export.MODES["int8"].label_agreement
