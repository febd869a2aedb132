import collections
import random
import re
import string

import pytest

from keras_mobilebert.data.squad import make_example
from keras_mobilebert.metrics.squad import exact_match_score
from keras_mobilebert.metrics.squad import f1_score
from keras_mobilebert.metrics.squad import f1_score_v2
from keras_mobilebert.metrics.squad import normalize_answer
from keras_mobilebert.metrics.squad import squad_v1_metrics
from keras_mobilebert.metrics.squad import squad_v2_metrics


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The  Denver Broncos!", "denver broncos"),
        # Punctuation inside words goes, joining the pieces.
        ("don't", "dont"),
        ("U.S.A.", "usa"),
        ("a-ha", "aha"),
        # Articles are whole words only, anywhere.
        ("an apple a day, the end", "apple day end"),
        ("Theater and Anthem", "theater and anthem"),
        # Non-ASCII punctuation (an en dash) is not removed.
        ("24–10", "24–10"),
        ("\tNew\nYork  ", "new york"),
        ("The", ""),
    ],
)
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


def test_exact_and_f1_hand_computed():
    assert exact_match_score("the Broncos", "Broncos") == 1
    assert exact_match_score("Broncos.", "broncos") == 1
    assert exact_match_score("Denver", "Denver Broncos") == 0
    # One shared token: precision 1, recall 1/2.
    assert f1_score("Denver", "Denver Broncos") == pytest.approx(2 / 3)
    # Articles dropped before counting: "cat" against "cat cat".
    assert f1_score("the the cat", "cat cat") == pytest.approx(2 / 3)
    # Counts are clipped: "b b c" against "b c c" shares one b, one c.
    assert f1_score("a b b c", "b c c") == pytest.approx(2 / 3)
    assert f1_score("Denver", "Carolina") == 0.0


def test_v1_corner_cases_follow_the_official_script():
    # An empty prediction shares no token: F1 0, but if the gold answer
    # normalizes to nothing too, the strings are equal: EM 1.
    assert f1_score("", "Denver") == 0.0
    assert f1_score("", "") == 0.0
    assert exact_match_score("", "the") == 1
    # v2.0 scores two empty answers 1.
    assert f1_score_v2("", "") == 1.0
    assert f1_score_v2("the", "") == 1.0
    assert f1_score_v2("Denver", "") == 0.0
    assert f1_score_v2("", "Denver") == 0.0
    assert f1_score_v2("Denver", "Denver Broncos") == pytest.approx(2 / 3)


def test_v1_mean_max_over_gold_and_missing_predictions():
    gold = {
        "q1": ["Denver Broncos", "Denver"],
        "q2": ["Carolina Panthers"],
        "q3": ["Santa Clara"],
    }
    predictions = {"q1": "Denver", "q2": "the Panthers"}
    result = squad_v1_metrics(predictions, gold)
    # q1: best gold "Denver" -> EM 1, F1 1. q2: F1 2/3 (1 of 2 tokens,
    # precision 1). q3: missing -> 0.
    assert result["exact_match"] == pytest.approx(100 / 3)
    assert result["f1"] == pytest.approx(100 * (1 + 2 / 3) / 3)
    assert result["total"] == 3
    assert result["missing"] == 1


def test_v1_accepts_records():
    context = "Super Bowl 50 was won by the Denver Broncos."
    record = make_example("q1", "Who won?", context, ["Denver Broncos"], [29])
    result = squad_v1_metrics({"q1": "Broncos"}, [record])
    assert result["f1"] == pytest.approx(100 * 2 / 3)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="not in the references, e.g. 'qx'"):
        squad_v1_metrics({"qx": "a"}, {"q1": ["a"]})
    with pytest.raises(TypeError, match="'q1' is a list, not a string"):
        squad_v1_metrics({"q1": ["a"]}, {"q1": ["a"]})
    with pytest.raises(TypeError, match="'q1' are one string"):
        squad_v1_metrics({"q1": "a"}, {"q1": "a"})
    with pytest.raises(ValueError, match="'q1' has no gold answer"):
        squad_v1_metrics({"q1": "a"}, {"q1": []})
    with pytest.raises(ValueError, match="no-answer probability for .*'q2'"):
        squad_v2_metrics({"q1": "", "q2": ""}, {"q1": [], "q2": []}, {"q1": 0})


