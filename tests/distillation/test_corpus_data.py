"""`distill --corpus`'s reader: shards per worker, resume, pair rules.

The corpus is written here without Beam (the pipeline's own tokenizing
step, `TokenizeDocuments.process`, and `write_manifest`), so these tests
run in the main environment; tests/test_corpus_beam.py runs the Beam
pipeline itself.
"""

import collections
import importlib.util

import numpy as np
import pytest
import tensorflow as tf

from keras_mobilebert.data import bert_uncased_vocabulary
from keras_mobilebert.distillation.corpus import TokenizeDocuments
from keras_mobilebert.distillation.corpus import prepare_corpus
from keras_mobilebert.distillation.corpus import read_manifest
from keras_mobilebert.distillation.corpus import shard_counts
from keras_mobilebert.distillation.corpus import write_manifest
from keras_mobilebert.distillation.corpus_data import _KEY_BASE
from keras_mobilebert.distillation.corpus_data import _documents_examples
from keras_mobilebert.distillation.corpus_data import corpus_dataset_factory
from keras_mobilebert.distillation.corpus_data import corpus_pretraining_dataset
from keras_mobilebert.distillation.corpus_data import epoch_documents
from keras_mobilebert.distillation.corpus_data import worker_shards
from keras_mobilebert.models.mobilebert import MobileBertTokenizer
from keras_mobilebert.utils.errors import ConfigError
from keras_mobilebert.utils.errors import MissingDependencyError

WORDS = "the cat dog sat ran on a mat hill big small red blue".split()


def documents(count, seed=0):
    rng = np.random.default_rng(seed)
    docs = []
    for _ in range(count):
        lines = int(rng.integers(1, 4))
        docs.append(
            [
                " ".join(rng.choice(WORDS, int(rng.integers(2, 7)))) + "."
                for _ in range(lines)
            ]
        )
    return docs


def write_corpus(folder, docs, num_shards):
    """`docs` dealt round-robin into shards, as prepare-corpus lays them."""
    vocabulary = bert_uncased_vocabulary(quiet=True)
    tokenize = TokenizeDocuments(vocabulary)
    names = [
        f"documents-{i:05d}-of-{num_shards:05d}.tfrecord"
        for i in range(num_shards)
    ]
    folder.mkdir(parents=True, exist_ok=True)
    writers = [tf.io.TFRecordWriter(str(folder / n)) for n in names]
    for index, doc in enumerate(docs):
        for record in tokenize.process(doc):
            writers[index % num_shards].write(record)
    for writer in writers:
        writer.close()
    counts = shard_counts([folder / n for n in names])
    write_manifest(folder, names, counts, ["test"], vocabulary)
    return folder


