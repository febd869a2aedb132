import numpy as np
import pytest

from keras_mobilebert import MobileBertBackbone
from keras_mobilebert import MobileBertQuestionAnswerer
from keras_mobilebert import MobileBertTextClassifier
from keras_mobilebert.models.rebuild import copy_weights
from keras_mobilebert.models.rebuild import rebuild_with_config
from tests.models.helpers import SMALL_BACKBONE
from tests.models.helpers import backbone_inputs


def _assert_same_weights(a, b):
    assert len(a.weights) == len(b.weights)
    for x, y in zip(a.weights, b.weights):
        np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_a_backbone_copy_has_the_change_and_the_same_weights():
    backbone = MobileBertBackbone(**SMALL_BACKBONE)
    copy = rebuild_with_config(
        backbone, backbone_changes={"attention_mask_mode": "fill"}
    )
    assert copy is not backbone
    assert copy.attention_mask_mode == "fill"
    assert backbone.attention_mask_mode == "additive"
    _assert_same_weights(backbone, copy)
    # Unpadded, the two masks agree; the copy computes the same function.
    x = backbone_inputs(padded=False)
    np.testing.assert_allclose(
        copy(x)["sequence_output"], backbone(x)["sequence_output"], atol=1e-5
    )


def test_a_task_copy_keeps_the_whole_task_config():
    classifier = MobileBertTextClassifier(
        MobileBertBackbone(**SMALL_BACKBONE),
        num_classes=3,
        dropout=0.3,
        activation="softmax",
        pooled_normalization=None,
        name="my_classifier",
    )
    copy = rebuild_with_config(
        classifier, backbone_changes={"activation": "relu6"}
    )
    assert type(copy) is MobileBertTextClassifier
    assert copy.backbone.activation == "relu6"
    expected = {k: v for k, v in classifier.get_config().items()}
    got = copy.get_config()
    for key in ("num_classes", "dropout", "activation", "name"):
        assert got[key] == expected[key]
    assert got["pooled_normalization"] is None
    _assert_same_weights(classifier, copy)


def test_a_backbone_model_task_is_rebuilt_too():
    model = MobileBertQuestionAnswerer(MobileBertBackbone(**SMALL_BACKBONE))
    copy = rebuild_with_config(
        model, backbone_changes={"attention_mask_mode": "fill"}
    )
    assert type(copy) is MobileBertQuestionAnswerer
    assert copy.backbone.attention_mask_mode == "fill"
    _assert_same_weights(model, copy)


def test_a_changed_shape_is_an_error_that_names_the_weight():
    backbone = MobileBertBackbone(**SMALL_BACKBONE)
    with pytest.raises(ValueError, match="shape"):
        rebuild_with_config(backbone, backbone_changes={"hidden_dim": 32})


def test_weights_the_copy_lacks_or_adds_are_errors():
    small = MobileBertBackbone(**SMALL_BACKBONE)
    deeper = MobileBertBackbone(**{**SMALL_BACKBONE, "num_layers": 3})
    with pytest.raises(ValueError, match="no place in the copy"):
        copy_weights(deeper, small)
    with pytest.raises(ValueError, match="lacks"):
        copy_weights(small, deeper)
    # Allowed: a bigger target keeps its extra weights as they were.
    extra = deeper.transformer_layers[-1].weights[0].numpy()
    assert copy_weights(small, deeper, allow_new_weights=True) == len(
        small.weights
    )
    np.testing.assert_array_equal(
        deeper.transformer_layers[-1].weights[0].numpy(), extra
    )
