"""Length-bucketed batches: short sentences stop paying for long ones' padding.

A classifier preprocessor pads every example to `sequence_length`. Most
GLUE sentences are far shorter (SST-2's median is about 10 word pieces),
so a batch cut from packed arrays can be trimmed to its longest example,
and batches of similar lengths trim the most. The plan here is the
"sortish" one: shuffle all examples, cut them into chunks of
`bucket_batches` batches, sort each chunk by length, cut it into batches
and shuffle the batch order. Every epoch's plan is a pure function of
`(seed, epoch)`, so a run can restart at any step and see the same batches.

Trimming keeps one padding position after the longest example (rounded up
to a multiple of `multiple`, capped at the packed length): MobileBERT's
trigram embedding lets the last real token see its right neighbour, which
is `[PAD]` at the full packed length, so the real tokens' outputs stay
those of the untrimmed batch.
"""

import itertools

import numpy as np
import tensorflow as tf

SEQUENCE_KEYS = ("token_ids", "segment_ids", "padding_mask")


def pack_texts(preprocessor, features, batch_size=512):
    """Run a classifier preprocessor over texts once; numpy arrays out.

    Args:
        preprocessor: a KerasHub text-classifier preprocessor (e.g.
            `keras_mobilebert.MobileBertTextClassifierPreprocessor`).
        features: a list of strings, or a tuple of two lists (pairs), as
            `GlueSplit.features`.
        batch_size: int. Texts per preprocessing call.

    Returns:
        `{"token_ids", "segment_ids", "padding_mask"}`, int32 arrays of
        shape `(examples, sequence_length)`.

    Example:
    ```python
    packed = pack_texts(preprocessor, split.features)
    ```
    """
    pair = isinstance(features, tuple)
    dataset = tf.data.Dataset.from_tensor_slices(
        tuple(list(f) for f in features) if pair else list(features)
    ).batch(batch_size)
    if pair:
        dataset = dataset.map(lambda *x: preprocessor(x=x))
    else:
        dataset = dataset.map(lambda x: preprocessor(x=x))
    parts = {key: [] for key in SEQUENCE_KEYS}
    for batch in dataset:
        for key in SEQUENCE_KEYS:
            parts[key].append(np.asarray(batch[key]).astype("int32"))
    return {key: np.concatenate(value) for key, value in parts.items()}


def sequence_lengths(padding_mask):
    """Real tokens per example, from a `(examples, length)` padding mask."""
    return np.asarray(padding_mask).astype("int64").sum(axis=-1)


def plain_batches(num_examples, batch_size, seed=None, epoch=0):
    """Consecutive batches of a (shuffled, when `seed` is set) order.

    Example:
    ```python
    plain_batches(5, 2)  # [array([0, 1]), array([2, 3]), array([4])]
    ```
    """
    order = np.arange(num_examples)
    if seed is not None:
        order = np.random.default_rng([seed, epoch]).permutation(order)
    return [
        order[i : i + batch_size] for i in range(0, num_examples, batch_size)
    ]


def length_bucketed_batches(
    lengths, batch_size, seed=0, epoch=0, bucket_batches=64
):
    """Batches of similar lengths, in random order (see the module doc).

    Every example appears once per epoch; there are
    `ceil(examples / batch_size)` batches, all full but at most one.

    Args:
        lengths: 1-D int array, each example's length.
        batch_size: int.
        seed: int or None. None sorts all examples by length, longest
            last, without shuffling (for inference).
        epoch: int. Epochs get different plans.
        bucket_batches: int. Batches per sorted chunk: larger means less
            padding, smaller means more random batches.

    Example:
    ```python
    batches = length_bucketed_batches(lengths, 32, seed=0, epoch=3)
    ```
    """
    lengths = np.asarray(lengths)
    if seed is None:
        order = np.argsort(lengths, kind="stable")
        return [
            order[i : i + batch_size] for i in range(0, len(order), batch_size)
        ]
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    chunk = batch_size * bucket_batches
    batches = []
    for start in range(0, len(order), chunk):
        members = order[start : start + chunk]
        members = members[np.argsort(lengths[members], kind="stable")]
        batches += [
            members[i : i + batch_size]
            for i in range(0, len(members), batch_size)
        ]
    return [batches[i] for i in rng.permutation(len(batches))]


