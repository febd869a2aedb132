"""The official SQuAD v1.1 and v2.0 metrics: exact match and F1.

Both official scripts (`evaluate-v1.1.py`, `evaluate-v2.0.py`) normalize an
answer (lowercase, drop ASCII punctuation, drop the articles a/an/the,
collapse whitespace), score a prediction against each gold answer and keep
the best, and average over questions (in percent).

They differ in the corner cases, reproduced here:

- v1.1: F1 is 0 whenever no token is shared, so an empty prediction or an
  answer that normalizes to nothing scores 0; every question counts, and a
  question without a prediction scores 0.
- v2.0: gold answers that normalize to nothing are dropped and a question
  without answers has the single gold answer `""`; F1 between two empty
  answers is 1 (empty against non-empty 0). With no-answer probabilities a
  question is answered `""` when its probability is above
  `no_answer_threshold`, and `best_exact` / `best_f1` are the scores at the
  best threshold, found as the official `find_best_thresh` does.
  The official v2.0 script drops a question without a prediction from the
  mean (and then fails on the HasAns/NoAns breakdown); here it scores 0
  and is counted in `"missing"`, as v1.1 does.

References are given as `{id: [gold answer texts]}` or as records with
`id` and `answer_texts` (e.g. `keras_mobilebert.data.squad.SquadExample`).
"""

import collections
import re
import string

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)