@pytest.fixture(scope="module")
def tokenizer():
    return MobileBertTokenizer(
        vocabulary=bert_uncased_vocabulary(quiet=True), lowercase=True
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    docs = documents(23)
    return docs, write_corpus(tmp_path_factory.mktemp("c") / "c", docs, 5)


def ids_of(tokenizer, text):
    """Token ids as Python lists (KerasHub returns lists for list input)."""
    ids = tokenizer(text)
    ids = ids.to_list() if hasattr(ids, "to_list") else ids
    ids = ids.numpy() if hasattr(ids, "numpy") else ids
    return (
        [int(i) for i in ids]
        if isinstance(text, str)
        else [[int(i) for i in s] for s in ids]
    )


def token_lists(tokenizer, docs):
    return sorted(
        tuple(i for s in ids_of(tokenizer, doc) for i in s) for doc in docs
    )


def test_workers_read_every_document_once_per_epoch(corpus, tokenizer):
    docs, folder = corpus
    manifest = read_manifest(folder)
    assert manifest["documents"] == len(docs)
    assert manifest["sentences"] == sum(len(d) for d in docs)
    for epoch in (0, 1):
        keys, contents = collections.Counter(), []
        for worker in (0, 1):
            shards = worker_shards(manifest, 2, worker)
            for key, record in epoch_documents(folder, shards, 0, epoch):
                keys[int(key)] += 1
                ids = tf.io.parse_single_example(
                    record, {"token_ids": tf.io.VarLenFeature(tf.int64)}
                )["token_ids"].values
                contents.append(tuple(ids.numpy().tolist()))
        expected = {
            shard * _KEY_BASE + record
            for shard, entry in enumerate(manifest["shards"])
            for record in range(entry["documents"])
        }
        assert set(keys) == expected
        assert set(keys.values()) == {1}
        assert sorted(contents) == token_lists(tokenizer, docs)


def test_worker_shards_split_and_too_few_shards(corpus):
    _, folder = corpus
    manifest = read_manifest(folder)
    split = [worker_shards(manifest, 2, w) for w in (0, 1)]
    assert [i for i, _ in split[0]] == [0, 2, 4]
    assert [i for i, _ in split[1]] == [1, 3]
    with pytest.raises(ConfigError, match="--num-shards 6"):
        worker_shards(manifest, 6, 0)


def batches(dataset, count):
    return [
        {k: v.numpy() for k, v in batch.items()}
        for batch in dataset.take(count)
    ]


@pytest.mark.parametrize("workers", [1, 2])
def test_resumed_stream_equals_uninterrupted(corpus, tokenizer, workers):
    _, folder = corpus
    kwargs = dict(
        sequence_length=24,
        max_predictions=4,
        seed=3,
        shuffle_buffer=16,
        num_workers=workers,
        worker_index=workers - 1,
    )
    # About 40 sentences in all: 12 steps of 4 cross epoch borders. The
    # global seed (distill sets it) must change nothing.
    tf.random.set_seed(1)
    whole = batches(
        corpus_pretraining_dataset(folder, tokenizer, 4, **kwargs), 12
    )
    tf.random.set_seed(2)
    for start in (1, 7, 10):
        resumed = batches(
            corpus_pretraining_dataset(
                folder, tokenizer, 4, start_step=start, **kwargs
            ),
            12 - start,
        )
        for a, b in zip(whole[start:], resumed):
            for key in a:
                np.testing.assert_array_equal(a[key], b[key])
    other_seed = batches(
        corpus_pretraining_dataset(
            folder, tokenizer, 4, **{**kwargs, "seed": 4}
        ),
        1,
    )
    assert not np.array_equal(other_seed[0]["token_ids"], whole[0]["token_ids"])


def test_batches_mask_and_label(corpus, tokenizer):
    _, folder = corpus
    (batch,) = batches(
        corpus_pretraining_dataset(
            folder, tokenizer, 16, sequence_length=32, max_predictions=5
        ),
        1,
    )
    assert batch["token_ids"].shape == (16, 32)
    assert (batch["token_ids"][:, 0] == tokenizer.cls_token_id).all()
    # At least one mask per row, 15% of the real tokens rounded.
    assert (batch["mask_weights"].sum(axis=1) >= 1).all()
    labels = batch["next_sentence_labels"]
    assert set(labels.tolist()) <= {0, 1} and 0 < labels.sum() < 16


def test_pair_rules_match_the_in_memory_table(tokenizer):
    """A is each sentence, its next one the continuation; the last pairs
    with its predecessor; one sentence splits at half its words."""
    process = TokenizeDocuments(bert_uncased_vocabulary(quiet=True)).process
    docs = (
        ["a b c.", "d e!", "f g h i"],
        ["one two three, four five"],
        ["x y.", "z w v u."],
    )
    # Parsed in one batch, as the reader does: each document's examples
    # in order, the documents in order.
    records = [record for doc in docs for record in process(doc)]
    examples = _documents_examples(
        tf.constant([7, 8, 9], tf.int64), tf.constant(records)
    )
    examples = {
        k: v.to_list() if hasattr(v, "to_list") else v.numpy().tolist()
        for k, v in examples.items()
    }
    rows = []
    for doc in docs:
        ids = [ids_of(tokenizer, line) for line in doc]
        if len(doc) == 1:
            words = doc[0].split()
            half = len(words) // 2
            pairs = [(" ".join(words[:half]), " ".join(words[half:]))]
        else:
            pairs = [(doc[i], doc[i + 1]) for i in range(len(doc) - 1)]
            pairs.append((doc[-2], doc[-1]))
        for (a, b), sentence in zip(pairs, ids):
            rows.append((ids_of(tokenizer, a), ids_of(tokenizer, b), sentence))
    assert len(examples["document"]) == len(rows) == 6
    assert examples["document"] == [7, 7, 7, 8, 9, 9]
    for index, (a, b, sentence) in enumerate(rows):
        assert examples["a"][index] == a
        assert examples["continuation"][index] == b
        assert examples["sentence"][index] == sentence


def test_factory_uses_the_input_context(corpus, tokenizer):
    _, folder = corpus
    make = corpus_dataset_factory(
        folder, tokenizer, 8, sequence_length=24, max_predictions=4
    )
    context = tf.distribute.InputContext(
        num_input_pipelines=2, input_pipeline_id=1, num_replicas_in_sync=2
    )
    (batch,) = batches(make(0, context), 1)
    assert batch["token_ids"].shape == (4, 24)
    (direct,) = batches(
        corpus_pretraining_dataset(
            folder,
            tokenizer,
            4,
            sequence_length=24,
            max_predictions=4,
            num_workers=2,
            worker_index=1,
        ),
        1,
    )
    np.testing.assert_array_equal(batch["token_ids"], direct["token_ids"])


@pytest.mark.skipif(
    importlib.util.find_spec("apache_beam") is not None,
    reason="Apache Beam is installed here (tests/test_corpus_beam.py runs it)",
)
def test_prepare_corpus_without_beam_names_the_extra(tmp_path):
    text = tmp_path / "a.txt"
    text.write_text("one sentence.\n")
    with pytest.raises(
        MissingDependencyError, match=r"keras-mobilebert\[corpus\]"
    ):
        prepare_corpus([text], tmp_path / "corpus")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
