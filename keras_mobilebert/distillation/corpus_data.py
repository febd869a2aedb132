"""A `prepare-corpus` folder -> MLM + NSP batches, streamed with tf.data.

The in-memory path (`data.pretraining_dataset`) draws every batch from a
sentence table by index; a corpus larger than memory cannot be indexed at
random, so this reader streams the shards and keeps the batches a pure
function of `(seed, step)` another way:

- Epoch `e` of a worker is a fixed function of `(seed, e)`: its shards in
  an order drawn by a stateless shuffle of `(seed, e)`, read through a
  deterministic interleave, one example per sentence, each block of
  `shuffle_buffer` examples permuted by a stateless draw of `(seed, e,
  block)` (`block_shuffle`). Nothing depends on earlier epochs.
- The epochs follow each other and are batched across their borders, so
  no sentence is dropped at an epoch's end.
- Resuming at step `n` starts at example `n * batch_size` of that stream:
  the manifest's sentence counts give the epoch it falls in, whose stream
  is rebuilt and skipped into (at most one epoch is read and dropped,
  never the `n` steps before it).
- The coin of each pair, the other-document sentence and the masks are
  stateless draws of `data.step_seeds(seed, step, worker)`.

So a run resumed at step `n` sees exactly the batches an uninterrupted one
would. Under a multi-worker strategy each worker (input pipeline) reads
`shards[worker::workers]`: across workers every document is read once an
epoch. Memory holds the shuffle buffer and a few records, whatever the
corpus size.

Pairs follow `data.sentence_pair_table`'s rules: A is each sentence with
its next one as the true continuation; the last sentence of a document
pairs with its predecessor; a one-sentence document is split at half its
words (the split point was stored by `prepare-corpus`). A random B
(NotNext, probability `1 - next_sentence_rate`) is the whole sentence of
another example of the same batch from another document; a batch whose
examples all come from one document keeps its true continuations.
"""

import pathlib

import tensorflow as tf

from keras_mobilebert.distillation.corpus import read_manifest
from keras_mobilebert.distillation.corpus import vocabulary_sha256
from keras_mobilebert.distillation.data import pack_and_mask
from keras_mobilebert.distillation.data import pair_packer
from keras_mobilebert.distillation.data import step_seeds
from keras_mobilebert.utils.errors import ConfigError
from keras_mobilebert.utils.errors import InputFormatError

_FEATURES = {
    name: tf.io.VarLenFeature(tf.int64)
    for name in ("token_ids", "sentence_lengths", "split_points")
}
# Document keys: shard index * _KEY_BASE + record index in the shard.
_KEY_BASE = 2**40
# Documents parsed and split into examples at once.
_PARSE_BATCH = 256


def worker_shards(manifest, num_workers=1, worker_index=0):
    """The manifest's shards one worker reads: `shards[index::workers]`.

    Args:
        manifest: `corpus.read_manifest`'s dict.
        num_workers: int. Input pipelines (workers) reading the corpus.
        worker_index: int. This one's index.

    Returns:
        List of `(shard_index, shard_entry)`.

    Example:
    ```python
    mine = worker_shards(read_manifest("corpus"), 2, 0)
    ```
    """
    shards = list(enumerate(manifest["shards"]))
    if len(shards) < num_workers:
        raise ConfigError(
            f"The corpus has {len(shards)} shards for {num_workers} "
            "workers: each worker reads whole shards; run prepare-corpus "
            f"with --num-shards {num_workers} or more."
        )
    return shards[worker_index::num_workers]


def _documents_examples(keys, records):
    """A batch of documents -> their examples, one per sentence, in order.

    Vectorized over the batch (one `parse_example` and ragged gathers for
    all its documents): a dataset per document cost most of the reader's
    time on one core.

    Args:
        keys: int64 `(documents,)`, the document keys.
        records: string `(documents,)`, serialized records.

    Returns:
        A dict of `a`, `continuation`, `sentence` (ragged `(examples,
        None)` token ids) and `document` (int64 `(examples,)`), documents
        in order and each document's sentences in order.
    """
    docs = tf.io.parse_example(records, _FEATURES)
    ids = tf.RaggedTensor.from_sparse(docs["token_ids"])
    lengths = tf.RaggedTensor.from_sparse(docs["sentence_lengths"])
    splits = tf.RaggedTensor.from_sparse(docs["split_points"])
    flat_lengths = lengths.values
    # Per sentence: its document, its index i in it, the document's n.
    row = lengths.value_rowids()
    n = tf.gather(lengths.row_lengths(), row)
    first = tf.gather(lengths.row_splits, row)
    i = tf.range(tf.size(row, out_type=tf.int64)) - first
    # Sentence starts in `ids.values`: the document's start plus the
    # lengths of its earlier sentences.
    cumulative = tf.cumsum(flat_lengths, exclusive=True)
    starts = (
        tf.gather(ids.row_splits, row)
        + cumulative
        - tf.gather(cumulative, first)
    )
    last = (i == n - 1) & (n > 1)
    a_index = first + tf.where(last, i - 1, i)
    b_index = first + tf.minimum(tf.where(last, i, i + 1), n - 1)
    single = n == 1
    split = tf.gather(splits.values, first)
    a_start = tf.gather(starts, a_index)
    a_length = tf.where(single, split, tf.gather(flat_lengths, a_index))
    b_start = tf.where(
        single, tf.gather(starts, first) + split, tf.gather(starts, b_index)
    )
    b_length = tf.where(
        single,
        tf.gather(flat_lengths, first) - split,
        tf.gather(flat_lengths, b_index),
    )

    def pieces(start, length):
        return tf.gather(ids.values, tf.ragged.range(start, start + length))

    return {
        "a": pieces(a_start, a_length),
        "continuation": pieces(b_start, b_length),
        "sentence": pieces(starts, flat_lengths),
        "document": tf.gather(keys, row),
    }


