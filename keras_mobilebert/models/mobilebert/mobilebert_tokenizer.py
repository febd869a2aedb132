"""MobileBERT's WordPiece tokenizer."""

import keras
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


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class MobileBertTokenizer(BuiltinPresetMixin, WordPieceTokenizer):
    """A MobileBERT tokenizer using WordPiece subword segmentation.

    MobileBERT uses BERT's WordPiece vocabularies unchanged (the uncased
    presets use exactly bert-base-uncased's 30,522 tokens). The special
    tokens `[CLS]`, `[SEP]`, `[PAD]` and `[MASK]` must be in the vocabulary.
    Input that is not valid UTF-8 raises an error instead of being silently
    mangled.

    Args:
        vocabulary: list of strings or a path to a one-token-per-line file.
        lowercase: bool. Lowercase (and strip accents) before splitting; the
            uncased presets set it to True.
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
        vocabulary=vocab, lowercase=True
    )
    tokenizer("The fox")  # [5, 6]
    ```
    """

    backbone_cls = MobileBertBackbone

    def __init__(self, vocabulary=None, lowercase=False, **kwargs):
        self._add_special_token("[CLS]", "cls_token")
        self._add_special_token("[SEP]", "sep_token")
        self._add_special_token("[PAD]", "pad_token")
        self._add_special_token("[MASK]", "mask_token")
        # KerasHub's packers and generators look for start/end tokens.
        self._add_special_token("[CLS]", "start_token")
        self._add_special_token("[SEP]", "end_token")
        super().__init__(vocabulary=vocabulary, lowercase=lowercase, **kwargs)

    def tokenize(self, inputs):
        return super().tokenize(check_utf8(inputs))

    @classmethod
    def _from_builtin_config(cls, name, config_file=None, **kwargs):
        kwargs.setdefault("lowercase", backbone_presets[name]["lowercase"])
        return cls(vocabulary=builtin_vocabulary(name), **kwargs)
