"""The LiteRT export modes: one record per quantization, in one table.

Everything that differs by mode is a field of its `ExportMode` in `MODES`:
the converter settings, whether it needs representative data or a
quantization-aware model, whether the model must compute with the
`"fill"` attention mask, whether float16's range is checked first, whether
the string-input export offers it, and the verification tolerance. The
exporter has no branch on a mode's name: to add a mode, add its record
here, and `to_litert`, the converter setup, `QUANTIZATIONS` (the CLI's
choices) and the checks follow from it.
"""

import dataclasses

import tensorflow as tf

from keras_mobilebert.utils.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class ExportMode:
    """One LiteRT export mode (the `quantization` of `to_litert`).

    Args:
        name: string. The mode's name, e.g. `"int8"`.
        description: string. One line for help texts and docs.
        relative_error: float. Default acceptance threshold: the largest
            error of any output relative to the largest magnitude of the
            Keras output.
        label_agreement: float. Default smallest share of sample inputs
            whose predicted label (argmax) must agree.
        optimizations: tuple of `tf.lite.Optimize` values for the converter.
        supported_ops: tuple of `tf.lite.OpsSet` values (builtins only;
            select TF ops are never delivered).
        supported_types: tuple of TensorFlow dtypes for the converter's
            target spec (`tf.float16` for float16 weights).
        needs_representative_data: bool. The converter calibrates
            activation ranges on representative samples.
        needs_quantize_aware_model: bool. Only a model made with
            `keras_mobilebert.quantization.quantize_aware` can take the
            mode (its learned ranges are used).
        needs_fill_mask: bool. The `"additive"` attention mask cannot be
            represented (the int8 quantizer aborts on its -3.4e38; float16
            turns it into -inf and `0 * -inf` into NaN): a `"fill"` copy is
            converted and verified against the original.
        checks_float16_range: bool. Refuse models whose tensors exceed
            float16's range (65504) on the sample inputs.
        tokenizer_in_graph: bool. Offered by `to_litert_with_tokenizer`
            (the string-input file: no representative data, no model copy).
        folds_norms: bool. With `to_litert`'s rewrites on, a NoNorm
            MobileBERT is converted as its `fold_norms` copy (NoNorms folded
            into the dense layers: 3% faster in float32 and dynamic-range;
            not for int8 or float16, whose per-tensor activation ranges
            the folded per-channel scales would widen).
        symmetric_key_value: bool. With the rewrites on, keys and values
            get symmetric int8 ranges (zero point 0), so XNNPACK runs every
            attention matmul: calibrated with `symmetric_attention_ranges`
            for a float model, the quantizers made symmetric for a
            `quantize_aware` one.

    Example:
    ```python
    mode = MODES["int8"]
    mode.needs_representative_data  # True
    mode.tolerance({"relative_error": 0.1})
    ```
    """

    name: str
    description: str
    relative_error: float
    label_agreement: float
    optimizations: tuple = ()
    supported_ops: tuple = (tf.lite.OpsSet.TFLITE_BUILTINS,)
    supported_types: tuple = ()
    needs_representative_data: bool = False
    needs_quantize_aware_model: bool = False
    needs_fill_mask: bool = False
    checks_float16_range: bool = False
    tokenizer_in_graph: bool = False
    folds_norms: bool = False
    symmetric_key_value: bool = False

    def tolerance(self, overrides=None):
        """The verification limits, with `overrides` applied.

        Args:
            overrides: dict or None. New `relative_error` and/or
                `label_agreement`.

        Returns:
            A dict with `relative_error` and `label_agreement`.

        Raises:
            ValueError: an override has an unknown key.

        Example:
        ```python
        MODES["float16"].tolerance()  # {"relative_error": 0.01, ...}
        ```
        """
        limits = {
            "relative_error": self.relative_error,
            "label_agreement": self.label_agreement,
        }
        unknown = set(overrides or {}) - set(limits)
        if unknown:
            raise ConfigError(
                f"Unknown tolerance keys {sorted(unknown)}; expected "
                f"{sorted(limits)}."
            )
        limits.update(overrides or {})
        return limits


_INT8 = {
    "relative_error": 0.3,
    "label_agreement": 0.85,
    "optimizations": (tf.lite.Optimize.DEFAULT,),
    "supported_ops": (tf.lite.OpsSet.TFLITE_BUILTINS_INT8,),
    "needs_representative_data": True,
    "needs_fill_mask": True,
    "symmetric_key_value": True,
}

MODES = {
    mode.name: mode
    for mode in (
        ExportMode(
            name="float32",
            description="no quantization",
            relative_error=1e-4,
            label_agreement=1.0,
            tokenizer_in_graph=True,
            folds_norms=True,
        ),
        ExportMode(
            name="float16",
            description="float16 weights (refused if a tensor exceeds 65504)",
            relative_error=1e-2,
            label_agreement=0.95,
            optimizations=(tf.lite.Optimize.DEFAULT,),
            supported_types=(tf.float16,),
            needs_fill_mask=True,
            checks_float16_range=True,
        ),
        ExportMode(
            name="dynamic",
            description="int8 weights, float activations (no data needed)",
            relative_error=0.15,
            label_agreement=0.9,
            optimizations=(tf.lite.Optimize.DEFAULT,),
            tokenizer_in_graph=True,
            folds_norms=True,
        ),
        ExportMode(
            name="int8",
            description=(
                "full-integer post-training quantization, ranges "
                "calibrated on representative data"
            ),
            **_INT8,
        ),
        ExportMode(
            name="qat_int8",
            description=(
                "full-integer export of a quantize_aware model (its learned "
                "ranges; representative data fills the rest)"
            ),
            needs_quantize_aware_model=True,
            **_INT8,
        ),
    )
}
QUANTIZATIONS = tuple(MODES)


def export_mode(quantization):
    """The `ExportMode` record of a quantization name.

    Args:
        quantization: string. One of `QUANTIZATIONS`.

    Raises:
        ValueError: naming the unknown mode and the known ones.

    Example:
    ```python
    export_mode("dynamic").optimizations
    ```
    """
    mode = MODES.get(quantization)
    if mode is None:
        raise ConfigError(
            f"Unknown quantization {quantization!r}; expected one of "
            f"{QUANTIZATIONS}."
        )
    return mode
