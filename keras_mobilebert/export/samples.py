"""Sample inputs of an export: representative data and verification data.

Every sample is a dict of int32 arrays of shape `(1, sequence_length)`
named as the file's inputs (`ids`, `mask`, `segment_ids`, and
`mask_positions` for a masked LM), made from texts (the model's
preprocessor), from (question, context) pairs (a question answerer's
preprocessor: one sample per window), from input dicts, or drawn at
random.
"""

import numpy as np
import tensorflow as tf

from keras_mobilebert.export.signatures import INPUT_NAMES
from keras_mobilebert.export.signatures import KERAS_INPUTS
from keras_mobilebert.export.signatures import backbone_of
from keras_mobilebert.export.signatures import mask_positions_length
from keras_mobilebert.utils.errors import ConfigError


def random_inputs(
    vocabulary_size, sequence_length, count, seed=0, mask_positions=None
):
    """Random token sequences, padded, in the TFLite input layout.

    Each sample is a dict of int32 arrays `(1, sequence_length)` named
    `ids`, `mask`, `segment_ids` (plus `mask_positions` when asked for):
    `[CLS]`-like id 2 first, random ids up to a random length, zeros after.

    Args:
        vocabulary_size: int. Ids are drawn from `[5, vocabulary_size)`.
        sequence_length: int.
        count: int. Number of samples.
        seed: int.
        mask_positions: int or None. Width of a `mask_positions` input.

    Example:
    ```python
    samples = random_inputs(30522, 128, count=4)
    ```
    """
    rng = np.random.RandomState(seed)
    samples = []
    for _ in range(count):
        length = rng.randint(max(2, sequence_length // 2), sequence_length + 1)
        ids = np.zeros((1, sequence_length), "int32")
        ids[0, 0] = 2 if vocabulary_size > 2 else 0
        low = min(5, vocabulary_size - 1)
        ids[0, 1:length] = rng.randint(low, vocabulary_size, length - 1)
        mask = np.zeros((1, sequence_length), "int32")
        mask[0, :length] = 1
        sample = {
            "ids": ids,
            "mask": mask,
            "segment_ids": np.zeros((1, sequence_length), "int32"),
        }
        if mask_positions:
            sample["mask_positions"] = rng.randint(
                0, length, (1, mask_positions)
            ).astype("int32")
        samples.append(sample)
    return samples


def texts_to_inputs(model, texts, sequence_length=None):
    """Tokenize texts with the model's preprocessor into TFLite inputs.

    Args:
        model: a task with a `preprocessor` (e.g. `MobileBertClassifier`).
        texts: list of strings.
        sequence_length: int or None. Pad or truncate to this length; None
            keeps the preprocessor's.

    Returns:
        A list of dicts of int32 arrays `(1, sequence_length)`, one per text
        (with a masked LM's preprocessor also `mask_positions`, masked at
        random as in training).

    Example:
    ```python
    samples = texts_to_inputs(classifier, ["a fine film"])
    ```
    """
    preprocessor = getattr(model, "preprocessor", None)
    if preprocessor is None:
        raise ConfigError(
            "Texts were given but the model has no preprocessor; pass "
            "tokenized inputs instead."
        )
    if sequence_length is not None:
        preprocessor = with_sequence_length(preprocessor, sequence_length)
    samples = []
    for start in range(0, len(texts), 256):
        chunk = list(texts[start : start + 256])
        x = preprocessor(tf.constant(chunk))
        if isinstance(x, tuple):
            x = x[0]
        arrays = {
            "ids": np.asarray(x["token_ids"], "int32"),
            "mask": np.asarray(x["padding_mask"], "int32"),
            "segment_ids": np.asarray(x["segment_ids"], "int32"),
        }
        if "mask_positions" in x:  # A masked LM's preprocessor masks too.
            arrays["mask_positions"] = np.asarray(x["mask_positions"], "int32")
        for i in range(len(chunk)):
            samples.append({k: v[i : i + 1] for k, v in arrays.items()})
    return samples


def with_sequence_length(preprocessor, sequence_length):
    """The preprocessor, or a copy of it padding to `sequence_length`.

    Example:
    ```python
    with_sequence_length(classifier.preprocessor, 64)
    ```
    """
    if getattr(preprocessor, "sequence_length", None) == sequence_length:
        return preprocessor
    config = preprocessor.get_config()
    config["sequence_length"] = sequence_length
    config["tokenizer"] = preprocessor.tokenizer
    return type(preprocessor)(**config)


def _pairs(data):
    """`(questions, contexts)` or records from a question answerer's data.

    None when `data` is not text: a list of input dicts.
    """
    if isinstance(data, tuple) and len(data) == 2:
        if all(isinstance(part, (list, tuple)) for part in data):
            return data
    data = list(data)
    if not data or isinstance(data[0], dict):
        return None
    if hasattr(data[0], "question") and hasattr(data[0], "context"):
        return data
    if all(isinstance(p, (list, tuple)) and len(p) == 2 for p in data):
        return [p[0] for p in data], [p[1] for p in data]
    raise ConfigError(
        "A question answerer's sample or representative data are "
        "(questions, contexts), a list of (question, context) pairs, SQuAD "
        f"records or input dicts; got a list of {type(data[0]).__name__}."
    )


def question_answerer_inputs(model, data, sequence_length, count):
    """(question, context) pairs as TFLite inputs, one per window.

    The pairs go through the model's `MobileBertQuestionAnswererPreprocessor`
    (at `sequence_length`), so a long context gives several windows, as in
    `answer`; the first `count` windows are kept.

    Args:
        model: a `MobileBertQuestionAnswerer` with a preprocessor.
        data: `(questions, contexts)`, a list of `(question, context)`
            pairs, or SQuAD records (`keras_mobilebert.data.squad`).
        sequence_length: int.
        count: int. How many windows.

    Returns:
        A list of dicts of int32 arrays `(1, sequence_length)`.

    Example:
    ```python
    samples = question_answerer_inputs(
        qa, (["Who jumped?"], ["The fox jumped."]), 384, 32
    )
    ```
    """
    preprocessor = getattr(model, "preprocessor", None)
    if preprocessor is None:
        raise ConfigError(
            "(question, context) pairs were given but the question answerer "
            "has no preprocessor; pass input dicts instead."
        )
    preprocessor = with_sequence_length(preprocessor, sequence_length)
    pairs = _pairs(data)
    # Every pair gives at least one window: `count` pairs are enough.
    if isinstance(pairs, tuple):
        pairs = (list(pairs[0])[:count], list(pairs[1])[:count])
    else:
        pairs = pairs[:count]
    inputs = preprocessor.encode(pairs).inputs()
    arrays = {name: inputs[KERAS_INPUTS[name]] for name in INPUT_NAMES}
    total = min(count, len(arrays["ids"]))
    return [
        {k: v[i : i + 1].astype("int32") for k, v in arrays.items()}
        for i in range(total)
    ]


def to_samples(model, kind, data, sequence_length, count, seed):
    """Turn texts, pairs, input dicts or None into TFLite-named samples.

    Args:
        model: the model (its preprocessor tokenizes texts; its backbone's
            vocabulary bounds random ids).
        kind: string. See `model_kind`.
        data: list of strings, list of input dicts, or None for random
            token sequences; for a question answerer also `(questions,
            contexts)`, `(question, context)` pairs or SQuAD records (see
            `question_answerer_inputs`).
        sequence_length: int.
        count: int. How many samples.
        seed: int. Seed of the random sequences.

    Raises:
        ValueError: `data` is empty.

    Example:
    ```python
    to_samples(classifier, "classifier", ["a fine film"], 128, 32, seed=1)
    ```
    """
    if data is None:
        backbone = backbone_of(model)
        return random_inputs(
            backbone.vocabulary_size,
            sequence_length,
            count,
            seed=seed,
            mask_positions=(
                mask_positions_length(model) if kind == "masked_lm" else None
            ),
        )
    if kind == "question_answerer" and _pairs(data) is not None:
        return question_answerer_inputs(model, data, sequence_length, count)
    data = list(data)
    if not data:
        raise ConfigError("Empty sample or representative data.")
    if isinstance(data[0], str):
        return texts_to_inputs(model, data[:count], sequence_length)
    return dict_samples(data, count)


def dict_samples(data, count):
    """Input dicts (TFLite or Keras names) to TFLite-named samples.

    Args:
        data: list of dicts of int arrays, each `(sequence,)` or
            `(1, sequence)`, keyed `ids`/`token_ids`, `mask`/`padding_mask`,
            `segment_ids` (and `mask_positions`).
        count: int. How many to take.

    Example:
    ```python
    dict_samples([{"token_ids": ids, "padding_mask": m, "segment_ids": s}], 1)
    ```
    """
    samples = []
    for item in list(data)[:count]:
        sample = {}
        for name in INPUT_NAMES + ("mask_positions",):
            keras_name = KERAS_INPUTS.get(name, name)
            value = item.get(name, item.get(keras_name))
            if value is not None:
                value = np.asarray(value, "int32")
                sample[name] = value if value.ndim == 2 else value[None]
        samples.append(sample)
    return samples
