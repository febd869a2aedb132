import warnings

import numpy as np
import pytest

from keras_mobilebert import MobileBertBackbone
from keras_mobilebert import MobileBertQuestionAnswererPreprocessor
from keras_mobilebert import MobileBertTokenizer
from keras_mobilebert.data.squad import make_example
from keras_mobilebert.models.mobilebert.question_answerer_windows import (
    answer_token_span,
)
from keras_mobilebert.models.mobilebert.question_answerer_windows import (
    window_starts,
)
from tests.models.helpers import SMALL_BACKBONE
from tests.models.helpers import VOCAB

# VOCAB ids: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, the 5, quick 6, brown 7,
# fox 8, jumped 9, a 10, great 11, dull 12, film 13, movie 14, was 15,
# "." 16, "!" 17, ##s 18, play 19, ##ed 20.


def small(**kwargs):
    tokenizer = MobileBertTokenizer(vocabulary=VOCAB, lowercase=True)
    kwargs.setdefault("sequence_length", 12)
    kwargs.setdefault("doc_stride", 3)
    kwargs.setdefault("max_question_length", 4)
    return MobileBertQuestionAnswererPreprocessor(tokenizer, **kwargs)


def test_one_window_layout():
    preprocessor = small()
    context = "The  Fox played!"
    windows = preprocessor.encode((["a fox?"], [context]))
    assert len(windows) == 1
    # [CLS] a fox ? [SEP] the fox play ##ed ! [SEP] [PAD]: "?" is unknown.
    assert windows.token_ids[0].tolist() == [
        2,
        10,
        8,
        1,
        3,
        5,
        8,
        19,
        20,
        17,
        3,
        0,
    ]
    assert windows.segment_ids[0].tolist() == [0] * 5 + [1] * 6 + [0]
    assert windows.padding_mask[0].tolist() == [1] * 11 + [0]
    assert windows.token_starts[0].tolist()[:5] == [-1] * 5
    assert windows.token_starts[0].tolist()[10:] == [-1, -1]
    spans = [
        context[s:e]
        for s, e in zip(
            windows.token_starts[0][5:10], windows.token_ends[0][5:10]
        )
    ]
    assert spans == ["The", "Fox", "play", "ed", "!"]
    ids, starts, ends = preprocessor.tokenize_with_offsets(context)
    assert ids == windows.token_ids[0][5:10].tolist()
    assert (starts, ends) == ([0, 5, 9, 13, 15], [3, 8, 13, 15, 16])
    assert windows.example_index.tolist() == [0]
    assert windows.start_positions is None


def test_ids_equal_the_tokenizer_on_real_vocabulary():
    tokenizer = MobileBertTokenizer.from_preset("mobilebert_en_uncased")
    preprocessor = MobileBertQuestionAnswererPreprocessor(
        tokenizer, sequence_length=64, max_question_length=8
    )
    question = "Which NFL team represented the AFC at Super Bowl 50 in Zürich?"
    context = "The Denver Broncos (AFC) beat the Café   Panthers 24–10."
    with pytest.warns(UserWarning, match="1 of 1 questions are longer"):
        windows = preprocessor.encode(([question], [context]))
    question_ids = np.asarray(tokenizer(question)).tolist()[:8]
    context_ids = np.asarray(tokenizer(context)).tolist()
    row = windows.token_ids[0].tolist()
    assert row[:10] == [101, *question_ids, 102]
    assert row[10 : 10 + len(context_ids) + 1] == [*context_ids, 102]
    starts = windows.token_starts[0][10 : 10 + len(context_ids)]
    ends = windows.token_ends[0][10 : 10 + len(context_ids)]
    words = [context[s:e] for s, e in zip(starts, ends)]
    assert words[:6] == ["The", "Denver", "Broncos", "(", "AFC", ")"]
    assert "Café" in words and "–" in words


