"""Offline augmentation: neighbours, reproducibility, valid output, leaks."""

import numpy as np
import pytest

from keras_mobilebert.data.glue import load_glue
from keras_mobilebert.data.vocabularies import bert_uncased_vocabulary
from keras_mobilebert.distillation.augmentation import WordNeighbours
from keras_mobilebert.distillation.augmentation import augment_text
from keras_mobilebert.distillation.augmentation import augment_texts
from keras_mobilebert.distillation.augmentation import check_disjoint
from tests.shared_data import shared_data_file

# Two clusters on a circle: good/great/fine near 0 rad, bad/awful/dull
# near pi; "##s" and "[CLS]" are never candidates, "film" stands apart.
VOCAB = ["[PAD]", "[CLS]", "##s", "good", "great", "fine", "bad", "awful"]
VOCAB += ["dull", "film"]
ANGLES = [0.0, 0.1, 0.0, 0.0, 0.05, 0.2, 3.1, 3.15, 3.0, 1.7]
TABLE = np.stack([np.cos(ANGLES), np.sin(ANGLES)], axis=1)


def test_neighbours_are_nearest_whole_words():
    neighbours = WordNeighbours(VOCAB, TABLE, num_neighbours=2)
    assert neighbours["good"] == ["great", "fine"]
    assert neighbours["awful"] == ["bad", "dull"]
    assert "##s" not in neighbours and "[CLS]" not in neighbours
    only = WordNeighbours(VOCAB, TABLE, num_neighbours=2, words=["dull", "x"])
    assert len(only) == 1 and only["dull"] == ["bad", "awful"]
    with pytest.raises(ValueError, match="9 vocabulary tokens for 10"):
        WordNeighbours(VOCAB[:-1], TABLE)


def test_edits_by_probability():
    neighbours = WordNeighbours(VOCAB, TABLE, num_neighbours=1)
    rng = np.random.RandomState(0)
    # Replace everything replaceable: "the" has no neighbours and stays;
    # "film" (1.7 rad) is nearest "dull" (3.0) among whole words.
    out = augment_text("Good film the", neighbours, rng, 1.0, 0.0, 0.0)
    assert out == "Great dull the"
    # Delete everything: one original word survives.
    out = augment_text("a good film", neighbours, rng, 0.0, 1.0, 0.0)
    assert out in ("a", "good", "film")
    out = augment_text("a b", neighbours, rng, 0.0, 0.0, 1.0)
    assert out == "b a"


def test_augment_texts_is_reproducible_valid_and_new():
    neighbours = WordNeighbours(VOCAB, TABLE, num_neighbours=2)
    texts = ["a good film", "dull", "the", "great fine film ."]
    first, sources = augment_texts(texts, neighbours, copies=3, seed=5)
    again, _ = augment_texts(texts, neighbours, copies=3, seed=5)
    other, _ = augment_texts(texts, neighbours, copies=3, seed=6)
    assert first == again and first != other
    for text, source in zip(first, sources):
        assert text.split() and text != texts[source]
    assert len(set(zip(first, sources))) == len(first)
    # "the" has no neighbour and one word: nothing new can be made of it.
    assert 2 not in sources
    # "dull" has two neighbours, so at most two new texts.
    counts = np.bincount(sources)
    assert counts[0] == 3 and 1 <= counts[1] <= 2
    with pytest.raises(ValueError, match="Text 1 is empty"):
        augment_texts(["fine", " "], neighbours)


def test_check_disjoint_names_the_leak():
    check_disjoint(["a good film"], ["a dull film"])
    with pytest.raises(
        ValueError,
        match="Training text 1 .* is also example 0 of the SST-2 dev",
    ):
        check_disjoint(["fine", "A  Dull film"], ["a dull film"], "SST-2 dev")


@pytest.mark.large
def test_minilm_neighbours_on_sst2_keep_text_valid():
    import keras_hub

    from keras_mobilebert.data.pretrained_teachers import minilm_l6_snapshot

    train = load_glue("sst2", "train", shared_data_file("sst2/train.tsv"))
    dev = load_glue("sst2", "validation", shared_data_file("sst2/dev.tsv"))
    texts = train.select(range(0, len(train), 67)).segments[0]  # 1,006
    vocabulary = [
        line.rstrip("\n")
        for line in open(bert_uncased_vocabulary(quiet=True), encoding="utf-8")
    ]
    backbone = keras_hub.models.BertBackbone.from_preset(
        minilm_l6_snapshot(quiet=True)
    )
    words = {w for t in texts for w in t.split()}
    neighbours = WordNeighbours.from_model(
        backbone, vocabulary, words=words, num_neighbours=15
    )
    augmented, sources = augment_texts(texts, neighbours, copies=4, seed=0)
    assert all(text.strip() for text in augmented)
    per_source = np.bincount(sources, minlength=len(texts))
    # Share of output words that are not in the source text.
    new_share = np.mean(
        [
            np.mean([w not in texts[s].split() for w in t.split()])
            for t, s in zip(augmented, sources)
        ]
    )
    known = set(vocabulary)
    new_words = [w for t in augmented for w in t.split() if w not in words]
    assert all(w in known for w in new_words)
    assert per_source.mean() > 3.5
    check_disjoint(augmented, dev.segments[0], "SST-2 dev")
    print(
        f"{len(texts)} SST-2 train texts -> {len(augmented)} augmented "
        f"({per_source.mean():.2f} per text, {np.mean(per_source == 0):.1%} "
        f"with none), {new_share:.1%} of output words new; "
        f"{len(neighbours)} words with neighbours; e.g. "
        f"{texts[sources[0]]!r} -> {augmented[0]!r}; neighbours of 'good': "
        f"{neighbours['good'][:5]}"
    )
