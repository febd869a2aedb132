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
