"""Small NumPy numerics shared across the package."""

import numpy as np


def softmax(logits, axis=-1):
    """A numerically stable softmax in float64.

    The reference the exported classifier files are checked against (they
    compute the softmax in the graph) and the scores of decoded answers.

    Args:
        logits: array-like of floats.
        axis: int. The axis that sums to one.

    Returns:
        A float64 NumPy array of the shape of `logits`.

    Example:
    ```python
    softmax([[0.0, 0.0], [0.0, 1e4]])  # [[0.5, 0.5], [0.0, 1.0]]
    ```
    """
    logits = np.asarray(logits, dtype="float64")
    exp = np.exp(logits - np.max(logits, axis=axis, keepdims=True))
    return exp / np.sum(exp, axis=axis, keepdims=True)
