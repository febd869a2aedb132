import keras
import numpy as np
import pytest

from keras_mobilebert import MobileBertBackbone
from keras_mobilebert import MobileBertClassifier
from keras_mobilebert.quantization import MovingAverageQuantizer
from keras_mobilebert.quantization import QuantDense
from keras_mobilebert.quantization import QuantizedMobileBertBackbone
from keras_mobilebert.quantization import QuantizedMobileBertClassifier
from keras_mobilebert.quantization import QuantNoNorm
from keras_mobilebert.quantization import QuantSoftmax
from keras_mobilebert.quantization import is_quantize_aware
from keras_mobilebert.quantization import quantize_aware
from keras_mobilebert.quantization.fake_quant import fake_quant_weight
from tests.models.helpers import SMALL_BACKBONE
from tests.models.helpers import backbone_inputs
from tests.quantization import helpers


def _layers(model, cls):
    return [layer for layer in model._flatten_layers() if type(layer) is cls]


def test_weight_fake_quant_is_symmetric_narrow_range():
    kernel = np.linspace(-0.5, 1.0, 1001).astype("float32")
    quantized = keras.ops.convert_to_numpy(fake_quant_weight(kernel))
    step = 1.0 / 127
    levels = np.round(quantized / step)
    np.testing.assert_allclose(levels * step, quantized, atol=1e-6)
    assert levels.max() == 127 and levels.min() >= -127
    assert np.max(np.abs(quantized - kernel)) <= step / 2 + 1e-6


def test_moving_average_ranges():
    quantizer = MovingAverageQuantizer(ema_decay=0.5)
    quantizer.build(None)
    x = np.array([[-1.0, 3.0]], "float32")
    quantizer(x, training=False)
    # Inference uses the stored range: GR's initial [-6, 6].
    assert float(quantizer.range_max.numpy()) == 6.0
    quantizer(x, training=True)  # The first batch sets the range.
    assert float(quantizer.range_min.numpy()) == pytest.approx(-1.0)
    assert float(quantizer.range_max.numpy()) == pytest.approx(3.0)
    quantizer(np.array([[0.5, 5.0]], "float32"), training=True)
    # Then an average; zero stays in the range.
    assert float(quantizer.range_min.numpy()) == pytest.approx(-0.5)
    assert float(quantizer.range_max.numpy()) == pytest.approx(4.0)
    y = keras.ops.convert_to_numpy(quantizer(x * 10, training=False))
    np.testing.assert_allclose(y, [[-0.5, 4.0]], atol=0.02)


def test_symmetric_ranges_have_zero_point_zero():
    quantizer = MovingAverageQuantizer(symmetric=True)
    quantizer.build(None)
    x = np.array([[-1.0, 3.0]], "float32")
    quantizer(x, training=True)
    # The tracked range is [-1, 3] as before; it is used as [-3, 3] with
    # 255 levels, so zero is a level and the step is 6 / 254.
    assert float(quantizer.range_min.numpy()) == pytest.approx(-1.0)
    values = np.linspace(-4.0, 4.0, 81).astype("float32")[None]
    y = keras.ops.convert_to_numpy(quantizer(values, training=False))
    step = 6.0 / 254
    # TensorFlow's fake quant rounds halves up (-63.5 steps -> -63).
    expected = np.clip(np.floor(values / step + 0.5), -127, 127) * step
    np.testing.assert_allclose(y, expected, atol=1e-5)
    assert quantizer.get_config()["symmetric"] is True


def test_float_layers_stay_plain_outside_the_scope():
    backbone = MobileBertBackbone(**SMALL_BACKBONE)
    for cls in (QuantDense, QuantNoNorm, QuantSoftmax):
        assert not _layers(backbone, cls)
    assert not is_quantize_aware(backbone)


