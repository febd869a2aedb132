import unicodedata

import numpy as np
import pytest

from keras_mobilebert import MobileBertTokenizer
from keras_mobilebert.models.mobilebert.wordpiece_offsets import (
    WordPieceOffsets,
)
from tests.models.helpers import VOCAB

TRICKY = [
    "The Café Zürich, naïve résumé!",
    "Hello   world\t\tand\nnew-lines  ",
    "MIXED case WoRdS and UNaffable",
    "cafe\u0301 with a decomposed accent",
    "ﬁne ½ cup, x², Ⅻ",
    "中文字 and 한국어",
    "zero\u200bwidth and soft\u00adhyphen",
    "İstanbul and Straße",
    "$50, 20%. don't (ok?) [x] {y}",
    "emoji 😀 and \u0301 stray mark",
    "a" * 120 + " then normal words",
    "snake_case and back`tick ^caret",
]


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "strip"])
def tokenizer(request):
    return MobileBertTokenizer.from_preset(
        "mobilebert_en_uncased", strip_accents=request.param
    )


def _normalize(text, tokenizer):
    from keras_hub.src.utils.tensor_utils import casefold_utf8

    if tokenizer.normalizes_uncased:
        # BERT's own: control and format characters deleted, Unicode
        # lowercase, accents dropped (no NFKC).
        text = "".join(
            c
            for c in text
            if c in "\t\n\r"
            or unicodedata.category(c) not in ("Cc", "Cf", "Co", "Cs")
        )
        return "".join(
            c
            for c in unicodedata.normalize("NFD", text.lower())
            if unicodedata.category(c) != "Mn"
        )
    if tokenizer.strip_accents:
        text = "".join(
            c
            for c in unicodedata.normalize("NFD", text)
            if unicodedata.category(c) != "Mn"
        )
    return casefold_utf8(text)


def test_ids_equal_the_tokenizer(tokenizer):
    offsets = WordPieceOffsets(tokenizer)
    expected = tokenizer(TRICKY)
    for text, reference in zip(TRICKY, expected):
        ids, starts, ends = offsets.tokenize(text)
        assert ids == np.asarray(reference).tolist(), text
        assert len(ids) == len(starts) == len(ends)


def test_each_span_spells_its_piece(tokenizer):
    """Normalizing a token's original characters gives the token itself.

    The exception: a character that folds into several (ß -> ss, ½ -> 1⁄2)
    and is cut between two pieces goes with the later one.
    """
    offsets = WordPieceOffsets(tokenizer)
    checked = unknown = 0
    expanding = 0
    for text in TRICKY:
        ids, starts, ends = offsets.tokenize(text)
        assert starts == sorted(starts) and all(
            s <= e for s, e in zip(starts, ends)
        )
        for token_id, start, end in zip(ids, starts, ends):
            token = tokenizer.id_to_token(token_id)
            original = text[start:end]
            assert original.strip() == original, (text, original)
            if token == "[UNK]":
                unknown += 1
                continue
            near = text[max(start - 1, 0) : end + 1]
            if any(len(_normalize(c, tokenizer)) > 1 for c in near):
                expanding += 1
                continue
            piece = token[2:] if token.startswith("##") else token
            assert _normalize(original, tokenizer) == piece, (text, token)
            checked += 1
    assert checked > 60 and unknown >= 2 and expanding < 12


def test_spans_keep_case_accents_and_punctuation():
    tokenizer = MobileBertTokenizer.from_preset(
        "mobilebert_en_uncased", strip_accents=True
    )
    text = "The  Café, naïve résumé!"
    ids, starts, ends = WordPieceOffsets(tokenizer).tokenize(text)
    pieces = [tokenizer.id_to_token(i) for i in ids]
    assert pieces == ["the", "cafe", ",", "naive", "resume", "!"]
    assert [text[s:e] for s, e in zip(starts, ends)] == [
        "The",
        "Café",
        ",",
        "naïve",
        "résumé",
        "!",
    ]
    # A decomposed accent after a word belongs to its last piece.
    text = "cafe\u0301 ok"
    ids, starts, ends = WordPieceOffsets(tokenizer).tokenize(text)
    assert text[starts[0] : ends[0]] == "cafe\u0301"


def test_unknown_words_and_subwords_with_a_small_vocabulary():
    tokenizer = MobileBertTokenizer(vocabulary=VOCAB, lowercase=True)
    text = "The FOX played, Zebras jumped!"
    ids, starts, ends = WordPieceOffsets(tokenizer).tokenize(text)
    assert ids == np.asarray(tokenizer(text)).tolist()
    assert [tokenizer.id_to_token(i) for i in ids] == [
        "the",
        "fox",
        "play",
        "##ed",
        "[UNK]",
        "[UNK]",
        "jumped",
        "!",
    ]
    assert [text[s:e] for s, e in zip(starts, ends)] == [
        "The",
        "FOX",
        "play",
        "ed",
        ",",  # "," is not in this vocabulary
        "Zebras",
        "jumped",
        "!",
    ]


def test_settings_it_cannot_follow_are_errors():
    pre_split = MobileBertTokenizer(vocabulary=VOCAB, split=False)
    with pytest.raises(ValueError, match="split=False"):
        WordPieceOffsets(pre_split)
    special = MobileBertTokenizer(
        vocabulary=VOCAB, special_tokens_in_strings=True
    )
    with pytest.raises(ValueError, match="special_tokens_in_strings"):
        WordPieceOffsets(special)
