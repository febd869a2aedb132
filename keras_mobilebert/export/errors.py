"""The errors of a LiteRT export that cannot be delivered."""

from keras_mobilebert.utils.errors import UserInputError


class LiteRTExportError(RuntimeError):
    """An export that cannot be delivered; nothing is left at the path.

    Example:
    ```python
    try:
        to_litert(model, "model.tflite", "int8")
    except LiteRTExportError as error:
        print(error)
    ```
    """


class UnsupportedOpsError(LiteRTExportError, UserInputError):
    """The model needs ops outside the LiteRT builtin op set.

    Args:
        ops: list of op names (`"FlexErf"`, a custom op's name...).
        message: string.

    Example:
    ```python
    UnsupportedOpsError(["FlexErf"], "The model needs FlexErf.")
    ```
    """

    def __init__(self, ops, message):
        super().__init__(message)
        self.ops = list(ops)


class Float16RangeError(LiteRTExportError, UserInputError):
    """Activations or weights exceed the float16 range (65504).

    Args:
        tensors: list of `(tensor_name, kind, max_abs_value)`, largest
            first (see `float16_range_violations`).
        message: string.

    Example:
    ```python
    Float16RangeError([("x", "activation", 2.5e7)], "Too large.")
    ```
    """

    def __init__(self, tensors, message):
        super().__init__(message)
        self.tensors = list(tensors)


class VerificationError(LiteRTExportError):
    """The LiteRT file disagrees with the Keras model beyond tolerance.

    Example:
    ```python
    raise VerificationError("relative error 0.5 > 0.3")
    ```
    """
