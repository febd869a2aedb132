"""MobileBERT's WordPiece tokenizer."""

import contextlib
import threading

import keras
import numpy as np
import tensorflow as tf
from keras_hub.tokenizers import WordPieceTokenizer

from keras_mobilebert.models.mobilebert.builtin_presets import (
    BuiltinPresetMixin,
)
from keras_mobilebert.models.mobilebert.builtin_presets import (
    builtin_vocabulary,
)
from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
    MobileBertBackbone,
)
from keras_mobilebert.models.mobilebert.mobilebert_presets import (
    backbone_presets,
)
from keras_mobilebert.models.mobilebert.text_checks import check_utf8
from keras_mobilebert.models.mobilebert.uncased_normalization import (
    normalize_uncased,
)
from keras_mobilebert.models.mobilebert.uncased_normalization import (
    normalize_uncased_tf,
)

# Ids of the tokenizers that, in this thread, are splitting text they have
# already normalized (see `MobileBertTokenizer.tokenize`).
_SPLITTING_NORMALIZED = threading.local()


def _normalized_uncased(inputs):
    """`inputs` with BERT's uncased normalization, in the same form."""
    if isinstance(inputs, (tf.Tensor, tf.RaggedTensor)):
        return normalize_uncased_tf(inputs)
    if isinstance(inputs, (str, bytes)):
        if isinstance(inputs, bytes):
            inputs = inputs.decode("utf-8")
        return normalize_uncased(inputs)
    if isinstance(inputs, np.ndarray):
        flat = [_normalized_uncased(x) for x in inputs.ravel().tolist()]
        return np.asarray(flat, dtype=object).reshape(inputs.shape)
    if isinstance(inputs, (list, tuple)):
        return [_normalized_uncased(x) for x in inputs]
    return inputs


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class MobileBertTokenizer(BuiltinPresetMixin, WordPieceTokenizer):
    """A MobileBERT tokenizer using WordPiece subword segmentation.

    MobileBERT uses BERT's WordPiece vocabularies unchanged (the uncased
    presets use exactly bert-base-uncased's 30,522 tokens). The special
    tokens `[CLS]`, `[SEP]`, `[PAD]` and `[MASK]` must be in the vocabulary.
    Input that is not valid UTF-8 raises an error instead of being silently
    mangled.

    With `lowercase=True` and `strip_accents=True` (the uncased presets),
    text is normalized as bert-base-uncased's own tokenizer does (GR's
    `tokenization.py`, Hugging Face's `BertTokenizer(do_lower_case=True)`):
    control and format characters deleted, Unicode lowercase, accents
    dropped (`Café` -> `cafe`, `Straße` -> `straße`). The ids then equal
    Hugging Face's on all 12,637 questions and contexts of SQuAD v1.1 dev.
    `lowercase=True` alone keeps KerasHub's behaviour: NFKC case folding,
    accents kept, so accented words of an uncased vocabulary become
    `[UNK]` (what uncased presets saved before accent stripping became
    the presets' setting record, so they keep that behaviour).

    Args:
        vocabulary: list of strings or a path to a one-token-per-line file.
        lowercase: bool. Lowercase before splitting; the uncased presets
            set it to True.
        strip_accents: bool. Drop accents (NFD, then the nonspacing
            marks); the uncased presets set it to True, like BERT's
            `do_lower_case`. Defaults to False, as KerasHub's.
        **kwargs: passed to `keras_hub.tokenizers.WordPieceTokenizer`.

    Examples:
    ```python
    import keras_mobilebert

    tokenizer = keras_mobilebert.MobileBertTokenizer.from_preset(
        "mobilebert_en_uncased"
    )
    tokenizer("The quick brown fox.")

    vocab = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]", "the", "fox"]
    tokenizer = keras_mobilebert.MobileBertTokenizer(
        vocabulary=vocab, lowercase=True, strip_accents=True
    )
    tokenizer("The fox")  # [5, 6]
    ```
    """

    backbone_cls = MobileBertBackbone

    def __init__(
        self, vocabulary=None, lowercase=False, strip_accents=False, **kwargs
    ):
        self._add_special_token("[CLS]", "cls_token")
        self._add_special_token("[SEP]", "sep_token")
        self._add_special_token("[PAD]", "pad_token")
        self._add_special_token("[MASK]", "mask_token")
        # KerasHub's packers and generators look for start/end tokens.
        self._add_special_token("[CLS]", "start_token")
        self._add_special_token("[SEP]", "end_token")
        super().__init__(
            vocabulary=vocabulary,
            lowercase=lowercase,
            strip_accents=strip_accents,
            **kwargs,
        )

    @property
    def normalizes_uncased(self):
        """Whether the text gets BERT's uncased normalization (see above)."""
        return bool(self._lowercase and self._strip_accents)

    # KerasHub's tokenization reads `lowercase` and `strip_accents` while it
    # runs. In BERT's uncased mode the text is normalized first, and the
    # flags read False inside that call only (per thread), so KerasHub's
    # NFKC case folding does not run on top; outside they read as set.
    @property
    def lowercase(self):
        return self._lowercase and not self._splitting_normalized()

    @lowercase.setter
    def lowercase(self, value):
        self._lowercase = value

    @property
    def strip_accents(self):
        return self._strip_accents and not self._splitting_normalized()

    @strip_accents.setter
    def strip_accents(self, value):
        self._strip_accents = value

    def _splitting_normalized(self):
        return id(self) in getattr(_SPLITTING_NORMALIZED, "ids", ())

    @contextlib.contextmanager
    def _split_only(self):
        ids = getattr(_SPLITTING_NORMALIZED, "ids", set())
        _SPLITTING_NORMALIZED.ids = ids | {id(self)}
        try:
            yield
        finally:
            _SPLITTING_NORMALIZED.ids = ids

    def tokenize(self, inputs):
        inputs = check_utf8(inputs)
        if not self.normalizes_uncased:
            return super().tokenize(inputs)
        inputs = _normalized_uncased(inputs)
        with self._split_only():
            return super().tokenize(inputs)

    def get_config(self):
        config = super().get_config()
        config["lowercase"] = self._lowercase
        config["strip_accents"] = self._strip_accents
        return config

    @classmethod
    def _from_builtin_config(cls, name, config_file=None, **kwargs):
        preset = backbone_presets[name]
        kwargs.setdefault("lowercase", preset["lowercase"])
        kwargs.setdefault("strip_accents", preset["strip_accents"])
        return cls(vocabulary=builtin_vocabulary(name), **kwargs)
