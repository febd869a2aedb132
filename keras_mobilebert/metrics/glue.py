"""The GLUE tasks' official metrics, in NumPy.

What the GLUE leaderboard reports per task: accuracy (SST-2, MNLI, QNLI,
RTE, WNLI), F1 of the positive class and accuracy (MRPC, QQP), Matthews
correlation (CoLA), Pearson and Spearman correlation (STS-B). The formulas
are those of scikit-learn and SciPy, which GLUE's own evaluation used;
neither package is needed here. Degenerate cases return 0 where
scikit-learn does (an F1 with no positives, a Matthews correlation with a
constant prediction).
"""

import numpy as np

from keras_mobilebert.data.glue_tasks import glue_task
from keras_mobilebert.metrics.classification import macro_f1


def _pair(predictions, labels, dtype):
    predictions = np.asarray(predictions)
    labels = np.asarray(labels)
    if predictions.ndim != 1 or labels.ndim != 1:
        raise ValueError(
            f"Expected 1-D predictions and labels; got shapes "
            f"{predictions.shape} and {labels.shape}."
        )
    if len(predictions) != len(labels):
        raise ValueError(
            f"{len(predictions)} predictions for {len(labels)} labels."
        )
    if len(labels) == 0:
        raise ValueError("No examples to score.")
    return predictions.astype(dtype), labels.astype(dtype)


def accuracy(predictions, labels):
    """Share of predictions equal to the labels.

    Args:
        predictions: 1-D class ids.
        labels: 1-D class ids.

    Example:
    ```python
    accuracy([1, 0, 1], [1, 1, 1])  # 0.666...
    ```
    """
    predictions, labels = _pair(predictions, labels, "int64")
    return float(np.mean(predictions == labels))


def f1_score(predictions, labels, positive=1):
    """F1 of the positive class: `2 TP / (2 TP + FP + FN)`; 0 if undefined.

    Args:
        predictions: 1-D class ids.
        labels: 1-D class ids.
        positive: int. The positive class (1 in MRPC and QQP).

    Example:
    ```python
    f1_score([1, 1, 0, 0], [1, 0, 1, 0])  # 0.5
    ```
    """
    predictions, labels = _pair(predictions, labels, "int64")
    predicted = predictions == positive
    actual = labels == positive
    true_positives = np.sum(predicted & actual)
    denominator = np.sum(predicted) + np.sum(actual)
    if denominator == 0:
        return 0.0
    return float(2.0 * true_positives / denominator)


def matthews_correlation(predictions, labels):
    """Matthews correlation coefficient (multi-class form, as scikit-learn).

    `(c s - t.p) / sqrt((s^2 - p.p) (s^2 - t.t))` with `t` the true and `p`
    the predicted count of each class, `c` the correct count and `s` the
    total; 0 when a denominator factor is 0 (a constant prediction).

    Args:
        predictions: 1-D class ids.
        labels: 1-D class ids.

    Example:
    ```python
    matthews_correlation([1, 1, 0, 0], [1, 0, 0, 0])  # 0.577...
    ```
    """
    predictions, labels = _pair(predictions, labels, "int64")
    classes, encoded = np.unique(
        np.concatenate([labels, predictions]), return_inverse=True
    )
    n = len(labels)
    true_counts = np.bincount(encoded[:n], minlength=len(classes))
    predicted_counts = np.bincount(encoded[n:], minlength=len(classes))
    correct = float(np.sum(labels == predictions))
    total = float(n)
    t = true_counts.astype("float64")
    p = predicted_counts.astype("float64")
    covariance = correct * total - np.dot(t, p)
    denominator = (total**2 - np.dot(p, p)) * (total**2 - np.dot(t, t))
    if denominator == 0:
        return 0.0
    return float(covariance / np.sqrt(denominator))


def pearson_correlation(x, y):
    """Pearson's r between two 1-D arrays (0 if either is constant).

    Example:
    ```python
    pearson_correlation([1.0, 2.0, 3.0], [2.0, 4.0, 7.0])  # 0.993...
    ```
    """
    x, y = _pair(x, y, "float64")
    x = x - x.mean()
    y = y - y.mean()
    denominator = np.sqrt(np.dot(x, x) * np.dot(y, y))
    if denominator == 0:
        return 0.0
    return float(np.dot(x, y) / denominator)


def average_ranks(values):
    """Ranks 1..n, ties sharing the average of their ranks (as SciPy's
    `rankdata(method="average")`).

    Example:
    ```python
    average_ranks([10, 20, 20, 30])  # [1.0, 2.5, 2.5, 4.0]
    ```
    """
    values = np.asarray(values)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    # Start of each run of equal values, in sorted order.
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(values)]
    average = (starts + ends + 1) / 2.0  # mean of ranks start+1 .. end
    ranks = np.empty(len(values), dtype="float64")
    ranks[order] = np.repeat(average, ends - starts)
    return ranks


def spearman_correlation(x, y):
    """Spearman's rho: Pearson's r of the average ranks.

    Example:
    ```python
    spearman_correlation([1.0, 2.0, 3.0], [1.0, 5.0, 4.0])  # 0.5
    ```
    """
    x, y = _pair(x, y, "float64")
    return pearson_correlation(average_ranks(x), average_ranks(y))


def class_predictions(predictions):
    """Class ids from ids, or from `(n, classes)` logits / probabilities."""
    predictions = np.asarray(predictions)
    if predictions.ndim == 2:
        return np.argmax(predictions, axis=-1)
    return predictions


def _scores(predictions):
    predictions = np.asarray(predictions, dtype="float64")
    if predictions.ndim == 2 and predictions.shape[1] == 1:
        predictions = predictions[:, 0]
    return predictions


METRICS = {
    "accuracy": accuracy,
    "macro_f1": macro_f1,
    "f1": f1_score,
    "matthews_correlation": matthews_correlation,
    "pearson": pearson_correlation,
    "spearman": spearman_correlation,
}


def glue_metrics(task, predictions, labels):
    """The official metrics of a GLUE task, as a dict.

    Args:
        task: string. A GLUE task name (`"sst2"`, `"mrpc"`, `"stsb"`, ...).
        predictions: class ids `(n,)` or logits `(n, classes)`; for STS-B,
            scores `(n,)` or `(n, 1)`.
        labels: `(n,)` class ids, or STS-B scores.

    Returns:
        `{metric name: float}` with the task's metrics, headline first:
        `accuracy`; `f1`, `accuracy` (MRPC, QQP); `matthews_correlation`
        (CoLA); `pearson`, `spearman` (STS-B).

    Example:
    ```python
    from keras_mobilebert.metrics import glue_metrics

    glue_metrics("mrpc", logits, dev.labels)  # {'f1': ..., 'accuracy': ...}
    ```
    """
    spec = glue_task(task)
    if spec.is_regression:
        predictions = _scores(predictions)
    else:
        predictions = class_predictions(predictions)
    return {name: METRICS[name](predictions, labels) for name in spec.metrics}
