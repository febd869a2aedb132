"""Hugging Face snapshots as a preset source, and built-in conversion.

Importing this module (`keras_mobilebert.convert` does, and so does
`import keras_mobilebert`) registers with the models' preset sources
(`keras_mobilebert.models.mobilebert.preset_sources`), which is how
`from_preset` reaches the converter without `models/` importing `convert/`:

- the source "huggingface": local HF MobileBERT snapshot directories and
  `hf://owner/name` handles, loaded by `from_preset` below;
- the built-in converter, `convert_builtin_preset`: a built-in preset's
  `hf://` source converted into its cache directory on first use.
"""

from keras_hub.models import Preprocessor

from keras_mobilebert.convert.converted_preset import apply_preset_config
from keras_mobilebert.convert.converted_preset import save_preset
from keras_mobilebert.convert.hf_checkpoint import convert_snapshot
from keras_mobilebert.convert.hf_config import backbone_config_from_hf
from keras_mobilebert.convert.hf_snapshot import is_hf_mobilebert
from keras_mobilebert.convert.hf_snapshot import read_hf_config
from keras_mobilebert.convert.hf_snapshot import read_vocabulary
from keras_mobilebert.convert.hf_snapshot import resolve_snapshot
from keras_mobilebert.convert.task_builders import build_classifier
from keras_mobilebert.convert.task_builders import build_masked_lm
from keras_mobilebert.convert.task_builders import build_question_answerer
from keras_mobilebert.convert.task_builders import (
    question_answerer_preprocessor,
)
from keras_mobilebert.convert.weights import ConversionError
from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
    MobileBertBackbone,
)
from keras_mobilebert.models.mobilebert.mobilebert_masked_lm import (
    MobileBertMaskedLM,
)
from keras_mobilebert.models.mobilebert.mobilebert_question_answerer import (  # noqa: E501
    MobileBertQuestionAnswerer,
)
from keras_mobilebert.models.mobilebert.mobilebert_question_answerer_preprocessor import (  # noqa: E501
    MobileBertQuestionAnswererPreprocessor,
)
from keras_mobilebert.models.mobilebert.mobilebert_text_classifier import (
    MobileBertTextClassifier,
)
from keras_mobilebert.models.mobilebert.mobilebert_tokenizer import (
    MobileBertTokenizer,
)
from keras_mobilebert.models.mobilebert.preset_sources import (
    register_builtin_converter,
)
from keras_mobilebert.models.mobilebert.preset_sources import (
    register_preset_source,
)

SOURCE_NAME = "huggingface"


def from_preset(cls, src, load_weights=True, **kwargs):
    """`cls.from_preset` for an HF snapshot directory or `hf://` handle.

    The loader of the preset source this module registers, reached from
    `MobileBertBackbone.from_preset` and the other classes' (see those).
    `load_weights=False` builds the architecture of `config.json` with
    random weights.

    Args:
        cls: the class whose `from_preset` was called.
        src: str. A snapshot directory or an `hf://owner/name` handle.
        load_weights: bool. Whether to convert the checkpoint's weights.
        **kwargs: the other `from_preset` arguments.

    Example:
    ```python
    backbone = from_preset(MobileBertBackbone, "hf://google/mobilebert-uncased")
    ```
    """
    kwargs.pop("load_task_weights", None)
    if issubclass(cls, (MobileBertTokenizer, Preprocessor)):
        snapshot = resolve_snapshot(src)
        vocabulary, settings = read_vocabulary(snapshot)
        if vocabulary is None:
            raise ConversionError(f"{src} has no vocab.txt or tokenizer.json.")
        if issubclass(cls, MobileBertTokenizer):
            return cls(vocabulary=vocabulary, **{**settings, **kwargs})
        tokenizer = MobileBertTokenizer(vocabulary=vocabulary, **settings)
        kwargs.pop("config_file", None)
        config = backbone_config_from_hf(read_hf_config(snapshot))
        if issubclass(cls, MobileBertQuestionAnswererPreprocessor):
            return question_answerer_preprocessor(
                tokenizer, config["max_sequence_length"], **kwargs
            )
        kwargs.setdefault(
            "sequence_length", min(128, config["max_sequence_length"])
        )
        return cls(tokenizer=tokenizer, **kwargs)
    if not load_weights:
        snapshot = resolve_snapshot(src)
        config = backbone_config_from_hf(read_hf_config(snapshot))
        if issubclass(cls, MobileBertBackbone):
            config.update(kwargs)
            return cls(**config)
        backbone = MobileBertBackbone(**config, dtype=kwargs.pop("dtype", None))
        kwargs.setdefault("backbone", backbone)
        return cls(**kwargs)
    converted = convert_snapshot(src, dtype=kwargs.pop("dtype", None))
    if issubclass(cls, MobileBertBackbone):
        if kwargs:
            raise ConversionError(
                "Backbone config overrides cannot be applied to converted "
                f"weights: {sorted(kwargs)}."
            )
        return converted.backbone
    if issubclass(cls, MobileBertMaskedLM):
        return build_masked_lm(converted, **kwargs)
    if issubclass(cls, MobileBertTextClassifier):
        return build_classifier(converted, **kwargs)
    if issubclass(cls, MobileBertQuestionAnswerer):
        return build_question_answerer(converted, **kwargs)
    raise ConversionError(
        f"{cls.__name__}.from_preset cannot load a Hugging Face snapshot."
    )


def convert_builtin_preset(source, config, preset_dir):
    """Convert a built-in preset's `hf://` source into `preset_dir`.

    The registered built-in converter: the checkpoint is converted, rebuilt
    with the preset's exact backbone `config` and written atomically.

    Args:
        source: str. The preset's `hf://owner/name` handle.
        config: dict. The preset's backbone config.
        preset_dir: path. Where the converted preset goes.

    Example:
    ```python
    preset = backbone_presets["mobilebert_en_uncased"]
    convert_builtin_preset(
        preset["source"],
        preset["config"],
        converted_preset_dir("mobilebert_en_uncased"),
    )
    ```
    """
    converted = convert_snapshot(source)
    apply_preset_config(converted, config)
    save_preset(converted, preset_dir)


register_preset_source(SOURCE_NAME, is_hf_mobilebert, from_preset)
register_builtin_converter(convert_builtin_preset)
