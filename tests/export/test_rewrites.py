"""to_litert's speed-ups: NoNorm folding and symmetric key/value ranges."""

import keras
import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")

from keras_mobilebert import MobileBertBackbone  # noqa: E402
from keras_mobilebert import export  # noqa: E402
from keras_mobilebert.export.rewrites import conversion_model  # noqa: E402
from keras_mobilebert.export.verification import run_tflite  # noqa: E402
from keras_mobilebert.models.mobilebert.norm_folding import (  # noqa: E402
    NormFoldedMobileBertBackbone,
)
from keras_mobilebert.quantization import quantize_aware  # noqa: E402
from keras_mobilebert.quantization.fake_quant import QuantDense  # noqa: E402
from tests.models.helpers import SMALL_BACKBONE  # noqa: E402
from tests.models.helpers import SMALL_TEACHER  # noqa: E402
from tests.models.helpers import backbone_inputs  # noqa: E402
from tests.quantization import helpers  # noqa: E402

LENGTH = 12
CONFIG = {**SMALL_BACKBONE, "attention_mask_mode": "fill"}


def _samples(count=16, seed=3):
    batch = backbone_inputs(batch=count, length=LENGTH, seed=seed)
    return [{k: v[i] for k, v in batch.items()} for i in range(count)]


def _trained_like_norms(backbone, seed=0):
    """NoNorms far from `x * 1 + 0`, which the converter would drop."""
    rng = np.random.RandomState(seed)
    for w in backbone.weights:
        if w.path.endswith("/gamma"):
            sign = rng.choice([-1.0, 1.0], w.shape)
            w.assign(rng.uniform(0.5, 1.5, w.shape) * sign)
        elif w.path.endswith("/beta"):
            w.assign(rng.normal(0.0, 0.5, w.shape))
    return backbone


def _export(model, path, quantization, rewrites=True, **kwargs):
    return export.to_litert(
        model,
        path,
        quantization=quantization,
        sequence_length=LENGTH,
        representative_data=_samples(),
        num_samples=8,
        rewrites=rewrites,
        log=None,
        **kwargs,
    )


def _count(ops, name):
    return sum(1 for op in ops if op["op"] == name)


@pytest.mark.parametrize("quantization", ["float32", "dynamic"])
def test_folding_changes_no_output_beyond_float_rounding(
    tmp_path, quantization
):
    keras.utils.set_random_seed(0)
    backbone = _trained_like_norms(MobileBertBackbone(**CONFIG))
    folded = _export(backbone, tmp_path / "folded.tflite", quantization)
    plain = _export(
        backbone, tmp_path / "plain.tflite", quantization, rewrites=False
    )
    assert folded.rewrites == ("fold_norms",)
    assert plain.rewrites == ()
    folded_bytes = (tmp_path / "folded.tflite").read_bytes()
    plain_bytes = (tmp_path / "plain.tflite").read_bytes()
    folded_ops = export.list_ops(folded_bytes)
    plain_ops = export.list_ops(plain_bytes)
    # The six NoNorms per block behind a residual sum (and the embedding
    # norm) are gone: fewer element-wise ops.
    assert _count(folded_ops, "MUL") < _count(plain_ops, "MUL")
    assert _count(folded_ops, "ADD") < _count(plain_ops, "ADD")
    samples = export.random_inputs(CONFIG["vocabulary_size"], LENGTH, 4)
    got = run_tflite(folded_bytes, samples)["sequence_output"]
    reference = run_tflite(plain_bytes, samples)["sequence_output"]
    scale = np.max(np.abs(reference))
    if quantization == "float32":
        # Verified against the original (unfolded) Keras model.
        assert folded.relative_error < 1e-5
        np.testing.assert_allclose(got, reference, atol=1e-5 * scale)
    else:
        # Dynamic-range quantizes the folded weights per channel: close,
        # not equal.
        assert np.max(np.abs(got - reference)) < 0.1 * scale


