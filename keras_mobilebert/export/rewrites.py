"""The model `to_litert` converts: the attention mask and the speed-ups.

`to_litert` verifies the file against the model it was given; what it
converts may be a copy of that model, made here from the mode's record
(`keras_mobilebert.export.modes`):

- the `"fill"` attention mask, where the mode cannot represent the
  `"additive"` one (`needs_fill_mask`);
- NoNorms folded into the dense layers (`folds_norms`: float32 and
  dynamic-range; `fold_norms`, exact up to float rounding);
- keys and values on symmetric int8 ranges (`symmetric_key_value`: int8
  and qat_int8), so that LiteRT's XNNPACK delegate, which takes an int8
  BATCH_MATMUL only when its right-hand input has zero point 0, runs
  every attention matmul instead of LiteRT's builtin kernel.

The last two are the rewrites (`rewrites=False` turns them off); each is
skipped for models it does not apply to (KerasHub's `BertBackbone`,
LayerNorm MobileBERTs for folding). docs/performance.md has what each
bought.
"""

from keras_mobilebert.export.attention_mask import attention_mask_mode
from keras_mobilebert.export.attention_mask import with_attention_mask_mode
from keras_mobilebert.export.signatures import KERAS_INPUTS
from keras_mobilebert.export.signatures import backbone_of
from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
    MobileBertBackbone,
)
from keras_mobilebert.models.mobilebert.norm_folding import (
    NormFoldedMobileBertBackbone,
)
from keras_mobilebert.models.mobilebert.norm_folding import fold_norms
from keras_mobilebert.models.rebuild import rebuild_with_config
from keras_mobilebert.quantization import is_quantize_aware
from keras_mobilebert.quantization.symmetric_attention import (
    SymmetricAttentionMobileBertBackbone,
)
from keras_mobilebert.quantization.symmetric_attention import (
    symmetric_attention_ranges,
)

FOLD_NORMS = "fold_norms"
SYMMETRIC_KEY_VALUE = "symmetric_key_value"


def _plain_mobilebert(backbone):
    """A float MobileBERT backbone no rewrite has been applied to."""
    return isinstance(backbone, MobileBertBackbone) and not isinstance(
        backbone,
        (NormFoldedMobileBertBackbone, SymmetricAttentionMobileBertBackbone),
    )


def _foldable(model):
    backbone = backbone_of(model)
    return (
        _plain_mobilebert(backbone)
        and not is_quantize_aware(model)
        and backbone.normalization == "no_norm"
    )


def _keras_named(samples):
    """TFLite-named samples as the backbone's Keras inputs (a masked LM's
    `mask_positions` dropped: the calibration runs the backbone only)."""
    return [
        {
            KERAS_INPUTS[name]: value
            for name, value in sample.items()
            if name in KERAS_INPUTS
        }
        for sample in samples
    ]


def _symmetric_key_value(model, representative):
    """The copy with symmetric key/value ranges, or None if not applicable."""
    backbone = backbone_of(model)
    if is_quantize_aware(model):
        if backbone.quantization_symmetric_key_value:
            return None  # Trained that way: nothing to change.
        # Same quantizer weights; the learned range [min, max] is used as
        # [-b, b], b = max(-min, max).
        return rebuild_with_config(
            model,
            backbone_changes={"quantization_symmetric_key_value": True},
        )
    if not _plain_mobilebert(backbone):
        return None
    return symmetric_attention_ranges(model, _keras_named(representative))


def conversion_model(model, mode, representative=None, rewrites=True, log=None):
    """The model to convert for `mode`, and the rewrites applied to it.

    Args:
        model: the model given to `to_litert`.
        mode: its `ExportMode`.
        representative: list of TFLite-named samples (`ids`, `mask`,
            `segment_ids`) calibrating int8; the symmetric key/value ranges
            are calibrated on them too.
        rewrites: bool. Apply the speed-ups of the mode's record
            (`folds_norms`, `symmetric_key_value`).
        log: callable taking one string, or None.

    Returns:
        `(export_model, applied)`: the model itself or a copy, and a tuple
        of the rewrites applied (`"fold_norms"`, `"symmetric_key_value"`).

    Example:
    ```python
    export_model, applied = conversion_model(
        classifier, MODES["dynamic"], rewrites=True
    )
    ```
    """
    log = log or (lambda message: None)
    export_model = model
    if mode.needs_fill_mask and attention_mask_mode(model) == "additive":
        export_model = with_attention_mask_mode(model, "fill")
        log(
            f"{mode.name}: converting with the 'fill' attention mask "
            "(masked logits -6); the model's 'additive' mask (-3.4e38) "
            "cannot be represented in this mode. The file is verified "
            "against the original model."
        )
    applied = []
    if rewrites and mode.folds_norms and _foldable(export_model):
        export_model = fold_norms(export_model)
        applied.append(FOLD_NORMS)
    if rewrites and mode.symmetric_key_value:
        copy = _symmetric_key_value(export_model, representative or [])
        if copy is not None:
            export_model = copy
            applied.append(SYMMETRIC_KEY_VALUE)
    if applied:
        log(
            f"{mode.name}: converting with {', '.join(applied)} (see "
            "docs/performance.md; rewrites=False turns them off); the file "
            "is verified against the original model."
        )
    return export_model, tuple(applied)