GOLD_V2 = {
    "q1": ["Denver"],
    "q2": [],
    "q3": [],
    # Its only answer normalizes to nothing: the gold becomes "".
    "q4": ["the"],
}
PREDICTIONS_V2 = {"q1": "Denver", "q2": "", "q3": "Broncos", "q4": ""}
NA_PROBS = {"q1": 0.1, "q2": 0.9, "q3": 0.8, "q4": 0.2}


def test_v2_breakdown_hand_computed():
    result = squad_v2_metrics(PREDICTIONS_V2, GOLD_V2)
    assert result["exact"] == 75.0 and result["f1"] == 75.0
    assert result["HasAns_exact"] == 100.0 and result["HasAns_total"] == 2
    assert result["NoAns_exact"] == 50.0 and result["NoAns_total"] == 2
    assert "best_f1" not in result


def test_v2_thresholds_hand_computed():
    result = squad_v2_metrics(
        PREDICTIONS_V2, GOLD_V2, NA_PROBS, no_answer_threshold=0.5
    )
    # Above 0.5 (q2, q3) the answer counts as "": right for both.
    assert result["exact"] == 100.0
    # Sweep from "all unanswered" (2 right): q1 +1 -> 3 at 0.1, q4 +1 -> 4
    # at 0.2, q3 answers "Broncos" -1 -> 3, q2 answers "" +0 -> 3.
    assert result["best_exact"] == 100.0
    assert result["best_exact_thresh"] == 0.2
    assert result["best_f1_thresh"] == 0.2


def _official_v2(dataset, preds, na_probs, thresh):
    """A transliteration of evaluate-v2.0.py's scoring, for comparison."""

    def norm(s):
        s = "".join(ch for ch in s.lower() if ch not in set(string.punctuation))
        s = re.sub(r"\b(a|an|the)\b", " ", s)
        return " ".join(s.split())

    def f1(gold, pred):
        g, p = norm(gold).split(), norm(pred).split()
        same = sum((collections.Counter(g) & collections.Counter(p)).values())
        if not g or not p:
            return int(g == p)
        if same == 0:
            return 0
        precision, recall = same / len(p), same / len(g)
        return 2 * precision * recall / (precision + recall)

    has_ans = {k: bool(v) for k, v in dataset.items()}
    exact_raw, f1_raw = {}, {}
    for qid, answers in dataset.items():
        golds = [a for a in answers if norm(a)] or [""]
        exact_raw[qid] = max(int(norm(a) == norm(preds[qid])) for a in golds)
        f1_raw[qid] = max(f1(a, preds[qid]) for a in golds)

    def apply(scores):
        return {
            k: float(not has_ans[k]) if na_probs[k] > thresh else s
            for k, s in scores.items()
        }

    def best(scores):
        cur = best_score = sum(1 for k in has_ans if not has_ans[k])
        best_thresh = 0.0
        for qid in sorted(na_probs, key=lambda k: na_probs[k]):
            if has_ans[qid]:
                diff = scores[qid]
            else:
                diff = -1 if preds[qid] else 0
            cur += diff
            if cur > best_score:
                best_score, best_thresh = cur, na_probs[qid]
        return 100.0 * best_score / len(scores), best_thresh

    exact, f1s = apply(exact_raw), apply(f1_raw)
    n = len(exact)
    out = {"exact": 100 * sum(exact.values()) / n}
    out["f1"] = 100 * sum(f1s.values()) / n
    out["best_exact"], out["best_exact_thresh"] = best(exact_raw)
    out["best_f1"], out["best_f1_thresh"] = best(f1_raw)
    return out


def test_v2_matches_the_official_logic_on_random_data():
    rng = random.Random(0)
    words = ["the", "a", "Denver", "Broncos", "won", "game", "Super", "50", "."]
    for trial in range(20):
        dataset, preds, probs = {}, {}, {}
        for i in range(30):
            qid = f"q{i}"
            dataset[qid] = [
                " ".join(rng.choices(words, k=rng.randint(1, 4)))
                for _ in range(rng.choice([0, 0, 1, 2, 3]))
            ]
            preds[qid] = (
                ""
                if rng.random() < 0.3
                else " ".join(rng.choices(words, k=rng.randint(1, 4)))
            )
            probs[qid] = round(rng.random(), 1)  # ties, as real data has
        threshold = rng.choice([0.3, 0.5, 1.0])
        ours = squad_v2_metrics(preds, dataset, probs, threshold)
        official = _official_v2(dataset, preds, probs, threshold)
        for key, value in official.items():
            assert ours[key] == pytest.approx(value), (trial, key)