def test_folding_skips_models_it_does_not_apply_to():
    mode = export.MODES["float32"]
    layer_norm = MobileBertBackbone(**SMALL_TEACHER)
    assert conversion_model(layer_norm, mode) == (layer_norm, ())
    backbone = MobileBertBackbone(**CONFIG)
    folded, applied = conversion_model(backbone, mode)
    assert applied == ("fold_norms",)
    assert isinstance(folded, NormFoldedMobileBertBackbone)
    assert conversion_model(folded, mode) == (folded, ())
    assert conversion_model(backbone, mode, rewrites=False) == (backbone, ())
    # int8 never folds.
    _, applied = conversion_model(
        backbone, export.MODES["int8"], export.random_inputs(21, LENGTH, 2)
    )
    assert applied == ("symmetric_key_value",)


def _qat_classifier(symmetric_key_value):
    """The toy classifier after one QAT epoch (learned ranges)."""
    qat = quantize_aware(
        helpers.trained_classifier(), symmetric_key_value=symmetric_key_value
    )
    texts, labels = helpers.toy_texts(128, seed=3)
    helpers.compile_classifier(qat, 1e-3)
    qat.fit(helpers.dataset(texts, labels), epochs=1, verbose=0)
    return qat


def test_int8_and_qat_int8_files_run_every_attention_matmul_in_xnnpack(
    tmp_path,
):
    keras.utils.set_random_seed(0)
    backbone = MobileBertBackbone(**CONFIG)
    old_qat = _qat_classifier(symmetric_key_value=False)
    matmuls = 2 * CONFIG["num_layers"]
    cases = {
        "int8": (backbone, "int8", True),
        "int8_off": (backbone, "int8", False),
        "qat_int8": (_qat_classifier(True), "qat_int8", True),
        "old_qat_int8": (old_qat, "qat_int8", True),
        "old_qat_int8_off": (old_qat, "qat_int8", False),
    }
    zero_points = {}
    results = {}
    for name, (model, quantization, rewrites) in cases.items():
        path = tmp_path / f"{name}.tflite"
        results[name] = _export(model, path, quantization, rewrites)
        zero_points[name] = export.batch_matmul_rhs_zero_points(
            path.read_bytes()
        )
        assert len(zero_points[name]) == matmuls, name
    assert zero_points["int8"] == [0] * matmuls
    assert results["int8"].rewrites == ("symmetric_key_value",)
    # Trained symmetric: nothing to rewrite, zero points 0 all the same.
    assert zero_points["qat_int8"] == [0] * matmuls
    assert results["qat_int8"].rewrites == ()
    # Trained asymmetric (a preset saved before the option): made
    # symmetric at export, verified against the model as trained.
    assert zero_points["old_qat_int8"] == [0] * matmuls
    assert results["old_qat_int8"].rewrites == ("symmetric_key_value",)
    # Without the rewrites, calibrated or learned asymmetric ranges give
    # other zero points.
    assert set(zero_points["int8_off"]) != {0}
    assert set(zero_points["old_qat_int8_off"]) != {0}
    for name, result in results.items():
        limits = export.MODES[result.quantization].tolerance()
        assert result.relative_error <= limits["relative_error"], name


def test_quantize_aware_quantizes_only_keys_and_values_symmetrically():
    qat = quantize_aware(MobileBertBackbone(**CONFIG))
    assert qat.quantization_symmetric_key_value
    symmetric = {
        layer.name
        for layer in qat._flatten_layers()
        if isinstance(layer, QuantDense) and layer.symmetric_output
    }
    assert symmetric == {"key", "value"}
    block = qat.transformer_layers[0]
    assert block.attention.key_dense.output_quantizer.symmetric
    assert not block.attention.query_dense.output_quantizer.symmetric
    # The option survives a save (config) and reload.
    config = qat.get_config()
    assert config["quantization_symmetric_key_value"] is True
    assert type(qat).from_config(config).quantization_symmetric_key_value
