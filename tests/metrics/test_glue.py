"""GLUE metrics against hand-computed values (and scikit-learn / SciPy)."""

import math

import numpy as np
import pytest

from keras_mobilebert.metrics import glue as M
from keras_mobilebert.metrics import glue_metrics

# 8 examples, worked by hand: TP = 3 (rows 0, 1, 2), FP = 1 (row 3),
# FN = 2 (rows 4, 5), TN = 2 (rows 6, 7).
PRED = [1, 1, 1, 1, 0, 0, 0, 0]
GOLD = [1, 1, 1, 0, 1, 1, 0, 0]


def test_accuracy_and_f1_by_hand():
    assert M.accuracy(PRED, GOLD) == 5 / 8
    # 2 TP / (2 TP + FP + FN) = 6 / 9.
    assert M.f1_score(PRED, GOLD) == pytest.approx(6 / 9)
    assert M.f1_score([0, 0], [0, 0]) == 0.0
    assert M.f1_score([1, 0], [0, 1]) == 0.0


def test_matthews_by_hand():
    # (TP TN - FP FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN))
    expected = (3 * 2 - 1 * 2) / math.sqrt(4 * 5 * 3 * 4)
    assert M.matthews_correlation(PRED, GOLD) == pytest.approx(expected)
    assert M.matthews_correlation(GOLD, GOLD) == pytest.approx(1.0)
    inverted = [1 - g for g in GOLD]
    assert M.matthews_correlation(inverted, GOLD) == pytest.approx(-1.0)
    # A constant prediction: the coefficient is undefined, reported as 0.
    assert M.matthews_correlation([1] * 8, GOLD) == 0.0


def test_correlations_by_hand():
    # x = [1, 2, 3], y = [2, 4, 7]: deviations [-1, 0, 1] and [-7/3, -1/3,
    # 8/3]; r = 5 / sqrt(2 * 114/9).
    assert M.pearson_correlation([1, 2, 3], [2, 4, 7]) == pytest.approx(
        5 / math.sqrt(2 * 114 / 9)
    )
    # Ties share their average rank.
    np.testing.assert_array_equal(
        M.average_ranks([10, 20, 20, 30, 20]), [1, 3, 3, 5, 3]
    )
    np.testing.assert_array_equal(M.average_ranks([3.0, 1.0]), [2, 1])
    # Ranks [1, 2, 3] and [1, 3, 2]: r = 0.5.
    assert M.spearman_correlation([1, 2, 3], [1, 5, 4]) == pytest.approx(0.5)
    # With ties, y ranks [1.5, 1.5, 3]: deviations [-.5, -.5, 1] against
    # [-1, 0, 1] give 1.5 / sqrt(2 * 1.5).
    assert M.spearman_correlation([1, 2, 3], [0, 0, 9]) == pytest.approx(
        1.5 / math.sqrt(3.0)
    )
    assert M.pearson_correlation([1, 1, 1], [1, 2, 3]) == 0.0


def test_glue_metrics_per_task():
    logits = np.array([[0.1, 0.9]] * 4 + [[0.8, 0.2]] * 4)
    assert glue_metrics("sst2", logits, GOLD) == {"accuracy": 5 / 8}
    mrpc = glue_metrics("MRPC", PRED, GOLD)
    assert list(mrpc) == ["f1", "accuracy"]
    assert mrpc["f1"] == pytest.approx(6 / 9)
    assert list(glue_metrics("qqp", PRED, GOLD)) == ["f1", "accuracy"]
    assert list(glue_metrics("cola", PRED, GOLD)) == ["matthews_correlation"]
    scores = glue_metrics("sts-b", [[1.0], [2.0], [3.0]], [1.0, 5.0, 4.0])
    assert scores == {
        "pearson": pytest.approx(M.pearson_correlation([1, 2, 3], [1, 5, 4])),
        "spearman": pytest.approx(0.5),
    }
    mnli = glue_metrics("mnli", [0, 1, 2], [0, 1, 1])
    assert mnli == {"accuracy": pytest.approx(2 / 3)}


def test_bad_shapes_are_errors():
    with pytest.raises(ValueError, match="3 predictions for 2 labels"):
        M.accuracy([1, 0, 1], [1, 0])
    with pytest.raises(ValueError, match="No examples"):
        M.accuracy([], [])
    with pytest.raises(ValueError, match="Unknown GLUE task"):
        glue_metrics("squad", [1], [1])


def test_against_scikit_learn_and_scipy():
    metrics = pytest.importorskip("sklearn.metrics")
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.RandomState(0)
    for _ in range(20):
        n = rng.randint(2, 60)
        gold = rng.randint(0, 2, n)
        pred = np.where(rng.rand(n) < 0.7, gold, 1 - gold)
        assert M.accuracy(pred, gold) == pytest.approx(
            metrics.accuracy_score(gold, pred)
        )
        assert M.f1_score(pred, gold) == pytest.approx(
            metrics.f1_score(gold, pred, zero_division=0)
        )
        assert M.matthews_correlation(pred, gold) == pytest.approx(
            metrics.matthews_corrcoef(gold, pred)
        )
        three = rng.randint(0, 3, n)
        assert M.matthews_correlation(three, gold) == pytest.approx(
            metrics.matthews_corrcoef(gold, three)
        )
        # Scores on a 0..5 grid of fifths: many ties, as in STS-B.
        x = rng.randint(0, 26, n) / 5.0
        y = np.clip(x + rng.randint(-5, 6, n) / 5.0, 0, 5)
        if np.ptp(x) and np.ptp(y):
            assert M.pearson_correlation(x, y) == pytest.approx(
                stats.pearsonr(x, y)[0]
            )
            assert M.spearman_correlation(x, y) == pytest.approx(
                stats.spearmanr(x, y)[0]
            )
        np.testing.assert_allclose(
            M.average_ranks(x), stats.rankdata(x, method="average")
        )
