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


def test_teacher_word_table_starts_from_the_teachers_principal_axes(
    monkeypatch,
):
    import keras
    import keras_hub

    from keras_mobilebert.distillation.embedding_init import (
        principal_components,
    )
    from keras_mobilebert.finetune import starting_point

    keras.utils.set_random_seed(0)
    teacher = keras_hub.models.BertBackbone(
        vocabulary_size=30522,
        num_layers=1,
        num_heads=2,
        hidden_dim=32,
        intermediate_dim=32,
        max_sequence_length=16,
    )
    asked = []
    monkeypatch.setattr(
        starting_point,
        "load_teacher",
        lambda name: asked.append(name) or teacher,
    )
    overrides = {"num_layers": 1, "embedding_dim": 16, "hidden_dim": 64}
    backbone = starting_backbone(
        "mobilebert_en_uncased", "teacher_word_table", overrides
    )
    assert asked == ["minilm_l6"] and backbone.num_layers == 1
    table = np.asarray(backbone.token_embedding.embeddings)
    teacher_table = np.asarray(teacher.token_embedding.embeddings)
    coordinates, _ = principal_components(teacher_table, 16)

    def unit(x):
        return x / np.sqrt(np.mean(np.square(x)))

    np.testing.assert_allclose(unit(table), unit(coordinates), atol=1e-4)
    # The random architecture's scale is kept (the layers after the table
    # were initialized for it).
    random = starting_backbone("mobilebert_en_uncased", "random", overrides)
    np.testing.assert_allclose(
        np.std(table),
        np.std(np.asarray(random.token_embedding.embeddings)),
        rtol=0.05,
    )
