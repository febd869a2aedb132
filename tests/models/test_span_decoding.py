import itertools

import numpy as np
import pytest

from keras_mobilebert import MobileBertQuestionAnswererPreprocessor
from keras_mobilebert import MobileBertTokenizer
from keras_mobilebert.models.mobilebert.span_decoding import decode_answer
from keras_mobilebert.models.mobilebert.span_decoding import decode_answers
from tests.models.helpers import VOCAB

# 15 context tokens, question "fox": windows of 12 (offset 3, 8 context
# tokens each) start at context tokens 0, 3, 6 and 9.
CONTEXT = "The QUICK brown fox jumped, a great dull film was the movie!  a"
WORDS = ["The", "QUICK", "brown", "fox", "jumped", ",", "a", "great"]
WORDS += ["dull", "film", "was", "the", "movie", "!", "a"]


def windows_for(context=CONTEXT, questions=("fox",)):
    tokenizer = MobileBertTokenizer(vocabulary=VOCAB, lowercase=True)
    preprocessor = MobileBertQuestionAnswererPreprocessor(
        tokenizer, sequence_length=12, doc_stride=3, max_question_length=4
    )
    return preprocessor.encode((list(questions), [context] * len(questions)))


def position(window, word_index):
    """The row position of context word `word_index` in window `window`."""
    return 3 + word_index - 3 * window


def test_the_windows_are_what_the_tests_assume():
    windows = windows_for()
    assert len(windows) == 4
    spans = [
        CONTEXT[s:e]
        for s, e in zip(
            windows.token_starts[1][3:11], windows.token_ends[1][3:11]
        )
    ]
    assert spans == WORDS[3:11]


def test_best_span_keeps_the_context_text_and_scores_add():
    windows = windows_for(questions=["fox"])
    start = np.zeros((4, 12))
    end = np.zeros((4, 12))
    start[0, position(0, 1)] = 3.0  # "QUICK"
    end[0, position(0, 3)] = 2.0  # "fox"
    [answer] = decode_answers(windows, start, end)
    assert answer.text == "QUICK brown fox"
    assert (answer.start, answer.end) == (4, 19)
    assert CONTEXT[answer.start : answer.end] == answer.text
    assert answer.score == 5.0
    assert answer.n_best[0].text == answer.text
    probabilities = [s.probability for s in answer.n_best]
    scores = np.array([s.score for s in answer.n_best])
    expected = np.exp(scores - scores.max())
    np.testing.assert_allclose(probabilities, expected / expected.sum())
    assert len(answer.n_best) == 20


def test_spans_outside_the_context_or_backwards_never_win():
    windows = windows_for()
    start = np.zeros((4, 12))
    end = np.zeros((4, 12))
    # [CLS], the question, [SEP]s and padding get huge logits.
    for w in range(4):
        mask = windows.token_starts[w] < 0
        start[w, mask] = 100.0
        end[w, mask] = 100.0
    # End before start: "great" ends, "film" starts.
    start[2, position(2, 9)] = 50.0
    end[2, position(2, 7)] = 50.0
    start[1, position(1, 4)] = 1.0  # "jumped"
    end[1, position(1, 4)] = 1.0
    answer = decode_answers(windows, start, end, n_best=3)[0]
    # A backward pair would score 100, [CLS]/question/padding up to 200:
    # the best is a span with one of the two 50s and a 0.
    assert answer.score == 50.0
    for span in answer.n_best:
        assert span.start >= 0 and span.score == 50.0
        assert CONTEXT[span.start : span.end] == span.text
    assert answer.text in ("a great", "great")


def test_max_answer_length_in_tokens():
    windows = windows_for()
    start = np.zeros((4, 12))
    end = np.zeros((4, 12))
    start[0, position(0, 0)] = 5.0  # "The"
    end[0, position(0, 4)] = 5.0  # "jumped": 5 tokens
    long = decode_answers(windows, start, end, max_answer_length=5)[0]
    assert long.text == "The QUICK brown fox jumped"
    short = decode_answers(windows, start, end, max_answer_length=4)[0]
    assert short.score == 5.0
    assert short.text != long.text


