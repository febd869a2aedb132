"""Raw text files -> MLM + NSP pre-training batches, as a `tf.data` pipeline.

Input: plain text files, one sentence per line, documents separated by
blank lines (BERT's `create_pretraining_data` format). Every batch is a
pure function of `(seed, step)`: the pipeline is `Dataset.range(start, ...)`
mapped to batches, shuffling uses `tf.random.experimental.index_shuffle` and
every random draw is stateless. So a run resumed at step `n` sees exactly
the batches an uninterrupted run would, without replaying the first `n`,
and a `tf.distribute` strategy splits the same global batches.

Each example is a sentence pair `[CLS] A [SEP] B [SEP]`:
- with probability 0.5 (and whenever a continuation exists) B follows A:
  the next line of A's document, or, for a one-line document, A's line is
  split into halves at a word boundary; label 0 (IsNext);
- otherwise B is a line from another document; label 1 (NotNext).

Masking (BERT): 15% of the real (non-special) tokens, at least one and at
most `max_predictions`; of those, 80% become `[MASK]`, 10% a random token,
10% stay.
"""

import numpy as np
import tensorflow as tf
from keras_hub.layers import MultiSegmentPacker

from keras_mobilebert.data.rotten_tomatoes import load_rotten_tomatoes
from keras_mobilebert.utils.errors import InputFormatError


def read_documents(paths):
    """Read documents (lists of lines) from text files.

    Blank lines separate documents, so a file without blank lines is one
    document. Lines are stripped; empty documents are dropped. (For
    independent sentences, such as review snippets, put a blank line
    between them: each becomes a one-line document.)

    Args:
        paths: a path or a list of paths.

    Example:
    ```python
    documents = read_documents(["corpus_a.txt", "corpus_b.txt"])
    ```
    """
    if isinstance(paths, (str, bytes)) or hasattr(paths, "__fspath__"):
        paths = [paths]
    documents = []
    for path in paths:
        current = []
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    current.append(line)
                elif current:
                    documents.append(current)
                    current = []
        if current:
            documents.append(current)
    if not documents:
        raise InputFormatError(f"No text in {paths}.")
    return documents


def rotten_tomatoes_documents():
    """The Rotten Tomatoes training sentences, one document each.

    The default distillation text: only the training split, so the
    held-out sentences a student is scored on stay unseen.

    Example:
    ```python
    documents = rotten_tomatoes_documents()  # 3200 one-line documents
    ```
    """
    texts, _ = load_rotten_tomatoes("train")
    return [[text] for text in texts]


