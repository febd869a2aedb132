import numpy as np
import pytest

from keras_mobilebert import MobileBertBackbone
from keras_mobilebert import MobileBertClassifier
from keras_mobilebert.models.mobilebert.norm_folding import (
    NormFoldedMobileBertBackbone,
)
from keras_mobilebert.models.mobilebert.norm_folding import fold_norms
from keras_mobilebert.models.mobilebert.norm_folding import folded_weights
from tests.models.helpers import SMALL_BACKBONE
from tests.models.helpers import SMALL_TEACHER
from tests.models.helpers import SMALL_TINY
from tests.models.helpers import backbone_inputs

VARIANTS = {
    "mobilebert": SMALL_BACKBONE,
    "tiny": SMALL_TINY,
    "no_bottleneck": {**SMALL_BACKBONE, "use_bottleneck": False},
    "no_trigram_pooler": {
        **SMALL_BACKBONE,
        "trigram_input": False,
        "embedding_dim": 16,
        "use_pooler": True,
    },
}


def _trained_norms(backbone, seed=0):
    """Give every NoNorm a scale and offset far from the identity."""
    rng = np.random.RandomState(seed)
    for w in backbone.weights:
        if w.path.endswith("/gamma"):
            sign = rng.choice([-1.0, 1.0], w.shape)
            w.assign(rng.uniform(0.5, 1.5, w.shape) * sign)
        elif w.path.endswith("/beta"):
            w.assign(rng.normal(0.0, 0.5, w.shape))
    return backbone


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_folded_backbone_matches_the_original(variant):
    backbone = _trained_norms(MobileBertBackbone(**VARIANTS[variant]))
    folded = fold_norms(backbone)
    assert isinstance(folded, NormFoldedMobileBertBackbone)
    inputs = backbone_inputs()
    # The reference is the unmodified model, NoNorms in place.
    expected = {k: np.asarray(v) for k, v in backbone(inputs).items()}
    got = folded(inputs)
    for name, value in expected.items():
        scale = np.max(np.abs(value))
        np.testing.assert_allclose(
            np.asarray(got[name]), value, atol=1e-5 * scale
        )


def test_folded_backbone_has_no_norm_weights_but_one_output_affine():
    backbone = _trained_norms(MobileBertBackbone(**SMALL_BACKBONE))
    folded = fold_norms(backbone)
    paths = [v.path for v in folded.weights]
    norms = [p for p in paths if p.endswith(("/gamma", "/beta"))]
    assert norms == ["output_affine/gamma", "output_affine/beta"]
    # Exactly the NoNorm weights are gone.
    original = {v.path for v in backbone.weights}
    removed = {p for p in original if p.endswith(("/gamma", "/beta"))}
    assert set(paths) == (original - removed) | set(norms)


def test_folding_an_identity_norm_changes_no_weight():
    # Fresh NoNorms are x * 1 + 0: the fold must leave every dense alone.
    backbone = MobileBertBackbone(**SMALL_BACKBONE)
    values = folded_weights(backbone)
    for v in backbone.weights:
        if not v.path.endswith(("/gamma", "/beta")):
            np.testing.assert_array_equal(values[v.path], v.numpy())
    np.testing.assert_array_equal(values["output_affine/gamma"], 1.0)
    np.testing.assert_array_equal(values["output_affine/beta"], 0.0)


def test_a_single_dense_fold_by_hand():
    # One NoNorm (g, b) before a dense (W, c): W' = diag(g) W, c' = c + b W.
    backbone = _trained_norms(MobileBertBackbone(**SMALL_BACKBONE))
    weights = {v.path: v.numpy() for v in backbone.weights}
    values = folded_weights(backbone)
    g = weights["embeddings/norm/gamma"].astype("float64")
    b = weights["embeddings/norm/beta"].astype("float64")
    path = "transformer_layer_0/attention/value/"
    kernel = weights[path + "kernel"].astype("float64")
    bias = weights[path + "bias"].astype("float64")
    np.testing.assert_allclose(
        values[path + "kernel"], g[:, None] * kernel, rtol=1e-6
    )
    np.testing.assert_allclose(
        values[path + "bias"], bias + b @ kernel, rtol=1e-5, atol=1e-6
    )


def test_folded_classifier_matches_and_keeps_its_head():
    backbone = _trained_norms(MobileBertBackbone(**SMALL_BACKBONE))
    classifier = MobileBertClassifier(backbone, num_classes=3, dropout=0.2)
    folded = fold_norms(classifier)
    assert type(folded) is MobileBertClassifier
    assert isinstance(folded.backbone, NormFoldedMobileBertBackbone)
    assert folded.get_config()["dropout"] == 0.2
    inputs = backbone_inputs()
    expected = np.asarray(classifier(inputs))
    np.testing.assert_allclose(np.asarray(folded(inputs)), expected, atol=1e-5)
    # The original is untouched.
    assert any(v.path.endswith("/gamma") for v in classifier.weights)


def test_zero_gamma_on_a_residual_stream_is_refused_by_name():
    backbone = _trained_norms(MobileBertBackbone(**SMALL_BACKBONE))
    norm = backbone.get_layer("transformer_layer_1").attention_output_norm
    gamma = norm.gamma.numpy()
    gamma[3] = 0.0
    norm.gamma.assign(gamma)
    with pytest.raises(ValueError, match="ffn_0_output.*channels \\[3\\]"):
        fold_norms(backbone)


def test_layer_norm_models_are_refused():
    with pytest.raises(ValueError, match="Only NoNorm models fold"):
        fold_norms(MobileBertBackbone(**SMALL_TEACHER))


def test_intermediates_are_refused():
    folded = fold_norms(MobileBertBackbone(**SMALL_BACKBONE))
    with pytest.raises(ValueError, match="folded basis"):
        folded.intermediates_model()
