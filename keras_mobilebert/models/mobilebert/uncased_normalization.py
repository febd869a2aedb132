"""BERT's uncased text normalization, in TensorFlow and in Python.

bert-base-uncased (whose vocabulary MobileBERT uses and was pre-trained
with), GR's `tokenization.py` and Hugging Face's `BertTokenizer(
do_lower_case=True)` normalize text before splitting it as follows:

1. delete control, format, private-use and surrogate characters (Unicode
   categories `Cc`, `Cf`, `Co`, `Cs`; tab, newline and carriage return
   are whitespace) and U+FFFD (BERT also deletes unassigned code points,
   `Cn`, which RE2's `C` class does not cover; both paths here keep them);
2. lowercase with the full Unicode mapping (Python's `str.lower`: `İ`
   becomes `i̇`, a final `Σ` becomes `ς`);
3. decompose (NFD) and drop the nonspacing marks (`Mn`): the accents.

KerasHub's `WordPieceTokenizer` instead case-folds with NFKC_Casefold,
which also applies compatibility mappings (`ß` -> `ss`, `″` -> `′′`,
`ﬁ` -> `fi`, `²` -> `2`), and splits at control characters instead of
deleting them: on SQuAD v1.1 dev that gives other ids than
bert-base-uncased on 18 of 12,637 texts. `MobileBertTokenizer` with
`lowercase=True` and `strip_accents=True` normalizes here, and then
splits the normalized text with KerasHub's unchanged patterns.
"""

import unicodedata

import tensorflow as tf
import tensorflow_text as tf_text

# Tab, newline and carriage return are control characters that BERT keeps
# (as whitespace); the other characters of these categories are deleted.
_KEPT_CONTROLS = frozenset("\t\n\r")
_DELETED_CATEGORIES = frozenset(("Cc", "Cf", "Co", "Cs"))
_DELETED_TF = r"[\p{C}\x{FFFD}]"


def is_deleted(char):
    """Whether BERT's uncased normalization deletes `char` outright.

    Example:
    ```python
    is_deleted("\\u00ad")  # True: the soft hyphen is a format character
    ```
    """
    if char in _KEPT_CONTROLS:
        return False
    return char == "\ufffd" or unicodedata.category(char) in _DELETED_CATEGORIES


def strip_accents(text):
    """NFD, then the nonspacing marks dropped.

    Example:
    ```python
    strip_accents("café")  # "cafe"
    ```
    """
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def normalize_uncased(text):
    """BERT's uncased normalization of one Python string.

    Example:
    ```python
    normalize_uncased("Straße CAFÉ")  # "straße cafe"
    ```
    """
    kept = "".join(c for c in text if not is_deleted(c))
    return strip_accents(kept.lower())


def normalize_uncased_tf(text):
    """BERT's uncased normalization of a `tf.string` tensor (any shape).

    `tf.strings.lower` with `encoding="utf-8"` is the full Unicode
    lowercase mapping, final sigma included, as Python's `str.lower`.

    Example:
    ```python
    normalize_uncased_tf(tf.constant(["Straße CAFÉ"]))
    ```
    """
    if isinstance(text, tf.RaggedTensor):
        return tf.ragged.map_flat_values(normalize_uncased_tf, text)
    text = tf.strings.regex_replace(text, r"[\t\n\r]", " ")
    text = tf.strings.regex_replace(text, _DELETED_TF, "")
    text = tf.strings.lower(text, encoding="utf-8")
    text = tf_text.normalize_utf8(text, "NFD")
    return tf.strings.regex_replace(text, r"\p{Mn}", "")
