"""WordPiece tokens with their character spans in the original text.

Question answering must cut its answer out of the user's own string, with
its case, accents, punctuation and spacing. `MobileBertTokenizer` (KerasHub's
in-graph WordPiece) gives ids but no offsets, and its normalization (accent
stripping by NFD, NFKC case folding) changes lengths. This module runs the
same steps in Python, one character at a time where a step can change
lengths, so every token keeps the span of original characters it came from:

1. with BERT's uncased normalization (a tokenizer that lowercases and
   strips accents, `uncased_normalization.py`): control and format
   characters deleted, the text lowercased (`str.lower`), NFD, the
   nonspacing marks (`Mn`) dropped, per original character; with accent
   stripping alone, only the last two;
2. splitting on whitespace, control and format characters (dropped) and on
   punctuation and CJK ideographs (kept as words), with KerasHub's own
   patterns;
3. case folding (a tokenizer that lowercases without stripping accents) of
   each word with KerasHub's `casefold_utf8` (NFKC_Casefold), aligned back
   to the word's characters;
4. greedy longest-match-first WordPiece per word, a word that does not
   split fully (or is over 100 UTF-8 bytes) becoming one `[UNK]`.

The ids equal the tokenizer's: tests compare them on mixed-case, accented,
punctuated and `[UNK]` text, and on all 12,637 questions and contexts of
SQuAD v1.1 dev, with and without accent stripping (3 to 4 s in Python on
one core). tensorflow-text's `FastBertTokenizer` has
`tokenize_with_offsets`, but it differs from the tokenizer on 3 of those
texts ("…" and "′").

A token's span covers its word piece. The spans of a word tile it: the
last piece also covers marks stripped after it, and a character that folds
into several (ß -> ss, ½ -> 1⁄2) and is cut between two pieces goes with
the later one.
"""

import functools

import regex
from keras_hub.src.tokenizers import word_piece_tokenizer as kh_wordpiece
from keras_hub.src.utils.tensor_utils import casefold_utf8

from keras_mobilebert.models.mobilebert.uncased_normalization import is_deleted
from keras_mobilebert.models.mobilebert.uncased_normalization import (
    strip_accents,
)

# tf-text's FastWordpieceTokenizer turns longer words into the unknown token.
MAX_BYTES_PER_WORD = kh_wordpiece.MAX_BYTES_PER_WORD


@functools.lru_cache(maxsize=None)
def _split_pattern(split_on_cjk):
    """The delimiters of KerasHub's splitting, and those kept as words."""
    delimiters = [kh_wordpiece.PY_WHITESPACE_REGEX]
    kept = [kh_wordpiece.PY_PUNCTUATION_REGEX]
    if split_on_cjk:
        kept.append(kh_wordpiece.PY_CJK_REGEX)
    return regex.compile("|".join(delimiters + kept)), regex.compile(
        "|".join(kept)
    )


# Per character (or a character's lowercase), so a small cache covers it.
_strip_accents = functools.lru_cache(maxsize=65536)(strip_accents)


@functools.lru_cache(maxsize=65536)
def _casefold_char(char):
    return casefold_utf8(char)


def _fold_alignment(word, folded):
    """For each character of `folded`, the index in `word` it comes from.

    Case folding is per character except where NFKC composes across
    characters (a letter and a combining mark); then each folded character
    goes to the first word character whose folded prefix reaches it.
    """
    pieces = [_casefold_char(c) for c in word]
    if "".join(pieces) == folded:
        return [i for i, piece in enumerate(pieces) for _ in piece]
    alignment = []
    for i in range(len(word)):
        reached = len(casefold_utf8(word[: i + 1]))
        alignment.extend(
            [i] * max(0, min(reached, len(folded)) - len(alignment))
        )
    alignment.extend([len(word) - 1] * (len(folded) - len(alignment)))
    return alignment


