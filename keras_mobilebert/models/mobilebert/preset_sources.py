"""Where `from_preset` turns for what KerasHub cannot load itself.

`models/` sits below `convert/` and never imports it; the converter comes
to `models/` instead, by registering here when `keras_mobilebert.convert`
is imported (a plain `import keras_mobilebert` does that). It registers:

- a preset source: a predicate ("is this handle a Hugging Face MobileBERT
  snapshot?") and a loader, `load(cls, handle, *args, **kwargs)`, that
  `cls.from_preset(handle)` hands the handle to;
- the built-in converter, `convert(source, config, preset_dir)`, that turns
  a built-in preset's `hf://` source into a converted preset directory.

Registering twice under one name replaces the first registration, so
reloading a module is harmless.
"""

import collections
import pathlib

from keras_mobilebert.utils.errors import UserInputError

PresetSource = collections.namedtuple(
    "PresetSource", ["name", "matches", "load"]
)

_SOURCES = {}
_BUILTIN_CONVERTER = {}

_IMPORT_HINT = (
    "import keras_mobilebert.convert (a plain `import keras_mobilebert` "
    "does), which registers the Hugging Face converter"
)


class ConverterNotRegisteredError(LookupError, UserInputError):
    """No converter has registered for what `from_preset` was asked."""


def register_preset_source(name, matches, load):
    """Let `from_preset` load the handles `matches(handle)` accepts.

    Args:
        name: str. Names the source; a second registration replaces it.
        matches: callable. `matches(handle)` is True for handles this
            source loads; it may raise an error that names the problem.
        load: callable. `load(cls, handle, *args, **kwargs)` returns what
            `cls.from_preset(handle, *args, **kwargs)` should.

    Example:
    ```python
    register_preset_source("hf", is_hf_mobilebert, from_preset)
    ```
    """
    _SOURCES[name] = PresetSource(name, matches, load)


def unregister_preset_source(name):
    """Remove the source registered as `name` (nothing if there is none)."""
    _SOURCES.pop(name, None)


def find_preset_source(handle):
    """The registered `PresetSource` that loads `handle`, or None.

    With no source registered, a local directory that holds a `config.json`
    but no KerasHub `metadata.json` (a Hugging Face snapshot, most likely)
    is an error that says what to import; anything else goes to KerasHub.

    Args:
        handle: str. What `from_preset` was given.

    Example:
    ```python
    source = find_preset_source("./mobilebert-uncased")
    model = source.load(MobileBertBackbone, "./mobilebert-uncased")
    ```
    """
    for source in _SOURCES.values():
        if source.matches(handle):
            return source
    directory = pathlib.Path(handle)
    if (
        not _SOURCES
        and (directory / "config.json").is_file()
        and not (directory / "metadata.json").is_file()
    ):
        raise ConverterNotRegisteredError(
            f"{handle} is not a KerasHub preset (no metadata.json), and no "
            f"converter is registered to read it as a Hugging Face snapshot: "
            f"{_IMPORT_HINT}."
        )
    return None


def register_builtin_converter(convert):
    """Set the service that converts built-in presets on first use.

    Args:
        convert: callable. `convert(source, config, preset_dir)` converts
            the checkpoint at `source` (an `hf://` handle), rebuilt with
            the backbone `config` (a dict), into the preset directory
            `preset_dir`, atomically.

    Example:
    ```python
    register_builtin_converter(convert_builtin_preset)
    ```
    """
    _BUILTIN_CONVERTER["convert"] = convert


def unregister_builtin_converter():
    """Remove the built-in converter (nothing if there is none)."""
    _BUILTIN_CONVERTER.pop("convert", None)


def builtin_converter(name):
    """The registered built-in converter; raises if there is none.

    Args:
        name: str. The built-in preset about to be converted, for the
            message.

    Example:
    ```python
    builtin_converter("mobilebert_en_uncased")(source, config, preset_dir)
    ```
    """
    convert = _BUILTIN_CONVERTER.get("convert")
    if convert is None:
        raise ConverterNotRegisteredError(
            f"Preset {name!r} is converted from its Hugging Face source on "
            f"first use, but no converter is registered: {_IMPORT_HINT}."
        )
    return convert
