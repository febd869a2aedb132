"""A scope that swaps the leaf layers MobileBERT's layers build.

MobileBERT's layers create their leaf layers (dense, NoNorm, the attention
softmax) in `build()` through the factories `make_dense`,
`make_normalization` and `MobileBertAttention.build`. Quantization-aware
training needs the same model with fake-quantizing leaves; instead of a
second copy of each layer's math, the factories ask this module which class
to build. Outside a `layer_substitution` scope they build the plain Keras
layers, so nothing changes for float models.
"""

import contextlib
import contextvars

KINDS = ("dense", "no_norm", "softmax")
_CLASSES = contextvars.ContextVar(
    "keras_mobilebert_layer_classes", default=None
)


@contextlib.contextmanager
def layer_substitution(**classes):
    """Build the named leaf layers with other classes inside this scope.

    Args:
        **classes: `dense=`, `no_norm=`, `softmax=`: callables taking the
            plain class's constructor arguments (a subclass, or a
            `functools.partial` of one).

    Example:
    ```python
    with layer_substitution(dense=MyDense):
        backbone = MobileBertBackbone(**config)  # every dense is MyDense
    ```
    """
    unknown = set(classes) - set(KINDS)
    if unknown:
        raise ValueError(
            f"Unknown layer kinds {sorted(unknown)}; expected some of {KINDS}."
        )
    token = _CLASSES.set({**(_CLASSES.get() or {}), **classes})
    try:
        yield
    finally:
        _CLASSES.reset(token)


def layer_class(kind, default):
    """The class to build for `kind`: the scope's, else `default`.

    Args:
        kind: string. One of `KINDS`.
        default: the plain class.

    Example:
    ```python
    dense_cls = layer_class("dense", keras.layers.Dense)
    ```
    """
    return (_CLASSES.get() or {}).get(kind, default)
