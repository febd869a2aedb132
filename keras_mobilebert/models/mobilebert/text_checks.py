"""Checks on raw text inputs, with errors that name the bad input.

Python strings, bytes, lists, tuples and NumPy arrays are checked in
Python, before tf.data sees them: a failure is a one-line `ValueError`
naming the input's index (and its segment, for sentence pairs). Inside a
tf.data pipeline or a traced graph the texts are tensors, and the same
problems are caught by assertions in the graph (`InvalidArgumentError`),
which cannot say which element failed.
"""

import numpy as np
import tensorflow as tf

SEGMENT_NAMES = ("first", "second", "third")


def _is_tensor(x):
    return isinstance(x, (tf.Tensor, tf.RaggedTensor, tf.Variable))


def _items(inputs):
    """`[(index, item)]` of a Python / NumPy batch, or None if not one.

    A string is a batch of one (index 0); a NumPy array of any rank gives
    its elements with their index tuples (an int for one dimension).
    """
    if isinstance(inputs, (str, bytes)):
        return [(0, inputs)]
    if isinstance(inputs, np.ndarray):
        if inputs.dtype.kind not in ("U", "S", "O"):
            return None
        if inputs.ndim == 1:
            return list(enumerate(inputs.tolist()))
        return [(i, inputs[i]) for i in np.ndindex(inputs.shape)]
    if isinstance(inputs, list):
        return list(enumerate(inputs))
    return None


def _segments(inputs):
    """The segments of a text input, or None if it is not Python text.

    A tuple is a tuple of segments (KerasHub's convention for sentence
    pairs: `x=(first_texts, second_texts)`); anything else is one segment.
    """
    parts = list(inputs) if isinstance(inputs, tuple) else [inputs]
    segments = [_items(part) for part in parts]
    if not parts or any(items is None for items in segments):
        return None
    if not any(isinstance(t, (str, bytes)) for s in segments for _, t in s):
        return None
    return segments


def _name(index, segment, num_segments):
    name = f"Text input {index}"
    if num_segments > 1:
        ordinal = (
            SEGMENT_NAMES[segment]
            if segment < len(SEGMENT_NAMES)
            else f"number {segment}"
        )
        name += f" ({ordinal} segment)"
    return name


def _decoded(text, name):
    """`text` as a `str`, or a one-line `ValueError` if it is not UTF-8."""
    if isinstance(text, bytes):
        try:
            return text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(
                f"{name} is not valid UTF-8 (byte {e.start}: {e.reason}); "
                "decode it with its real encoding first."
            ) from None
    if not isinstance(text, str):
        raise ValueError(
            f"{name} is a {type(text).__name__}, not a string; every text "
            "input must be a string."
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        # Lone surrogates, e.g. from decoding with errors="surrogateescape".
        raise ValueError(
            f"{name} is not valid UTF-8 (character {e.start}: {e.reason}); "
            "decode it with its real encoding first."
        ) from None
    return text


def check_text_data(inputs, allow_empty=False):
    """Raise a one-line `ValueError` naming the first bad Python text.

    What `fit`, `evaluate` and `predict` of the text tasks call before
    tf.data turns the inputs into tensors: an empty or whitespace-only
    text (unless `allow_empty`), a text that is not UTF-8 or an item that
    is not a string. Indexes are Python's (0-based).

    Args:
        inputs: a string, bytes, a list or NumPy array of them, or a tuple
            of those (the segments of sentence pairs). Anything else
            (tensors, datasets, dicts of token ids) is returned unchecked:
            the checks in the graph cover it.
        allow_empty: bool. Accept empty and whitespace-only texts.

    Returns:
        `inputs`, unchanged.

    Raises:
        ValueError: naming the input's index and, for pairs, its segment.

    Example:
    ```python
    check_text_data(["a fine film", " "])
    # ValueError: Text input 1 is empty or only whitespace; ...
    check_text_data((["a film"], [""]))
    # ValueError: Text input 0 (second segment) is empty or only ...
    ```
    """
    segments = _segments(inputs)
    for segment, items in enumerate(segments or []):
        for index, text in items:
            name = _name(index, segment, len(segments))
            text = _decoded(text, name)
            if not allow_empty and not text.strip():
                raise ValueError(
                    f"{name} is empty or only whitespace; remove it or give "
                    "it text."
                )
    return inputs


def check_utf8(inputs):
    """Raise if any string in `inputs` is not valid UTF-8.

    Works on python strings, bytes, numpy arrays and (in graph mode too) on
    `tf.string` tensors, where a failed check raises
    `InvalidArgumentError` carrying the same message.

    Args:
        inputs: the raw text inputs of a tokenizer.

    Returns:
        `inputs`, unchanged (for tensors, with the check attached).

    Example:
    ```python
    check_utf8(["fine", b"\\xff"])  # ValueError: input 1 is not valid UTF-8
    ```
    """
    if _is_tensor(inputs):
        if inputs.dtype != tf.string:
            return inputs
        flat = (
            inputs.flat_values
            if isinstance(inputs, tf.RaggedTensor)
            else inputs
        )
        repaired = tf.strings.unicode_transcode(
            flat, "UTF-8", "UTF-8", errors="replace"
        )
        check = tf.debugging.assert_equal(
            tf.reduce_all(tf.equal(repaired, flat)),
            True,
            message="a text input is not valid UTF-8; decode it first",
        )
        with tf.control_dependencies([check]):
            return tf.identity(inputs)
    return check_text_data(inputs, allow_empty=True)


def check_not_empty(inputs):
    """Raise if any text input is empty or only whitespace.

    A classifier given an empty string would silently classify `[CLS]
    [SEP]`; that is almost always a data bug, so it is an error.

    Args:
        inputs: a string input, or a tuple of them (sentence pairs).

    Returns:
        `inputs`, unchanged (for tensors, with the check attached).

    Example:
    ```python
    check_not_empty(["fine", ""])  # ValueError: Text input 1 is empty ...
    ```
    """
    if isinstance(inputs, tuple) and any(_is_tensor(x) for x in inputs):
        return tuple(check_not_empty(x) for x in inputs)
    if _is_tensor(inputs):
        if inputs.dtype != tf.string:
            return inputs
        lengths = tf.strings.length(tf.strings.strip(inputs))
        check = tf.debugging.assert_positive(
            lengths, message="a text input is empty or only whitespace"
        )
        with tf.control_dependencies([check]):
            return tf.identity(inputs)
    return check_text_data(inputs)


class TextInputChecksMixin:
    """Checks Python text in `fit`, `evaluate` and `predict` before tf.data.

    Put before the KerasHub task class in the bases. KerasHub turns Python
    inputs into a tf.data pipeline and runs the preprocessor inside it, so
    a bad text surfaced as a long `InvalidArgumentError` from the iterator
    with the real message buried inside and no index; this raises
    `check_text_data`'s one-line `ValueError` first. Tensors and datasets
    pass through to the checks in the graph.

    Example:
    ```python
    classifier.predict(["a fine film", ""])
    # ValueError: Text input 1 is empty or only whitespace; ...
    ```
    """

    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        check_text_data(x)
        if isinstance(validation_data, (tuple, list)) and validation_data:
            # (x, y) or (x, y, sample_weight), as Keras unpacks it.
            check_text_data(validation_data[0])
        return super().fit(
            x, y, *args, validation_data=validation_data, **kwargs
        )

    def evaluate(self, x=None, *args, **kwargs):
        check_text_data(x)
        return super().evaluate(x, *args, **kwargs)

    def predict(self, x=None, *args, **kwargs):
        check_text_data(x)
        return super().predict(x, *args, **kwargs)