class WordPieceOffsets:
    """Tokenize like a `MobileBertTokenizer`, keeping character offsets.

    Reads the tokenizer's vocabulary and settings (`lowercase`,
    `strip_accents`, `split_on_cjk`, `suffix_indicator`, `oov_token`);
    `tokenize` gives the same ids as `tokenizer(text)`.

    Args:
        tokenizer: a `keras_mobilebert.MobileBertTokenizer` (any KerasHub
            `WordPieceTokenizer` with `split=True`).

    Example:
    ```python
    offsets = WordPieceOffsets(tokenizer)
    ids, starts, ends = offsets.tokenize("Café au lait")
    # "Café"[starts[0]:ends[0]] is the text of the first token.
    ```
    """

    def __init__(self, tokenizer):
        if not tokenizer.split:
            raise ValueError(
                "The tokenizer has split=False (pre-split input); question "
                "answering needs it to split raw text itself."
            )
        if tokenizer.special_tokens_in_strings:
            raise ValueError(
                "The tokenizer has special_tokens_in_strings=True; question "
                "answering tokenizes questions and contexts as plain text."
            )
        vocabulary = tokenizer.get_vocabulary()
        self.token_to_id = {token: i for i, token in enumerate(vocabulary)}
        self.uncased = bool(getattr(tokenizer, "normalizes_uncased", False))
        # KerasHub's NFKC case folding, per word, unless uncased.
        self.casefold = bool(tokenizer.lowercase) and not self.uncased
        self.strip_accents = bool(tokenizer.strip_accents)
        self.suffix_indicator = tokenizer.suffix_indicator
        self.oov_id = self.token_to_id[tokenizer.oov_token]
        self.delimiters, self.kept = _split_pattern(
            bool(getattr(tokenizer, "split_on_cjk", True))
        )
        self._word_cache = {}

    def _lowered(self, text):
        """Each character's share of BERT's deletion and lowercasing.

        Lowercased as one string, so a final sigma becomes `ς` as in the
        tokenizer; each character's share has the length of its own
        `lower()` (only the sigma's mapping depends on context, and it
        stays one character).
        """
        kept = [i for i, char in enumerate(text) if not is_deleted(char)]
        lowered = "".join(text[i] for i in kept).lower()
        pieces = [""] * len(text)
        position = 0
        for i in kept:
            length = len(text[i].lower())
            pieces[i] = lowered[position : position + length]
            position += length
        return pieces

    def _normalized(self, text):
        """The normalized text and the original index of each char."""
        if not (self.strip_accents or self.uncased):
            return text, list(range(len(text))), None
        pieces = self._lowered(text) if self.uncased else text
        chars, origin, empty = [], [], []
        for i, piece in enumerate(pieces):
            stripped = piece if piece.isascii() else _strip_accents(piece)
            chars.append(stripped)
            origin.extend([i] * len(stripped))
            empty.append(not stripped)
        return "".join(chars), origin, empty

    def _words(self, text):
        """`(word, start, end)`: words of the normalized text, split."""
        position = 0
        for match in self.delimiters.finditer(text):
            if match.start() > position:
                yield text[position : match.start()], position, match.start()
            if self.kept.fullmatch(match.group()):
                yield match.group(), match.start(), match.end()
            position = match.end()
        if position < len(text):
            yield text[position:], position, len(text)

    def _wordpiece(self, word):
        """Ids of `word`'s pieces and the start of each in the word."""
        cached = self._word_cache.get(word)
        if cached is not None:
            return cached
        folded = casefold_utf8(word) if self.casefold else word
        ids, starts = [], []
        if len(folded.encode("utf-8")) > MAX_BYTES_PER_WORD:
            ids, starts = [self.oov_id], [0]
        else:
            start = 0
            while start < len(folded):
                end = len(folded)
                while end > start:
                    piece = folded[start:end]
                    if start > 0:
                        piece = self.suffix_indicator + piece
                    if piece in self.token_to_id:
                        break
                    end -= 1
                if end == start:
                    ids, starts = [self.oov_id], [0]
                    break
                ids.append(self.token_to_id[piece])
                starts.append(start)
                start = end
        if self.casefold and starts != [0] and starts:
            alignment = _fold_alignment(word, folded)
            starts = [alignment[s] for s in starts]
        result = (ids, starts)
        if len(self._word_cache) > 500_000:
            self._word_cache.clear()
        self._word_cache[word] = result
        return result

    def tokenize(self, text):
        """Token ids of `text` with each token's character span in it.

        Args:
            text: string.

        Returns:
            `(ids, starts, ends)`: three lists of ints; token `k` is
            `text[starts[k]:ends[k]]` (before normalization).
        """
        normalized, origin, empty = self._normalized(text)
        ids, starts, ends = [], [], []
        for word, begin, finish in self._words(normalized):
            word_ids, piece_starts = self._wordpiece(word)
            if not word_ids:
                continue
            word_end = origin[finish - 1] + 1
            if empty is not None:
                # Marks stripped right after the word belong to it.
                while word_end < len(text) and empty[word_end]:
                    word_end += 1
            char_starts = [origin[begin + s] for s in piece_starts]
            ids.extend(word_ids)
            starts.extend(char_starts)
            ends.extend(char_starts[1:] + [word_end])
        return ids, starts, ends