def sentence_pair_table(documents):
    """Per-sentence arrays the pipeline gathers from.

    Returns a dict of numpy arrays, one entry per candidate first segment:
    `first` (text A), `continuation` (its true next segment), `sentence`
    (the whole line, used as a random B), `document` (document id),
    `doc_start` and `doc_size` (the span of its document in the table).

    Args:
        documents: list of lists of strings.

    Example:
    ```python
    table = sentence_pair_table([["a b", "c d"], ["e f g"]])
    ```
    """
    first, continuation, sentence, document = [], [], [], []
    doc_start, doc_size = [], []
    for doc_id, lines in enumerate(documents):
        start = len(first)
        for i, line in enumerate(lines):
            if i + 1 < len(lines):
                a, b = line, lines[i + 1]
            elif len(lines) == 1:
                words = line.split()
                half = max(1, len(words) // 2)
                a, b = " ".join(words[:half]), " ".join(words[half:])
            else:
                # The last line of a multi-line document has no successor:
                # pair it with its predecessor's continuation instead.
                a, b = lines[i - 1], line
            first.append(a)
            continuation.append(b)
            sentence.append(line)
            document.append(doc_id)
        size = len(first) - start
        doc_start += [start] * size
        doc_size += [size] * size
    return {
        "first": np.array(first, dtype=object),
        "continuation": np.array(continuation, dtype=object),
        "sentence": np.array(sentence, dtype=object),
        "document": np.array(document, dtype="int64"),
        "doc_start": np.array(doc_start, dtype="int64"),
        "doc_size": np.array(doc_size, dtype="int64"),
    }


def mask_tokens(
    token_ids,
    seed,
    vocabulary_size,
    mask_token_id,
    special_token_ids,
    max_predictions=20,
    mask_rate=0.15,
    mask_token_rate=0.8,
    random_token_rate=0.1,
):
    """BERT's dynamic masking, stateless: the same seed gives the same masks.

    Args:
        token_ids: `(batch, sequence)` int32.
        seed: int32 tensor of shape (2,), the stateless seed.
        vocabulary_size: int. Random replacements are drawn in
            `[0, vocabulary_size)`.
        mask_token_id: int.
        special_token_ids: list of ints never masked (CLS, SEP, PAD).
        max_predictions: int. Masks per sequence (the output width).
        mask_rate: float. Share of real tokens selected.
        mask_token_rate: float. Share of selected tokens set to `[MASK]`.
        random_token_rate: float. Share set to a random token.

    Returns:
        `(masked_ids, mask_positions, mask_ids, mask_weights)`.

    Example:
    ```python
    masked, positions, ids, weights = mask_tokens(
        token_ids, tf.constant([1, 2]), 30522, 103, [0, 101, 102])
    ```
    """
    token_ids = tf.cast(token_ids, tf.int32)
    shape = tf.shape(token_ids)
    candidate = tf.ones_like(token_ids, tf.bool)
    for special in special_token_ids:
        candidate &= token_ids != special
    seeds = tf.random.experimental.stateless_split(seed, 4)
    scores = tf.random.stateless_uniform(tf.cast(shape, tf.int32), seeds[0])
    scores = tf.where(candidate, scores, -1.0)
    num_candidates = tf.reduce_sum(tf.cast(candidate, tf.float32), axis=1)
    num_masks = tf.cast(tf.round(num_candidates * mask_rate), tf.int32)
    num_masks = tf.clip_by_value(num_masks, 1, max_predictions)
    num_masks = tf.minimum(num_masks, tf.cast(num_candidates, tf.int32))
    k = tf.minimum(max_predictions, shape[1])
    top_scores, positions = tf.math.top_k(scores, k=k)
    rank = tf.range(k)[None, :]
    weights = (rank < num_masks[:, None]) & (top_scores >= 0.0)
    positions = tf.where(weights, positions, 0)
    original = tf.gather(token_ids, positions, batch_dims=1)
    draw = tf.random.stateless_uniform(tf.shape(positions), seeds[1])
    random_tokens = tf.random.stateless_uniform(
        tf.shape(positions),
        seeds[2],
        minval=0,
        maxval=vocabulary_size,
        dtype=tf.int32,
    )
    replacement = tf.where(
        draw < mask_token_rate,
        mask_token_id,
        tf.where(
            draw < mask_token_rate + random_token_rate, random_tokens, original
        ),
    )
    # Write the replacements at the selected positions (one-hot: the
    # positions of one row are distinct, padded slots carry weight 0).
    onehot = tf.one_hot(positions, shape[1], dtype=tf.int32)
    onehot *= tf.cast(weights, tf.int32)[:, :, None]
    selected = tf.reduce_max(onehot, axis=1)
    new_values = tf.reduce_sum(onehot * replacement[:, :, None], axis=1)
    masked = tf.where(selected > 0, new_values, token_ids)
    pad = max_predictions - k
    weights = tf.cast(weights, tf.float32)
    if not isinstance(pad, int) or pad:
        paddings = [[0, 0], [0, pad]]
        positions = tf.pad(positions, paddings)
        original = tf.pad(original, paddings)
        weights = tf.pad(weights, paddings)
    return masked, positions, original, weights


def pair_packer(tokenizer, sequence_length):
    """The `[CLS] A [SEP] B [SEP]` packer of every pre-training batch.

    Example:
    ```python
    packer = pair_packer(tokenizer, 128)
    ```
    """
    return MultiSegmentPacker(
        sequence_length=sequence_length,
        start_value=tokenizer.cls_token_id,
        end_value=tokenizer.sep_token_id,
        pad_value=tokenizer.pad_token_id,
        truncate="round_robin",
    )


def step_seeds(seed, step, stream=0):
    """The three stateless seeds of a batch: coin, other sentence, masks.

    A pure function of `(seed, step, stream)`; `stream` tells apart the
    batches that several input pipelines (workers) build at one step.

    Example:
    ```python
    coin_seed, other_seed, mask_seed = step_seeds(0, tf.constant(5, tf.int64))
    ```
    """
    step = tf.cast(step, tf.int64)
    if stream:
        step = step * 1_000_003 + stream
    step_seed = tf.stack([tf.cast(seed, tf.int64), step])
    step_seed = tf.cast(step_seed % (2**31 - 1), tf.int32)
    return tf.random.experimental.stateless_split(step_seed, 3)


def pack_and_mask(
    a_ids,
    b_ids,
    is_next,
    mask_seed,
    tokenizer,
    packer,
    max_predictions=20,
    mask_rate=0.15,
):
    """Token-id segments A and B -> one MLM + NSP batch (a dict).

    Args:
        a_ids, b_ids: ragged `(batch, None)` token ids of the segments.
        is_next: bool `(batch,)`, whether B continues A.
        mask_seed: the stateless seed of `mask_tokens`.
        tokenizer: a `MobileBertTokenizer` (its special ids).
        packer: `pair_packer(tokenizer, sequence_length)`.
        max_predictions: int. Masks per sequence.
        mask_rate: float. Share of tokens masked.

    Example:
    ```python
    batch = pack_and_mask(tokenizer(a), tokenizer(b), is_next, seeds[2],
                          tokenizer, pair_packer(tokenizer, 128))
    ```
    """
    token_ids, segment_ids = packer((a_ids, b_ids))
    token_ids = tf.cast(token_ids, tf.int32)
    padding_mask = tf.cast(token_ids != tokenizer.pad_token_id, tf.int32)
    masked, positions, ids, weights = mask_tokens(
        token_ids,
        mask_seed,
        tokenizer.vocabulary_size(),
        tokenizer.mask_token_id,
        [
            tokenizer.cls_token_id,
            tokenizer.sep_token_id,
            tokenizer.pad_token_id,
        ],
        max_predictions=max_predictions,
        mask_rate=mask_rate,
    )
    return {
        "token_ids": masked,
        "segment_ids": tf.cast(segment_ids, tf.int32),
        "padding_mask": padding_mask,
        "mask_positions": positions,
        "mask_ids": ids,
        "mask_weights": weights,
        "next_sentence_labels": 1 - tf.cast(is_next, tf.int32),
    }


def pretraining_dataset(
    documents,
    tokenizer,
    batch_size,
    sequence_length=128,
    max_predictions=20,
    seed=0,
    start_step=0,
    mask_rate=0.15,
    next_sentence_rate=0.5,
):
    """An infinite dataset of MLM + NSP batches from raw text.

    Args:
        documents: list of lists of strings (see `read_documents`), or text
            file paths.
        tokenizer: a `keras_mobilebert.MobileBertTokenizer`.
        batch_size: int. Global batch size.
        sequence_length: int. Packed length, `[CLS]` and `[SEP]`s included.
        max_predictions: int. Masks per sequence.
        seed: int. Seed of the whole stream.
        start_step: int. First batch to yield (resume without replay).
        mask_rate: float. Share of tokens masked.
        next_sentence_rate: float. Share of true-continuation pairs.

    Returns:
        A `tf.data.Dataset` of dicts with `token_ids`, `segment_ids`,
        `padding_mask`, `mask_positions`, `mask_ids`, `mask_weights`,
        `next_sentence_labels`.

    Example:
    ```python
    tokenizer = keras_mobilebert.MobileBertTokenizer(
        vocabulary=keras_mobilebert.data.bert_uncased_vocabulary(),
        lowercase=True,
    )
    dataset = pretraining_dataset(["corpus.txt"], tokenizer, batch_size=32)
    ```
    """
    if documents and not isinstance(documents[0], (list, tuple)):
        documents = read_documents(documents)
    table = sentence_pair_table(documents)
    size = len(table["first"])
    if size < 2:
        raise ValueError("Need at least two sentences.")
    first = tf.constant(table["first"].astype(str))
    continuation = tf.constant(table["continuation"].astype(str))
    sentence = tf.constant(table["sentence"].astype(str))
    doc_start = tf.constant(table["doc_start"])
    doc_size = tf.constant(table["doc_size"])
    single_document = len(documents) == 1
    packer = pair_packer(tokenizer, sequence_length)
    seed = int(seed)

    def make_batch(step):
        indices = step * batch_size + tf.range(batch_size, dtype=tf.int64)
        epoch = indices // size
        within = indices % size
        # A fresh permutation of the table every epoch, stateless.
        # The raw op takes one seed per index (the wrapper only one seed).
        order = tf.raw_ops.RandomIndexShuffle(
            index=within,
            seed=tf.stack(
                [
                    tf.fill([batch_size], tf.constant(seed, tf.int64)),
                    epoch,
                    tf.fill([batch_size], tf.constant(17, tf.int64)),
                ],
                axis=1,
            ),
            max_index=tf.constant(size - 1, tf.int64),
            rounds=4,
        )
        seeds = step_seeds(seed, step)
        coin = tf.random.stateless_uniform([batch_size], seeds[0])
        is_next = coin < next_sentence_rate
        if single_document:
            is_next = tf.ones_like(is_next)
        # A random sentence outside A's document.
        start = tf.gather(doc_start, order)
        span = tf.gather(doc_size, order)
        offset = tf.random.stateless_uniform(
            [batch_size], seeds[1], minval=0, maxval=2**30, dtype=tf.int32
        )
        others = tf.maximum(size - span, 1)
        other = (start + span + tf.cast(offset, tf.int64) % others) % size
        a = tf.gather(first, order)
        b = tf.where(
            is_next, tf.gather(continuation, order), tf.gather(sentence, other)
        )
        return pack_and_mask(
            tokenizer(a),
            tokenizer(b),
            is_next,
            seeds[2],
            tokenizer,
            packer,
            max_predictions=max_predictions,
            mask_rate=mask_rate,
        )

    dataset = tf.data.Dataset.range(int(start_step), 2**62)
    return dataset.map(make_batch).prefetch(2)


def pretraining_dataset_factory(documents, tokenizer, batch_size, **kwargs):
    """`(start_step) -> dataset`: the stream a `DistillationRun` resumes.

    `DistillationRun` asks for the batches from a global step onwards at
    every chunk and after a restart; this binds everything else.

    Args:
        documents: list of lists of strings, or text file paths.
        tokenizer: a `keras_mobilebert.MobileBertTokenizer`.
        batch_size: int. Global batch size.
        **kwargs: more `pretraining_dataset` arguments (`sequence_length`,
            `max_predictions`, `seed`, ...), not `start_step`.

    Example:
    ```python
    make_dataset = pretraining_dataset_factory(
        documents, tokenizer, 32, sequence_length=64, seed=0
    )
    first_batches = make_dataset(0)
    ```
    """

    def make_dataset(start_step):
        return pretraining_dataset(
            documents, tokenizer, batch_size, start_step=start_step, **kwargs
        )

    return make_dataset
