"""Scoring a question answerer with the official SQuAD metric.

SQuAD v1.1 (every question has an answer): exact match and F1 of the best
span (`metrics.squad.squad_v1_metrics`). SQuAD v2.0 (a file with
unanswerable questions): the best span of each question, its
`null_score_diff` as the no-answer probability, and the job's
`null_threshold` as the official script's `no_answer_threshold`, so a
question counts as answered `""` when the no-answer score beats the best
span by more than the threshold (GR and Hugging Face's rule); the result
also has the official `best_f1` and `best_f1_thresh`, the threshold to use
next time (`metrics.squad.squad_v2_metrics`).
"""

from keras_mobilebert.metrics.squad import squad_v1_metrics
from keras_mobilebert.metrics.squad import squad_v2_metrics
from keras_mobilebert.models.mobilebert.span_decoding import decode_answers


def is_squad_v2(examples):
    """Whether any of the `SquadExample`s is unanswerable (SQuAD v2.0).

    Example:
    ```python
    is_squad_v2(read_squad("dev-v2.0.json"))  # True
    ```
    """
    return any(example.is_impossible for example in examples)


def squad_scores(examples, answers, null_threshold=0.0, version2=None):
    """The official SQuAD scores of decoded answers, in percent.

    Args:
        examples: list of `SquadExample` (the references).
        answers: list of `span_decoding.Answer`, one per example, decoded
            without a null threshold (the best span of each).
        null_threshold: float. SQuAD v2.0 only: a question is answered
            `""` when its `null_score_diff` exceeds it.
        version2: bool or None. None: v2.0 when `examples` has unanswerable
            questions.

    Returns:
        `squad_v1_metrics`' dict (`exact_match`, `f1`, `total`, `missing`)
        for v1.1; `squad_v2_metrics`' dict (`exact`, `f1`, HasAns / NoAns,
        `best_f1`, `best_f1_thresh`, ...) for v2.0. Either way
        `"version"` says which.

    Example:
    ```python
    scores = squad_scores(dev, qa.answer(dev))
    scores["f1"]
    ```
    """
    if len(answers) != len(examples):
        raise ValueError(
            f"{len(answers)} answers for {len(examples)} questions."
        )
    predictions = {e.id: a.text for e, a in zip(examples, answers)}
    if version2 is None:
        version2 = is_squad_v2(examples)
    if not version2:
        return dict(squad_v1_metrics(predictions, examples), version="v1.1")
    scores = squad_v2_metrics(
        predictions,
        examples,
        no_answer_probabilities={
            e.id: a.null_score_diff for e, a in zip(examples, answers)
        },
        no_answer_threshold=null_threshold,
    )
    return dict(scores, version="v2.0")


def headline(scores):
    """`(exact_match, f1)` of a `squad_scores` dict, whichever version.

    Example:
    ```python
    exact, f1 = headline(squad_scores(dev, answers))
    ```
    """
    exact = (
        scores["exact_match"] if "exact_match" in scores else scores["exact"]
    )
    return exact, scores["f1"]


def decode_windows(windows, logits, max_answer_length=30):
    """Best-span answers from a model's (or a LiteRT file's) window logits.

    Args:
        windows: the `QuestionAnswererWindows` the logits are for.
        logits: dict with `start_logits` and `end_logits`, one row per
            window.
        max_answer_length: int. Longest answer in word pieces.

    Example:
    ```python
    windows = qa.preprocessor.encode(dev)
    answers = decode_windows(windows, qa.predict(windows.inputs()))
    ```
    """
    return decode_answers(
        windows,
        logits["start_logits"],
        logits["end_logits"],
        max_answer_length=max_answer_length,
    )
