"""The activations a MobileBERT config may name, resolved from strings."""

import keras

ACTIVATIONS = ("relu", "relu6", "gelu", "gelu_approximate", "tanh")


def get_activation(name):
    """Return the activation function for a config string.

    Configs keep activations as strings so that every preset serializes to
    plain JSON; `"gelu_approximate"` is the tanh approximation BERT and the
    IB-BERT teacher use (HF `gelu_new`), `"gelu"` the exact erf form.

    Args:
        name: string. One of `"relu"`, `"relu6"`, `"gelu"`,
            `"gelu_approximate"`, `"tanh"`.

    Example:
    ```python
    fn = get_activation("relu6")
    ```
    """
    if name == "gelu_approximate":
        return lambda x: keras.activations.gelu(x, approximate=True)
    if name == "gelu":
        return lambda x: keras.activations.gelu(x, approximate=False)
    if name in ("relu", "relu6", "tanh"):
        return keras.activations.get(name)
    raise ValueError(
        f"Unknown activation {name!r}; expected one of {ACTIVATIONS}."
    )
