"""From start and end logits of QA windows to answers in the contexts.

For every pair (question, context) the candidates are the spans of each of
its windows that lie inside the context, run from start to end and are at
most `max_answer_length` tokens long; a span's score is its start logit
plus its end logit. All valid spans are scored (not only those of the
top-k start and end logits, as GR and Hugging Face do), and any window's
span can win: a token seen in several windows takes the best score any of
them gives. The same character span from two windows is listed once, with
its best score. The answer text is the context's own substring from the
first token's first character to the last token's last character.

SQuAD v2.0: the no-answer ("null") score of a pair is the smallest
`[CLS]` start + end logit over its windows. With a `null_threshold`, the
pair is answered `""` when null score - best span score > threshold (GR
`run_squad.py`, Hugging Face `postprocess_qa_predictions`).
"""

import dataclasses

import numpy as np

from keras_mobilebert.utils.numerics import softmax


@dataclasses.dataclass(frozen=True)
class AnswerSpan:
    """One candidate answer.

    Args:
        text: string. The context substring (`""` for no answer).
        start: int. Character offset of the answer in the context (-1 for
            no answer).
        end: int. One past its last character (-1 for no answer).
        score: float. Start logit + end logit.
        probability: float. Softmax of the scores over the n-best list.
    """

    text: str
    start: int
    end: int
    score: float
    probability: float


@dataclasses.dataclass(frozen=True)
class Answer:
    """The decoded answer of one (question, context) pair.

    Args:
        text, start, end, score, probability: those of the chosen
            `AnswerSpan` (`""`, -1, -1 and the null score when the null
            answer wins).
        n_best: tuple of `AnswerSpan`, best first (with the null answer
            among them when a `null_threshold` is set).
        null_score: float. Smallest `[CLS]` start + end logit over the
            pair's windows.
        null_score_diff: float. `null_score` minus the best span's score:
            larger means "more likely unanswerable". Use it as the
            no-answer probability of the official SQuAD v2.0 metric
            (`best_f1_thresh` is then a `null_threshold`).
    """

    text: str
    start: int
    end: int
    score: float
    probability: float
    n_best: tuple
    null_score: float
    null_score_diff: float


def _window_spans(starts, ends, token_starts, max_answer_length):
    """`(score, first, last)` arrays of all valid spans of one window."""
    context = np.flatnonzero(token_starts >= 0)
    if context.size == 0:
        empty = np.zeros(0)
        return empty, empty.astype(int), empty.astype(int)
    lo, hi = context[0], context[-1]
    first = np.arange(lo, hi + 1)[:, None]
    last = first + np.arange(max_answer_length)[None, :]
    valid = last <= hi
    last = np.minimum(last, hi)
    scores = starts[first] + ends[last]
    return scores[valid], np.broadcast_to(first, last.shape)[valid], last[valid]


def decode_answer(
    start_logits,
    end_logits,
    token_starts,
    token_ends,
    context,
    n_best=20,
    max_answer_length=30,
    null_threshold=None,
):
    """The answer of one pair from the logits of its windows.

    Args:
        start_logits: float array `(windows, sequence_length)`.
        end_logits: float array `(windows, sequence_length)`.
        token_starts: int array `(windows, sequence_length)`. Character
            start of each context token, -1 for other tokens (see
            `QuestionAnswererWindows`).
        token_ends: int array. Character end of each context token.
        context: string. The pair's context.
        n_best: int. Candidates kept in `Answer.n_best`.
        max_answer_length: int. Longest answer, in tokens.
        null_threshold: float or None. None: always answer with a span
            (SQuAD v1.1). A float: answer `""` when the null score exceeds
            the best span's score by more than it (SQuAD v2.0).

    Returns:
        An `Answer`.

    Example:
    ```python
    answer = decode_answer(start, end, starts, ends, "The fox jumped.")
    answer.text, answer.start, answer.end
    ```
    """
    start_logits = np.asarray(start_logits, dtype="float64")
    end_logits = np.asarray(end_logits, dtype="float64")
    token_starts = np.asarray(token_starts)
    token_ends = np.asarray(token_ends)
    best = {}
    for w in range(len(start_logits)):
        scores, first, last = _window_spans(
            start_logits[w], end_logits[w], token_starts[w], max_answer_length
        )
        if scores.size > n_best:
            keep = np.argpartition(-scores, n_best - 1)[:n_best]
            scores, first, last = scores[keep], first[keep], last[keep]
        char_starts = token_starts[w][first]
        char_ends = token_ends[w][last]
        for score, a, b in zip(scores, char_starts, char_ends):
            key = (int(a), int(b))
            if b > a and score > best.get(key, -np.inf):
                best[key] = float(score)
    null_score = float(np.min(start_logits[:, 0] + end_logits[:, 0]))
    ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
    ranked = ranked[:n_best]
    candidates = [(context[a:b], a, b, score) for (a, b), score in ranked]
    best_score = candidates[0][3] if candidates else null_score
    null_wins = not candidates
    if null_threshold is not None:
        null_wins = null_wins or null_score - best_score > null_threshold
        candidates = sorted(
            candidates + [("", -1, -1, null_score)], key=lambda c: -c[3]
        )[:n_best]
        if not any(c[1] == -1 for c in candidates):
            candidates[-1] = ("", -1, -1, null_score)
    probabilities = softmax([c[3] for c in candidates])
    spans = tuple(
        AnswerSpan(text, a, b, score, float(p))
        for (text, a, b, score), p in zip(candidates, probabilities)
    )
    chosen = (
        next(s for s in spans if (s.start == -1) == null_wins)
        if spans
        else AnswerSpan("", -1, -1, null_score, 1.0)
    )
    return Answer(
        text=chosen.text,
        start=chosen.start,
        end=chosen.end,
        score=chosen.score,
        probability=chosen.probability,
        n_best=spans,
        null_score=null_score,
        null_score_diff=null_score - best_score,
    )


def decode_answers(windows, start_logits, end_logits, **kwargs):
    """The answer of every pair of a `QuestionAnswererWindows`.

    Args:
        windows: a `QuestionAnswererWindows` (from the preprocessor's
            `encode`).
        start_logits: float array `(windows, sequence_length)`.
        end_logits: float array `(windows, sequence_length)`.
        **kwargs: `n_best`, `max_answer_length`, `null_threshold`; see
            `decode_answer`.

    Returns:
        A list of `Answer`, one per pair, in input order.

    Example:
    ```python
    windows = preprocessor.encode((questions, contexts))
    logits = model.predict(windows.inputs())
    answers = decode_answers(
        windows, logits["start_logits"], logits["end_logits"]
    )
    ```
    """
    start_logits = np.asarray(start_logits)
    end_logits = np.asarray(end_logits)
    if start_logits.shape != windows.token_ids.shape or (
        end_logits.shape != windows.token_ids.shape
    ):
        raise ValueError(
            f"Logits of shapes {start_logits.shape} and {end_logits.shape} "
            f"do not match the {windows.token_ids.shape} windows."
        )
    order = np.argsort(windows.example_index, kind="stable")
    bounds = np.searchsorted(
        windows.example_index[order], np.arange(windows.num_examples + 1)
    )
    answers = []
    for i, context in enumerate(windows.contexts):
        rows = order[bounds[i] : bounds[i + 1]]
        if rows.size == 0:
            raise ValueError(f"Pair {i} has no window (all were dropped).")
        answers.append(
            decode_answer(
                start_logits[rows],
                end_logits[rows],
                windows.token_starts[rows],
                windows.token_ends[rows],
                context,
                **kwargs,
            )
        )
    return answers