def epoch_documents(corpus_dir, shards, seed, epoch, with_keys=True):
    """One epoch of a worker's documents: `(key, serialized record)`.

    Args:
        corpus_dir: the corpus folder.
        shards: `worker_shards`' list.
        seed: int. Seed of the stream.
        epoch: int64 scalar (a tensor inside `flat_map`).
        with_keys: bool. Keep the document keys (shard and record index).

    Example:
    ```python
    documents = epoch_documents("corpus", worker_shards(manifest), 0, 0)
    ```
    """
    files = tf.constant(
        [str(pathlib.Path(corpus_dir) / s["file"]) for _, s in shards]
    )
    indices = tf.constant([index for index, _ in shards], tf.int64)
    count = len(shards)
    epoch = tf.cast(epoch, tf.int64)
    # A stateless permutation of the shards per (seed, epoch); the raw op
    # takes one 3-element seed per index.
    order = tf.raw_ops.RandomIndexShuffle(
        index=tf.range(count, dtype=tf.int64),
        seed=tf.tile(
            tf.stack(
                [
                    tf.constant(int(seed), tf.int64),
                    epoch,
                    tf.constant(29, tf.int64),
                ]
            )[None],
            [count, 1],
        ),
        max_index=tf.constant(count - 1, tf.int64),
        rounds=4,
    )

    def read(position):
        shard = tf.gather(indices, position)
        records = tf.data.TFRecordDataset(tf.gather(files, position))
        # The key without a per-record map.
        return records.enumerate(start=shard * _KEY_BASE)

    return tf.data.Dataset.from_tensor_slices(order).interleave(
        read,
        cycle_length=min(count, 4),
        block_length=1,
    )


def block_shuffle(examples, block_size, seed, epoch):
    """Permute each block of `block_size` examples, statelessly.

    `Dataset.shuffle` cannot take a seed that depends on the epoch tensor
    once a global seed is set (as `distill` does), and its order depends
    on that global seed; this permutation is a function of `(seed, epoch,
    block)` only. Memory holds one block.

    Args:
        examples: a dataset of dicts of tensors.
        block_size: int. Examples per block.
        seed: int.
        epoch: int64 scalar tensor.

    Example:
    ```python
    shuffled = block_shuffle(examples, 10_000, 0, tf.constant(0, tf.int64))
    ```
    """

    def permute(block_index, block):
        size = tf.shape(block["document"], out_type=tf.int64)[0]
        key = tf.stack(
            [tf.cast(seed, tf.int64), epoch * 1_000_003 + block_index, 31]
        )
        order = tf.raw_ops.RandomIndexShuffle(
            index=tf.range(size),
            seed=tf.tile(key[None], [size, 1]),
            max_index=tf.maximum(size - 1, 0),
            rounds=4,
        )
        return tf.data.Dataset.from_tensor_slices(
            {name: tf.gather(value, order) for name, value in block.items()}
        )

    return examples.ragged_batch(int(block_size)).enumerate().flat_map(permute)


