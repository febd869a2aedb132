"""What the Task Library's `BertQuestionAnswerer` answers, and ours.

The expectations and the comparison behind
`tools/check_task_library.py`'s question-answering check (that file
drives the Task Library in its own environment; this one needs the
project's). The Task Library's client (tflite-support 0.4.4,
`bert_question_answerer.cc`) reads the file's metadata (input and output
names, the vocabulary), splits the context at spaces, lowercases ASCII
letters, tokenizes with the vocabulary and fills one 384-token window
`[CLS] question [SEP] context [SEP]`; it searches the 5 best start and 5
best end logits for the best valid span of at most 32 pieces, and answers
with the context's words from the span's first to its last token.

Our `answer` searches every span instead, so it can find a better span
than the Task Library; the check therefore compares the file's span with
two things: the Task Library's rule applied to the Keras model's logits
(which must agree: anything else is a bug in the file, its metadata or
the tokenization), and our `answer` (which agrees except where the rule's
top-5 search misses the best span).
"""

import pathlib

import numpy as np

from keras_mobilebert.export import run_tflite_on_windows
from keras_mobilebert.models.mobilebert.span_decoding import decode_answers

# BertQuestionAnswerer's fixed settings (tflite-support 0.4.4,
# bert_question_answerer.h): one window of 384 tokens (the context is cut
# after what fits), questions cut at 64 pieces, the 5 best start and 5
# best end logits searched, answers of at most 32 pieces, and the text
# ASCII-lowercased (no accent stripping) before its WordPiece tokenizer.
QA_SEQUENCE_LENGTH = 384
QA_QUESTION_PIECES = 64
QA_TOP_LOGITS = 5
QA_MAX_ANSWER_PIECES = 32


def task_library_takes(preprocessor, question, context):
    """Whether the Task Library reads the pair as our preprocessor does.

    It lowercases ASCII letters only and keeps accents, and answers from
    one window: so the pair's text must normalize to its ASCII lowercase
    (no other character changes under our uncased normalization), the
    question must have at most 64 pieces and the context fit in one
    384-token window.

    Example:
    ```python
    task_library_takes(qa.preprocessor, "Who?", "The fox jumped.")
    ```
    """
    from keras_mobilebert.models.mobilebert.uncased_normalization import (
        normalize_uncased,
    )

    for text in (question, context):
        ascii_lower = "".join(c.lower() if c.isascii() else c for c in text)
        if normalize_uncased(text) != ascii_lower:
            return False
    question_pieces = len(preprocessor.tokenize_with_offsets(question)[0])
    context_pieces = len(preprocessor.tokenize_with_offsets(context)[0])
    return (
        question_pieces <= QA_QUESTION_PIECES
        and question_pieces + context_pieces + 3 <= QA_SEQUENCE_LENGTH
    )


def _whole_words(context, start, end):
    """The Task Library's answer text for the characters `[start, end)`.

    The context's words (split at spaces) that the span touches, joined by
    one space.
    """
    words, position = [], 0
    for word in context.split(" "):
        if word and position < end and position + len(word) > start:
            words.append(word)
        position += len(word) + 1
    return " ".join(words)


def _top_k_span(start_logits, end_logits, context_positions):
    """The Task Library's decoding of one window's logits, or None."""
    starts = np.argsort(-start_logits, kind="stable")[:QA_TOP_LOGITS]
    ends = np.argsort(-end_logits, kind="stable")[:QA_TOP_LOGITS]
    best = None
    for i in starts:
        for j in ends:
            if i not in context_positions or j not in context_positions:
                continue
            if j < i or j - i + 1 > QA_MAX_ANSWER_PIECES:
                continue
            logit = float(start_logits[i] + end_logits[j])
            if best is None or logit > best[2]:
                best = (int(i), int(j), logit)
    return best


