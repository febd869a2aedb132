"""A teacher's logits on the training text, computed once and cached.

Task distillation trains the student for many epochs against the same
teacher outputs; running the teacher every step would cost as much as
training it. `cached_teacher_logits` runs the teacher once over the packed
inputs (length-bucketed and trimmed, see `data.length_buckets`) and keeps
the result in the run directory as an `.npz` (written atomically) whose
name and metadata carry three fingerprints: the teacher (its class, its
config without layer names, every weight), the packed token ids the
teacher saw, and the texts. A different teacher or a different text set
gets another file, and a file whose recorded fingerprints disagree with
its name's is an error: logits are never silently reused for the wrong
inputs.
"""

import hashlib
import json
import pathlib
import time

import keras
import numpy as np
import tensorflow as tf

from keras_mobilebert.data.length_buckets import SEQUENCE_KEYS
from keras_mobilebert.data.length_buckets import length_bucketed_batches
from keras_mobilebert.data.length_buckets import sequence_lengths
from keras_mobilebert.data.length_buckets import trimmed_batch
from keras_mobilebert.distillation.checkpoints import load_npz
from keras_mobilebert.distillation.checkpoints import save_npz

CACHE_FOLDER = "teacher_logits"


def _without_names(config):
    # Keras numbers layer names per process ("dense_3"); they say nothing
    # about what the model computes.
    if isinstance(config, dict):
        return {k: _without_names(v) for k, v in config.items() if k != "name"}
    if isinstance(config, (list, tuple)):
        return [_without_names(v) for v in config]
    return config


def model_fingerprint(model):
    """SHA-256 of a model's class, config (layer names left out), weights.

    Args:
        model: a Keras model.

    Example:
    ```python
    model_fingerprint(teacher)  # '3f1c...'
    ```
    """
    digest = hashlib.sha256(type(model).__name__.encode("utf-8"))
    config = _without_names(model.get_config())
    digest.update(json.dumps(config, sort_keys=True, default=str).encode())
    for weight in model.weights:
        value = keras.ops.convert_to_numpy(weight.value)
        digest.update(str((value.shape, value.dtype.str)).encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


def texts_fingerprint(texts):
    """SHA-256 of a list of strings, or of a tuple of lists (pairs)."""
    if isinstance(texts, tuple):
        texts = [list(t) for t in texts]
    payload = json.dumps(list(texts), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def inputs_fingerprint(packed):
    """SHA-256 of packed `token_ids`, `segment_ids` and `padding_mask`."""
    digest = hashlib.sha256()
    for key in SEQUENCE_KEYS:
        value = np.ascontiguousarray(np.asarray(packed[key], dtype="int32"))
        digest.update(f"{key}{value.shape}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def compute_logits(model, packed, batch_size=64, multiple=8):
    """Run a classifier over packed inputs, shortest batches first.

    Batches are sorted by length and trimmed (one padding position kept),
    which gives the untrimmed logits at a fraction of the cost.

    Args:
        model: a text classifier taking `token_ids`, `segment_ids`,
            `padding_mask`.
        packed: dict of `(examples, length)` arrays (`pack_texts`).
        batch_size: int.
        multiple: int. Width granularity of the trimmed batches.

    Returns:
        float32 array `(examples, classes)`.

    Example:
    ```python
    logits = compute_logits(teacher, pack_texts(preprocessor, texts))
    ```
    """
    lengths = sequence_lengths(packed["padding_mask"])
    inputs = {key: np.asarray(packed[key]) for key in SEQUENCE_KEYS}
    # One graph per batch width (a few: widths are multiples of
    # `multiple`), instead of eager calls batch by batch.
    forward = tf.function(
        lambda x: model(x, training=False), reduce_retracing=True
    )
    result = None
    for batch in length_bucketed_batches(lengths, batch_size, seed=None):
        x = trimmed_batch(inputs, batch, lengths, multiple)
        logits = keras.ops.convert_to_numpy(forward(x))
        if result is None:
            result = np.zeros((len(lengths),) + logits.shape[1:], "float32")
        result[batch] = logits
    return result


def cached_teacher_logits(
    teacher,
    packed,
    run_dir,
    texts=None,
    batch_size=64,
    log=print,
    write=True,
):
    """The teacher's logits on `packed`, from the run's cache or computed.

    Args:
        teacher: a text classifier (KerasHub `BertTextClassifier`, a
            `keras_mobilebert.MobileBertClassifier`, ...).
        packed: dict of packed inputs (`data.length_buckets.pack_texts`),
            the student's tokenization of the training (and augmented)
            text.
        run_dir: path. The cache is `run_dir/teacher_logits/`.
        texts: the texts `packed` came from (list, or tuple of lists), or
            None. Recorded and checked with the rest.
        batch_size: int. Teacher batch size.
        log: callable taking one string.
        write: bool. False reads the cache but never writes it (the
            workers of a multi-worker job other than the chief).

    Returns:
        float32 array `(examples, classes)`.

    Example:
    ```python
    logits = cached_teacher_logits(teacher, packed, "runs/sst2",
                                   texts=train.features)
    ```
    """
    meta = {
        "teacher": model_fingerprint(teacher),
        "teacher_class": type(teacher).__name__,
        "inputs": inputs_fingerprint(packed),
        "texts": None if texts is None else texts_fingerprint(texts),
        "examples": int(len(packed["token_ids"])),
        "sequence_length": int(np.asarray(packed["token_ids"]).shape[1]),
    }
    name = f"{meta['teacher'][:12]}_{meta['inputs'][:12]}"
    if texts is not None:
        name += f"_{meta['texts'][:12]}"
    path = pathlib.Path(run_dir) / CACHE_FOLDER / f"{name}.npz"
    if path.is_file():
        arrays, stored = load_npz(path)
        for key in ("teacher", "inputs", "texts", "examples"):
            if stored.get(key) != meta[key]:
                raise ValueError(
                    f"{path} records {key} {stored.get(key)!r}, but this run "
                    f"has {meta[key]!r}: the cache does not belong to these "
                    "inputs; delete it."
                )
        logits = arrays["logits"]
        if logits.shape[0] != meta["examples"]:
            raise ValueError(
                f"{path} holds {logits.shape[0]} rows of logits for "
                f"{meta['examples']} examples; delete it."
            )
        log(f"teacher logits: reused {path} ({logits.shape[0]} examples)")
        return logits
    start = time.perf_counter()
    logits = compute_logits(teacher, packed, batch_size)
    meta["seconds"] = round(time.perf_counter() - start, 1)
    if not write:
        return logits
    save_npz(path, {"logits": logits}, meta)
    log(
        f"teacher logits: {meta['examples']} examples in {meta['seconds']} s,"
        f" cached in {path}"
    )
    return logits