def corpus_pretraining_dataset(
    corpus_dir,
    tokenizer,
    batch_size,
    sequence_length=128,
    max_predictions=20,
    seed=0,
    start_step=0,
    mask_rate=0.15,
    next_sentence_rate=0.5,
    shuffle_buffer=10_000,
    num_workers=1,
    worker_index=0,
):
    """An infinite dataset of MLM + NSP batches streamed from a corpus.

    Args:
        corpus_dir: a `prepare-corpus` folder.
        tokenizer: the `MobileBertTokenizer` the corpus was made with.
        batch_size: int. This input pipeline's batch size (the per-worker
            or per-replica batch under a strategy).
        sequence_length: int. Packed length.
        max_predictions: int. Masks per sequence.
        seed: int. Seed of the whole stream.
        start_step: int. First batch to yield (resume).
        mask_rate: float. Share of tokens masked.
        next_sentence_rate: float. Share of true-continuation pairs.
        shuffle_buffer: int. Examples per shuffled block (memory grows
            with it, not with the corpus).
        num_workers: int. Input pipelines reading the corpus.
        worker_index: int. This pipeline's index: it reads
            `worker_shards(manifest, num_workers, worker_index)`.

    Returns:
        A `tf.data.Dataset` of the dicts `data.pretraining_dataset` yields.

    Example:
    ```python
    dataset = corpus_pretraining_dataset("corpus", tokenizer, batch_size=32)
    ```
    """
    manifest = read_manifest(corpus_dir)
    expected = manifest["tokenizer"]["vocabulary_sha256"]
    vocabulary = getattr(tokenizer, "vocabulary", None)
    if isinstance(vocabulary, (str, pathlib.Path)):
        if vocabulary_sha256(vocabulary) != expected:
            raise InputFormatError(
                f"{corpus_dir} was tokenized with another vocabulary "
                f"(SHA-256 {expected[:12]}...) than this tokenizer's."
            )
    shards = worker_shards(manifest, num_workers, worker_index)
    per_epoch = sum(s["sentences"] for _, s in shards)
    if per_epoch == 0:
        raise InputFormatError(
            f"{corpus_dir}: worker {worker_index} has no sentences."
        )
    first_example = int(start_step) * int(batch_size)
    first_epoch, within = divmod(first_example, per_epoch)
    seed = int(seed)
    single_document = manifest["documents"] == 1

    def epoch_examples(epoch):
        examples = (
            epoch_documents(corpus_dir, shards, seed, epoch)
            .batch(_PARSE_BATCH)
            .map(_documents_examples)
            .unbatch()
        )
        return block_shuffle(examples, shuffle_buffer, seed, epoch)

    packer = pair_packer(tokenizer, sequence_length)

    def make_batch(step, batch):
        seeds = step_seeds(seed, step, worker_index)
        size = tf.shape(batch["document"])[0]
        coin = tf.random.stateless_uniform([size], seeds[0])
        document = batch["document"]
        differ = document[:, None] != document[None, :]
        count = tf.reduce_sum(tf.cast(differ, tf.int32), axis=1)
        offset = tf.random.stateless_uniform(
            [size], seeds[1], minval=0, maxval=2**30, dtype=tf.int32
        )
        k = offset % tf.maximum(count, 1)
        rank = tf.cumsum(tf.cast(differ, tf.int32), axis=1) - 1
        other = tf.argmax(
            differ & (rank == k[:, None]), axis=1, output_type=tf.int32
        )
        is_next = (coin < next_sentence_rate) | (count == 0)
        if single_document:
            is_next = tf.ones_like(is_next)
        candidates = tf.concat(
            [batch["continuation"], tf.gather(batch["sentence"], other)], axis=0
        )
        pick = tf.where(is_next, tf.range(size), size + tf.range(size))
        return pack_and_mask(
            batch["a"],
            tf.gather(candidates, pick),
            is_next,
            seeds[2],
            tokenizer,
            packer,
            max_predictions=max_predictions,
            mask_rate=mask_rate,
        )

    examples = (
        tf.data.Dataset.range(first_epoch, 2**62)
        .flat_map(epoch_examples)
        .skip(within)
        .ragged_batch(int(batch_size))
        .enumerate(start=int(start_step))
        .map(make_batch)
    )
    options = tf.data.Options()
    # Each input pipeline already reads its own shards.
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.OFF
    )
    return examples.with_options(options).prefetch(2)


def corpus_dataset_factory(corpus_dir, tokenizer, batch_size, **kwargs):
    """`(start_step, input_context=None) -> dataset` for `DistillationRun`.

    Without an input context the dataset yields global batches of
    `batch_size`; with one (`tf.distribute.InputContext`, under a
    multi-worker strategy) it yields that pipeline's per-replica batches
    from its own shards.

    Args:
        corpus_dir: a `prepare-corpus` folder.
        tokenizer: a `MobileBertTokenizer`.
        batch_size: int. Global batch size.
        **kwargs: more `corpus_pretraining_dataset` arguments.

    Example:
    ```python
    make_dataset = corpus_dataset_factory("corpus", tokenizer, 32, seed=0)
    first_batches = make_dataset(0)
    ```
    """
    read_manifest(corpus_dir)

    def make_dataset(start_step, input_context=None):
        if input_context is None:
            return corpus_pretraining_dataset(
                corpus_dir,
                tokenizer,
                batch_size,
                start_step=start_step,
                **kwargs,
            )
        # The pipeline feeds its worker's replicas one batch each in turn:
        # global step n is its element n * local_replicas.
        local_replicas = (
            input_context.num_replicas_in_sync
            // input_context.num_input_pipelines
        )
        return corpus_pretraining_dataset(
            corpus_dir,
            tokenizer,
            input_context.get_per_replica_batch_size(batch_size),
            start_step=start_step * local_replicas,
            num_workers=input_context.num_input_pipelines,
            worker_index=input_context.input_pipeline_id,
            **kwargs,
        )

    make_dataset.per_input_pipeline = True
    return make_dataset
