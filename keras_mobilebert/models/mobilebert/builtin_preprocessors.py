"""Built-in preset names for preprocessors (classifier, masked LM, ...)."""

from keras_mobilebert.models.mobilebert.builtin_presets import (
    BuiltinPresetMixin,
)


class BuiltinPreprocessorMixin(BuiltinPresetMixin):
    """Builds a preprocessor of a built-in preset from its tokenizer.

    The preprocessor class names its tokenizer in `tokenizer_cls`; the
    tokenizer gets the preset's vocabulary (`BuiltinPresetMixin`), and the
    keyword arguments (`sequence_length`, ...) go to the preprocessor.

    Example:
    ```python
    class MyPreprocessor(BuiltinPreprocessorMixin, TextClassifierPreprocessor):
        tokenizer_cls = MobileBertTokenizer

    MyPreprocessor.from_preset("mobilebert_en_uncased", sequence_length=64)
    ```
    """

    @classmethod
    def _from_builtin_config(cls, name, config_file=None, **kwargs):
        tokenizer = cls.tokenizer_cls.from_preset(name)
        return cls(tokenizer=tokenizer, **kwargs)
