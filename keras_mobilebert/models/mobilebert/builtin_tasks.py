"""Built-in preset names for task models (classifier, masked LM, ...)."""

from keras_mobilebert.models.mobilebert.builtin_presets import (
    BuiltinPresetMixin,
)
from keras_mobilebert.models.mobilebert.builtin_presets import (
    missing_weights_error,
)


class BuiltinTaskMixin(BuiltinPresetMixin):
    """Builds a task of a built-in preset from its backbone and preprocessor.

    With `load_weights=False` the backbone is the preset's architecture with
    random weights and the preprocessor uses the preset's vocabulary.
    """

    loads_weights = True

    @classmethod
    def _from_builtin_config(
        cls, name, load_weights=True, load_task_weights=None, **kwargs
    ):
        if load_weights:
            raise missing_weights_error(name)
        if "backbone" not in kwargs:
            backbone_kwargs = {}
            if "dtype" in kwargs:
                backbone_kwargs["dtype"] = kwargs.pop("dtype")
            kwargs["backbone"] = cls.backbone_cls.from_preset(
                name, load_weights=False, **backbone_kwargs
            )
        if "preprocessor" not in kwargs and cls.preprocessor_cls:
            kwargs["preprocessor"] = cls.preprocessor_cls.from_preset(name)
        return cls(**kwargs)
