"""The MLM + NSP pipeline: pairs, 80/10/10 masking, determinism, resume."""

import numpy as np
import pytest
import tensorflow as tf

from keras_mobilebert import MobileBertTokenizer
from keras_mobilebert.distillation.data import mask_tokens
from keras_mobilebert.distillation.data import pretraining_dataset
from keras_mobilebert.distillation.data import read_documents
from keras_mobilebert.distillation.data import sentence_pair_table

WORDS = [f"w{i}" for i in range(60)]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
PAD, CLS, SEP, MASK_ID = 0, 2, 3, 4


@pytest.fixture(scope="module")
def tokenizer():
    return MobileBertTokenizer(vocabulary=VOCAB, lowercase=True)


def write_corpus(path):
    rng = np.random.RandomState(0)
    lines = []
    for doc in range(6):
        for _ in range(4):
            words = rng.choice(WORDS[doc * 10 : (doc + 1) * 10], 6)
            lines.append(" ".join(words))
        lines.append("")
    path.write_text("\n".join(lines))
    return path


def test_read_documents_and_pair_table(tmp_path):
    path = write_corpus(tmp_path / "corpus.txt")
    documents = read_documents(path)
    assert len(documents) == 6 and all(len(d) == 4 for d in documents)
    table = sentence_pair_table([["a b c d"], ["x y", "z"]])
    assert list(table["first"]) == ["a b", "x y", "x y"]
    assert list(table["continuation"]) == ["c d", "z", "z"]
    assert list(table["doc_start"]) == [0, 1, 1]
    assert list(table["doc_size"]) == [1, 2, 2]


def test_masking_statistics():
    rng = np.random.RandomState(1)
    ids = rng.randint(5, 65, (400, 40)).astype("int32")
    ids[:, 0] = CLS
    ids[:, 20] = SEP
    ids[:, -1] = SEP
    ids[:200, 30:] = PAD
    masked, positions, original, weights = (
        np.asarray(t)
        for t in mask_tokens(
            ids,
            tf.constant([3, 4]),
            65,
            MASK_ID,
            [CLS, SEP, PAD],
            max_predictions=8,
        )
    )
    real = (ids != CLS) & (ids != SEP) & (ids != PAD)
    num_real = real.sum(1)
    np.testing.assert_array_equal(
        weights.sum(1), np.clip(np.round(num_real * 0.15), 1, 8)
    )
    chosen = []
    for b in range(ids.shape[0]):
        for p, o, w in zip(positions[b], original[b], weights[b]):
            if w:
                assert real[b, p], "a special token or padding was masked"
                assert o == ids[b, p]
                chosen.append(masked[b, p] == MASK_ID)
        # Untouched elsewhere.
        selected = set(positions[b][weights[b] > 0])
        others = [i for i in range(ids.shape[1]) if i not in selected]
        np.testing.assert_array_equal(masked[b, others], ids[b, others])
    share_mask = np.mean(chosen)
    assert 0.75 < share_mask < 0.85, share_mask
    # Same seed, same masks; another seed, other masks.
    again = mask_tokens(
        ids,
        tf.constant([3, 4]),
        65,
        MASK_ID,
        [CLS, SEP, PAD],
        max_predictions=8,
    )
    np.testing.assert_array_equal(again[0], masked)
    other = mask_tokens(
        ids,
        tf.constant([5, 4]),
        65,
        MASK_ID,
        [CLS, SEP, PAD],
        max_predictions=8,
    )
    assert not np.array_equal(other[0], masked)


def test_pairs_labels_and_resume(tmp_path, tokenizer):
    documents = read_documents(write_corpus(tmp_path / "corpus.txt"))
    dataset = pretraining_dataset(
        documents,
        tokenizer,
        batch_size=16,
        sequence_length=20,
        max_predictions=4,
        seed=5,
    )
    batches = [tf.nest.map_structure(np.asarray, b) for b in dataset.take(12)]
    labels = np.concatenate([b["next_sentence_labels"] for b in batches])
    assert 0.35 < labels.mean() < 0.65
    vocab = np.array(VOCAB)
    for b in batches[:3]:
        for i in range(16):
            ids = b["token_ids"][i]
            # Restore the masked tokens to read the pair.
            ids = ids.copy()
            w = b["mask_weights"][i] > 0
            ids[b["mask_positions"][i][w]] = b["mask_ids"][i][w]
            sep = np.flatnonzero(ids == SEP)
            a_words = set(vocab[ids[1 : sep[0]]])
            b_words = set(vocab[ids[sep[0] + 1 : sep[1]]])
            # Documents use disjoint words: same document <=> IsNext.
            same_doc = {int(x[1:]) // 10 for x in a_words} == {
                int(x[1:]) // 10 for x in b_words
            }
            assert same_doc == (b["next_sentence_labels"][i] == 0)
            np.testing.assert_array_equal(
                b["segment_ids"][i][: sep[1] + 1],
                [0] * (sep[0] + 1) + [1] * (sep[1] - sep[0]),
            )
            assert b["padding_mask"][i].sum() == sep[1] + 1
    # Starting at step 7 yields exactly batch 7 onwards: resume without
    # replaying, and the stream is reproducible.
    resumed = pretraining_dataset(
        documents,
        tokenizer,
        batch_size=16,
        sequence_length=20,
        max_predictions=4,
        seed=5,
        start_step=7,
    )
    for expected, got in zip(batches[7:], resumed.take(5)):
        for key in expected:
            np.testing.assert_array_equal(expected[key], np.asarray(got[key]))