def question_answerer_expectations(qa, questions, contexts, tflite_path=None):
    """What the Task Library should answer, from our model.

    For each pair (one window each, see `task_library_takes`): our answer
    (`qa.answer`'s decoding, `span_decoding.decode_answers`, with the Task
    Library's 32-piece answers), its token positions in the window and
    its whole-word text; and the Task Library's own decoding rule applied
    to the same logits (the 5 best start and end logits), which the file
    must reproduce.

    Args:
        qa: a `MobileBertQuestionAnswerer` (its preprocessor at 384).
        questions: list of strings.
        contexts: list of strings.
        tflite_path: path or None. Take the logits from this `.tflite`
            file run in the LiteRT interpreter on our windows (a quantized
            file's own logits) instead of the Keras model.

    Returns:
        A dict: `pairs`, and in `expected`, per pair, `answer` (`text`,
        `words`, `start`, `end`, `score`) and `top_k` (`start`, `end`,
        `logit`, or None).

    Example:
    ```python
    expected = question_answerer_expectations(qa, questions, contexts)
    ```
    """
    windows = qa.preprocessor.encode((list(questions), list(contexts)))
    if len(windows) != len(questions):
        raise ValueError("Every pair must fit in one window.")
    if tflite_path is None:
        logits = qa.predict(windows.inputs(), batch_size=16, verbose=0)
    else:
        logits = run_tflite_on_windows(
            pathlib.Path(tflite_path).read_bytes(), windows
        )
    answers = decode_answers(
        windows,
        logits["start_logits"],
        logits["end_logits"],
        max_answer_length=QA_MAX_ANSWER_PIECES,
    )
    rows = []
    for index, answer in enumerate(answers):
        token_starts = windows.token_starts[index]
        token_ends = windows.token_ends[index]
        top = _top_k_span(
            logits["start_logits"][index],
            logits["end_logits"][index],
            set(np.flatnonzero(token_starts >= 0).tolist()),
        )
        first = np.flatnonzero(token_starts == answer.start)[0]
        last = np.flatnonzero(token_ends == answer.end)[-1]
        rows.append(
            {
                "answer": {
                    "text": answer.text,
                    "words": _whole_words(
                        contexts[index], answer.start, answer.end
                    ),
                    "start": int(first),
                    "end": int(last),
                    "score": answer.score,
                },
                "top_k": None
                if top is None
                else {"start": top[0], "end": top[1], "logit": top[2]},
            }
        )
    return {
        "pairs": [list(p) for p in zip(questions, contexts)],
        "expected": rows,
    }


def _same_span(a, b):
    return (a is None and b is None) or (
        a is not None
        and b is not None
        and (a["start"], a["end"]) == (b["start"], b["end"])
    )


def compare_answers(expected, answers):
    """Compare `BertQuestionAnswerer`'s answers with the expectations.

    Args:
        expected: what `question_answerer_expectations` returned.
        answers: what `answer_questions` returned.

    Returns:
        A report dict: `num_pairs`; `same_as_top_k_rule` (pairs whose best
        span in the file equals the Task Library's rule applied to the
        Keras logits, both finding none included) and
        `max_abs_logit_difference` over them; `rule_mismatches` (the
        others: a bug in the file, its metadata or the tokenization);
        `same_span_as_answer` and `same_text_as_answer` (the file's best
        span, and its text, against our `answer`, which searches every
        span); the `disagreements` with our answer, each with its `class`:
        `top_k` (our span's start or end is not among the 5 best logits,
        or no pair of them is a valid span) or `other`.
    """
    agree_rule = agree_span = agree_text = 0
    difference = 0.0
    disagreements, mismatches = [], []
    for (question, _), row, got in zip(
        expected["pairs"], expected["expected"], answers
    ):
        best = got[0] if got else None
        rule = row["top_k"]
        if _same_span(best, rule):
            agree_rule += 1
            if best is not None:
                difference = max(difference, abs(best["logit"] - rule["logit"]))
        else:
            mismatches.append(
                {"question": question, "task_library": best, "rule": rule}
            )
        ours = row["answer"]
        if best is not None and _same_span(best, ours):
            agree_span += 1
            agree_text += best["text"] == ours["words"]
            continue
        disagreements.append(
            {
                "question": question,
                "ours": ours["text"],
                "task_library": None if best is None else best["text"],
                "class": "other" if _same_span(rule, ours) else "top_k",
            }
        )
    classes = {}
    for item in disagreements:
        classes[item["class"]] = classes.get(item["class"], 0) + 1
    return {
        "num_pairs": len(expected["pairs"]),
        "same_as_top_k_rule": agree_rule,
        "max_abs_logit_difference": difference,
        "rule_mismatches": mismatches,
        "same_span_as_answer": agree_span,
        "same_text_as_answer": agree_text,
        "disagreement_classes": classes,
        "disagreements": disagreements,
    }