def batch_width(batch_lengths, max_width, multiple=8):
    """Positions a trimmed batch keeps: longest + 1, rounded up, capped."""
    wanted = int(np.max(batch_lengths)) + 1
    wanted = -(-wanted // multiple) * multiple
    return min(int(max_width), wanted)


def padded_positions(lengths, batches, max_width, multiple=8, trim=True):
    """Padding positions the batches carry, trimmed or at full width.

    Example:
    ```python
    padded_positions(lengths, plain_batches(len(lengths), 32), 64)
    ```
    """
    lengths = np.asarray(lengths)
    total = 0
    for batch in batches:
        width = (
            batch_width(lengths[batch], max_width, multiple)
            if trim
            else max_width
        )
        total += width * len(batch) - int(np.sum(lengths[batch]))
    return total


def trimmed_batch(arrays, batch, lengths, multiple=8):
    """Rows `batch` of `arrays`, sequence arrays trimmed to the batch width.

    Args:
        arrays: dict name -> array with examples on axis 0; those named in
            `SEQUENCE_KEYS` have the sequence on axis 1.
        batch: 1-D int array of example indices.
        lengths: 1-D array, every example's length.
        multiple: int. Width granularity (fewer distinct shapes, fewer
            retraced graphs).
    """
    width = None
    out = {}
    for key, value in arrays.items():
        rows = value[batch]
        if key in SEQUENCE_KEYS:
            if width is None:
                width = batch_width(lengths[batch], value.shape[1], multiple)
            rows = rows[:, :width]
        out[key] = rows
    return out


def bucketed_dataset(
    arrays,
    batch_size,
    seed=0,
    start_step=0,
    bucketed=True,
    bucket_batches=64,
    multiple=8,
    repeat=True,
):
    """A `tf.data.Dataset` of trimmed batches, epoch after epoch.

    Args:
        arrays: dict name -> numpy array, examples on axis 0; must hold
            `padding_mask` (the lengths come from it). Sequence arrays
            (`SEQUENCE_KEYS`) are trimmed per batch.
        batch_size: int.
        seed: int. Seed of every epoch's plan.
        start_step: int. First global step (batch) to yield: a resumed run
            sees the batches an uninterrupted one would have.
        bucketed: bool. Length-bucketed plan; False gives plain shuffled
            batches (still trimmed).
        bucket_batches: int. See `length_bucketed_batches`.
        multiple: int. See `trimmed_batch`.
        repeat: bool. Go on past the first epoch.

    Example:
    ```python
    dataset = bucketed_dataset(
        {**packed, "labels": labels}, batch_size=32, seed=0
    )
    ```
    """
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    lengths = sequence_lengths(arrays["padding_mask"])
    steps_per_epoch = -(-len(lengths) // batch_size)

    def plan(epoch):
        if bucketed:
            return length_bucketed_batches(
                lengths, batch_size, seed, epoch, bucket_batches
            )
        return plain_batches(len(lengths), batch_size, seed, epoch)

    def generate():
        epoch, current = None, None
        steps = itertools.count(start_step)
        for step in steps:
            step_epoch, index = divmod(step, steps_per_epoch)
            if not repeat and step_epoch > start_step // steps_per_epoch:
                return
            if step_epoch != epoch:
                epoch, current = step_epoch, plan(step_epoch)
            yield trimmed_batch(arrays, current[index], lengths, multiple)

    signature = {
        key: tf.TensorSpec(
            (None, None) + value.shape[2:]
            if key in SEQUENCE_KEYS
            else (None,) + value.shape[1:],
            tf.as_dtype(value.dtype),
        )
        for key, value in arrays.items()
    }
    return tf.data.Dataset.from_generator(generate, output_signature=signature)
