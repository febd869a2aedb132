"""Checks on raw text inputs, with errors that name the bad input."""

import numpy as np
import tensorflow as tf


def _is_tensor(x):
    return isinstance(x, (tf.Tensor, tf.RaggedTensor, tf.Variable))


def _python_strings(inputs):
    """Flatten python / numpy string inputs; None if they are not strings."""
    if isinstance(inputs, (str, bytes)):
        return [inputs]
    if isinstance(inputs, np.ndarray):
        if inputs.dtype.kind not in ("U", "S", "O"):
            return None
        return list(inputs.ravel())
    if isinstance(inputs, (list, tuple)):
        flat = []
        for item in inputs:
            sub = _python_strings(item)
            if sub is None:
                return None
            flat.extend(sub)
        return flat
    return None


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
    strings = _python_strings(inputs)
    for index, text in enumerate(strings or []):
        if isinstance(text, bytes):
            try:
                text.decode("utf-8")
            except UnicodeDecodeError as e:
                raise ValueError(
                    f"Text input {index} is not valid UTF-8 ({e}); decode it "
                    "with its real encoding first."
                ) from None
    return inputs


def check_not_empty(inputs):
    """Raise if any text input is empty or only whitespace.

    A classifier given an empty string would silently classify `[CLS]
    [SEP]`; that is almost always a data bug, so it is an error.

    Args:
        inputs: a string input, or a tuple of them (sentence pairs).

    Returns:
        `inputs`, unchanged (for tensors, with the check attached).
    """
    if isinstance(inputs, tuple):
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
    strings = _python_strings(inputs)
    for index, text in enumerate(strings or []):
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        if not str(text).strip():
            raise ValueError(
                f"Text input {index} is empty or only whitespace; remove it or "
                "give it text."
            )
    return inputs
