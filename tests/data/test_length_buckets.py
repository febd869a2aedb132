"""Length-bucketed batches: coverage, determinism, less padding, same output."""

import numpy as np
import pytest

from keras_mobilebert import MobileBertBackbone
from keras_mobilebert import MobileBertTextClassifierPreprocessor
from keras_mobilebert import MobileBertTokenizer
from keras_mobilebert.data import length_buckets as B
from keras_mobilebert.data.glue import load_glue
from keras_mobilebert.data.vocabularies import bert_uncased_vocabulary
from tests.models.helpers import SMALL_BACKBONE
from tests.models.helpers import VOCAB
from tests.shared_data import shared_data_file


def lengths_like_sentences(n=1000, seed=0):
    # Short sentences with a long tail, as in SST-2.
    rng = np.random.RandomState(seed)
    return np.minimum(rng.geometric(0.08, n) + 2, 64)


def test_every_example_once_per_epoch_and_plans_are_reproducible():
    lengths = lengths_like_sentences(1003)
    plan = B.length_bucketed_batches(lengths, 32, seed=3, epoch=1)
    assert len(plan) == -(-1003 // 32)
    assert sorted(len(b) for b in plan)[1:] == [32] * (len(plan) - 1)
    np.testing.assert_array_equal(
        np.sort(np.concatenate(plan)), np.arange(1003)
    )
    again = B.length_bucketed_batches(lengths, 32, seed=3, epoch=1)
    assert all(np.array_equal(a, b) for a, b in zip(plan, again))
    other = B.length_bucketed_batches(lengths, 32, seed=3, epoch=2)
    assert not all(np.array_equal(a, b) for a, b in zip(plan, other))
    # Inference order: sorted by length, nothing shuffled.
    ordered = np.concatenate(B.length_bucketed_batches(lengths, 32, None))
    assert np.all(np.diff(lengths[ordered]) >= 0)


def test_bucketing_cuts_padding_against_plain_batches():
    lengths = lengths_like_sentences(4096)
    plain = B.plain_batches(len(lengths), 32, seed=0)
    bucketed = B.length_bucketed_batches(lengths, 32, seed=0)
    full = B.padded_positions(lengths, plain, 64, trim=False)
    trimmed = B.padded_positions(lengths, plain, 64)
    sorted_ = B.padded_positions(lengths, bucketed, 64)
    assert full > trimmed > 3 * sorted_
    # By hand: lengths [3, 5] in one batch trim to 8 (5 + 1, rounded up),
    # so 16 - 8 = 8 padding positions; at full width 64, 128 - 8 = 120.
    assert B.padded_positions(np.array([3, 5]), [np.array([0, 1])], 64) == 8
    assert B.batch_width([5, 3], 64) == 8
    assert B.batch_width([64, 3], 64) == 64
    assert B.batch_width([7], 64) == 8 and B.batch_width([8], 64) == 16


def test_trimmed_batches_give_the_untrimmed_outputs():
    backbone = MobileBertBackbone(**SMALL_BACKBONE)
    tokenizer = MobileBertTokenizer(vocabulary=VOCAB, lowercase=True)
    preprocessor = MobileBertTextClassifierPreprocessor(
        tokenizer, sequence_length=20
    )
    texts = ["the quick brown fox jumped", "a great film", "the movie"]
    packed = B.pack_texts(preprocessor, texts)
    lengths = B.sequence_lengths(packed["padding_mask"])
    assert lengths.tolist() == [7, 5, 4]
    batch = B.trimmed_batch(packed, np.arange(3), lengths, multiple=1)
    assert batch["token_ids"].shape == (3, 8)
    full = backbone(packed)["sequence_output"].numpy()
    trimmed = backbone(batch)["sequence_output"].numpy()
    for row, length in enumerate(lengths):
        np.testing.assert_allclose(
            trimmed[row, :length], full[row, :length], rtol=1e-5, atol=1e-5
        )


def test_pairs_pack_as_two_segments():
    tokenizer = MobileBertTokenizer(vocabulary=VOCAB, lowercase=True)
    preprocessor = MobileBertTextClassifierPreprocessor(
        tokenizer, sequence_length=10
    )
    packed = B.pack_texts(preprocessor, (["the fox", "a film"], ["a fox"] * 2))
    assert packed["segment_ids"][0].tolist() == [0] * 4 + [1] * 3 + [0] * 3
    assert packed["token_ids"].dtype == np.int32


def test_dataset_resumes_at_a_step_and_trims_each_batch():
    lengths = lengths_like_sentences(100)
    mask = (np.arange(64)[None, :] < lengths[:, None]).astype("int32")
    arrays = {
        "token_ids": mask * 7,
        "segment_ids": np.zeros_like(mask),
        "padding_mask": mask,
        "labels": np.arange(100, dtype="int32"),
    }
    dataset = B.bucketed_dataset(arrays, 16, seed=1)
    steps = list(dataset.take(15).as_numpy_iterator())  # 7 per epoch
    seen = np.concatenate([s["labels"] for s in steps[:7]])
    np.testing.assert_array_equal(np.sort(seen), np.arange(100))
    for batch in steps:
        width = batch["token_ids"].shape[1]
        assert width == B.batch_width(lengths[batch["labels"]], 64)
    resumed = list(B.bucketed_dataset(arrays, 16, seed=1, start_step=9).take(6))
    for a, b in zip(steps[9:], resumed):
        np.testing.assert_array_equal(a["labels"], b["labels"].numpy())
    one_epoch = list(B.bucketed_dataset(arrays, 16, seed=1, repeat=False))
    assert len(one_epoch) == 7


def test_padding_on_real_sst2_sentences():
    split = load_glue("sst2", "train", shared_data_file("sst2/train.tsv"))
    texts = split.select(range(0, len(split), 16)).features  # 4,210
    tokenizer = MobileBertTokenizer(
        vocabulary=bert_uncased_vocabulary(quiet=True), lowercase=True
    )
    preprocessor = MobileBertTextClassifierPreprocessor(
        tokenizer, sequence_length=64
    )
    lengths = B.sequence_lengths(
        B.pack_texts(preprocessor, texts)["padding_mask"]
    )
    plain = B.plain_batches(len(lengths), 32, seed=0)
    bucketed = B.length_bucketed_batches(lengths, 32, seed=0)
    real = int(lengths.sum())
    full = B.padded_positions(lengths, plain, 64, trim=False)
    trimmed = B.padded_positions(lengths, plain, 64)
    sorted_ = B.padded_positions(lengths, bucketed, 64)
    # Positions computed per real token: SST-2 train phrases are short.
    # Widths are rounded up to multiples of 8 past the longest + 1, so
    # even sorted batches carry some padding.
    assert (real + full) / real > 4
    assert (real + sorted_) / real < 1.5
    assert sorted_ < trimmed / 3
    print(
        f"SST-2 train sample: {len(lengths)} texts, mean length "
        f"{lengths.mean():.1f}; positions per real token: full "
        f"{(real + full) / real:.2f}, trimmed {(real + trimmed) / real:.2f}, "
        f"bucketed {(real + sorted_) / real:.2f}"
    )


@pytest.mark.parametrize("multiple", [1, 8])
def test_widths_are_multiples(multiple):
    lengths = lengths_like_sentences(300)
    for batch in B.length_bucketed_batches(lengths, 32, seed=0):
        width = B.batch_width(lengths[batch], 64, multiple)
        assert width == 64 or width % multiple == 0
        assert width > lengths[batch].max() or width == 64
