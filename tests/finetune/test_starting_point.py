import numpy as np
import pytest

from keras_mobilebert import MobileBertBackbone
from keras_mobilebert import MobileBertTokenizer
from keras_mobilebert.finetune.starting_point import check_vocabulary
from keras_mobilebert.finetune.starting_point import starting_backbone
from keras_mobilebert.finetune.starting_point import starting_tokenizer
from keras_mobilebert.models.preset_writer import save_preset
from tests.models.helpers import SMALL_BACKBONE
from tests.models.helpers import VOCAB
from tests.models.helpers import backbone_inputs


@pytest.fixture
def saved_backbone(tmp_path):
    backbone = MobileBertBackbone(**SMALL_BACKBONE)
    tokenizer = MobileBertTokenizer(vocabulary=VOCAB, lowercase=True)
    with_tokenizer = save_preset(backbone, tmp_path / "with", tokenizer)
    without = save_preset(backbone, tmp_path / "without")
    return backbone, with_tokenizer, without


def test_random_init_builds_the_architecture_with_overrides():
    backbone = starting_backbone(
        "mobilebert_en_uncased", "random", {"num_layers": 1}
    )
    assert backbone.num_layers == 1 and backbone.hidden_dim == 512


def test_a_directory_init_loads_its_weights(saved_backbone):
    original, with_tokenizer, without = saved_backbone
    x = backbone_inputs(padded=False)
    for directory in (with_tokenizer, without):
        loaded = starting_backbone("mobilebert_en_uncased", str(directory))
        np.testing.assert_array_equal(
            loaded(x)["sequence_output"], original(x)["sequence_output"]
        )


def test_the_tokenizer_comes_from_the_directory_or_the_preset(
    saved_backbone,
):
    _, with_tokenizer, without = saved_backbone
    own = starting_tokenizer("mobilebert_en_uncased", str(with_tokenizer))
    assert own.vocabulary_size() == len(VOCAB)
    fallback = starting_tokenizer("mobilebert_en_uncased", str(without))
    assert fallback.vocabulary_size() == 30522
    backbone = starting_backbone("mobilebert_en_uncased", str(without))
    with pytest.raises(ValueError, match="30522 tokens but the backbone"):
        check_vocabulary(backbone, fallback, str(without))


def test_bad_inits_are_errors_that_name_them(saved_backbone, tmp_path):
    _, with_tokenizer, _ = saved_backbone
    with pytest.raises(ValueError, match="'nowhere' is neither"):
        starting_backbone("mobilebert_en_uncased", "nowhere")
    with pytest.raises(ValueError, match="backbone_overrides"):
        starting_backbone(
            "mobilebert_en_uncased", str(with_tokenizer), {"num_layers": 1}
        )
