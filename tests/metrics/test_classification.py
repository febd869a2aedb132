"""The per-class report against counts done by hand, and the baseline."""

import numpy as np
import pytest

from keras_mobilebert.data.labeled_text import file_task
from keras_mobilebert.metrics.classification import classification_report
from keras_mobilebert.metrics.classification import format_report
from keras_mobilebert.metrics.classification import tfidf_baseline
from keras_mobilebert.metrics.glue import glue_metrics


def test_report_matches_counts_by_hand():
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    predicted = np.array([0, 1, 0, 1, 1, 2, 0, 2, 1])
    names = ["a", 'b, "quoted"', "c", "never seen"]
    # Logits whose argmax is `predicted`.
    logits = np.eye(4)[predicted] * 3.0
    report = classification_report(logits, labels, names)
    matrix = np.zeros((4, 4), int)
    for t, p in zip(labels, predicted):
        matrix[t, p] += 1
    assert report["confusion_matrix"] == matrix.tolist()
    f1s = []
    for i, name in enumerate(names):
        tp = matrix[i, i]
        precision = tp / matrix[:, i].sum() if matrix[:, i].sum() else 0.0
        recall = tp / matrix[i].sum() if matrix[i].sum() else 0.0
        f1 = (
            2 * precision * recall / (precision + recall)
            if precision + recall
            else 0.0
        )
        f1s.append(f1)
        row = report["per_class"][name]
        assert row["precision"] == pytest.approx(precision)
        assert row["recall"] == pytest.approx(recall)
        assert row["f1"] == pytest.approx(f1)
        assert row["support"] == matrix[i].sum()
    assert report["accuracy"] == pytest.approx(6 / 9)
    # Macro over the model's classes, the unseen one (F1 0) included.
    assert report["macro_f1"] == pytest.approx(np.mean(f1s))
    assert list(report["per_class"]) == names
    assert 'b, "quoted"' in format_report(report)
    # The file task's headline metrics go through glue_metrics too.
    task = file_task(names[:3])
    metrics = glue_metrics(task, logits[:, :3], labels)
    assert list(metrics) == ["accuracy", "macro_f1"]
    assert metrics["macro_f1"] == pytest.approx(np.mean(f1s[:3]))


def test_tfidf_baseline_learns_words_and_pairs():
    train = ["red apple", "green apple", "red car", "blue car"] * 5
    labels = [0, 0, 1, 1] * 5
    result = tfidf_baseline(train, labels, ["apple pie", "fast car"], [0, 1])
    assert result["accuracy"] == 1.0 and result["train_size"] == 20
    pairs = (["a b"] * 4, ["apple", "car", "apple", "car"])
    result = tfidf_baseline(pairs, [0, 1, 0, 1], pairs, [0, 1, 0, 1])
    assert result["accuracy"] == 1.0