def test_long_context_overlapping_windows():
    preprocessor = small()
    # 15 context tokens; the question "fox" leaves 12 - 3 - 1 = 8 for it.
    context = "the quick brown fox jumped a great dull film was the movie . ! a"
    windows = preprocessor.encode((["fox"], [context]))
    assert window_starts(15, 8, 3) == [0, 3, 6, 9]
    # Starts 0, 3, 6, 9: the window at 6 ends one token short, at 14.
    assert len(windows) == 4
    assert windows.example_index.tolist() == [0, 0, 0, 0]
    words = context.split()
    for w, first in enumerate([0, 3, 6, 9]):
        context_tokens = windows.token_ids[w][3:-1]
        n = min(8, 15 - first)
        assert [VOCAB[i] for i in context_tokens[:n]] == words[
            first : first + n
        ]
        starts = windows.token_starts[w][3 : 3 + n]
        ends = windows.token_ends[w][3 : 3 + n]
        assert [context[s:e] for s, e in zip(starts, ends)] == words[
            first : first + n
        ]
    # The last window ends with the context: its [SEP] right after "a".
    assert windows.token_ids[3].tolist()[3 + 6 :] == [3, 0, 0]


def test_labels_point_at_the_answer_or_cls():
    preprocessor = small()
    context = "the quick brown fox jumped a great dull film was the movie . ! a"
    start = context.index("great dull")
    x, y = preprocessor(x=(["fox"], [context]), y=(["great dull"], [start]))
    # Context tokens 6-7; the windows (offset 3) hold context tokens
    # [0, 8), [3, 11), [6, 14) and [9, 15).
    assert y["start_logits"].tolist() == [9, 6, 3, 0]
    assert y["end_logits"].tolist() == [10, 7, 4, 0]
    assert x["token_ids"][0][9] == 11  # "great"
    # The answer "dull film was" (tokens 7-9) is not whole in window 0.
    start = context.index("dull film was")
    _, y = preprocessor(x=(["fox"], [context]), y=(["dull film was"], [start]))
    assert y["start_logits"].tolist() == [0, 7, 4, 0]
    assert y["end_logits"].tolist() == [0, 9, 6, 0]


def test_drop_windows_without_answer_but_keep_unanswerable():
    preprocessor = small(windows_without_answer="drop")
    context = "the quick brown fox jumped a great dull film was the movie . ! a"
    start = context.index("dull film was")
    windows = preprocessor.encode(
        (["fox", "fox"], [context, context]),
        (["dull film was", ""], [start, -1]),
    )
    assert windows.example_index.tolist() == [0, 0, 1, 1, 1, 1]
    assert windows.start_positions.tolist() == [7, 4, 0, 0, 0, 0]
    assert windows.end_positions.tolist() == [9, 6, 0, 0, 0, 0]


def test_records_give_inputs_and_labels_from_the_first_answer():
    context = "The quick brown fox jumped."
    records = [
        make_example("q1", "a fox?", context, ["brown fox", "fox"], [10, 16]),
        make_example("q2", "the film?", context),
    ]
    x, y = small()(records)
    assert y["start_logits"].tolist() == [7, 0]
    assert y["end_logits"].tolist() == [8, 0]
    assert x["token_ids"].shape == (2, 12)


def test_positional_pair_is_questions_and_contexts():
    preprocessor = small()
    by_keyword = preprocessor(x=(["fox"], ["the fox jumped"]))
    positional = preprocessor((["fox"], ["the fox jumped"]))
    assert np.array_equal(by_keyword["token_ids"], positional["token_ids"])
    single = preprocessor.encode(("fox", "the fox jumped"))
    assert np.array_equal(single.token_ids, by_keyword["token_ids"])