def test_a_span_in_several_windows_takes_its_best_score_once():
    windows = windows_for()
    start = np.zeros((4, 12))
    end = np.zeros((4, 12))
    # "great dull" (words 7-8) is in windows 0, 1 and 2.
    for w, value in ((0, 1.0), (1, 4.0), (2, 2.0)):
        start[w, position(w, 7)] = value
        end[w, position(w, 8)] = value
    answer = decode_answers(windows, start, end)[0]
    assert answer.text == "great dull"
    assert answer.score == 8.0
    texts = [(s.start, s.end) for s in answer.n_best]
    assert len(texts) == len(set(texts))


def test_a_span_never_crosses_windows():
    windows = windows_for()
    start = np.zeros((4, 12))
    end = np.zeros((4, 12))
    # "QUICK" (word 1) is only in window 0, "movie" (word 12) only in 2-3.
    start[0, position(0, 1)] = 10.0
    end[3, position(3, 12)] = 10.0
    answer = decode_answers(windows, start, end, max_answer_length=30)[0]
    assert answer.score == 10.0
    assert answer.text in ("QUICK", "movie") or answer.text.startswith("QUICK")
    assert not (answer.text.startswith("QUICK") and "movie" in answer.text)


def test_null_answer_by_threshold():
    windows = windows_for()
    start = np.zeros((4, 12))
    end = np.zeros((4, 12))
    start[1, position(1, 3)] = 2.0  # "fox"
    end[1, position(1, 3)] = 2.0
    start[:, 0] = [6.0, 5.0, 7.0, 8.0]  # null = min over windows = 5 + 1
    end[:, 0] = 1.0
    v1 = decode_answers(windows, start, end)[0]
    assert v1.text == "fox" and v1.null_score == 6.0
    assert v1.null_score_diff == pytest.approx(2.0)
    assert all(s.start >= 0 for s in v1.n_best)
    null = decode_answers(windows, start, end, null_threshold=1.5)[0]
    assert null.text == "" and (null.start, null.end) == (-1, -1)
    assert null.score == 6.0
    assert any(s.text == "" for s in null.n_best)
    answered = decode_answers(windows, start, end, null_threshold=2.5)[0]
    assert answered.text == "fox"
    assert any(s.text == "" for s in answered.n_best)


def _brute_force(windows, start, end, context, max_answer_length, n_best):
    best = {}
    for w in range(len(start)):
        in_context = np.flatnonzero(windows.token_starts[w] >= 0)
        for s, e in itertools.product(in_context, in_context):
            if e < s or e - s + 1 > max_answer_length:
                continue
            key = (windows.token_starts[w][s], windows.token_ends[w][e])
            best[key] = max(best.get(key, -np.inf), start[w, s] + end[w, e])
    ranked = sorted(best.items(), key=lambda kv: -kv[1])[:n_best]
    return [(context[a:b], score) for (a, b), score in ranked]


def test_matches_a_brute_force_search_on_random_logits():
    windows = windows_for()
    rng = np.random.default_rng(0)
    for _ in range(10):
        start = rng.normal(size=(4, 12)) * 3
        end = rng.normal(size=(4, 12)) * 3
        answer = decode_answer(
            start,
            end,
            windows.token_starts,
            windows.token_ends,
            CONTEXT,
            n_best=7,
            max_answer_length=4,
        )
        expected = _brute_force(windows, start, end, CONTEXT, 4, 7)
        assert [s.text for s in answer.n_best] == [t for t, _ in expected]
        np.testing.assert_allclose(
            [s.score for s in answer.n_best], [v for _, v in expected]
        )


def test_several_pairs_and_shape_errors():
    windows = windows_for(questions=["fox", "film", "the movie"])
    assert windows.example_index.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    rng = np.random.default_rng(1)
    start = rng.normal(size=(12, 12))
    end = rng.normal(size=(12, 12))
    answers = decode_answers(windows, start, end)
    assert len(answers) == 3
    for i, answer in enumerate(answers):
        rows = slice(4 * i, 4 * i + 4)
        alone = decode_answer(
            start[rows],
            end[rows],
            windows.token_starts[rows],
            windows.token_ends[rows],
            CONTEXT,
        )
        assert answer == alone
    with pytest.raises(ValueError, match="do not match the \\(12, 12\\)"):
        decode_answers(windows, start[:3], end)
