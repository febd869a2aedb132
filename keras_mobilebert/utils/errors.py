"""The base class of errors about what a user gave the package."""


class UserInputError(ValueError):
    """An error in the user's input, not in the package.

    Raised (through a subclass) for a bad data file, config, checkpoint or
    preset name, a missing optional dependency or an unreachable source:
    things the user can fix. The `keras-mobilebert` command prints these as
    one line; any other exception is a bug and keeps its traceback. Python
    callers catch the typed subclasses (or this class) as usual.

    Example:
    ```python
    class CorpusFormatError(UserInputError):
        pass

    raise CorpusFormatError("corpus.txt, line 3: empty document")
    ```
    """


class ConfigError(UserInputError):
    """A job's or a command's settings are wrong or do not fit together.

    A config file's fields, an option's value, or models named together
    (a teacher and a student of different vocabularies).

    Example:
    ```python
    raise ConfigError("temperature must be positive; received 0.")
    ```
    """


class MissingInputError(FileNotFoundError, UserInputError):
    """A file or folder the user named is not there.

    Example:
    ```python
    raise MissingInputError("SQuAD file train.json does not exist.")
    ```
    """


class UnreachableSourceError(OSError, UserInputError):
    """A URL or hub handle the user named cannot be fetched (offline?).

    Example:
    ```python
    raise UnreachableSourceError("Could not download https://x/y.zip: ...")
    ```
    """


class MissingDependencyError(ImportError, UserInputError):
    """An optional package is not installed; the message says what to
    `pip install`.

    Example:
    ```python
    raise MissingDependencyError(
        'Loading hf:// handles needs huggingface_hub: pip install '
        '"keras-mobilebert[convert]"'
    )
    ```
    """


class InputFormatError(UserInputError):
    """A text file the user gave is not in the expected format.

    Formats with their own class (SQuAD, GLUE) raise that subclass.

    Example:
    ```python
    raise InputFormatError("unlabelled.txt, line 4: expected 2 fields")
    ```
    """