def normalize_answer(text):
    """SQuAD's answer normalization.

    Lowercase, remove ASCII punctuation (also inside words: "don't" ->
    "dont"), replace the words a, an and the by spaces, collapse
    whitespace.

    Args:
        text: string.

    Example:
    ```python
    normalize_answer("The  Denver Broncos!")  # "denver broncos"
    ```
    """
    text = "".join(c for c in text.lower() if c not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match_score(prediction, ground_truth):
    """1 if the normalized answers are equal, else 0.

    Example:
    ```python
    exact_match_score("the Broncos", "Broncos")  # 1
    ```
    """
    return int(normalize_answer(prediction) == normalize_answer(ground_truth))


def _token_f1(prediction_tokens, gold_tokens):
    common = collections.Counter(prediction_tokens) & collections.Counter(
        gold_tokens
    )
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(prediction_tokens)
    recall = same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def f1_score(prediction, ground_truth):
    """SQuAD v1.1 token F1 of two answers (0 when nothing is shared).

    Example:
    ```python
    f1_score("Denver", "Denver Broncos")  # 2/3
    ```
    """
    return _token_f1(
        normalize_answer(prediction).split(),
        normalize_answer(ground_truth).split(),
    )


def f1_score_v2(prediction, ground_truth):
    """SQuAD v2.0 token F1: like v1.1, but two empty answers score 1.

    Example:
    ```python
    f1_score_v2("", "")  # 1.0
    ```
    """
    prediction_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(ground_truth).split()
    if not prediction_tokens or not gold_tokens:
        return float(prediction_tokens == gold_tokens)
    return _token_f1(prediction_tokens, gold_tokens)


def _references(references):
    """`{id: list of gold texts}` from a mapping or from records."""
    if isinstance(references, dict):
        items = references.items()
    else:
        items = ((r.id, r.answer_texts) for r in references)
    result = {}
    for qid, answers in items:
        if isinstance(answers, str):
            raise TypeError(
                f"The gold answers of question {qid!r} are one string; give "
                "a list of answer texts."
            )
        if qid in result:
            raise ValueError(f"Question id {qid!r} appears twice.")
        result[qid] = list(answers)
    return result


def _check_predictions(predictions, gold):
    for qid, text in predictions.items():
        if not isinstance(text, str):
            raise TypeError(
                f"The prediction for question {qid!r} is a "
                f"{type(text).__name__}, not a string."
            )
    unknown = [qid for qid in predictions if qid not in gold]
    if unknown:
        raise ValueError(
            f"{len(unknown)} predictions are for question ids that are not in "
            f"the references, e.g. {unknown[0]!r}."
        )


def squad_v1_metrics(predictions, references):
    """The official SQuAD v1.1 exact match and F1, in percent.

    Args:
        predictions: dict. Question id -> predicted answer text.
        references: dict (question id -> list of gold texts) or records with
            `id` and `answer_texts`.

    Returns:
        `{"exact_match", "f1", "total", "missing"}`: the two scores averaged
        over all `total` questions; `missing` questions had no prediction
        and scored 0.

    Example:
    ```python
    squad_v1_metrics({"q1": "Denver"}, {"q1": ["Denver Broncos"]})
    # {"exact_match": 0.0, "f1": 66.66..., "total": 1, "missing": 0}
    ```
    """
    gold = _references(references)
    _check_predictions(predictions, gold)
    exact = f1 = 0.0
    missing = 0
    for qid, answers in gold.items():
        if qid not in predictions:
            missing += 1
            continue
        if not answers:
            raise ValueError(
                f"Question {qid!r} has no gold answer; SQuAD v1.1 has none "
                "such (use squad_v2_metrics for unanswerable questions)."
            )
        prediction = predictions[qid]
        exact += max(exact_match_score(prediction, a) for a in answers)
        f1 += max(f1_score(prediction, a) for a in answers)
    total = len(gold)
    return {
        "exact_match": 100.0 * exact / total if total else 0.0,
        "f1": 100.0 * f1 / total if total else 0.0,
        "total": total,
        "missing": missing,
    }


def _raw_v2_scores(predictions, gold):
    exact, f1 = {}, {}
    for qid, answers in gold.items():
        if qid not in predictions:
            continue
        answers = [a for a in answers if normalize_answer(a)] or [""]
        prediction = predictions[qid]
        exact[qid] = max(exact_match_score(prediction, a) for a in answers)
        f1[qid] = max(f1_score_v2(prediction, a) for a in answers)
    return exact, f1


def _best_threshold(
    scores, predictions, no_answer_probabilities, has_answer, total
):
    """Official `find_best_thresh`: sweep thresholds by rising probability.

    Below every probability all questions are answered "" (the NoAns ones
    score 1); passing a question's probability answers it instead: a HasAns
    question gains its raw score, a NoAns one loses 1 if its prediction is
    not the empty string (the official test, even for a prediction such as
    "the" that normalizes to nothing).
    """
    current = sum(1 for qid in scores if not has_answer[qid])
    best, threshold = current, 0.0
    for qid in sorted(scores, key=lambda k: no_answer_probabilities[k]):
        if has_answer[qid]:
            current += scores[qid]
        elif predictions[qid]:
            current -= 1
        if current > best:
            best, threshold = current, no_answer_probabilities[qid]
    return 100.0 * best / total, threshold


def _mean(scores, qids, total):
    return 100.0 * sum(scores.get(qid, 0) for qid in qids) / total


def squad_v2_metrics(
    predictions,
    references,
    no_answer_probabilities=None,
    no_answer_threshold=1.0,
):
    """The official SQuAD v2.0 scores, with the HasAns / NoAns breakdown.

    Args:
        predictions: dict. Question id -> predicted answer text (`""` for
            "no answer").
        references: dict (question id -> list of gold texts, empty for an
            unanswerable question) or records with `id` and `answer_texts`.
        no_answer_probabilities: dict or None. Question id -> the model's
            probability (or any score that rises with it, such as the null
            score difference) that there is no answer. With it, the result
            also has `best_exact`, `best_exact_thresh`, `best_f1` and
            `best_f1_thresh`.
        no_answer_threshold: float. A question whose no-answer probability
            is above it counts as answered `""` (the official default 1.0
            changes nothing for probabilities).

    Returns:
        dict with `exact`, `f1`, `total`, `missing`, and `HasAns_exact`,
        `HasAns_f1`, `HasAns_total` (and `NoAns_...`) for the questions
        with (without) gold answers, in percent.

    Example:
    ```python
    squad_v2_metrics(
        {"q1": "Denver", "q2": ""},
        {"q1": ["Denver"], "q2": []},
        no_answer_probabilities={"q1": 0.1, "q2": 0.8},
    )
    ```
    """
    gold = _references(references)
    _check_predictions(predictions, gold)
    has_answer = {qid: bool(answers) for qid, answers in gold.items()}
    exact_raw, f1_raw = _raw_v2_scores(predictions, gold)
    probabilities = None
    if no_answer_probabilities is not None:
        probabilities = {}
        for qid in exact_raw:
            if qid not in no_answer_probabilities:
                raise ValueError(
                    f"No no-answer probability for question {qid!r}."
                )
            probabilities[qid] = float(no_answer_probabilities[qid])
    exact, f1 = dict(exact_raw), dict(f1_raw)
    if probabilities is not None:
        for qid in exact:
            if probabilities[qid] > no_answer_threshold:
                exact[qid] = f1[qid] = float(not has_answer[qid])
    total = len(gold)
    result = {
        "exact": _mean(exact, gold, total) if total else 0.0,
        "f1": _mean(f1, gold, total) if total else 0.0,
        "total": total,
        "missing": total - len(exact_raw),
    }
    for prefix, wanted in (("HasAns", True), ("NoAns", False)):
        qids = [qid for qid in gold if has_answer[qid] == wanted]
        if qids:
            result[f"{prefix}_exact"] = _mean(exact, qids, len(qids))
            result[f"{prefix}_f1"] = _mean(f1, qids, len(qids))
            result[f"{prefix}_total"] = len(qids)
    if probabilities is not None and total:
        for name, raw in (("exact", exact_raw), ("f1", f1_raw)):
            best, threshold = _best_threshold(
                raw, predictions, probabilities, has_answer, total
            )
            result[f"best_{name}"] = best
            result[f"best_{name}_thresh"] = threshold
    return result