def test_long_questions_are_truncated_with_one_warning():
    preprocessor = small(max_question_length=2)
    questions = ["the quick brown fox", "a great dull film", "fox"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        windows = preprocessor.encode((questions, ["the fox"] * 3))
    messages = [str(w.message) for w in caught]
    assert messages == [
        "2 of 3 questions are longer than max_question_length=2 word "
        "pieces; they were truncated."
    ]
    assert windows.token_ids[0].tolist()[:4] == [2, 5, 6, 3]


@pytest.mark.parametrize(
    "x, y, expected",
    [
        ((["  "], ["the fox"]), None, "question of pair 0 is empty"),
        ((["fox", "fox"], ["the fox", ""]), None, "context of pair 1 is empty"),
        (
            (["fox"], ["\u200b\u200b"]),
            None,
            "context of pair 0 has no word pieces",
        ),
        (
            (["fox"], ["the fox"]),
            (["fox"], [0]),
            "answer 'fox' of pair 0 is not at character 0 of its context "
            "\\(found 'the'\\)",
        ),
        (
            (["fox"], ["the  fox"]),
            ([" "], [3]),
            "answer ' ' of pair 0 covers no word piece",
        ),
        ((["fox"], ["a", "b"]), None, "1 questions but 2 contexts"),
        (
            ([b"\xfffox"], ["the fox"]),
            None,
            "question of pair 0 is not valid UTF-8 \\('utf-8' codec",
        ),
        (
            (["fox", "fox"], ["the fox", b"caf\xe9"]),
            None,
            "context of pair 1 is not valid UTF-8",
        ),
        (
            (np.array([b"fox"]), np.array([b"\xff"])),
            None,
            "context of pair 0 is not valid UTF-8",
        ),
        (
            (["fox"], ["the fox"]),
            ([b"\xff"], [4]),
            "answer text of pair 0 is not valid UTF-8",
        ),
        ((["\x07\u00ad"], ["the fox"]), None, "question of pair 0 has no"),
    ],
)
def test_bad_input_is_named(x, y, expected):
    with pytest.raises(ValueError, match=expected) as info:
        small().encode(x, y)
    assert "\n" not in str(info.value)


def test_bad_records_and_types_are_named():
    record = make_example("q7", "fox", "the fox", ["fox"], [4])
    as_bytes = record.__class__(**{**record.__dict__, "context": b"\xff"})
    with pytest.raises(ValueError, match="context of id 'q7' is not valid"):
        small().encode([as_bytes])
    missing = record.__class__(**{**record.__dict__, "question": None})
    with pytest.raises(TypeError, match="question of id 'q7' is not a string"):
        small().encode([missing])
    with pytest.raises(TypeError, match="question of pair 1 is not a string"):
        small().encode((["fox", 3], ["the fox", "the fox"]))


def test_string_tensors_and_valid_bytes_are_text():
    import tensorflow as tf

    preprocessor = small()
    expected = preprocessor.encode((["fox"], ["the fox jumped"]))
    for x in (
        (tf.constant(["fox"]), tf.constant(["the fox jumped"])),
        ([b"fox"], ["the fox jumped".encode()]),
    ):
        windows = preprocessor.encode(x)
        np.testing.assert_array_equal(windows.token_ids, expected.token_ids)
        assert windows.contexts == ["the fox jumped"]


def test_record_ids_are_named():
    record = make_example("q7", "fox", "the fox", ["fox"], [4])
    record = record.__class__(**{**record.__dict__, "answer_starts": (0,)})
    with pytest.raises(ValueError, match="of id 'q7' is not at character 0"):
        small().encode([record])


def test_bad_settings():
    with pytest.raises(ValueError, match="at least 8"):
        small(sequence_length=7)
    with pytest.raises(ValueError, match="doc_stride must be a positive int"):
        small(doc_stride=0)
    with pytest.raises(ValueError, match="windows_without_answer 'skip'"):
        small(windows_without_answer="skip")


def test_answer_token_span():
    # Tokens "ab" [0, 2), "c" [3, 4), "de" [4, 6).
    starts, ends = [0, 3, 4], [2, 4, 6]
    assert answer_token_span(starts, ends, 0, 2) == (0, 0)
    assert answer_token_span(starts, ends, 1, 5) == (0, 2)
    assert answer_token_span(starts, ends, 2, 3) is None


def test_preset_round_trip_and_builtin_preset(tmp_path):
    preprocessor = small(doc_stride=5, windows_without_answer="drop")
    config = preprocessor.get_config()
    assert config["doc_stride"] == 5
    assert config["windows_without_answer"] == "drop"
    # A preset is a backbone plus what goes with it.
    MobileBertBackbone(**SMALL_BACKBONE).save_to_preset(tmp_path)
    preprocessor.save_to_preset(tmp_path)
    restored = MobileBertQuestionAnswererPreprocessor.from_preset(tmp_path)
    assert restored.get_config() == config
    pair = (["fox"], ["the quick fox jumped"])
    assert np.array_equal(
        restored(x=pair)["token_ids"], preprocessor(x=pair)["token_ids"]
    )
    builtin = MobileBertQuestionAnswererPreprocessor.from_preset(
        "mobilebert_en_uncased", sequence_length=32, max_question_length=16
    )
    assert builtin.sequence_length == 32 and builtin.doc_stride == 128
    assert builtin.max_question_length == 16
    assert builtin.tokenizer.vocabulary_size() == 30522