def test_quantize_aware_covers_every_leaf():
    backbone = MobileBertBackbone(**SMALL_BACKBONE, attention_dropout=0.0)
    qat = quantize_aware(backbone)
    assert isinstance(qat, QuantizedMobileBertBackbone)
    assert qat.attention_mask_mode == "fill"
    float_dense = [
        layer
        for layer in backbone._flatten_layers()
        if type(layer) is keras.layers.Dense
    ]
    assert not [
        layer
        for layer in qat._flatten_layers()
        if type(layer) is keras.layers.Dense
    ]
    assert len(_layers(qat, QuantDense)) == len(float_dense)
    # Embedding norm, plus per block: 2 bottleneck-input norms, attention
    # output norm, one per FFN, output-bottleneck norm.
    per_block = 2 + 1 + SMALL_BACKBONE["num_feedforward_networks"] + 1
    expected = 1 + SMALL_BACKBONE["num_layers"] * per_block
    assert len(_layers(qat, QuantNoNorm)) == expected
    assert len(_layers(qat, QuantSoftmax)) == SMALL_BACKBONE["num_layers"]
    # Same weights: once a training step has set the ranges from the data
    # (no dropout here), the outputs agree up to 8-bit rounding.
    x = backbone_inputs(padded=False)
    qat(x, training=True)
    ref = backbone(x)["sequence_output"]
    got = qat(x)["sequence_output"]
    scale = float(np.max(np.abs(ref)))
    assert float(np.max(np.abs(got - ref))) < 0.1 * scale


def test_qat_classifier_trains_saves_and_reloads(tmp_path):
    classifier = helpers.trained_classifier()
    qat = quantize_aware(classifier)
    assert isinstance(qat, QuantizedMobileBertClassifier)
    assert type(qat.output_dense) is QuantDense
    texts, labels = helpers.toy_texts(256, seed=3)
    helpers.compile_classifier(qat, 1e-3)
    history = qat.fit(helpers.dataset(texts, labels), epochs=3, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.8 * losses[0], losses
    test_texts, test_labels = helpers.toy_texts(64, seed=4)
    _, accuracy = qat.evaluate(
        helpers.dataset(test_texts, test_labels), verbose=0
    )
    assert accuracy >= 0.8
    logits = qat.predict(test_texts[:8], verbose=0)

    qat.save_to_preset(str(tmp_path / "qat"))
    restored = MobileBertClassifier.from_preset(str(tmp_path / "qat"))
    assert isinstance(restored, QuantizedMobileBertClassifier)
    assert isinstance(restored.backbone, QuantizedMobileBertBackbone)
    loaded = {v.path: v.numpy() for v in restored.weights}
    assert len(loaded) == len({v.path for v in qat.weights})
    for variable in qat.weights:  # Ranges included.
        np.testing.assert_array_equal(variable.numpy(), loaded[variable.path])
    # Float rounding in another compiled graph can move a value across a
    # quantization boundary: allow one step of the logits' quantizer.
    out = restored.output_dense.output_quantizer
    step = float(out.range_max.numpy() - out.range_min.numpy()) / 255
    np.testing.assert_allclose(
        restored.predict(test_texts[:8], verbose=0), logits, atol=step * 1.01
    )


def test_quantize_aware_rejects_other_models():
    backbone = MobileBertBackbone(**SMALL_BACKBONE)
    with pytest.raises(ValueError, match="already quantization-aware"):
        quantize_aware(quantize_aware(backbone))
    with pytest.raises(TypeError, match="MobileBertTextClassifier"):
        quantize_aware(keras.Sequential([keras.layers.Dense(2)]))


def test_quant_softmax_masks_through_the_attention_mask():
    # A mask goes through mask_attention_scores: "fill" makes masked logits
    # exactly -6 before the logits quantizer, for a float or int mask and a
    # padding mask (batch, keys) or one of the scores' rank.
    softmax = QuantSoftmax()
    scores = np.zeros((1, 1, 2, 3), "float32")
    padding = np.array([[1, 1, 0]], "float32")
    expected = np.exp([0.0, 0.0, -6.0]) / np.exp([0.0, 0.0, -6.0]).sum()
    for mask in (padding, padding[:, None, None, :].astype("int32")):
        softmax(scores, mask=mask, training=True)  # Ranges from the data.
        probs = keras.ops.convert_to_numpy(softmax(scores, mask=mask))
        np.testing.assert_allclose(probs[0, 0, 0], expected, atol=1 / 255)
    with pytest.raises(ValueError, match="mask_mode"):
        QuantSoftmax(mask_mode="-1e9")


def test_quantize_aware_copies_every_weight_to_its_own_place():
    # Each block has layers of the same names, so a weight matched by a
    # shortened path lands in another block; random kernels tell them apart.
    classifier = MobileBertClassifier(
        MobileBertBackbone(**SMALL_BACKBONE), num_classes=2
    )
    qat = quantize_aware(classifier)
    copied = {v.path: v for v in qat.weights}
    for variable in classifier.weights:
        np.testing.assert_array_equal(
            copied[variable.path].numpy(),
            variable.numpy(),
            err_msg=variable.path,
        )
